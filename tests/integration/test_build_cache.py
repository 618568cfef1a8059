"""Layer reuse across checks: a removed check image stays behind as cache, never stale.

Built on debian:bookworm-slim with a made-up exercise number, so the real exercises' cache
is not touched; every test drops its own cache entries at the end.
"""

from __future__ import annotations

import os
import socket
import subprocess

import docker
import pytest

from helpers import buildcache, containers, engine, images
from helpers.checks import _size_common as sc

pytestmark = [pytest.mark.docker]

EX = "97"  # no such exercise: this file's own cache entries


@pytest.fixture
def own_cache(docker_client):
    docker_client.images.get("debian:bookworm-slim")  # the only base these tests use
    buildcache.clear_cache(exercise=EX)
    yield
    buildcache.clear_cache(exercise=EX)
    assert not [e for e in buildcache.cache_entries() if e["exercise"] == EX]


def _project(ctx, message: str) -> None:
    ctx.write(
        "Dockerfile",
        "FROM debian:bookworm-slim\n"
        "RUN echo dependency-layer > /dep.txt\n"
        "COPY app.txt /app.txt\n"
        'CMD ["cat", "/app.txt"]\n',
    )
    ctx.write("app.txt", message + "\n")


def _output(tag: str) -> str:
    with containers.running(tag) as ctr:
        containers.wait_for_exit(ctr, timeout_s=60)
        return ctr.logs().decode().strip()


def test_recheck_reuses_layers_and_follows_a_changed_file(tmp_context, own_cache):
    tag = images.temp_tag("ex97", tmp_context)
    _project(tmp_context, "first")
    first = images.build(tmp_context, tag, on_event=None, exercise=EX)
    assert _output(tag) == "first"
    images.remove(tag)  # what every check does at teardown
    assert not engine.leftovers(run=engine.RUN_ID)["images"]  # the temp tag is gone...
    kept = [e for e in buildcache.cache_entries() if e["exercise"] == EX]
    assert len(kept) == 1 and kept[0]["group"] == buildcache.group_of(first.image_id)  # ...cached

    again = images.build(tmp_context, tag, on_event=None, exercise=EX)
    steps = sc.step_cache(again.log)
    assert all(c for s, c in steps if not s.startswith("FROM")), steps  # unchanged: all cached
    images.remove(tag)

    _project(tmp_context, "second")  # one file changes: from its COPY on, nothing is reused
    changed = images.build(tmp_context, tag, on_event=None, exercise=EX)
    steps = dict(sc.step_cache(changed.log))
    assert steps["RUN echo dependency-layer > /dep.txt"] is True
    assert steps["COPY app.txt /app.txt"] is False
    assert changed.image_id != first.image_id
    assert _output(tag) == "second"  # the verdict follows the change, never the stale image
    images.remove(tag)
    assert len([e for e in buildcache.cache_entries() if e["exercise"] == EX]) == 2


def test_same_content_from_another_process_replaces_the_entry(tmp_context, own_cache):
    """Two processes that build the same files differ only in their own label steps (owner,
    run): once the first has ended, the later result replaces its cache entry, pruned down to
    the content they share, so the cache holds one entry per content, not one per process."""
    _project(tmp_context, "same files")
    tag = images.temp_tag("ex97", tmp_context)
    results = []
    dead = []
    for _ in range(2):  # two processes of this host that have ended since
        proc = subprocess.Popen(["true"])
        proc.wait()
        dead.append(f"{socket.gethostname()}:{proc.pid}")
    for owner in dead:  # what two processes' builds carry
        res = images.build(
            tmp_context, tag, on_event=None, exercise=EX, labels={engine.OWNER_LABEL: owner}
        )
        results.append((res, buildcache.group_of(res.image_id)))
        images.remove(tag)
    (first, first_group), (second, second_group) = results
    assert first.image_id != second.image_id  # the owner label steps differ...
    assert first_group == second_group
    (entry,) = [e for e in buildcache.cache_entries() if e["exercise"] == EX]  # ...one entry
    assert entry["group"] == buildcache.group_of(second.image_id)
    child = engine.client().api.inspect_image(entry["tags"][0])
    assert child["Parent"] == second.image_id  # the newer result is the one kept
    with pytest.raises(docker.errors.ImageNotFound):  # the older one went, not left dangling
        engine.client().api.inspect_image(first.image_id)
    again = images.build(tmp_context, tag, on_event=None, exercise=EX)
    steps = sc.step_cache(again.log)  # a third process still reuses the shared content
    assert all(
        c
        for s, c in steps
        if "io.shipshape.owner" not in s
        and "io.shipshape.run" not in s
        and not s.startswith("FROM")
    ), steps
    images.remove(tag)
    (entry,) = [e for e in buildcache.cache_entries() if e["exercise"] == EX]
    assert engine.client().api.inspect_image(entry["tags"][0])["Parent"] == again.image_id
    # a live process's result stays: it may be building on it right now
    live = images.build(
        tmp_context,
        tag,
        on_event=None,
        exercise=EX,
        labels={engine.OWNER_LABEL: f"{socket.gethostname()}:{os.getppid()}"},
    )
    images.remove(tag)
    (entry,) = [e for e in buildcache.cache_entries() if e["exercise"] == EX]
    assert engine.client().api.inspect_image(entry["tags"][0])["Parent"] == again.image_id
    with pytest.raises(docker.errors.ImageNotFound):  # the newer result went, nothing left
        engine.client().api.inspect_image(live.image_id)


