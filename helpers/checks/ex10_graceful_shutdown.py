"""Exercise 10: a worker that stops cleanly on ``docker stop`` and on Ctrl-C.

Rubric (10 points), judged on real containers, never on the Dockerfile's text:

- ``docker stop`` returns quickly (3): within :data:`BOUND_S`, far below the
  :data:`GRACE_S` grace period after which the engine sends SIGKILL;
- the exit code is 0 (2);
- the cleanup ran (2): "shutdown complete" is in the logs (1) and the checkpoint file in the
  stopped container names the last batch the logs report (1);
- SIGTERM reaches Python (2): PID 1 of the running container (``docker top``) is the worker
  itself, or an init that forwards signals (tini, dumb-init, docker-init), or whatever else
  demonstrably passed the signal on (the worker cleaned up within the bound);
- SIGINT stops it cleanly too (1): a second container gets SIGINT (Ctrl-C) and must exit 0
  within :data:`BOUND_S` after saying "shutdown complete".
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import behaviour, containers, images, inside
from ..findings import Report
from .requirements import Requirement
from .rubric import Facts, Rubric, Verdict

EXERCISE = "10"
SLUG = "10_graceful_shutdown"
TITLE = "Graceful shutdown: SIGTERM, PID 1 and a clean exit"

QUICK = "docker stop returns quickly"
EXIT0 = "the exit code is 0"
CLEANUP = "the cleanup ran"
PID1 = "SIGTERM reaches Python: it is PID 1, or an init forwards it"
SIGINT = "SIGINT (Ctrl-C) stops it cleanly too"

GRACE_S = 6
BOUND_S = 2.5
CHECKPOINT = "/app/state/checkpoint.json"
CLEAN_MESSAGE = "shutdown complete"
#: Inits that forward signals to their child (``docker run --init`` installs docker-init).
FORWARDING_INITS = ("tini", "tini-static", "dumb-init", "docker-init", "catatonit")

REQUIREMENTS = (
    Requirement("handle SIGTERM and SIGINT", ("quick", "sigint")),
    Requirement("let the batch in hand finish, call flush()", ("cleanup",)),
    Requirement("print a line containing shutdown complete", ("cleanup", "sigint")),
    Requirement("exit with code 0", ("exit0", "sigint")),
    Requirement("make sure the signal reaches Python at all", ("pid1", "quick")),
    Requirement("It passes when the stop returns within 2.5 s", ("quick",)),
    Requirement("the exit code is 0", ("exit0",)),
    Requirement("the logs say shutdown complete", ("cleanup",)),
    Requirement("names the last batch the logs report", ("cleanup",)),
    Requirement("PID 1 of the running container is Python itself", ("pid1",)),
    Requirement("must exit 0 within 2.5 s as well", ("sigint",)),
)
README_NOT_RULES: dict[str, str] = {
    "keeps results in a buffer that it writes out (with a checkpoint saying where to resume) "
    "every 20 batches": "describes the starter's worker, not a task",
}


def read_file(ctr: Any, path: str) -> str | None:
    """A file's text from a (possibly stopped) container, or None when absent."""
    data = inside.read_file(ctr, path)
    return data.decode("utf-8", "replace") if data is not None else None


def _argv(command: str) -> list[str]:
    try:
        return shlex.split(command)
    except ValueError:
        return command.split()


def _name(word: str) -> str:
    return word.rsplit("/", 1)[-1]


def is_worker(command: str) -> bool:
    """A command line that is Python running the worker script.

    >>> is_worker("python worker.py"), is_worker("/usr/local/bin/python3.11 -u /app/worker.py")
    (True, True)
    >>> is_worker("/bin/sh -c python worker.py"), is_worker("python -c import os")
    (False, False)
    """
    argv = _argv(command)
    return (
        bool(argv)
        and re.fullmatch(r"python[\d.]*", _name(argv[0])) is not None
        and any(_name(a) == "worker.py" for a in argv[1:])
    )


def pid1_kind(pid: inside.Pid1) -> str:
    """``worker`` (Python runs the worker as PID 1), ``init`` (a forwarding init in front
    of it) or ``other`` (a shell, a script, a launcher: signals stop there).

    >>> pid1_kind(inside.Pid1("python worker.py", [], "docker top"))
    'worker'
    >>> pid1_kind(inside.Pid1("/sbin/docker-init -- python worker.py", ["python worker.py"], "docker top"))
    'init'
    >>> pid1_kind(inside.Pid1("/bin/sh -c python worker.py", ["python worker.py"], "docker top"))
    'other'
    """
    if is_worker(pid.command):
        return "worker"
    argv = _argv(pid.command)
    if argv and _name(argv[0]) in FORWARDING_INITS:
        return "init"
    return "other"


