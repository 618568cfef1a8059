"""Read an image's layers: per-layer files, the final filesystem, dive-style efficiency.

Streams ``docker save`` and never keeps a layer in memory; pure functions
(:func:`final_files`, :func:`efficiency_from_layers`) are unit-tested without an engine.
Building, tagging and removing images is :mod:`helpers.images`.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import engine, settings


def layers(image: str) -> list[dict[str, Any]]:
    """The image's layer history, oldest first: created_by, size_bytes, created, empty.

    ``empty`` layers (ENV, LABEL, CMD, ...) change metadata only and add no bytes.
    """
    hist = engine.client().images.get(image).history()
    rows = []
    for h in reversed(hist):
        created_by = (h.get("CreatedBy") or "").replace("/bin/sh -c #(nop) ", "").strip()
        created_by = re.sub(r"^/bin/sh -c ", "RUN ", created_by)
        rows.append(
            {
                "created_by": created_by,
                "size_bytes": int(h.get("Size", 0)),
                "created": h.get("Created"),
                "empty": int(h.get("Size", 0)) == 0,
            }
        )
    return rows


@dataclass
class Efficiency:
    """dive-style efficiency: bytes the final filesystem needs / bytes stored across layers."""

    needed_bytes: int
    stored_bytes: int
    wasted_bytes: int
    score: float
    #: the paths wasting most: (path, wasted bytes, layers it appears in, deleted at the end)
    top_waste: list[tuple[str, int, int, bool]]
    layer_files: list[dict[str, int]] = field(repr=False, default_factory=list)


WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"


def _layer_entries(fileobj: io.BufferedIOBase) -> dict[str, int]:
    """path -> size for one layer tar; deletions (whiteouts) as -1; opaque dirs as -2."""
    out: dict[str, int] = {}
    with tarfile.open(fileobj=fileobj, mode="r|") as tf:
        for m in tf:
            name = m.name[2:] if m.name.startswith("./") else m.name.lstrip("/")
            base = name.rsplit("/", 1)[-1]
            parent = name.rsplit("/", 1)[0] if "/" in name else ""
            if base == OPAQUE:
                out[parent + "/" if parent else ""] = -2
            elif base.startswith(WHITEOUT):
                out[(parent + "/" if parent else "") + base[len(WHITEOUT) :]] = -1
            elif m.isfile() or m.issym() or m.islnk():
                out[name] = m.size
    return out


def _layer_cache(diff_id: str) -> Path:
    return settings.cache_dir() / "layers" / f"{diff_id.split(':')[-1]}.json"


def _cached_layer(diff_id: str) -> dict[str, int] | None:
    try:
        return dict(json.loads(_layer_cache(diff_id).read_text()))
    except (OSError, ValueError):
        return None


def _remember_layer(diff_id: str, files: dict[str, int]) -> None:
    path = _layer_cache(diff_id)
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_name(f"{path.name}.{os.getpid()}.part")
        part.write_text(json.dumps(files, separators=(",", ":")))
        os.replace(part, path)  # atomic: a reader sees the whole table or none


def layer_files(image: str) -> list[dict[str, int]]:
    """Each layer's files (path -> bytes, -1 for a deletion), oldest layer first.

    A layer's table is remembered in the course cache under its diff id (the hash of its
    content, so it never goes stale): the base image's layers are read once, and a re-check
    of an unchanged image reads nothing. Otherwise reads ``docker save`` as a stream, so
    memory stays small for a 1 GB image.
    """
    diff_ids = list(engine.client().api.inspect_image(image)["RootFS"]["Layers"])
    known = [_cached_layer(d) for d in diff_ids]
    if diff_ids and all(k is not None for k in known):
        return [k for k in known if k is not None]
    per_layer = _saved_layer_files(image)
    if len(per_layer) == len(diff_ids):
        for d, files, k in zip(diff_ids, per_layer, known, strict=True):
            if k is None:
                _remember_layer(d, files)
    return per_layer


def _saved_layer_files(image: str) -> list[dict[str, int]]:
    """:func:`layer_files` read from ``docker save``, streamed."""
    raw = engine.client().api.get_image(image)
    by_name: dict[str, dict[str, int]] = {}
    manifest = None
    stream = IterStream(raw)
    with tarfile.open(fileobj=stream, mode="r|") as outer:
        for m in outer:
            if not m.isfile():
                continue
            f = outer.extractfile(m)
            if f is None:
                continue
            if m.name == "manifest.json":
                manifest = json.load(f)
                continue
            if m.name.endswith((".json",)) or m.name in (
                "index.json",
                "oci-layout",
                "repositories",
            ):
                continue
            head = f.read(512)
            if len(head) < 512 or not _looks_like_tar(head):
                continue
            by_name[m.name] = _layer_entries(_Chain(head, f))
    if not manifest:
        raise RuntimeError(f"docker save of {image} had no manifest.json")
    return [by_name.get(p, {}) for p in manifest[0]["Layers"]]


def _looks_like_tar(head: bytes) -> bool:
    return head[257:262] == b"ustar" or head == b"\0" * 512


class _Chain(io.RawIOBase):
    """A file object that replays ``head`` then continues reading ``rest``."""

    def __init__(self, head: bytes, rest: Any):
        self.head, self.rest = head, rest

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        if self.head:
            n = min(len(b), len(self.head))
            b[:n] = self.head[:n]
            self.head = self.head[n:]
            return n
        data = self.rest.read(len(b))
        b[: len(data)] = data
        return len(data)


class IterStream(io.RawIOBase):
    """A readable file object over an iterator of byte chunks."""

    def __init__(self, chunks: Iterable[bytes]):
        self.it = iter(chunks)
        self.buf = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while not self.buf:
            try:
                self.buf = next(self.it)
            except StopIteration:
                return 0
        n = min(len(b), len(self.buf))
        b[:n] = self.buf[:n]
        self.buf = self.buf[n:]
        return n


def final_files(per_layer: list[dict[str, int]]) -> dict[str, int]:
    """Merge layers (oldest first) into the final filesystem: path -> bytes.

    A whiteout (-1) deletes the path and everything below it, never a mere name prefix
    (deleting ``.env`` leaves ``.env.production``); an opaque directory (-2) hides every
    earlier entry below it.

    >>> sorted(final_files([{".env": 1, ".env.production": 2, "d/x": 3}, {".env": -1, "d/": -2}]))
    ['.env.production']
    """
    final: dict[str, int] = {}
    for layer in per_layer:
        for path, size in layer.items():
            if size in (-1, -2):
                prefix = path if size == -2 else path + "/"
                for p in [p for p in final if p == path or p.startswith(prefix)]:
                    del final[p]
                continue
            final[path] = size
    return final


def efficiency_from_layers(per_layer: list[dict[str, int]], top: int = 10) -> Efficiency:
    """Compute efficiency from per-layer file maps (pure logic, unit-tested without an engine).

    A path's *needed* bytes are its size in the final filesystem (0 if a later layer deleted
    it); its *stored* bytes are the sum over every layer that wrote it. Wasted = stored -
    needed: a file overwritten or deleted in a later layer still ships in the earlier one.

    Example:
        >>> e = efficiency_from_layers([{"a": 100, "b": 50}, {"a": -1}])
        >>> (e.needed_bytes, e.stored_bytes, e.wasted_bytes)
        (50, 150, 100)
    """
    stored: dict[str, int] = {}
    count: dict[str, int] = {}
    for layer in per_layer:
        for path, size in layer.items():
            if size >= 0:
                stored[path] = stored.get(path, 0) + size
                count[path] = count.get(path, 0) + 1
    final = final_files(per_layer)
    needed = sum(final.values())
    total = sum(stored.values())
    waste = [
        (p, stored[p] - final.get(p, 0), count[p], final.get(p, 0) == 0 and stored[p] > 0)
        for p in stored
        if stored[p] - final.get(p, 0) > 0
    ]
    waste.sort(key=lambda t: t[1], reverse=True)
    return Efficiency(
        needed_bytes=needed,
        stored_bytes=total,
        wasted_bytes=total - needed,
        score=(needed / total) if total else 1.0,
        top_waste=waste[:top],
        layer_files=per_layer,
    )


def efficiency(image: str, top: int = 10) -> Efficiency:
    """dive-style efficiency of a local image (streams ``docker save``)."""
    return efficiency_from_layers(layer_files(image), top=top)
