"""Runs last (see conftest): nothing the suite made is left on the engine."""

import pytest

from helpers import engine


@pytest.mark.docker
@pytest.mark.leakcheck
def test_no_managed_resources_left(docker_client):
    left = engine.leftovers()
    assert left == {"containers": [], "networks": [], "volumes": [], "images": []}, left
    # and the helpers' own cleanup is label-scoped: base images are still here
    from helpers import baseimages

    assert not baseimages.missing_required()
