"""The host's build lock (helpers.buildlock) between processes: pure locking, no engine."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

from helpers import buildlock

HOLDER = """
import sys
from helpers import buildlock
with buildlock.exclusive(5) as got:
    print("held" if got else "not held", flush=True)
    sys.stdin.readline()
"""


def test_a_cold_build_elsewhere_holds_every_other_build_back(monkeypatch):
    host = f"unix:///nonexistent/{uuid.uuid4().hex}.sock"  # a lock file of this test's own
    monkeypatch.setenv("DOCKER_HOST", host)
    monkeypatch.setattr(buildlock, "_fd", None)
    env = {**os.environ, "DOCKER_HOST": host}
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER],
        cwd=root,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdin is not None
        assert holder.stdout.readline().strip() == "held"
        with buildlock.shared(0.3) as got:  # the deadline passes: go ahead, unlocked
            assert got is False
        with buildlock.exclusive(0.3) as got:
            assert got is False
        assert buildlock.held() is None
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.wait(timeout=30) == 0
        with buildlock.shared(5) as got:  # released (as it is when a process dies)
            assert got is True and buildlock.held() == "shared"
            with buildlock.exclusive(5) as again:  # this process alone: converts in place
                assert again is True and buildlock.held() == "exclusive"
            assert buildlock.held() == "shared"
        assert buildlock.held() is None
    finally:
        holder.kill()
        holder.wait()
        if buildlock._fd is not None:
            os.close(buildlock._fd)
        monkeypatch.setattr(buildlock, "_fd", None)
        buildlock.lock_path().unlink(missing_ok=True)
