"""Run containers with the project's labels and judge them by re-read state, with deadlines.

Waits poll the engine's state (``reload()`` each time) until a deadline; they fail fast when
the container exits and attach the last logs and health log to the error.

Example:
    >>> from helpers import containers
    >>> with containers.running("python:3.11-slim", ["sleep", "30"]) as c:   # doctest: +SKIP
    ...     containers.stop_timed(c, grace_s=5).exit_code
    137
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import engine, waiting

if TYPE_CHECKING:
    from docker.models.containers import Container

POLL_S = 0.2
HANDLE_LABEL = f"{engine.LABEL_PREFIX}.handle"


class WaitError(RuntimeError):
    """A wait did not see the state it wanted. ``evidence`` holds what was measured."""

    def __init__(self, message: str, evidence: dict[str, Any] | None = None):
        super().__init__(message)
        self.evidence = evidence or {}


class ContainerExited(WaitError):
    """The container exited while we waited for something else."""


class NeverHealthy(WaitError):
    """The container did not become healthy before the deadline (or turned unhealthy)."""


def run(
    image: str, command: Any = None, *, kind: str = engine.KIND_TEMP, **kwargs: Any
) -> Container:
    """Start a detached container with the project's labels (``docker run -d``).

    Extra keyword arguments go to docker-py's ``containers.create`` (mem_limit, nano_cpus,
    environment, healthcheck, init, ...). Labels given are merged with the project's.

    Interrupt-safe: if anything (Ctrl-C included) stops us between the engine creating the
    container and us holding it, the container is found by a one-off label and removed.
    """
    import uuid

    lab = engine.labels(kind=kind)
    lab.update(kwargs.pop("labels", {}) or {})
    kwargs = apply_ceilings(kwargs)
    handle = uuid.uuid4().hex
    lab[HANDLE_LABEL] = handle
    c = engine.client()
    try:
        ctr = c.containers.create(image, command, labels=lab, **kwargs)
        ctr.start()
    except BaseException:
        for orphan in c.containers.list(all=True, filters={"label": f"{HANDLE_LABEL}={handle}"}):
            remove_quietly(orphan)
        raise
    return ctr


def apply_ceilings(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Bound a container's memory, CPUs and processes by ``$SHIPSHAPE_LIMITS`` (the grader's).

    A limit the caller (the check) set stays when it is lower than the ceiling, so checks that
    judge a submission's own limits still see them; a missing or higher one becomes the ceiling.
    A memory limit may be given the way docker-py takes it, as bytes or as text (``"256m"``).
    Unset, nothing changes.

    >>> import os
    >>> os.environ["SHIPSHAPE_LIMITS"] = "memory=512m,pids=128"
    >>> apply_ceilings({"mem_limit": "256m", "pids_limit": 4096})
    {'mem_limit': 268435456, 'pids_limit': 128}
    >>> apply_ceilings({"mem_limit": "1g"})["mem_limit"] == 512 * 2**20
    True
    >>> del os.environ["SHIPSHAPE_LIMITS"]
    >>> apply_ceilings({"mem_limit": "256m"})
    {'mem_limit': '256m'}
    """
    from docker.utils import parse_bytes

    from . import settings

    out = dict(kwargs)
    for key, ceiling in settings.container_limits().items():
        given = out.get(key)
        if isinstance(given, str):  # "256m": docker-py's own syntax for sizes
            given = parse_bytes(given)
        out[key] = ceiling if not given or given <= 0 or given > ceiling else given
    size = settings.log_size_ceiling()
    if size and not out.get("log_config"):
        # a log-flooding container keeps its last ``size`` of output, not the grader's disk
        out["log_config"] = {"Type": "json-file", "Config": {"max-size": size, "max-file": "1"}}
    return out


@contextlib.contextmanager
def running(image: str, command: Any = None, **kwargs: Any) -> Iterator[Container]:
    """Like :func:`run`, and the container is removed on leaving the block.

    Removal happens on errors and on KeyboardInterrupt (an interrupted notebook cell) too.
    """
    ctr = run(image, command, **kwargs)
    try:
        yield ctr
    finally:
        remove_quietly(ctr)


def remove_quietly(ctr: Container) -> None:
    """Force-remove a container and its anonymous volumes; absent is fine."""
    import docker

    with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
        ctr.remove(force=True, v=True)


