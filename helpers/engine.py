"""The Docker engine: a client, a preflight ("doctor"), the project's labels, cleanup by label.

Everything the helpers create carries :data:`MANAGED_LABEL` plus a ``kind`` and a run id, so
:func:`clean` can remove exactly what the course made and never a learner's own things.

Example:
    >>> from helpers import engine
    >>> engine.labels(kind="temp", exercise="01")["io.shipshape.managed"]
    'true'
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # docker is imported lazily so `import helpers` never needs an engine
    import docker

LABEL_PREFIX = "io.shipshape"
MANAGED_LABEL = f"{LABEL_PREFIX}.managed"
KIND_LABEL = f"{LABEL_PREFIX}.kind"
RUN_LABEL = f"{LABEL_PREFIX}.run"
#: Kinds of resource. ``base-replica`` images are expensive and kept by :func:`clean`
#: unless ``include_base=True``; everything else is temporary.
REPLICA_OF_LABEL = f"{LABEL_PREFIX}.replica.of"
KIND_TEMP = "temp"
KIND_BASE = "base-replica"

#: One id per Python process: every resource made in this kernel/CLI run carries it.
#: ``$SHIPSHAPE_RUN_ID`` makes several processes share one (a test session and the
#: notebook kernels and CLI calls it starts), so their leftovers can be judged together.
RUN_ID = os.environ.get("SHIPSHAPE_RUN_ID") or uuid.uuid4().hex[:12]

START_HINT = (
    "Start Docker: on Linux `sudo bash scripts/install-engine.sh` (installs and starts an "
    "engine if none is present) or `sudo systemctl start docker`; on macOS/Windows start "
    "Docker Desktop. Then rerun."
)


class EngineUnavailable(RuntimeError):
    """No Docker engine answers. The message says how to start one."""


def labels(kind: str = KIND_TEMP, **extra: str) -> dict[str, str]:
    """The labels every helper-made resource carries.

    Args:
        kind: ``temp`` for things a check or cell makes, ``base-replica`` for base images.
        **extra: more ``io.shipshape.<key>`` labels, e.g. ``exercise="01"``.
    """
    out = {MANAGED_LABEL: "true", KIND_LABEL: kind, RUN_LABEL: RUN_ID}
    out.update({f"{LABEL_PREFIX}.{k}": str(v) for k, v in extra.items()})
    return out


_client: docker.DockerClient | None = None


def client(timeout: int = 600) -> docker.DockerClient:
    """A docker-py client from the environment (``DOCKER_HOST`` etc.), checked to answer.

    Raises:
        EngineUnavailable: with a message that says how to start an engine.
    """
    global _client
    import docker

    if _client is not None:
        try:
            _client.ping()
            return _client
        except Exception:
            _client = None
    try:
        c = docker.from_env(timeout=timeout)
        c.ping()
    except Exception as exc:  # docker raises DockerException, requests errors, FileNotFoundError
        where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        raise EngineUnavailable(
            f"No Docker engine answers at {where} ({type(exc).__name__}). {START_HINT}"
        ) from None
    _client = c
    return c


def compose_command() -> list[str] | None:
    """The Compose CLI to use: v2 ``docker compose``, else v1 ``docker-compose``, else None."""
    if shutil.which("docker"):
        try:
            r = subprocess.run(
                ["docker", "compose", "version", "--short"],
                capture_output=True,
                text=True,
                timeout=20,
            )
            if r.returncode == 0:
                return ["docker", "compose"]
        except (OSError, subprocess.TimeoutExpired):
            pass
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def _cli_version(args: list[str]) -> str | None:
    try:
        r = subprocess.run(args, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return r.stdout.strip() if r.returncode == 0 else None


@dataclass
class DoctorItem:
    """One preflight finding."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True


@dataclass
class DoctorReport:
    """All preflight findings; ``ok`` when every required item passes."""

    items: list[DoctorItem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(i.ok for i in self.items if i.required)

    def __str__(self) -> str:
        lines = []
        for i in self.items:
            mark = "ok  " if i.ok else ("FAIL" if i.required else "warn")
            lines.append(f"[{mark}] {i.name}: {i.detail}")
            if not i.ok and i.fix:
                lines.append(f"       -> {i.fix}")
        lines.append("ready" if self.ok else "NOT ready: fix the FAIL items above")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "items": [i.__dict__ for i in self.items]}

    def _repr_html_(self) -> str:
        from . import display

        return display.doctor_html(self)


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
            "With fewer than 2 CPUs, exercise 05's `cpus: \"2\"` limit is refused by the engine "
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


