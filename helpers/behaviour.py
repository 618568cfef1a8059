"""Runtime behaviour the static tools cannot see: health, limits, restarts, shutdown.

Small building blocks shared by lessons 03, 05, 06, 07 and their checks:

- :class:`Stack`: a :class:`helpers.compose.Project` whose *built* images carry the course's
  labels too (Compose builds them with BuildKit, whose layer cache outlives the image), and
  whose teardown removes those images.
- :func:`healthcheck_config` reads a container's effective health check (Dockerfile and
  Compose merged by the engine) in seconds, with the engine's defaults filled in.
- :func:`health_events` reads the engine's ``health_status`` events: exact transition times.
- :func:`wait_for_status` polls a container's health until one of several states, with a
  deadline, recording the timeline.
- :func:`wait_for_log` polls logs for a line, with a deadline.

Example:
    >>> hc = HealthConfig(test=["CMD", "true"], interval_s=2.0, timeout_s=1.0, retries=3,
    ...                   start_period_s=5, start_interval_s=0.5)
    >>> hc.unhealthy_bound_s(slack_s=5)
    14.0
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from . import compose, containers, engine, waiting

if TYPE_CHECKING:
    from docker.models.containers import Container

NS = 1_000_000_000
#: The engine's defaults when a health check leaves an option unset (docs: HEALTHCHECK).
DEFAULT_INTERVAL_S = 30.0
DEFAULT_TIMEOUT_S = 30.0
DEFAULT_RETRIES = 3


class Stack(compose.Project):
    """A Compose project whose built images are labelled and removed on exit.

    Compose names a built image ``<project>-<service>``; the project name starts with
    ``shipshape-``, the override adds the course's labels to ``build:``, and :meth:`down`
    passes ``--rmi local`` so those images go with the containers. BuildKit's layer cache
    stays, so the next check of the same files builds in a second.
    """

    def __init__(self, folder: str | Path, **kwargs: Any):
        import uuid

        # One name per Stack: two checks of same-named folders never share a project.
        kwargs.setdefault("name", compose.project_name(folder, suffix="-" + uuid.uuid4().hex[:6]))
        super().__init__(folder, **kwargs)

    def _write_override(self) -> None:
        super()._write_override()
        doc = yaml.safe_load(self.override.read_text()) or {}
        cfg = self.config()
        lab = engine.labels()
        for name, spec in (cfg.get("services") or {}).items():
            if spec.get("build") is not None:
                doc["services"].setdefault(name, {})["build"] = {"labels": lab}
        self.override.write_text(yaml.safe_dump(doc, sort_keys=False))

    def down(self, timeout_s: float = 120) -> None:
        """Containers (one-off ``run`` ones too), networks, named volumes and built images."""
        self.run(
            "down",
            "-v",
            "--remove-orphans",
            "--rmi",
            "local",
            "-t",
            "5",
            timeout_s=timeout_s,
            check=False,
        )

    def build_and_up(self, build_timeout_s: float, up_timeout_s: float = 180) -> str:
        """``compose build``, then ``compose up -d``: what Compose said (its last 1500
        characters), also when the build failed or ``up`` gave up on a service."""
        try:
            self.run("build", timeout_s=build_timeout_s)
            up = self.run("up", "-d", timeout_s=up_timeout_s, check=False)
            return (up.stdout + up.stderr)[-1500:]
        except compose.ComposeError as exc:
            return (str(exc) + "\n" + exc.output)[-1500:]

    def service(self, name: str) -> Container | None:
        """The service's (first, non one-off) container, or None when it was never created."""
        ctrs = [
            c
            for c in self.containers(name)
            if c.labels.get("com.docker.compose.oneoff", "False") != "True"
        ]
        return ctrs[0] if ctrs else None


@dataclass
class HealthConfig:
    """A container's effective health check, in seconds, engine defaults filled in."""

    test: list[str]
    interval_s: float
    timeout_s: float
    retries: int
    start_period_s: float
    start_interval_s: float
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def disabled(self) -> bool:
        return not self.test or self.test[0] == "NONE"

    def probe_text(self) -> str:
        """The probe as a person would write it."""
        if self.disabled:
            return "(none)"
        return " ".join(self.test[1:])

    def unhealthy_bound_s(self, slack_s: float = 5.0) -> float:
        """The longest a fault may go unnoticed: ``retries * (interval + timeout) + slack``.

        Probes run one at a time: the next starts ``interval`` after the previous one ended
        (or timed out), so each failing probe costs at most ``interval + timeout``. A
        container that never became healthy also has its ``start_period`` to add.
        """
        return self.retries * (self.interval_s + self.timeout_s) + slack_s

    def healthy_bound_s(self, warmup_s: float = 0.0, slack_s: float = 10.0) -> float:
        """A generous deadline for ``starting -> healthy`` under these settings."""
        first = self.start_interval_s if self.start_period_s > 0 else self.interval_s
        return warmup_s + max(first, self.interval_s) + self.timeout_s + slack_s

    def to_dict(self) -> dict[str, Any]:
        return {
            "test": self.test,
            "interval_s": self.interval_s,
            "timeout_s": self.timeout_s,
            "retries": self.retries,
            "start_period_s": self.start_period_s,
            "start_interval_s": self.start_interval_s,
        }