RUBRIC = Rubric(EXERCISE, SLUG, TITLE)


@dataclass
class Interrupted:
    """The worker after SIGINT (Ctrl-C): exit code (None: still running at the bound), logs."""

    exit_code: int | None
    seconds: float
    logs: str


@dataclass
class Stopped:
    """The worker after a real ``docker stop``: timing, logs and the checkpoint file."""

    stop: containers.StopResult
    logs: str
    checkpoint: str | None
    pid1: inside.Pid1
    interrupted: Interrupted


@RUBRIC.fact
def image(f: Facts) -> images.BuildResult:
    return images.build(f.path, f.tag("image"), on_event=None, timeout_s=300, exercise=EXERCISE)


@RUBRIC.fact
def stopped(f: Facts) -> Stopped:
    """Two containers of the image: one gets ``docker stop`` (timed), the other SIGINT.

    They run side by side (a thread waits on the interrupted one), so the SIGINT probe adds
    no seconds to the check.
    """
    import threading
    import time

    with (
        containers.running(f.image.image_id) as ctr,
        containers.running(f.image.image_id) as other,
    ):
        behaviour.wait_for_log(ctr, "batch 1 done", timeout_s=30)
        behaviour.wait_for_log(other, "batch 1 done", timeout_s=30)
        pid = inside.pid1(ctr)
        ended: dict[str, Any] = {}

        def wait_interrupted() -> None:
            try:
                ended["code"] = containers.wait_for_exit(other, timeout_s=BOUND_S).exit_code
            except Exception:  # still running at the bound (or the wait failed): not clean
                ended["code"] = None
            ended["seconds"] = time.monotonic() - t0

        t0 = time.monotonic()
        other.kill(signal="SIGINT")
        waiter = threading.Thread(target=wait_interrupted, daemon=True)
        waiter.start()
        stop = containers.stop_timed(ctr, grace_s=GRACE_S)
        logs = ctr.logs().decode("utf-8", "replace")
        waiter.join(BOUND_S + 30)
        intr = Interrupted(
            ended.get("code"),
            float(ended.get("seconds", BOUND_S)),
            other.logs().decode("utf-8", "replace"),
        )
        return Stopped(stop, logs, read_file(ctr, CHECKPOINT), pid, intr)


@RUBRIC.fact
def interrupted(f: Facts) -> Interrupted:
    """The container sent SIGINT (what Ctrl-C sends) instead of ``docker stop``."""
    return f.stopped.interrupted


@RUBRIC.item("quick", QUICK, 3, needs=("stopped",))
def quick(f: Facts) -> Verdict:
    stop = f.stopped.stop
    ev = {
        "stop_seconds": round(stop.seconds, 2),
        "grace_s": GRACE_S,
        "bound_s": BOUND_S,
        "exit_code": stop.exit_code,
    }
    if stop.seconds <= BOUND_S:
        return Verdict(
            True,
            f"stopped in {stop.seconds:.2f} s (grace period {GRACE_S} s)",
            evidence=ev,
        )
    pid = f.stopped.pid1
    if pid1_kind(pid) == "other":
        hint = (
            f"PID 1 is `{pid.command}`, not Python: the shell (or script) gets SIGTERM, "
            "neither forwards it nor dies of it. Use the exec form, "
            '`CMD ["python", "worker.py"]` (or `exec python worker.py` as the last line of '
            "an entrypoint script), so Python itself is PID 1 and gets the signal."
        )
    elif CLEAN_MESSAGE in f.stopped.logs:
        hint = (
            "The handler ran (the cleanup message is there) but the process kept going "
            "until SIGKILL: after cleaning up, leave the loop and exit."
        )
    else:
        hint = (
            "The engine sent SIGTERM, waited the whole grace period, then SIGKILL. Python as "
            "PID 1 gets no default action for SIGTERM: install one with "
            "`signal.signal(signal.SIGTERM, handler)`."
        )
    return Verdict(
        False,
        f"stop took {stop.seconds:.1f} s: the engine waited the whole {GRACE_S} s grace "
        "period and then killed the process",
        hint=hint,
        evidence=ev,
    )


@RUBRIC.item("exit0", EXIT0, 2, needs=("stopped",))
def exit0(f: Facts) -> Verdict:
    code = f.stopped.stop.exit_code
    if code == 0:
        return Verdict(True, "exit code 0", evidence={"exit_code": 0})
    meaning = {
        137: "137 = 128 + 9: SIGKILL, sent when the grace period ran out",
        143: "143 = 128 + 15: the process died of SIGTERM itself, no handler ran",
    }.get(code, f"{code}: the program chose a failure code")
    hint = (
        "Orchestrators read a non-zero code after a requested stop as a crash (and "
        "`restart: on-failure` restarts it). After cleaning up, exit with `sys.exit(0)`."
    )
    return Verdict(False, f"exit code {meaning}", hint=hint, evidence={"exit_code": code})