def _managed_filter(kind: str | None = None, run: str | None = None) -> dict[str, list[str]]:
    lab = [f"{MANAGED_LABEL}=true"]
    if kind:
        lab.append(f"{KIND_LABEL}={kind}")
    if run:
        lab.append(f"{RUN_LABEL}={run}")
    return {"label": lab}


def leftovers(kind: str | None = KIND_TEMP, run: str | None = None) -> dict[str, list[str]]:
    """Names of managed containers, networks, volumes and images still present.

    Args:
        kind: only this kind (default: temporary things, not base images).
        run: only what one process made (e.g. ``RUN_ID``, this kernel's own).
    """
    c = client()
    flt = _managed_filter(kind, run)
    return {
        "containers": [x.name for x in c.containers.list(all=True, filters=flt)],
        "networks": [x.name for x in c.networks.list(filters=flt)],
        "volumes": [x.name for x in c.volumes.list(filters=flt)],
        "images": [(x.tags or [x.short_id])[0] for x in c.images.list(filters=flt)]
        # earlier build stages carry their base image's labels, so they are found by tag
        + (
            [
                t
                for x in c.images.list(name=f"{TAG_PREFIX}stage/*")
                for t in x.tags
                if _is_stage_tag(t, run)
            ]
        ),
    }


#: Every image the helpers tag lives under this repository prefix.
TAG_PREFIX = "shipshape-"


def _is_course_tag(tag: str) -> bool:
    return tag.rsplit("/", 1)[0].startswith(TAG_PREFIX) or tag.startswith(TAG_PREFIX)


def _is_stage_tag(tag: str, run: str | None = None) -> bool:
    prefix = f"{TAG_PREFIX}stage/" + (f"{run.lower()}-" if run else "")
    return tag.startswith(prefix)


def removable_images(include_base: bool = False, run: str | None = None) -> list[Any]:
    """The images :func:`clean` would remove, newest first.

    Labels are inherited: a learner's ``FROM python:3.11-slim`` image carries the replica's
    labels too. So a base replica counts only when it is tagged with the very name it
    replicates, and temp images only when the helpers tagged them under ``shipshape-``.
    """
    c = client()
    # Earlier build stages the helpers tagged (see images.build): they carry their base
    # image's labels, or none, so they are found by tag, not by label.
    out = [
        im
        for im in c.images.list(name=f"{TAG_PREFIX}stage/*")
        if im.tags and all(_is_stage_tag(t, run) for t in im.tags)
    ]
    for im in c.images.list(filters=_managed_filter(run=run)):
        kind = im.labels.get(KIND_LABEL)
        if any(im.id == o.id for o in out):
            continue
        if kind == KIND_BASE:
            if include_base and im.labels.get(REPLICA_OF_LABEL) in im.tags:
                out.append(im)
        elif kind == KIND_TEMP and (not im.tags or all(_is_course_tag(t) for t in im.tags)):
            out.append(im)
    out.sort(key=lambda im: im.attrs.get("Created", ""), reverse=True)
    return out


def clean(include_base: bool = False, run: str | None = None) -> dict[str, int]:
    """Remove what the course created, by label only. A learner's own things are never touched.

    Args:
        include_base: also remove the base-image replicas (slow to rebuild).
        run: only this run id (default: every run).

    Returns:
        How many of each resource were removed.
    """
    import docker

    c = client()
    counts = {"containers": 0, "networks": 0, "volumes": 0, "images": 0}
    # kind=temp, not just managed=true: a learner's own container inherits the labels of
    # the base image it runs, and the helpers always set kind=temp on their own things.
    flt = _managed_filter(kind=KIND_TEMP, run=run)
    for ctr in c.containers.list(all=True, filters=flt):
        try:
            ctr.remove(force=True, v=True)
            counts["containers"] += 1
        except docker.errors.NotFound:
            pass
    for net in c.networks.list(filters=flt):
        try:
            net.remove()
            counts["networks"] += 1
        except docker.errors.NotFound:
            pass
    for vol in c.volumes.list(filters=flt):
        try:
            vol.remove(force=True)
            counts["volumes"] += 1
        except docker.errors.NotFound:
            pass
    for im in removable_images(include_base, run):
        try:
            c.images.remove(im.id, force=True)
            counts["images"] += 1
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError:
            pass  # still used by a learner's container: leave it, never force theirs away
    return counts
