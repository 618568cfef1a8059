"""Resource ownership on a shared engine: sweep what runs whose process is gone left behind.

Every resource the helpers create carries :data:`helpers.engine.OWNER_LABEL` (``host:pid``).
A notebook kernel killed with ``kill -9`` never runs its cleanup; the next ``check()`` on the
same host finds resources whose owning process no longer exists and removes them (images at
most every :data:`helpers.checks.SWEEP_IMAGES_EVERY_S` seconds per host: listing images
scans the engine's whole store). Resources
of live processes, of other hosts (another JupyterHub user's container), and anything
without the label (a learner's own things, base images) are never touched.

Example:
    >>> alive(os.getpid())
    True
"""

from __future__ import annotations

import contextlib
import os
import socket
from typing import Any

from . import engine, settings


def alive(pid: int) -> bool:
    """True when a process with this pid exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _dead_owner(labels: dict[str, str] | None, host: str) -> bool:
    value = (labels or {}).get(engine.OWNER_LABEL, "")
    h, _, pid = value.rpartition(":")
    return h == host and pid.isdigit() and int(pid) != os.getpid() and not alive(int(pid))


def sweep_dead_runs(images_every_s: float = 0) -> dict[str, int]:
    """Remove temp containers, networks, volumes and images whose owning process is gone.

    Args:
        images_every_s: sweep images only when no sweep on this host did in this many
            seconds (0: always).

    Returns:
        How many of each kind were removed. Already-gone resources are not an error.
    """
    import docker

    c = engine.client()
    host = socket.gethostname()
    flt = {
        "label": [
            f"{engine.MANAGED_LABEL}=true",
            f"{engine.KIND_LABEL}={engine.KIND_TEMP}",
            engine.OWNER_LABEL,
        ]
    }
    counts = {"containers": 0, "networks": 0, "volumes": 0, "images": 0}
    gone = (docker.errors.NotFound, docker.errors.APIError)

    def drop(kind: str, fn: Any, *args: Any, **kwargs: Any) -> None:
        with contextlib.suppress(*gone):
            fn(*args, **kwargs)
            counts[kind] += 1

    for row in c.api.containers(all=True, filters=flt):  # no per-container inspect race
        if _dead_owner(row.get("Labels"), host):
            drop("containers", c.api.remove_container, row["Id"], force=True, v=True)
    for net in c.networks.list(filters=flt):
        if _dead_owner(net.attrs.get("Labels"), host):
            drop("networks", net.remove)
    for vol in c.volumes.list(filters=flt):
        if _dead_owner(vol.attrs.get("Labels"), host):
            drop("volumes", vol.remove, force=True)
    if not settings.due("sweep-images", images_every_s):  # a list scans every image
        return counts
    for row in c.api.images(filters=flt):
        if not _dead_owner(row.get("Labels"), host):
            continue
        tags = [t for t in row.get("RepoTags") or [] if t != "<none>:<none>"]
        if not tags:
            # untagged and top-level (the list shows an untagged image only when nothing is
            # built on it): a build the process never finished cleaning up, or an image whose
            # tag a later build of the same process took. By id, with its untagged parents;
            # one a container still uses stays.
            drop("images", c.api.remove_image, row["Id"])
        elif all(t.startswith(engine.TAG_PREFIX) for t in tags):
            for t in tags:  # by name: an image still used by a live container stays
                drop("images", c.api.remove_image, t)
    return counts
