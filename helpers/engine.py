"""The Docker engine: a client, the project's labels, what is left, cleanup by label.

The preflight ("doctor") lives in :mod:`helpers.preflight`.

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
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # docker is imported lazily so `import helpers` never needs an engine
    import docker

T = TypeVar("T")

LABEL_PREFIX = "io.shipshape"
MANAGED_LABEL = f"{LABEL_PREFIX}.managed"
KIND_LABEL = f"{LABEL_PREFIX}.kind"
RUN_LABEL = f"{LABEL_PREFIX}.run"
#: ``host:pid`` of the process that made a resource: a run whose process is gone is swept
#: (see :func:`helpers.ownership.sweep_dead_runs`).
OWNER_LABEL = f"{LABEL_PREFIX}.owner"
#: Kinds of resource. ``base-replica`` images are expensive and kept by :func:`clean`
#: unless ``include_base=True``; everything else is temporary.
REPLICA_OF_LABEL = f"{LABEL_PREFIX}.replica.of"
KIND_TEMP = "temp"
KIND_BASE = "base-replica"
#: Layer cache a check leaves behind (see :func:`helpers.buildcache.keep_as_cache`): kept by
#: :func:`clean`, removed by ``clean(include_base=True)`` (``clean --all``).
KIND_CACHE = "cache"
EXERCISE_LABEL = f"{LABEL_PREFIX}.exercise"
LESSON_LABEL = f"{LABEL_PREFIX}.lesson"
#: On an image built with ``nocache=True``: never kept as layer cache (helpers.buildlock).
COLD_LABEL = f"{LABEL_PREFIX}.cold"
CACHE_REPO = "shipshape-cache"

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
    out = {MANAGED_LABEL: "true", KIND_LABEL: kind, RUN_LABEL: RUN_ID, OWNER_LABEL: owner()}
    out.update({f"{LABEL_PREFIX}.{k}": str(v) for k, v in extra.items()})
    return out


def owner() -> str:
    """``host:pid`` of this process, the value of :data:`OWNER_LABEL`."""
    import socket

    return f"{socket.gethostname()}:{os.getpid()}"


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


def _managed_filter(kind: str | None = None, run: str | None = None) -> dict[str, list[str]]:
    lab = [f"{MANAGED_LABEL}=true"]
    if kind:
        lab.append(f"{KIND_LABEL}={kind}")
    if run:
        lab.append(f"{RUN_LABEL}={run}")
    return {"label": lab}


def image_rows() -> list[dict[str, Any]]:
    """Every top-level image as the engine lists it (``Id``, ``RepoTags``, ``Labels``,
    ``Created``), in one call.

    Callers list once and filter here: whatever the filter, the engine reads every image's
    record from disk for a list (moby's image store ``Map``), and the layer cache keeps the
    intermediates of hundreds of builds. On such a store one list costs the engine about half
    a second of CPU; an inspect by name costs the same on any store.
    """
    return client().api.images()


def _row_is(row: dict[str, Any], kind: str | None = None, run: str | None = None) -> bool:
    """``row`` carries the managed label (and ``kind``/``run`` when given): a label filter."""
    lab = row.get("Labels") or {}
    return (
        lab.get(MANAGED_LABEL) == "true"
        and (kind is None or lab.get(KIND_LABEL) == kind)
        and (run is None or lab.get(RUN_LABEL) == run)
    )


def leftovers(kind: str | None = KIND_TEMP, run: str | None = None) -> dict[str, list[str]]:
    """Names of managed containers, networks, volumes and images still present.

    Args:
        kind: only this kind (default: temporary things, not base images).
        run: only what one process made (e.g. ``RUN_ID``, this kernel's own).
    """
    return leftovers_of_runs([run], kind)[run]


def leftovers_of_runs(
    runs: Iterable[str | None], kind: str | None = KIND_TEMP
) -> dict[str | None, dict[str, list[str]]]:
    """:func:`leftovers` of each of ``runs`` (None: any run), from one listing of each kind:
    an image list reads every image record on the engine, whatever its filter."""
    c = client()
    runs = list(dict.fromkeys(runs))
    flt = _managed_filter(kind)
    # the low-level lists: the high-level one inspects each container afterwards, and a
    # container removed in between (a check's own cleanup) made it raise NotFound
    ctrs = [(x.get("Labels") or {}, x) for x in c.api.containers(all=True, filters=flt)]
    nets = [(x.get("Labels") or {}, x) for x in c.api.networks(filters=flt)]
    vols = [(x.get("Labels") or {}, x) for x in c.api.volumes(filters=flt).get("Volumes") or []]
    rows = image_rows()

    def mine(labels: dict[str, str], run: str | None) -> bool:
        return run is None or labels.get(RUN_LABEL) == run

    return {
        run: {
            "containers": [
                (x.get("Names") or ["/" + x["Id"][:12]])[0].lstrip("/")
                for lab, x in ctrs
                if mine(lab, run)
            ],
            "networks": [x["Name"] for lab, x in nets if mine(lab, run)],
            "volumes": [x["Name"] for lab, x in vols if mine(lab, run)],
            "images": [(_tags(x) or [x["Id"][7:19]])[0] for x in rows if _row_is(x, kind, run)]
            # earlier build stages carry their base image's labels, so they are found by tag
            + [t for x in rows for t in _tags(x) if _is_stage_tag(t, run)],
        }
        for run in runs
    }


def _tags(row: dict[str, Any]) -> list[str]:
    """The real tags of a low-level image row (``<none>:<none>`` is no tag)."""
    return [t for t in row.get("RepoTags") or [] if t != "<none>:<none>"]


#: Every image the helpers tag lives under this repository prefix.
TAG_PREFIX = "shipshape-"


def _is_course_tag(tag: str) -> bool:
    return tag.rsplit("/", 1)[0].startswith(TAG_PREFIX) or tag.startswith(TAG_PREFIX)


def _is_stage_tag(tag: str, run: str | None = None) -> bool:
    prefix = f"{TAG_PREFIX}stage/" + (f"{run.lower()}-" if run else "")
    return tag.startswith(prefix)


def removable_images(
    include_base: bool = False, run: str | None = None, include_cache: bool | None = None
) -> list[dict[str, Any]]:
    """The images :func:`clean` would remove (rows of :func:`image_rows`), newest first.

    The layer cache (kind ``cache``) counts only with ``include_cache`` (default: with
    ``include_base``, so ``clean --all`` removes it and ``clean`` keeps it).

    Labels are inherited: a learner's ``FROM python:3.11-slim`` image carries the replica's
    labels too. So a base replica counts only when it is tagged with the very name it
    replicates, and temp images only when the helpers tagged them under ``shipshape-``.
    """
    out = []
    for row in image_rows():
        tags, lab = _tags(row), row.get("Labels") or {}
        kind = lab.get(KIND_LABEL)
        if tags and all(_is_stage_tag(t, run) for t in tags):
            # Earlier build stages the helpers tagged (see images.build): they carry their
            # base image's labels, or none, so they are found by tag, not by label.
            out.append(row)
        elif not _row_is(row, run=run):
            continue
        elif kind == KIND_BASE:
            if include_base and lab.get(REPLICA_OF_LABEL) in tags:
                out.append(row)
        elif kind == KIND_TEMP and (not tags or all(_is_course_tag(t) for t in tags)):
            out.append(row)
        elif (
            kind == KIND_CACHE
            and (include_base if include_cache is None else include_cache)
            and tags
            and all(t.startswith(CACHE_REPO + "/") for t in tags)
        ):
            out.append(row)  # layer cache: removing it deletes its untagged parent layers too
    out.sort(key=lambda row: row.get("Created", 0), reverse=True)
    return out


def clean(include_base: bool = False, run: str | None = None) -> dict[str, int]:
    """Remove what the course created, by label only. A learner's own things are never touched.

    Args:
        include_base: also remove the base-image replicas (slow to rebuild) and the layer
            cache the checks keep (``shipshape-cache/...``, kind ``cache``).
        run: only this run id (default: every run).

    Returns:
        How many of each resource were removed.
    """
    import docker

    c = client()
    # kind=temp, not just managed=true: a learner's own container inherits the labels of
    # the base image it runs, and the helpers always set kind=temp on their own things.
    flt = _managed_filter(kind=KIND_TEMP, run=run)
    return {
        # from the list, not per-container objects: no inspect race with a removal elsewhere
        "containers": remove_each(
            c.api.containers(all=True, filters=flt),
            lambda row: c.api.remove_container(row["Id"], force=True, v=True),
        ),
        "networks": remove_each(c.networks.list(filters=flt), lambda net: net.remove()),
        "volumes": remove_each(c.volumes.list(filters=flt), lambda vol: vol.remove(force=True)),
        # an image still used by a learner's container stays: never force theirs away
        "images": remove_each(
            removable_images(include_base, run),
            lambda row: c.api.remove_image(row["Id"], force=True),
            skip=(docker.errors.APIError,),
        ),
    }


def remove_each(
    things: Iterable[T], remove: Callable[[T], object], skip: tuple[type[Exception], ...] = ()
) -> int:
    """``remove`` each of ``things``; one already gone (or failing with ``skip``) is passed
    over. How many were removed."""
    import docker

    n = 0
    for thing in things:
        try:
            remove(thing)
            n += 1
        except (docker.errors.NotFound, *skip):
            pass
    return n
