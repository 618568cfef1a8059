"""The package cache: a configured cache that goes away is one clear error, never a hang.

These tests never change the shared base images: they set ``$SHIPSHAPE_PACKAGE_CACHE`` only for
builds of their own small contexts (the helpers check the cache before every build).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import cacheserver, images, pkgcache
from tests.conftest import ROOT

pytestmark = [pytest.mark.docker]


def _context(ctx) -> None:
    ctx.write("Dockerfile", "FROM debian:bookworm-slim\nRUN echo built > /x\n")


def _cmdline(d: Path) -> str:
    try:
        return (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _free_port() -> int:
    """A free port below 32768 (apt-cacher-ng cannot bind above it)."""
    import random

    for port in random.sample(range(20000, 32000), 200):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port")


def test_cache_that_went_away_is_a_clear_error_not_a_hang(tmp_context, docker_client, monkeypatch):
    _context(tmp_context)
    # a cache that answered a moment ago: real listeners, then closed ("stopped mid-way")
    listeners = [socket.create_server(("127.0.0.1", 0)) for _ in range(2)]
    pip_port, apt_port = (s.getsockname()[1] for s in listeners)
    monkeypatch.setenv(pkgcache.ENV, f"127.0.0.1:{pip_port}:{apt_port}")
    pkgcache.preflight()  # answers: no error
    for s in listeners:
        s.close()
    with pytest.raises(images.BuildError) as err:
        images.build(tmp_context, "shipshape-test/pkgcache-down:1", on_event=None, timeout_s=60)
    msg = str(err.value)
    assert "does not answer" in msg and f"127.0.0.1:{pip_port}" in msg
    assert "python -m helpers cache start" in msg and "Hint:" in msg


def test_a_check_with_the_cache_down_fails_its_build_item_with_the_fix(monkeypatch):
    monkeypatch.setenv(pkgcache.ENV, f"127.0.0.1:{_free_port()}:{_free_port()}")
    r = subprocess.run(
        [sys.executable, "-m", "helpers", "check", "00", "--path", "solutions/00_warmup", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ,
    )
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode == 1
    assert "package cache" in r.stdout and "helpers cache start" in r.stdout


def test_not_configured_changes_nothing(monkeypatch):
    monkeypatch.delenv(pkgcache.ENV, raising=False)
    assert pkgcache.config() is None
    pkgcache.preflight()  # nothing configured: nothing to check


@pytest.mark.slow
def test_real_cache_serves_then_stopping_it_is_a_clear_error(tmp_path, tmp_context, monkeypatch):
    """devpi-server and apt-cacher-ng for real: start, answer, stop, next build says so."""
    monkeypatch.setenv(pkgcache.STATE_ENV, str(tmp_path / "state"))
    pip_port, apt_port = _free_port(), _free_port()
    try:
        st = cacheserver.start(
            bind="127.0.0.1", pip_port=pip_port, apt_port=apt_port, timeout_s=180
        )
    except pkgcache.PackageCacheError as exc:
        if "not installed" in str(exc) or "Could not install" in str(exc):
            pytest.skip(f"the package cache servers cannot be had here: {exc}")
        raise
    try:
        assert st["devpi"] and st["apt-cacher-ng"]
        monkeypatch.setenv(pkgcache.ENV, f"127.0.0.1:{pip_port}:{apt_port}")
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{pip_port}/+api", timeout=10) as resp:
            assert resp.status == 200  # devpi answers
        _context(tmp_context)
        images.build(tmp_context, "shipshape-test/pkgcache-up:1", on_event=None, timeout_s=120)
        images.remove("shipshape-test/pkgcache-up:1")
    finally:
        stopped = cacheserver.stop()
    assert set(stopped) == {"devpi", "apt-cacher-ng"}
    state = str(tmp_path / "state")
    left = [
        d.name
        for d in Path("/proc").iterdir()
        if d.name.isdigit()
        and state in _cmdline(d)
        and (d / "stat").is_file()
        and _cmdline(d)  # zombies have none
    ]
    assert not left, left  # no server process (nor a forked helper of one) outlives stop()
    with pytest.raises(images.BuildError, match="does not answer"):
        images.build(tmp_context, "shipshape-test/pkgcache-up:1", on_event=None, timeout_s=60)


def test_an_image_built_on_the_layer_keeps_its_tag_when_the_cache_goes(
    tmp_context, docker_client, monkeypatch
):
    """Taking the layer off only ever undoes the layer itself. An image built FROM a base
    that had it (a replica built while the cache was on) inherits its labels; its tag once
    moved to that base's plain parent, swapping python:3.11-slim for debian (a cold CI run)."""
    from helpers import baselayers, engine

    monkeypatch.setenv(pkgcache.ENV, "127.0.0.1:9:9")  # the layer only names the address
    base, child = "shipshape-test/pkg-base:1", "shipshape-test/pkg-child:1"
    try:
        _context(tmp_context)
        plain = images.build(tmp_context, base, on_event=None, check_package_cache=False)
        assert baselayers.apply_package_cache(base, pkgcache.config())
        tmp_context.write("Dockerfile", f"FROM {base}\nRUN echo child > /child\n")
        built = images.build(tmp_context, child, on_event=None, check_package_cache=False)
        assert not baselayers.remove_package_cache(child)  # inherited labels: not its layer
        assert docker_client.images.get(child).id == built.image_id
        assert baselayers.remove_package_cache(base)  # the layer itself: the tag goes back
        assert docker_client.images.get(base).id == plain.image_id
    finally:
        engine.clean(run=engine.RUN_ID)


