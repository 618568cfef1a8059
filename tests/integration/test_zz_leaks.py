"""Runs last (see conftest): nothing the suite made is left on the engine."""

import os

import pytest

from helpers import engine, settings
from tests.conftest import SESSION_TMP


@pytest.mark.docker
@pytest.mark.leakcheck
def test_no_managed_resources_left(docker_client):
    """Everything this session (and the subprocesses and kernels it started) made is gone."""
    assert engine.RUN_ID.startswith("pytest-")
    left = engine.leftovers(run=engine.RUN_ID)
    assert left == {"containers": [], "networks": [], "volumes": [], "images": []}, left
    if os.environ.get("CI"):  # alone on the engine: nothing of any run may remain either
        assert engine.leftovers() == left, engine.leftovers()
    # The layer cache the checks keep on purpose is not a leak: every image of it is tagged
    # under shipshape-cache/ and bounded; and nothing of this run is left untagged and unused.
    from helpers import buildcache

    entries = buildcache.cache_entries()
    assert all(t.startswith(engine.CACHE_REPO + "/") for e in entries for t in e["tags"])
    per: dict[str, int] = {}
    for e in entries:
        per[e["exercise"]] = per.get(e["exercise"], 0) + 1
    assert all(n <= settings.build_cache_keep() for n in per.values()), per
    dangling = docker_client.images.list(
        filters={"dangling": True, "label": [f"{engine.RUN_LABEL}={engine.RUN_ID}"]}
    )
    assert not dangling, [im.id for im in dangling]
    # no scratch folder of the helpers (the session's own TMPDIR, see conftest)
    assert not sorted(p.name for p in SESSION_TMP.glob("shipshape-*"))
    # the course cache holds finished measurements only (writes are atomic: no .part left)
    assert not sorted(str(p) for p in settings.cache_dir().rglob("*.part"))
    # and the helpers' own cleanup is label-scoped: base images are still here
    from helpers import baseimages

    assert not baseimages.missing_required()
