"""Runs last (see conftest): nothing the suite made is left on the engine."""

import os

import pytest

from helpers import engine


@pytest.mark.docker
@pytest.mark.leakcheck
def test_no_managed_resources_left(docker_client):
    """Everything this session (and the subprocesses and kernels it started) made is gone."""
    assert engine.RUN_ID.startswith("pytest-")
    left = engine.leftovers(run=engine.RUN_ID)
    assert left == {"containers": [], "networks": [], "volumes": [], "images": []}, left
    if os.environ.get("CI"):  # alone on the engine: nothing of any run may remain either
        assert engine.leftovers() == left, engine.leftovers()
    # and the helpers' own cleanup is label-scoped: base images are still here
    from helpers import baseimages

    assert not baseimages.missing_required()