def logs_tail(ctr: Container, lines: int = 30) -> str:
    """The container's last log lines as text (stdout and stderr)."""
    try:
        return ctr.logs(tail=lines).decode("utf-8", "replace")
    except Exception as exc:  # container already gone
        return f"<logs unavailable: {type(exc).__name__}>"


def health_log(ctr: Container) -> list[dict[str, Any]]:
    """The engine's record of the last health probes: start, end, exit code, output."""
    health = (ctr.attrs.get("State") or {}).get("Health") or {}
    return list(health.get("Log") or [])


def health_status(ctr: Container) -> str | None:
    """``starting``, ``healthy``, ``unhealthy``, or None when the image has no health check."""
    health = (ctr.attrs.get("State") or {}).get("Health")
    return health.get("Status") if health else None


@dataclass
class HealthTimeline:
    """What the wait observed: status changes with seconds since the wait began."""

    changes: list[tuple[float, str]] = field(default_factory=list)
    seconds: float = 0.0
    final: str | None = None

    def to_rows(self) -> list[dict[str, Any]]:
        return [{"seconds": round(t, 2), "status": s} for t, s in self.changes]


def wait_for_health(
    ctr: Container, want: str = "healthy", timeout_s: float = 60.0, since: float | None = None
) -> HealthTimeline:
    """Poll until the container's health status is ``want``; return the timeline.

    Raises:
        ContainerExited: it exited first (exit code and logs in the message).
        NeverHealthy: the deadline passed; the last health probes are in ``evidence``.
        WaitError: the image defines no health check.
    """
    t0 = since if since is not None else time.monotonic()
    tl = HealthTimeline()
    last: list[object] = [object()]

    def arrived() -> bool:
        ctr.reload()
        state = ctr.attrs["State"]
        status = health_status(ctr)
        now = time.monotonic() - t0
        if status != last[0]:
            tl.changes.append((now, status or "none"))
            last[0] = status
        if status is None:
            raise WaitError(
                f"{ctr.name} has no health check, so it can never report healthy. "
                "Add HEALTHCHECK to the Dockerfile or `healthcheck:` to the service.",
                {"state": state},
            )
        if status == want:
            tl.seconds, tl.final = now, status
            return True
        if state.get("Status") in ("exited", "dead"):
            raise ContainerExited(
                f"{ctr.name} exited with code {state.get('ExitCode')} before it became {want}.\n"
                f"Last logs:\n{logs_tail(ctr)}",
                {
                    "exit_code": state.get("ExitCode"),
                    "timeline": tl.to_rows(),
                    "logs": logs_tail(ctr),
                },
            )
        return False

    try:
        waiting.until(arrived, timeout_s, interval_s=POLL_S, what=f"{ctr.name} {want}")
    except waiting.Timeout:
        probes = health_log(ctr)
        last_out = (probes[-1].get("Output", "") if probes else "").strip()
        raise NeverHealthy(
            f"{ctr.name} was still {health_status(ctr)!r} after {timeout_s:.0f}s (wanted {want!r}). "
            f"Last probe exit code {probes[-1].get('ExitCode') if probes else '-'}: "
            f"{last_out[:300] or '(no output)'}",
            {"timeline": tl.to_rows(), "health_log": probes, "logs": logs_tail(ctr)},
        ) from None
    return tl


def wait_until_healthy(ctr: Container, timeout_s: float = 60.0) -> HealthTimeline:
    """Wait for ``healthy``; see :func:`wait_for_health`."""
    return wait_for_health(ctr, "healthy", timeout_s)


@dataclass
class ExitInfo:
    """How a container ended."""

    exit_code: int
    oom_killed: bool
    memory_limit: int
    seconds: float
    logs: str

    @property
    def oom_confirmed(self) -> bool:
        """OOM needs all three signals: OOMKilled, exit 137 (SIGKILL) and a memory limit."""
        return self.oom_killed and self.exit_code == 137 and self.memory_limit > 0


