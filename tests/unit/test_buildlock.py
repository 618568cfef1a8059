"""The host's build lock (helpers.buildlock) between processes: pure locking, no engine."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest

from helpers import buildlock

ROOT = Path(__file__).resolve().parents[2]
HOLDER = """
import sys
from helpers import buildlock
mode, timeout = sys.argv[1], float(sys.argv[2])
with getattr(buildlock, mode)(timeout) as got:
    print("held" if got else "not held", flush=True)
    sys.stdin.readline()
"""


@pytest.fixture
def own_lock(monkeypatch):
    """A lock file of this test's own (a made-up engine address), closed and removed after."""
    host = f"unix:///nonexistent/{uuid.uuid4().hex}.sock"
    monkeypatch.setenv("DOCKER_HOST", host)
    monkeypatch.setattr(buildlock, "_fds", {})
    yield host
    for fd in buildlock._fds.values():
        os.close(fd)
    buildlock.lock_path().unlink(missing_ok=True)
    buildlock.lock_path().with_suffix(".gate").unlink(missing_ok=True)


def _holder(host: str, mode: str, timeout: float = 5) -> subprocess.Popen[str]:
    p = subprocess.Popen(
        [sys.executable, "-c", HOLDER, mode, str(timeout)],
        cwd=ROOT,
        env={**os.environ, "DOCKER_HOST": host},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    return p


def _said(p: subprocess.Popen[str]) -> str:
    assert p.stdout is not None
    return p.stdout.readline().strip()


def _release(p: subprocess.Popen[str]) -> None:
    assert p.stdin is not None
    p.stdin.write("\n")
    p.stdin.flush()
    assert p.wait(timeout=30) == 0


def test_a_cold_build_elsewhere_holds_every_other_build_back(own_lock):
    holder = _holder(own_lock, "exclusive")
    try:
        assert _said(holder) == "held"
        told: list[str] = []
        with buildlock.shared(0.3, lambda: told.append("waiting")) as got:
            assert got is False  # the deadline passes: go ahead, unlocked
        assert told == ["waiting"]  # said once, not once per poll
        with buildlock.exclusive(0.3) as got:
            assert got is False
        assert buildlock.held() is None
        _release(holder)
        with buildlock.shared(5, lambda: told.append("again")) as got:  # released
            assert got is True and buildlock.held() == "shared"
            assert told == ["waiting"]  # a free lock: nothing to say
            with buildlock.exclusive(5) as again:  # this process alone: converts in place
                assert again is True and buildlock.held() == "exclusive"
            assert buildlock.held() == "shared"
        assert buildlock.held() is None
    finally:
        holder.kill()
        holder.wait()


def test_a_waiting_cold_build_is_not_starved_by_new_builds(own_lock):
    """A cold build waits for the builds already running, and no new one starts meanwhile
    (else, with builds always running somewhere, it would wait until its deadline)."""
    running = _holder(own_lock, "shared")
    late = None
    try:
        assert _said(running) == "held"
        result: list[bool] = []
        waiter = threading.Thread(target=lambda: result.append(_hold_exclusive(10)), daemon=True)
        waiter.start()
        assert _gate_closes_within(10), "the waiting cold build never closed the gate"
        # the cold build is waiting now: a new build does not get past it
        late = _holder(own_lock, "shared", timeout=0.5)
        assert _said(late) == "not held"
        _release(late)
        _release(running)  # the build before it ends: the cold build goes
        waiter.join(timeout=30)
        assert result == [True]
    finally:
        for p in (running, late):
            if p is not None:
                p.kill()
                p.wait()


def _hold_exclusive(timeout: float) -> bool:
    with buildlock.exclusive(timeout) as got:
        return got


def _gate_closes_within(timeout: float) -> bool:
    """Poll the gate through a descriptor of this test's own (flock locks belong to open
    files, so this one conflicts with the waiter's) until it is closed."""
    import fcntl
    import time

    fd = os.open(buildlock.lock_path().with_suffix(".gate"), os.O_RDWR | os.O_CREAT)
    try:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                fcntl.flock(fd, fcntl.LOCK_UN)
            except BlockingIOError:
                return True
            time.sleep(0.02)  # polling the lock's state, with a deadline
        return False
    finally:
        os.close(fd)
