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
    during: str = "run",
) -> None:
    """Ctrl-C (SIGINT) in the middle of ``check`` of ``folder``: the CLI exits 130 and every
    resource of this run it made is gone.

    ``during="run"``: once a container of the check runs. ``during="build"``: once the
    builder has created the step that carries the run's labels (the build's last step, a
    container created from an image id and never started): the engine still commits that
    step after the client has gone, and the image must not be left behind untagged.
    """
    from helpers import engine

    api = engine.client().api
    flt = {"label": [f"{engine.RUN_LABEL}={engine.RUN_ID}"]}
    # the builder's step container lives for milliseconds: wait for its "create" event,
    # subscribed before the check starts, rather than poll for it
    events = (
        api.events(decode=True, filters={**flt, "type": "container", "event": "create"})
        if during == "build"
        else None
    )
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
    seen = False
    if events is not None:
        import threading

        # the event stream blocks: a timer closes it at the deadline
        timer = threading.Timer(start_within_s, events.close)
        timer.start()
        try:
            for ev in events:
                image = str((ev.get("Actor") or {}).get("Attributes", {}).get("image", ""))
                if image.startswith("sha256:"):  # the builder's, not the check's container
                    seen = True
                    break
        except Exception:  # closed at the deadline
            pass
        finally:
            timer.cancel()
            events.close()
    else:
        deadline = time.monotonic() + start_within_s
        while time.monotonic() < deadline and proc.poll() is None:
            rows = api.containers(all=True, filters=flt)  # cheap: no image list per poll
            if any(r.get("State") == "running" for r in rows):
                seen = True
                break
            time.sleep(0.1)  # poll interval of a deadline-bounded wait
    assert seen, f"the check of {exercise} never reached its {during} step"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=stop_within_s)
    assert proc.returncode == 130, out + err
    assert resource_counts() == before, engine.leftovers(run=engine.RUN_ID)
