"""Inside a container: its files (read and put, also when stopped) and its PID 1.

The running truth the checks judge instead of declarations: what PID 1 really is (``docker
top``), what a container wrote, and a container created but not started so a probe can put a
file in before it runs. Everything goes through the engine's API (``docker cp``, ``docker
top``), never the engine's own files.

Example:
    >>> pid = Pid1("python worker.py", [], "docker top")
    >>> pid.command.split()[0]
    'python'
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import engine
from .containers import HANDLE_LABEL, apply_ceilings, remove_quietly

if TYPE_CHECKING:
    from docker.models.containers import Container


def read_file(ctr: Container, path: str, max_bytes: int = 1 << 20) -> bytes | None:
    """A regular file's bytes from a (possibly stopped) container (``docker cp``), else None.

    None when the path is absent or is not a regular file; at most ``max_bytes`` are read.
    """
    import io
    import tarfile

    import docker

    try:
        stream, stat = ctr.get_archive(path)
    except (docker.errors.NotFound, docker.errors.APIError):
        return None
    if int(stat.get("size") or 0) > 64 * max_bytes:
        return None  # not worth streaming: a log file that large is judged by its name
    data = b"".join(stream)
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        member = tf.getmembers()[0] if tf.getmembers() else None
        if member is None or not member.isfile():
            return None
        f = tf.extractfile(member)
        return f.read(max_bytes) if f else None


@dataclass
class Pid1:
    """The running container's PID 1 as the engine sees it (``docker top``)."""

    command: str  # PID 1's command line
    children: list[str]  # the command lines of its direct children
    source: str  # "docker top" or, where top is unavailable, "inspect" (Path + Args)


def pid1(ctr: Container) -> Pid1:
    """PID 1's command line and its children's, read from the running container.

    ``docker top`` lists the container's processes with host PIDs; PID 1 is the one whose
    PID is ``State.Pid``. Where top cannot run, the engine's record of what it started
    (``Path`` and ``Args``) stands in: it is PID 1 unless that process ``exec``'d another.
    """
    ctr.reload()
    host_pid = str((ctr.attrs.get("State") or {}).get("Pid") or "")
    try:
        top = ctr.top(ps_args="-o pid,ppid,args")
        titles = [t.upper() for t in top.get("Titles") or []]
        rows = top.get("Processes") or []
        i_pid, i_ppid = titles.index("PID"), titles.index("PPID")
        i_cmd = next(i for i, t in enumerate(titles) if t in ("COMMAND", "CMD", "ARGS"))
    except Exception:
        rows = []
    first = next((r for r in rows if str(r[i_pid]) == host_pid), None)
    if first is not None:
        kids = [str(r[i_cmd]) for r in rows if str(r[i_ppid]) == host_pid]
        return Pid1(str(first[i_cmd]), kids, "docker top")
    args = [ctr.attrs.get("Path") or "", *(ctr.attrs.get("Args") or [])]
    return Pid1(" ".join(a for a in args if a), [], "inspect")


@contextlib.contextmanager
def created(image: str, command: Any = None, **kwargs: Any) -> Iterator[Container]:
    """A labelled container created but not started (``docker create``), removed on leaving.

    For probes that put a file into the container before it starts (``put_archive``).
    """
    import uuid

    lab = engine.labels(kind=kwargs.pop("kind", engine.KIND_TEMP))
    lab.update(kwargs.pop("labels", {}) or {})
    handle = uuid.uuid4().hex
    lab[HANDLE_LABEL] = handle
    c = engine.client()
    ctr = None
    try:
        ctr = c.containers.create(image, command, labels=lab, **apply_ceilings(kwargs))
        yield ctr
    finally:
        if ctr is not None:
            remove_quietly(ctr)
        else:
            for orphan in c.containers.list(
                all=True, filters={"label": f"{HANDLE_LABEL}={handle}"}
            ):
                remove_quietly(orphan)


def put_file(ctr: Container, path: str, data: bytes, mode: int = 0o644) -> bool:
    """Write one file into a (created or running) container at ``path`` (``docker cp``)."""
    import io
    import posixpath
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        info = tarfile.TarInfo(posixpath.basename(path))
        info.size, info.mode = len(data), mode
        tf.addfile(info, io.BytesIO(data))
    return bool(ctr.put_archive(posixpath.dirname(path) or "/", buf.getvalue()))
