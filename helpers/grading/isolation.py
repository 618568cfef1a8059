"""One check of one untrusted submission, isolated: own run id, scrubbed environment,
ceilings on every container, a deadline that kills the whole process group, and a sweep that
removes the run's processes and resources by its id.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from .. import settings

#: Environment variables a check process may see; everything else of the grader's is dropped.
_ENV_KEEP = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "DOCKER_HOST", "DOCKER_CONFIG", "TMPDIR")


_ENV_KEEP_PREFIX = ("SHIPSHAPE_",)


def _scrubbed_env(run_id: str, limits: str = "") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in _ENV_KEEP or k.startswith(_ENV_KEEP_PREFIX)}
    env.pop(settings.LIMITS_ENV, None)
    env["SHIPSHAPE_RUN_ID"] = run_id
    env["SHIPSHAPE_GRADING"] = "1"
    env["PYTHONPATH"] = str(settings.repo_root())
    if limits:
        env[settings.LIMITS_ENV] = limits
    return env


def default_limits(jobs: int) -> str:
    """Ceilings per graded container: 2 GiB, the host's cores shared by the jobs, 512 pids."""
    cpus = max(0.5, (os.cpu_count() or 1) / max(1, jobs))
    return f"memory=2g,cpus={cpus:g},pids=512,logs=10m"


#: The memory ceiling where an exercise judges limits: above every answer the tasks accept.
JUDGED_MEMORY = "4g"


def limits_for(exercise: str, limits: str) -> str:
    """The ceilings for one exercise.

    A check module that judges the learner's own memory or CPU limits says so with
    ``JUDGES_LIMITS = True``. There a ceiling must sit above every correct answer, or it would
    pass a missing limit or clamp a right one: memory stays bounded at :data:`JUDGED_MEMORY`
    (a stack without limits still reads as wrong: above what the task asks), CPUs are not
    capped, and the process cap stays.
    """
    from ..checks import find_module

    if getattr(find_module(exercise), "JUDGES_LIMITS", False):
        kept = [p for p in limits.split(",") if p.strip().startswith(("pids", "logs"))]
        return ",".join([f"memory={JUDGED_MEMORY}", *kept])
    return limits


def _run_check(
    exercise: str, folder: Path, run_id: str, timeout_s: float, limits: str = ""
) -> tuple[str, dict[str, Any] | None, str]:
    """(status, report dict, message) of one check process, killed at the deadline."""
    env = _scrubbed_env(run_id, limits_for(exercise, limits))
    cmd = [sys.executable, "-m", "helpers", "check", exercise, "--path", str(folder), "--json"]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=str(settings.repo_root()),
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=max(1.0, timeout_s))
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return "timeout", None, f"the check did not finish within {timeout_s:.0f} s"
    try:
        report = json.loads(out)
    except ValueError:
        tail = (err or out).strip().splitlines()[-5:]
        return "error", None, "the check process failed: " + " | ".join(tail)
    if report.get("error"):
        return "error", report, f"could not run: {report['error']}"
    return "completed", report, ""


def run_processes(run_id: str) -> list[int]:
    """Pids of processes started for ``run_id`` (found by ``SHIPSHAPE_RUN_ID`` in /proc).

    A grader killed with SIGKILL cannot stop its check process or the Compose commands that
    process started; they carry the run id in their environment, so the next grader finds them.
    """
    needle = f"SHIPSHAPE_RUN_ID={run_id}".encode()
    out = []
    for d in Path("/proc").glob("[0-9]*"):
        try:
            env = (d / "environ").read_bytes()
        except OSError:
            continue
        if needle in env.split(b"\0") and int(d.name) != os.getpid():
            out.append(int(d.name))
    return out


def _sweep(run_id: str) -> None:
    """Stop every process of ``run_id``, then remove its containers, networks, volumes, images."""
    from .. import engine

    for pid in run_processes(run_id):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        engine.clean(run=run_id)