def healthcheck_config(ctr: Container) -> HealthConfig | None:
    """The health check the engine runs for ``ctr`` (None when it has none at all)."""
    ctr.reload()
    hc = (ctr.attrs.get("Config") or {}).get("Healthcheck")
    if not hc or not hc.get("Test"):
        return None

    def secs(key: str, default: float) -> float:
        v = hc.get(key) or 0
        return v / NS if v else default

    return HealthConfig(
        test=list(hc.get("Test") or []),
        interval_s=secs("Interval", DEFAULT_INTERVAL_S),
        timeout_s=secs("Timeout", DEFAULT_TIMEOUT_S),
        retries=int(hc.get("Retries") or DEFAULT_RETRIES),
        start_period_s=secs("StartPeriod", 0.0),
        # unset: the engine probes at `interval` during the start period too (measured on
        # Engine 26; the documentation's "5s" is not what it does when the option is absent)
        start_interval_s=secs("StartInterval", secs("Interval", DEFAULT_INTERVAL_S)),
        raw=dict(hc),
    )


def started_at(ctr: Container) -> float:
    """When the container last started, as a Unix timestamp (engine clock)."""
    ctr.reload()
    return parse_ts(ctr.attrs["State"]["StartedAt"])


def parse_ts(text: str) -> float:
    """An engine timestamp (RFC 3339 with nanoseconds) as Unix seconds."""
    head, _, frac = text.rstrip("Z").partition(".")
    base = datetime.fromisoformat(head + "+00:00").timestamp()
    return base + (float("0." + frac[:9]) if frac else 0.0)


def first_transition(
    ctr: Container, status: str, since: float, fallback: float | None = None
) -> tuple[float | None, str]:
    """When ``ctr`` first turned ``status`` after ``since`` (Unix time), and the source.

    The engine's ``health_status`` events are exact, but the daemon keeps only its most
    recent events (a busy shared engine drops older ones), so this falls back to the health
    log (a successful probe's end time, for ``healthy``) and then to ``fallback`` (the time
    a poll saw it). Returns ``(None, "unseen")`` when none has it.
    """
    for e in health_events(ctr, since):
        if e["status"] == status:
            return e["t"], "engine event"
    if status == "healthy":
        for p in containers.health_log(ctr):
            if p.get("ExitCode") == 0 and p.get("End") and parse_ts(p["End"]) >= since:
                return parse_ts(p["End"]), "health log"
    if fallback is not None:
        return fallback, "poll"
    return None, "unseen"


def health_events(ctr: Container, since: float, until: float | None = None) -> list[dict[str, Any]]:
    """The engine's ``health_status`` events for ``ctr`` between two Unix times.

    Returns rows ``{"t": unix seconds, "status": "healthy" | "unhealthy"}``, oldest first.
    Reading a bounded window (``until``) returns at once; it never blocks.
    """
    c = engine.client()
    until = until if until is not None else time.time()
    rows = []
    for ev in c.events(
        since=int(since) - 1,
        until=int(until) + 1,
        filters={"container": ctr.id, "event": "health_status"},
        decode=True,
    ):
        status = str(ev.get("status") or ev.get("Action") or "").split(":", 1)[-1].strip()
        t = int(ev.get("timeNano") or ev.get("time", 0) * NS) / NS
        if t >= since - 1:
            rows.append({"t": t, "status": status})
    rows.sort(key=lambda r: r["t"])
    return rows


def wait_for_status(
    ctr: Container, want: set[str], timeout_s: float, since: float | None = None
) -> containers.HealthTimeline:
    """Poll until the health status is one of ``want`` (or the container exits).

    Unlike :func:`helpers.containers.wait_for_health` this returns (never raises) on a
    deadline or an exit: the caller judges ``timeline.final`` (``"exited"`` when it ended,
    the last status seen when the deadline passed).
    """
    t0 = since if since is not None else time.monotonic()
    tl = containers.HealthTimeline()
    last: list[object] = [object()]

    def settled() -> bool:
        ctr.reload()
        status = containers.health_status(ctr) or "none"
        now = time.monotonic() - t0
        if status != last[0]:
            tl.changes.append((now, status))
            last[0] = status
        tl.seconds, tl.final = now, status  # what the deadline leaves, if it comes
        if status in want:
            return True
        if ctr.attrs["State"].get("Status") in ("exited", "dead"):
            tl.final = "exited"
            return True
        return False

    waiting.holds(settled, timeout_s, interval_s=containers.POLL_S)
    return tl


def wait_for_log(ctr: Container, text: str, timeout_s: float = 30.0) -> float:
    """Poll the container's logs until ``text`` appears; seconds waited.

    Raises:
        containers.ContainerExited: it exited first.
        containers.WaitError: the deadline passed.
    """
    t0 = time.monotonic()

    def printed() -> bool:
        if text in ctr.logs().decode("utf-8", "replace"):
            return True
        ctr.reload()
        if ctr.attrs["State"].get("Status") in ("exited", "dead"):
            raise containers.ContainerExited(
                f"{ctr.name} exited (code {ctr.attrs['State'].get('ExitCode')}) before it "
                f"printed {text!r}.\nLast logs:\n{containers.logs_tail(ctr)}",
                {"logs": containers.logs_tail(ctr)},
            )
        return False

    try:
        waiting.until(printed, timeout_s, interval_s=containers.POLL_S, what=repr(text))
    except waiting.Timeout:
        raise containers.WaitError(
            f"{ctr.name} did not print {text!r} within {timeout_s:.0f}s.\n"
            f"Last logs:\n{containers.logs_tail(ctr)}",
            {"logs": containers.logs_tail(ctr)},
        ) from None
    return time.monotonic() - t0


def health_timeline_rows(
    events: list[dict[str, Any]], t0: float, extra: list[tuple[float, str]] | None = None
) -> list[dict[str, Any]]:
    """Events (and extra marks such as ``fault injected``) as rows of seconds since ``t0``."""
    rows = [{"seconds": round(e["t"] - t0, 2), "event": e["status"]} for e in events]
    rows += [{"seconds": round(t - t0, 2), "event": name} for t, name in (extra or [])]
    rows.sort(key=lambda r: r["seconds"])
    return rows