def test_cache_is_bounded_and_clean_keeps_it(tmp_context, own_cache, monkeypatch):
    monkeypatch.setenv("SHIPSHAPE_BUILD_CACHE_KEEP", "2")
    monkeypatch.setenv("SHIPSHAPE_BUILD_CACHE_EVICT_EVERY_S", "0")  # bounds after every build
    tag = images.temp_tag("ex97", tmp_context)
    groups = []
    for n in range(3):
        _project(tmp_context, f"version {n}")
        res = images.build(tmp_context, tag, on_event=None, exercise=EX)
        groups.append(buildcache.group_of(res.image_id))
        images.remove(tag)
    kept = [e["group"] for e in buildcache.cache_entries() if e["exercise"] == EX]
    assert kept == [groups[2], groups[1]]  # newest first; the oldest was evicted
    engine.clean(run=engine.RUN_ID)  # plain clean keeps the cache
    assert [e["group"] for e in buildcache.cache_entries() if e["exercise"] == EX] == kept
    # clean --all would remove it (asked without removing anything of other runs)
    ids = {row["Id"] for row in engine.removable_images(include_cache=True, run=engine.RUN_ID)}
    assert {i for e in buildcache.cache_entries() if e["exercise"] == EX for i in e["ids"]} <= ids


def test_multi_stage_stages_move_under_the_cache(tmp_context, own_cache, docker_client):
    tmp_context.write(
        "Dockerfile",
        "FROM debian:bookworm-slim AS builder\nRUN echo built > /artifact\n"
        "FROM debian:bookworm-slim\nCOPY --from=builder /artifact /artifact\n",
    )
    tag = images.temp_tag("ex97-stages", tmp_context)
    res = images.build(tmp_context, tag, on_event=None, exercise=EX)
    assert len(res.stage_images) == 1
    images.remove(tag)
    assert not run_images()  # neither the temp tag nor the stage tag is left as a leak
    (entry,) = [e for e in buildcache.cache_entries() if e["exercise"] == EX]
    assert len(entry["ids"]) == 2  # the final image and the builder stage
    again = images.build(tmp_context, tag, on_event=None, exercise=EX)
    assert again.cached_steps == again.steps - 2, again.log  # all but FROM x2 (and LABEL)
    images.remove(tag)


def test_cache_off_removes_everything(tmp_context, own_cache, monkeypatch):
    monkeypatch.setenv("SHIPSHAPE_BUILD_CACHE", "0")
    tag = images.temp_tag("ex97", tmp_context)
    _project(tmp_context, "off")
    images.build(tmp_context, tag, on_event=None, exercise=EX)
    images.remove(tag)
    assert not [e for e in buildcache.cache_entries() if e["exercise"] == EX]


def run_images() -> list[str]:
    return engine.leftovers(run=engine.RUN_ID)["images"]


def test_reused_cache_entry_is_refreshed_without_dangling_images(
    tmp_context, own_cache, monkeypatch, docker_client
):
    monkeypatch.setattr(buildcache, "REFRESH_S", 0.0)  # every reuse counts as a new use
    tag = images.temp_tag("ex97", tmp_context)
    _project(tmp_context, "same")
    for _ in range(2):
        images.build(tmp_context, tag, on_event=None, exercise=EX)
        images.remove(tag)
    entries = [e for e in buildcache.cache_entries() if e["exercise"] == EX]
    assert len(entries) == 1 and len(entries[0]["ids"]) == 1, entries
    dangling = docker_client.images.list(
        filters={"dangling": True, "label": [f"{engine.RUN_LABEL}={engine.RUN_ID}"]}
    )
    assert not dangling


def test_a_recheck_judges_the_changed_code_never_the_cached_image(tmp_path, base_images):
    """A real check, three times on one folder: pass, break one file (fail), fix it (pass)."""
    from helpers import check
    from tests.conftest import solution_copy

    folder = solution_copy("00_warmup", tmp_path / "ex00")
    greeting = "it prints the greeting"
    first = check("00", path=folder)
    assert first.passed, str(first)
    greet = folder / "greet.py"
    good = greet.read_text()
    greet.write_text(good.replace("hello from shipshape", "hello from a stale cache?"))
    broken = check("00", path=folder)  # the layers before COPY greet.py come from the cache
    assert {r.name for r in broken.failed()} == {greeting}, str(broken)
    assert "hello from a stale cache?" in next(
        r for r in broken.results if r.name == greeting
    ).message + str(next(r for r in broken.results if r.name == greeting).evidence)
    greet.write_text(good)
    again = check("00", path=folder)
    assert again.passed, str(again)
    assert [e for e in buildcache.cache_entries() if e["exercise"] == "00"]  # it was kept as cache


