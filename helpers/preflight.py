"""Preflight ("doctor"): is this engine ready for the course, and what will not work if not.

Example:
    >>> from helpers import preflight
    >>> preflight.MIN_API
    (1, 44)
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from typing import Any

from . import capabilities
from .engine import EngineUnavailable, client, compose_command
from .findings import FAIL, WARN, Finding, Findings, alias


def _cli_version(args: list[str]) -> str | None:
    try:
        r = subprocess.run(args, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return r.stdout.strip() if r.returncode == 0 else None


class DoctorItem(Finding):
    """One preflight finding: a :class:`~helpers.findings.Finding` worth no points.

    ``ok``, ``detail`` and ``fix`` are the doctor's words for ``passed``, ``message`` and
    ``hint``; ``required`` False makes a failure a warning (status ``warn``: the course still
    runs), True a failure (status ``fail``).

    Example:
        >>> item = DoctorItem("buildx", False, "not installed", "install docker-buildx")
        >>> item.status, item.ok
        ('fail', False)
        >>> item.required = False
        >>> item.status
        'warn'
    """

    also = ("ok", "required")
    ok = alias("passed")
    detail = alias("message")
    fix = alias("hint")

    def __init__(self, name: str, ok: bool, detail: str, fix: str = "", required: bool = True):
        super().__init__(name=name, points=0, passed=ok, message=detail, hint=fix)
        self.required = required

    @property
    def required(self) -> bool:
        return self._required

    @required.setter
    def required(self, value: bool) -> None:
        self._required = value
        if not self.passed:
            self.status = FAIL if value else WARN


@dataclass
class DoctorReport(Findings):
    """All preflight findings; ``ok`` when every required item passes."""

    items: list[DoctorItem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(i.ok for i in self.items if i.required)

    @property
    def summary(self) -> str:
        return "ready" if self.ok else "NOT ready: fix the FAIL items above"

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "items": [i.to_dict() for i in self.items]}


MIN_API = (1, 44)  # HEALTHCHECK --start-interval (lessons 03, 05; exercise 05)


def doctor() -> DoctorReport:
    """Preflight: engine, API version, Compose, buildx, memory cgroup, free disk.

    Never raises for a missing engine: that is reported as a failed item.

    Example:
        >>> report = doctor()            # doctest: +SKIP
        >>> report.ok                    # doctest: +SKIP
        True
    """
    rep = DoctorReport()
    try:
        c = client()
    except EngineUnavailable as exc:
        rep.items.append(DoctorItem("engine", False, "no engine answers", str(exc)))
        return rep
    info = c.info()
    ver = c.version()
    rep.items.append(
        DoctorItem("engine", True, f"Docker Engine {ver.get('Version')} ({info.get('OSType')})")
    )
    api = ver.get("ApiVersion", "0.0")
    api_ok = tuple(int(x) for x in api.split(".")[:2]) >= MIN_API
    rep.items.append(
        DoctorItem(
            "api version",
            api_ok,
            f"API {api} (need >= {MIN_API[0]}.{MIN_API[1]}: `start_interval` in health checks, "
            "used by lessons 03 and 05 and exercise 05)",
            "Upgrade to Docker Engine 25 or newer (Docker Desktop 4.27 or newer); on Linux "
            "scripts/install-engine.sh installs Engine 26.",
        )
    )
    compose = compose_command()
    compose_ver = _cli_version([*compose, "version", "--short"]) if compose else None
    rep.items.append(
        DoctorItem(
            "compose",
            compose is not None,
            f"{' '.join(compose)} {compose_ver}" if compose else "no Compose CLI found",
            "Install Compose v2 (Debian: docker-compose from trixie; or Docker's compose plugin).",
        )
    )
    buildx = _cli_version(["docker", "buildx", "version"])
    rep.items.append(
        DoctorItem(
            "buildx",
            buildx is not None,
            buildx or "docker buildx not found: lessons that need BuildKit say so and skip",
            "Install docker-buildx for BuildKit cache and secret mounts.",
            required=False,
        )
    )
    mem = bool(info.get("MemoryLimit", False))
    swap = bool(info.get("SwapLimit", False))
    rep.items.append(
        DoctorItem(
            "memory cgroup",
            mem,
            f"memory limits {'on' if mem else 'OFF'}, swap limits {'on' if swap else 'off'}, "
            f"cgroup v{info.get('CgroupVersion', '?')} ({info.get('CgroupDriver', '?')} driver)",
            "Enable the memory cgroup (kernel cmdline cgroup_enable=memory) for OOM lessons.",
        )
    )
    _amend_with_limits(rep, c)  # measured: rootless on cgroup v1 accepts limits, ignores them
    rep.items.extend(capacity_items(info))
    return rep


MIN_CPUS = 2
MIN_ENGINE_MEMORY = 4 * 1024**3
WARN_FREE_BYTES = 10 * 1000**3


def capacity_items(info: dict[str, Any]) -> list[DoctorItem]:
    """Warnings (not failures) about what this engine can hold, each saying what won't work.

    ``info`` is the engine's ``docker info``.

    Example:
        >>> items = capacity_items({"NCPU": 1, "MemTotal": 2 * 1024**3,
        ...                         "DriverStatus": [["driver-type", "io.containerd.snapshotter.v1"]],
        ...                         "DockerRootDir": "/"})
        >>> [(i.name, i.ok) for i in items][:3]
        [('cpus', False), ('engine memory', False), ('image store', False)]
    """
    ncpu = int(info.get("NCPU") or 0)
    mem = int(info.get("MemTotal") or 0)
    items = [
        DoctorItem(
            "cpus",
            ncpu >= MIN_CPUS,
            f"{ncpu} CPUs for containers (the course expects {MIN_CPUS})",
            'With fewer than 2 CPUs, exercise 05\'s `cpus: "2"` limit is refused by the engine '
            "and lesson 05's throttling demo and the benchmarks in 13 read differently. Give "
            "Docker Desktop more CPUs (Settings > Resources).",
            required=False,
        ),
        DoctorItem(
            "engine memory",
            mem >= MIN_ENGINE_MEMORY,
            f"{mem / 1024**3:.1f} GiB for containers (the course expects 4 GiB)",
            "With less, the 2 GB limit of exercise 05 cannot be reached before the host runs "
            "out, Postgres stacks (05, 10, exercise 07) may be killed by the host rather than "
            "by their own limits, and pandas builds slow down. Give Docker more memory.",
            required=False,
        ),
    ]
    driver = dict((k, v) for k, v in (info.get("DriverStatus") or []) if isinstance(k, str))
    containerd = "containerd" in str(driver.get("driver-type", "")) or str(
        info.get("Driver", "")
    ).startswith(("overlayfs", "stargz"))
    items.append(
        DoctorItem(
            "image store",
            not containerd,
            f"{'containerd image store' if containerd else 'classic image store'} "
            f"(storage driver {info.get('Driver', '?')})",
            "With the containerd image store, image sizes count compressed content and layer "
            "history reads differently: lesson 01's layer table and waste figures, and the "
            "size bounds of exercises 01 and 04, may not match the text. Turn it off in "
            "Docker Desktop (Settings > General > containerd) for the course.",
            required=False,
        )
    )
    root = info.get("DockerRootDir", "/var/lib/docker")
    try:
        free = shutil.disk_usage(root).free
        where = root
    except OSError:  # engine on another machine (Docker Desktop VM): measure here instead
        free = shutil.disk_usage(os.path.expanduser("~")).free
        where = "home"
    items.append(
        DoctorItem(
            "free disk",
            free >= WARN_FREE_BYTES,
            f"{free / 1000**3:.1f} GB free at {where} (the course expects 10 GB)",
            "Base images, replicas and the lessons' builds need about 10 GB: with less, builds "
            "fail part-way with 'no space left on device'. `python -m helpers clean --all` "
            "removes the course's images.",
            required=False,
        )
    )
    return items


def _amend_with_limits(report: Any, client: Any) -> None:
    """Add the measured "limits enforced" item to a doctor report.

    On a rootless engine whose limits are off, the engine's "memory cgroup" item stops being a
    failure (the course runs; only the limit lessons cannot) and its fix says what is true.
    """
    cap = capabilities.memory_limits(client)
    if not cap.enforced and cap.rootless:
        for item in report.items:
            if item.name == "memory cgroup":
                item.required = False
                item.fix = capabilities.WHAT_TO_DO
    report.items.append(
        DoctorItem(
            "limits enforced",
            cap.enforced,
            cap.message()
            + ("; CPU limits are not enforced either" if cap.rootless and not cap.enforced else ""),
            capabilities.WHAT_TO_DO,
            required=False,
        )
    )
