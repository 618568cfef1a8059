"""Exercise 10: a worker that stops cleanly on ``docker stop``.

Rubric (9 points), judged on a real container stopped with a real ``docker stop``:

- ``docker stop`` returns quickly (3): within :data:`BOUND_S`, far below the
  :data:`GRACE_S` grace period after which the engine sends SIGKILL;
- the exit code is 0 (2);
- the cleanup ran (2): "shutdown complete" is in the logs (1) and the checkpoint file in the
  stopped container names the last batch the logs report (1);
- CMD/ENTRYPOINT is in exec form (2): static, on top of the behaviour above.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import behaviour, containers, images
from ..dockerfile import Dockerfile, is_exec_form
from ..findings import Report
from .rubric import Facts, Rubric, Verdict

EXERCISE = "10"
SLUG = "10_graceful_shutdown"
TITLE = "Graceful shutdown: SIGTERM, PID 1 and a clean exit"

QUICK = "docker stop returns quickly"
EXIT0 = "the exit code is 0"
CLEANUP = "the cleanup ran"
EXEC = "CMD is in exec form"

GRACE_S = 6
BOUND_S = 2.5
CHECKPOINT = "/app/state/checkpoint.json"
CLEAN_MESSAGE = "shutdown complete"


def read_file(ctr: Any, path: str) -> str | None:
    """A file's text from a (possibly stopped) container, or None when absent."""
    import docker

    try:
        stream, _ = ctr.get_archive(path)
    except docker.errors.NotFound:
        return None
    data = b"".join(stream)
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        member = tf.getmembers()[0]
        f = tf.extractfile(member)
        return f.read().decode("utf-8", "replace") if f else None


def pid1_note(path: Path) -> tuple[bool, str]:
    """Whether the final CMD/ENTRYPOINT is exec form, and what it is."""
    st = Dockerfile.from_path(path).final
    entry, cmd = st.find("ENTRYPOINT"), st.find("CMD")
    if entry:
        return is_exec_form(entry[-1].value), f"ENTRYPOINT {entry[-1].value}"
    if cmd:
        return is_exec_form(cmd[-1].value), f"CMD {cmd[-1].value}"
    return True, "(the base image's CMD)"


RUBRIC = Rubric(EXERCISE, SLUG, TITLE)


@dataclass
class Stopped:
    """The worker after a real ``docker stop``: timing, logs and the checkpoint file."""

    stop: containers.StopResult
    logs: str
    checkpoint: str | None


@RUBRIC.fact
def image(f: Facts) -> images.BuildResult:
    return images.build(f.path, f.tag("image"), on_event=None, timeout_s=300, exercise=EXERCISE)


@RUBRIC.fact
def stopped(f: Facts) -> Stopped:
    with containers.running(f.image.image_id) as ctr:
        behaviour.wait_for_log(ctr, "batch 1 done", timeout_s=30)
        stop = containers.stop_timed(ctr, grace_s=GRACE_S)
        return Stopped(stop, ctr.logs().decode("utf-8", "replace"), read_file(ctr, CHECKPOINT))


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
    exec_form, what = pid1_note(f.path)
    if not exec_form:
        hint = (
            f"`{what}` is the shell form: /bin/sh is PID 1, Python is its child, and sh "
            "neither forwards SIGTERM nor dies of it. Write it as a JSON list, "
            '`CMD ["python", "worker.py"]`, so Python itself is PID 1 and gets the signal.'
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


@RUBRIC.item("exec_form", EXEC, 2)
def exec_form(f: Facts) -> Verdict:
    ok, what = pid1_note(f.path)
    return Verdict(
        ok,
        what,
        hint=""
        if ok
        else 'Use the exec form, a JSON list: `CMD ["python", "worker.py"]` (hadolint DL3025). '
        "The shell form runs /bin/sh -c, which becomes PID 1 and swallows SIGTERM.",
        evidence={"instruction": what},
    )


def run(path: Path) -> Report:
    return RUBRIC.run(path)