def test_a_lessons_clean_keeps_its_builds_layers_and_nothing_else(tmp_context):
    """``images.clean(run=...)``, a notebook's last cell: an image with a ``lesson`` label
    leaves its layers as cache (a re-run of the notebook reuses them); one without leaves
    nothing; no resource of the run is left."""
    key, run = "lesson97", f"{engine.RUN_ID}-nb97"  # a lesson and a run of this test's own
    buildcache.clear_cache(key)
    _project(tmp_context, "lesson")
    lab = {engine.RUN_LABEL: run}
    try:
        first = images.build(
            tmp_context, "shipshape-test/nb97:lesson", on_event=None, lesson="97", labels=lab
        )
        plain = images.build(tmp_context, "shipshape-test/nb97:plain", on_event=None, labels=lab)
        images.clean(run=run)
        assert engine.leftovers(run=run) == {
            "containers": [],
            "networks": [],
            "volumes": [],
            "images": [],
        }
        kept = [e for e in buildcache.cache_entries() if e["exercise"] == key]
        assert [e["group"] for e in kept] == [buildcache.group_of(first.image_id)]
        with pytest.raises(docker.errors.ImageNotFound):  # no lesson label: gone whole
            engine.client().api.inspect_image(plain.image_id)
        again = images.build(
            tmp_context, "shipshape-test/nb97:lesson", on_event=None, lesson="97", labels=lab
        )
        steps = sc.step_cache(again.log)
        assert all(c for s, c in steps if not s.startswith("FROM")), steps  # all reused
    finally:
        images.clean(run=run)
        buildcache.clear_cache(key)
    assert not [e for e in buildcache.cache_entries() if e["exercise"] == key]


def test_a_cold_build_never_becomes_the_step_every_later_build_matches(tmp_context, own_cache):
    """The classic builder takes the newest matching child of a step's parent. A cold build
    makes a new child for every step; the old harness then primed its warm variant on those
    (the same Dockerfile), kept that as cache, and every other project's next build on the
    same base matched the cold ``WORKDIR`` and ran its later steps again (session 8: one such
    chain per CI run under ``python:3.11``). Now a cold rep is removed before any other build:
    the other project's rebuild takes every step from the cache."""
    from helpers import benchmark

    workdir = f"/w{os.getpid()}x{id(tmp_context) % 10**6}"  # no other test's chain shares it
    for name in ("a", "b"):
        tmp_context.write(
            f"Dockerfile.{name}",
            f"FROM debian:bookworm-slim\nWORKDIR {workdir}\nCOPY {name}.txt .\n"
            f"RUN cat {name}.txt > /{name}.out\n",
        )
        tmp_context.write(f"{name}.txt", f"{name}\n")
    other = images.temp_tag("ex97b", tmp_context)
    try:
        first = images.build(tmp_context, other, dockerfile="Dockerfile.b", on_event=None)
        assert first.cached_steps < first.steps  # its chain is new
        benchmark.run(
            str(tmp_context),
            [
                benchmark.Variant("cold", "Dockerfile.a", nocache=True),
                benchmark.Variant("warm", "Dockerfile.a"),
            ],
            reps=1,
            cache_as=EX,
        )
        again = images.build(tmp_context, other, dockerfile="Dockerfile.b", on_event=None)
        steps = sc.step_cache(again.log)
        assert all(c for s, c in steps if not s.startswith("FROM")), steps
    finally:
        engine.clean(run=engine.RUN_ID)


def test_dropping_what_a_run_did_not_use_keeps_its_working_set(tmp_context, own_cache):
    """``clean --cache-unused-since T`` (CI, after a run that started at T): the builds used
    since T stay, older ones go, and other keys' builds are not touched."""
    import time

    from tests.support import helpers_cli

    tag = images.temp_tag("ex97", tmp_context)
    _project(tmp_context, "before the run")
    old = images.build(tmp_context, tag, on_event=None, exercise=EX)
    images.remove(tag)
    _project(tmp_context, "another key's")
    other = images.build(tmp_context, tag, on_event=None, exercise="96")
    images.remove(tag)
    since = time.time()
    _project(tmp_context, "during the run")
    new = images.build(tmp_context, tag, on_event=None, exercise=EX)
    images.remove(tag)
    groups = {e["group"] for e in buildcache.cache_entries() if e["exercise"] == EX}
    assert groups == {buildcache.group_of(old.image_id), buildcache.group_of(new.image_id)}
    # --exercise: this test's own entries only (the engine's real cache is shared by the
    # suite's workers; a first version of this test dropped all of it)
    out = helpers_cli("clean", "--cache-unused-since", f"{since:.3f}", "--exercise", EX)
    assert out.returncode == 0, out.stdout + out.stderr
    try:
        entries = buildcache.cache_entries()
        kept = [e["group"] for e in entries if e["exercise"] == EX]
        assert kept == [buildcache.group_of(new.image_id)], out.stdout
        others = [e["group"] for e in entries if e["exercise"] == "96"]
        assert others == [buildcache.group_of(other.image_id)]  # not this key's: untouched
    finally:
        buildcache.clear_cache("96")
