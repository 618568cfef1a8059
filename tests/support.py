"""What the integration tests of every exercise assert the same way: a wrong answer fails
exactly its items (each with a hint), a correct one scores the maximum, the CLI's
``python -m helpers`` as a learner runs it, and Ctrl-C in the middle of a check.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import ROOT


def assert_full_score(rep: Any) -> None:
    """The check ran and scored the rubric's maximum."""
    assert rep.error is None, rep.error
    assert rep.score == rep.max_score, str(rep)


def assert_fails_exactly(rep: Any, failing: set[str], by: str = "name") -> list[Any]:
    """The check ran and failed exactly ``failing`` (item names, or keys with ``by="key"``),
    every failed item with a hint. Returns the failed items, in the rubric's order."""
    assert rep.error is None, rep.error
    failed = rep.failed()
    assert {getattr(r, by) for r in failed} == failing, str(rep)
    for r in failed:
        assert r.hint, f"{r.name} failed without a hint"
    return failed


def helpers_cli(
    *args: str, timeout: float = 300, env_extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m helpers ARGS`` from the repository root, its output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "helpers", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env_extra or {})},
    )


def interrupt_check(
    exercise: str,
    folder: Path,
    resource_counts: Callable[[], dict[str, set[str]]],
    *,
    start_within_s: float,
    stop_within_s: float,
) -> None:
    """Ctrl-C (SIGINT) once ``check`` of ``folder`` has a container of this run: the CLI
    exits 130 and every resource of this run it made is gone."""
    from helpers import engine

    before = resource_counts()
    proc = subprocess.Popen(
        [sys.executable, "-m", "helpers", "check", exercise, "--path", str(folder)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # a shell's background job inherits SIGINT ignored; Ctrl-C must reach the check
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + start_within_s
    seen = False
    while time.monotonic() < deadline and proc.poll() is None:
        if resource_counts()["containers"] > before["containers"]:
            seen = True
            break
        time.sleep(0.2)  # poll interval of a deadline-bounded wait
    assert seen, f"the check of {exercise} never started a container"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=stop_within_s)
    assert proc.returncode == 130, out + err
    assert resource_counts() == before, engine.leftovers(run=engine.RUN_ID)