def exit_info(ctr: Container, seconds: float = 0.0) -> ExitInfo:
    """Re-read the container and report its exit state."""
    ctr.reload()
    st = ctr.attrs["State"]
    return ExitInfo(
        exit_code=int(st.get("ExitCode", -1)),
        oom_killed=bool(st.get("OOMKilled")),
        memory_limit=int(ctr.attrs["HostConfig"].get("Memory") or 0),
        seconds=seconds,
        logs=logs_tail(ctr, 50),
    )


def wait_for_exit(ctr: Container, timeout_s: float = 120.0) -> ExitInfo:
    """Block until the container exits (engine-side wait), at most ``timeout_s``.

    Raises:
        WaitError: still running at the deadline (it is left running; the caller owns it).
    """
    import requests

    t0 = time.monotonic()
    try:
        ctr.wait(timeout=timeout_s)
    except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
        raise WaitError(
            f"{ctr.name} was still running after {timeout_s:.0f}s.\nLast logs:\n{logs_tail(ctr)}",
            {"logs": logs_tail(ctr)},
        ) from None
    return exit_info(ctr, time.monotonic() - t0)


@dataclass
class StopResult:
    """``docker stop`` measured: how long it took and how the process ended."""

    seconds: float
    exit_code: int
    grace_s: int
    killed: bool  # the grace period ran out and the engine sent SIGKILL
    logs: str


def stop_timed(ctr: Container, grace_s: int = 10) -> StopResult:
    """``docker stop`` with a grace period, timed; reads the exit code afterwards.

    Exit 0 or 143 (128+SIGTERM) means the process ended on SIGTERM; 137 (128+SIGKILL) within
    about ``grace_s`` means it ignored SIGTERM and was killed.
    """
    t0 = time.monotonic()
    ctr.stop(timeout=grace_s)
    secs = time.monotonic() - t0
    info = exit_info(ctr, secs)
    return StopResult(
        seconds=secs,
        exit_code=info.exit_code,
        grace_s=grace_s,
        killed=info.exit_code == 137 and not info.oom_killed,
        logs=info.logs,
    )


def sample_stats(
    ctr: Container, duration_s: float = 5.0, max_samples: int = 200
) -> list[dict[str, Any]]:
    """Sample ``docker stats`` for ``duration_s``: seconds, memory bytes, CPU percent.

    Stops early when the container exits. Runs the stream in a thread with a deadline so a
    silent engine cannot hang the caller.
    """
    rows: list[dict[str, Any]] = []
    stop = threading.Event()
    t0 = time.monotonic()
    api = ctr.client.api
    # the raw response, so it can be closed: a blocked reader wakes up and the engine stops
    resp = api._get(api._url("/containers/{0}/stats", ctr.id), params={"stream": True}, stream=True)

    def reader() -> None:
        try:
            for line in resp.iter_lines():
                if stop.is_set() or len(rows) >= max_samples:
                    return
                if line:
                    rows.append(_stat_row(json.loads(line), time.monotonic() - t0))
        except Exception:
            return

    th = threading.Thread(target=reader, daemon=True)
    th.start()

    def done() -> bool:  # the stream may keep going after the container stopped: ask
        if not th.is_alive():
            return True
        with contextlib.suppress(Exception):
            ctr.reload()
            return ctr.status not in ("running", "created", "restarting")
        return True

    try:
        waiting.holds(done, duration_s, interval_s=0.25)
    finally:
        stop.set()
        resp.close()
        th.join(5)
    return list(rows)


def _stat_row(s: dict[str, Any], t: float) -> dict[str, Any]:
    mem = s.get("memory_stats") or {}
    cpu, pre = s.get("cpu_stats") or {}, s.get("precpu_stats") or {}
    cpu_delta = cpu.get("cpu_usage", {}).get("total_usage", 0) - pre.get("cpu_usage", {}).get(
        "total_usage", 0
    )
    sys_delta = cpu.get("system_cpu_usage", 0) - pre.get("system_cpu_usage", 0)
    ncpu = cpu.get("online_cpus") or len(cpu.get("cpu_usage", {}).get("percpu_usage") or [1])
    pct = (cpu_delta / sys_delta) * ncpu * 100 if sys_delta > 0 and cpu_delta >= 0 else 0.0
    return {
        "seconds": round(t, 2),
        "memory_bytes": int(mem.get("usage", 0)),
        "memory_limit": int(mem.get("limit", 0)),
        "cpu_percent": round(pct, 1),
    }
