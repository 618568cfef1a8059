"""What this engine can actually enforce, measured rather than assumed.

A rootless engine on a cgroup v1 host (a workshop sandbox, or rootless Docker on an older
distribution) accepts ``--memory 64m`` and ``--cpus 1`` and then ignores them: the container
gets no limit and a memory hog keeps running. Checks and lessons that judge limits must say
"could not run" there, never give a wrong verdict. This module measures it once per engine:
a tiny probe container started with a 32 MiB limit reads its own cgroup's limit back.

Example:
    >>> cap = LimitsCapability(enforced=False, measured=True, rootless=True, cgroup_version="1",
    ...                        detail="asked 32 MiB, the container saw no limit")
    >>> print(cap.message())
    this engine does not enforce memory limits (asked 32 MiB, the container saw no limit)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import engine

PROBE_BYTES = 32 * 1024 * 1024
#: Small images the course always has; the probe uses the first one present.
PROBE_IMAGES = ("debian:bookworm-slim", "python:3.11-slim", "debian:bookworm", "python:3.11")
#: Reads the container's own memory limit on cgroup v2, then v1.
PROBE_CMD = [
    "sh",
    "-c",
    "cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes",
]

WHAT_TO_DO = (
    "Limits need an engine that enforces them: rootless Docker does only on cgroup v2 with "
    "systemd delegation. In a workshop sandbox, your whole sandbox is limited by the hub, but "
    "containers inside it are not; do this exercise on a machine with Docker Desktop or a Linux "
    "host running Docker (rootful, or rootless on cgroup v2), or ask your instructor for a "
    "hub with the Sysbox runtime."
)


@dataclass(frozen=True)
class LimitsCapability:
    """Whether memory (and with it CPU) limits are enforced, and how that was learned."""

    enforced: bool
    measured: bool  # True: a probe container measured it; False: only the engine's claim
    rootless: bool
    cgroup_version: str
    detail: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def message(self) -> str:
        if self.enforced:
            return f"memory limits are enforced ({self.detail})"
        return f"this engine does not enforce memory limits ({self.detail})"


_cache: dict[str, LimitsCapability] = {}


def _probe_image(client: Any) -> str | None:
    import docker

    for name in PROBE_IMAGES:
        try:
            client.images.get(name)
            return name
        except docker.errors.ImageNotFound:
            continue
    return None


def memory_limits(client: Any | None = None, refresh: bool = False) -> LimitsCapability:
    """Measure (once per engine) whether a container's memory limit is really applied.

    Never raises for a missing probe image: the engine's own claim is used and ``measured``
    is False.
    """
    c = client or engine.client()
    info = c.info()
    key = str(info.get("ID", ""))
    if key in _cache and not refresh:
        return _cache[key]
    rootless = any("rootless" in str(s) for s in info.get("SecurityOptions") or [])
    cgv = str(info.get("CgroupVersion", "?"))
    claimed = bool(info.get("MemoryLimit", False))
    where = f"{'rootless' if rootless else 'rootful'} engine, cgroup v{cgv}, {info.get('CgroupDriver', '?')} driver"
    image = _probe_image(c)
    if image is None:
        cap = LimitsCapability(
            claimed,
            False,
            rootless,
            cgv,
            f"{where}; the engine reports limits {'on' if claimed else 'off'} (not measured: no small base image present)",
        )
    else:
        import docker

        from . import containers

        try:
            ctr = c.containers.run(
                image,
                PROBE_CMD,
                detach=True,
                mem_limit=PROBE_BYTES,
                network_disabled=True,
                labels=engine.labels(purpose="capability-probe"),
            )
        except docker.errors.APIError as exc:  # e.g. an engine that refuses limits outright
            cap = LimitsCapability(
                False,
                True,
                rootless,
                cgv,
                f"{where}; a container with a {PROBE_BYTES // 1024**2} MiB limit could not start: {str(exc)[:160]}",
            )
            _cache[key] = cap
            return cap
        try:
            info_exit = containers.wait_for_exit(ctr, timeout_s=60)
            out = ctr.logs().decode("utf-8", "replace").strip().splitlines()
        finally:
            containers.remove_quietly(ctr)
        raw = out[-1] if out else ""
        seen = int(raw) if raw.isdigit() else None  # "max" (v2) means no limit
        enforced = seen is not None and seen <= PROBE_BYTES
        saw = f"{seen / 1024**2:.0f} MiB" if seen is not None and seen < 1 << 50 else "no limit"
        if seen is not None and not enforced and seen < 1 << 50:
            saw += " (an outer limit, not the one asked)"
        cap = LimitsCapability(
            enforced,
            True,
            rootless,
            cgv,
            f"{where}; asked {PROBE_BYTES // 1024**2} MiB, the probe container saw {saw}",
            {
                "asked_bytes": PROBE_BYTES,
                "seen": raw,
                "exit_code": info_exit.exit_code,
                "image": image,
                "engine_claims": claimed,
            },
        )
    _cache[key] = cap
    return cap


def require_memory_limits(client: Any | None = None) -> None:
    """Raise ``CheckCannotRun`` ("could not run: this engine does not enforce memory limits").

    The hook for checks whose verdict depends on limits (exercise 05).
    """
    from .checks.base import CheckCannotRun

    cap = memory_limits(client)
    if not cap.enforced:
        raise CheckCannotRun(f"{cap.message()}. {WHAT_TO_DO}")