@RUBRIC.item("cleanup", CLEANUP, 2, needs=("stopped",))
def cleanup(f: Facts) -> Verdict:
    logs = f.stopped.logs
    done = [int(n) for n in re.findall(r"batch (\d+) done", logs)]
    last = max(done) if done else 0
    said = CLEAN_MESSAGE in logs
    raw = f.stopped.checkpoint
    try:
        ckpt = json.loads(raw) if raw else None
    except ValueError:
        ckpt = None
    saved = isinstance(ckpt, dict) and ckpt.get("last_batch") == last and last > 0
    earned = int(said) + int(saved)
    ev = {"last_batch_logged": last, "checkpoint": raw, "logs_tail": logs[-400:]}
    msg = (
        f"cleanup message {'present' if said else 'missing'}; checkpoint "
        + (f"at batch {ckpt.get('last_batch')}" if isinstance(ckpt, dict) else "not written")
        + f" (last batch logged: {last})"
    )
    problems = []
    if not said:
        problems.append(f'print a line containing "{CLEAN_MESSAGE}" once the cleanup is done')
    if not saved:
        problems.append(
            "call flush() on shutdown so the buffered batches and the checkpoint are written "
            f"({CHECKPOINT} must name the last finished batch)"
        )
    return Verdict(
        earned == 2,
        msg,
        hint="; ".join(problems) + "." if problems else "",
        evidence=ev,
        earned=earned,
    )


@RUBRIC.item("pid1", PID1, 2, needs=("stopped",))
def pid1_gets_signal(f: Facts) -> Verdict:
    pid, st = f.stopped.pid1, f.stopped
    kind = pid1_kind(pid)
    ev = {"pid1": pid.command, "children": pid.children[:5], "read_with": pid.source}
    if kind == "worker":
        return Verdict(True, f"PID 1 is the worker itself: `{pid.command}`", evidence=ev)
    if kind == "init":
        return Verdict(
            True, f"PID 1 is an init that forwards signals: `{pid.command}`", evidence=ev
        )
    forwarded = st.stop.seconds <= BOUND_S and CLEAN_MESSAGE in st.logs
    if forwarded:
        return Verdict(
            True,
            f"PID 1 is `{pid.command}`, and it passed SIGTERM on: the worker cleaned up in "
            f"{st.stop.seconds:.2f} s",
            evidence=ev,
        )
    return Verdict(
        False,
        f"PID 1 is `{pid.command}` (the worker is its child: {pid.children[:2]}), and "
        "SIGTERM never reached the worker",
        hint="The shell form `CMD python worker.py` (and a JSON list that starts a shell, "
        '`["sh", "-c", ...]`, or an entrypoint script without `exec`) makes /bin/sh PID 1: '
        'it swallows SIGTERM. Use the exec form, `CMD ["python", "worker.py"]`; in an '
        "entrypoint script, start the worker with `exec` (`exec python worker.py` or "
        '`exec "$@"`) so it replaces the shell. (hadolint DL3025)',
        evidence=ev,
    )


@RUBRIC.item("sigint", SIGINT, 1, needs=("interrupted",))
def sigint_clean(f: Facts) -> Verdict:
    it = f.interrupted
    said = CLEAN_MESSAGE in it.logs
    ev = {"exit_code": it.exit_code, "seconds": round(it.seconds, 2), "logs_tail": it.logs[-400:]}
    if it.exit_code == 0 and said:
        return Verdict(True, f"SIGINT: cleaned up and exited 0 in {it.seconds:.2f} s", evidence=ev)
    if it.exit_code is None:
        what = f"still running {BOUND_S} s after SIGINT"
    else:
        what = f"exit code {it.exit_code}" + ("" if said else f", no {CLEAN_MESSAGE!r}")
    tb = "KeyboardInterrupt" in it.logs
    return Verdict(
        False,
        f"SIGINT (Ctrl-C): {what}",
        hint=("SIGINT raised KeyboardInterrupt and killed the worker mid-batch: " if tb else "")
        + "register the same handler for SIGINT as for SIGTERM "
        "(`signal.signal(signal.SIGINT, handler)`), so Ctrl-C also finishes the batch, "
        "flushes and exits 0.",
        evidence=ev,
    )


def run(path: Path) -> Report:
    return RUBRIC.run(path)
