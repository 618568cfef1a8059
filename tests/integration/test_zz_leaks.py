"""Runs last (see conftest): nothing the suite made is left on the engine.

``make test`` runs it in its serial phase, after the parallel workers have ended: it judges the
suite's run id and every worker's (``<suite run id>-gw<N>``).
"""

import os

import pytest

from helpers import engine, settings
from tests.conftest import SUITE_RUN_ID, SUITE_TMP

NOTHING = {"containers": [], "networks": [], "volumes": [], "images": []}


def suite_runs(docker_client) -> set[str]:
    """The suite's run id, its workers' ids, and any other run id of the suite's still labelled."""
    flt = {"label": [f"{engine.MANAGED_LABEL}=true", engine.RUN_LABEL]}
    labels = [x.get("Labels") or {} for x in docker_client.api.containers(all=True, filters=flt)]
    labels += [x.get("Labels") or {} for x in docker_client.api.images(filters=flt)]
    labels += [n.attrs.get("Labels") or {} for n in docker_client.networks.list(filters=flt)]
    labels += [v.attrs.get("Labels") or {} for v in docker_client.volumes.list(filters=flt)]
    found = {lab.get(engine.RUN_LABEL, "") for lab in labels}
    workers = {f"{SUITE_RUN_ID}-gw{n}" for n in range(16)}
    return {SUITE_RUN_ID} | workers | {r for r in found if r.startswith(SUITE_RUN_ID + "-")}


@pytest.mark.docker
@pytest.mark.leakcheck
@pytest.mark.serial
def test_no_managed_resources_left(docker_client):
    """Everything this suite (its workers, their subprocesses and kernels) made is gone."""
    assert engine.RUN_ID.startswith("pytest-")
    runs = sorted(suite_runs(docker_client))
    # one listing of each kind judges every run (an image list reads the whole store)
    found = engine.leftovers_of_runs([*runs, engine.RUN_ID, None])
    left = {run: kinds for run, kinds in found.items() if run and kinds != NOTHING}
    assert not left, left
    if os.environ.get("CI"):  # alone on the engine: nothing of any run may remain either
        assert found[None] == found[engine.RUN_ID], found[None]
    # The layer cache the checks keep on purpose is not a leak: every image of it is tagged
    # under shipshape-cache/ and bounded; and nothing of this run is left untagged and unused.
    from helpers import buildcache

    # Checks enforce the bounds at most once a minute (settings.build_cache_evict_every_s):
    # the suite's last minute of builds may be over them until the next check's pass, so the
    # test runs that pass, as the next check would, and then judges what stays.
    buildcache.evict_cache()
    entries = buildcache.cache_entries()
    assert all(t.startswith(engine.CACHE_REPO + "/") for e in entries for t in e["tags"])
    per: dict[str, int] = {}
    for e in entries:
        per[e["exercise"]] = per.get(e["exercise"], 0) + 1
    assert all(n <= settings.build_cache_keep() for n in per.values()), per
    dangling = [
        row["Id"]
        for row in docker_client.api.images(filters={"dangling": True, "label": engine.RUN_LABEL})
        if (row.get("Labels") or {}).get(engine.RUN_LABEL) in runs
    ]
    assert not dangling, dangling
    # no scratch folder of the helpers (every session's own TMPDIR, see conftest)
    sessions = SUITE_TMP.rglob("pytest-session-*")
    assert not sorted(str(p) for s in sessions for p in s.glob("shipshape-*"))
    # the course cache holds finished measurements only (writes are atomic: no .part left)
    assert not sorted(str(p) for p in settings.cache_dir().rglob("*.part"))
    # and the helpers' own cleanup is label-scoped: base images are still here
    from helpers import baseimages

    assert not baseimages.missing_required()