def test_switching_the_cache_off_and_on_gives_the_same_layers_again(
    tmp_context, docker_client, monkeypatch
):
    """Off, then on again (what every CI run does): the base image gets the very same layers,
    so BuildKit, which keys a base image by its layers, still has the sandbox image cached.
    Session 8 pruned the layer's steps on the way off: the COPY was built again, with new
    directory times, a new layer, and the sandbox image was rebuilt every run (87 s)."""
    from helpers import baselayers, engine

    monkeypatch.setenv(pkgcache.ENV, "127.0.0.1:9:9")  # the layer only names the address
    base = "shipshape-test/pkg-cycle:1"
    try:
        _context(tmp_context)
        images.build(tmp_context, base, on_event=None, check_package_cache=False)
        layers = []
        for _ in range(2):
            assert baselayers.apply_package_cache(base, pkgcache.config())
            layers.append(docker_client.images.get(base).attrs["RootFS"]["Layers"])
            assert baselayers.remove_package_cache(base)
        assert layers[0] == layers[1], "the package-cache layer changed between two cycles"
    finally:
        engine.clean(run=engine.RUN_ID)


def test_the_layer_on_an_unlabelled_base_carries_no_runs_label(
    tmp_context, docker_client, monkeypatch
):
    """A plain replica has no run or owner label: the layer gets fixed ones, the same for
    every process, never the applying process's run (its steps stay behind as cache when the
    layer comes off; with a test run's label on them the suite's leak check counted them)."""
    from helpers import baselayers, engine

    monkeypatch.setenv(pkgcache.ENV, "127.0.0.1:9:9")
    base = f"shipshape-test/pkg-plain:{engine.RUN_ID.lower()}"
    # FROM scratch: a course base would pass its own labels on (the replicas carry them)
    tmp_context.write("Dockerfile", "FROM scratch\nCOPY x /x\n")
    tmp_context.write("x", "plain\n")
    plain, _ = docker_client.images.build(path=str(tmp_context), tag=base, rm=True)
    assert not plain.labels, plain.labels  # no label of its own to pass on
    steps: list[str] = []
    try:
        assert baselayers.apply_package_cache(base, pkgcache.config())
        hist = [h["Id"] for h in docker_client.api.history(base)]
        steps = hist[: hist.index(plain.id)]
        labels = docker_client.images.get(base).labels
        assert labels[engine.RUN_LABEL] == baselayers.BASE_LAYER_RUN, labels
        assert labels[engine.OWNER_LABEL] == baselayers.BASE_LAYER_RUN, labels
        assert baselayers.remove_package_cache(base)
    finally:
        import contextlib

        import docker

        for image in [*steps, base]:  # the steps left as cache, newest first, then the base
            with contextlib.suppress(docker.errors.APIError):
                docker_client.images.remove(image)
