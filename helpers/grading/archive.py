"""Submission archives: the learner packs an exercise folder, the grader unpacks it safely.

An archive is a gzipped tar holding ``<NN_slug>/...`` and ``MANIFEST.json`` (files with their
sha256, exercise id, course version, the learner's own last check result). Packing refuses what
does not belong; unpacking refuses what could escape the target folder.

Example:
    >>> refuse_reason("etl/__pycache__/x.pyc"), refuse_reason(".venv/bin/python"), refuse_reason("app.py")
    ('generated clutter (__pycache__)', 'a virtualenv (.venv)', None)
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

MANIFEST = "MANIFEST.json"
SUFFIX = ".shipshape.tar.gz"
#: Caps, for packing and for unpacking: a submission is a few source files.
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_TOTAL_BYTES = 20 * 1024 * 1024
MAX_FILES = 500

_CLUTTER_DIRS = {
    "__pycache__": "generated clutter (__pycache__)",
    ".ipynb_checkpoints": "generated clutter (.ipynb_checkpoints)",
    ".pytest_cache": "generated clutter (.pytest_cache)",
    ".mypy_cache": "generated clutter (.mypy_cache)",
    ".ruff_cache": "generated clutter (.ruff_cache)",
    "node_modules": "installed packages (node_modules)",
    ".git": "version-control data (.git)",
    ".venv": "a virtualenv (.venv)",
    "venv": "a virtualenv (venv)",
    "env": "a virtualenv (env)",
}
_CLUTTER_SUFFIXES = (".pyc", ".pyo", ".tar", ".tar.gz", ".whl", ".egg-info")


class SubmissionError(ValueError):
    """A folder or archive that cannot be a submission; the message says what to change."""


@dataclass
class Packed:
    """What :func:`pack` wrote."""

    path: Path
    files: int
    bytes: int
    refused: list[tuple[str, str]]


def refuse_reason(rel: str) -> str | None:
    """Why a file (path relative to the exercise folder) is left out of a submission."""
    parts = PurePosixPath(rel).parts
    for part in parts[:-1]:
        if part in _CLUTTER_DIRS:
            return _CLUTTER_DIRS[part]
        if part.endswith(".egg-info"):
            return "generated clutter (.egg-info)"
    if parts and parts[-1].endswith(_CLUTTER_SUFFIXES):
        return f"generated clutter ({parts[-1]})"
    return None


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def folder_files(folder: Path) -> tuple[dict[str, Path], list[tuple[str, str]]]:
    """(kept files by relative path, refused (path, reason)) of an exercise folder."""
    kept: dict[str, Path] = {}
    refused: list[tuple[str, str]] = []
    for root, dirs, files in os.walk(folder):
        rel_root = Path(root).relative_to(folder)
        for d in list(dirs):
            reason = refuse_reason((rel_root / d / "x").as_posix())
            if reason or (Path(root) / d).is_symlink():
                refused.append(((rel_root / d).as_posix() + "/", reason or "a symbolic link"))
                dirs.remove(d)
        for f in sorted(files):
            p = Path(root) / f
            rel = (rel_root / f).as_posix()
            reason = refuse_reason(rel)
            if p.is_symlink():
                reason = "a symbolic link"
            elif not p.is_file():
                reason = "not a regular file"
            if reason:
                refused.append((rel, reason))
            else:
                kept[rel] = p
    return dict(sorted(kept.items())), refused


def content_key(files: dict[str, Path]) -> str:
    """One sha256 over every file's path and content: unchanged submission, same key."""
    h = hashlib.sha256()
    for rel, p in sorted(files.items()):
        h.update(rel.encode() + b"\0" + sha256_file(p).encode() + b"\n")
    return h.hexdigest()


def pack(
    folder: Path,
    exercise: str,
    slug: str,
    out: Path,
    course_version: str,
    last_check: dict[str, Any] | None = None,
) -> Packed:
    """Write ``folder`` as a submission archive at ``out``.

    Raises:
        SubmissionError: the folder is missing, empty, or over a size cap (the message names
            the file and the cap).
    """
    if not folder.is_dir():
        raise SubmissionError(f"{folder} is not a folder: pass the exercise folder you worked in.")
    files, refused = folder_files(folder)
    if not files:
        raise SubmissionError(f"{folder} holds no files to submit.")
    if len(files) > MAX_FILES:
        raise SubmissionError(
            f"{folder} holds {len(files)} files; a submission holds at most {MAX_FILES}. "
            "Delete generated files (data dumps, build output) and pack again."
        )
    total = 0
    for rel, p in files.items():
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SubmissionError(
                f"{rel} is {size / 1e6:.1f} MB; a submitted file may be at most "
                f"{MAX_FILE_BYTES / 1e6:.0f} MB. Generated data does not belong in a "
                "submission: delete it (the check regenerates what it needs)."
            )
        total += size
    if total > MAX_TOTAL_BYTES:
        raise SubmissionError(
            f"the folder holds {total / 1e6:.1f} MB; a submission may be at most "
            f"{MAX_TOTAL_BYTES / 1e6:.0f} MB."
        )
    manifest = {
        "exercise": exercise,
        "slug": slug,
        "course_version": course_version,
        "packed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "files": {rel: sha256_file(p) for rel, p in files.items()},
        "content_key": content_key(files),
        "refused": [{"path": r, "reason": why} for r, why in refused],
        "last_check": last_check,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    with tarfile.open(tmp, "w:gz") as tar:
        data = json.dumps(manifest, indent=2).encode()
        info = tarfile.TarInfo(MANIFEST)
        info.size = len(data)
        info.mtime = int(time.time())
        tar.addfile(info, io.BytesIO(data))
        for rel, p in files.items():
            tar.add(p, arcname=f"{slug}/{rel}", recursive=False)
    os.replace(tmp, out)
    return Packed(out, len(files), total, refused)


def safe_extract(archive: Path, dest: Path) -> dict[str, Any]:
    """Unpack a submission archive into ``dest``; return its manifest (``{}`` if none).

    Only regular files and folders are written. Absolute paths, ``..``, links, devices, more
    than :data:`MAX_FILES` members or more than :data:`MAX_TOTAL_BYTES` unpacked are refused
    before anything is written.

    Raises:
        SubmissionError: the archive is unreadable or breaks a rule (the message says which).
    """
    try:
        tar = tarfile.open(archive, "r:*")  # noqa: SIM115 (closed by the `with` below)
    except (tarfile.TarError, OSError) as exc:
        raise SubmissionError(f"{archive.name} is not a readable tar archive: {exc}") from exc
    with tar:
        members = []
        total = 0
        for n, m in enumerate(tar):
            if n >= MAX_FILES + 1:
                raise SubmissionError(f"{archive.name} holds more than {MAX_FILES} members.")
            name = PurePosixPath(m.name)
            if name.is_absolute() or ".." in name.parts or m.name.startswith("\\"):
                raise SubmissionError(f"{archive.name}: member {m.name!r} escapes the folder.")
            if not (m.isfile() or m.isdir()):
                raise SubmissionError(
                    f"{archive.name}: member {m.name!r} is a link or device; only files allowed."
                )
            total += m.size
            if m.size > MAX_FILE_BYTES or total > MAX_TOTAL_BYTES:
                raise SubmissionError(
                    f"{archive.name} unpacks to more than the cap "
                    f"({MAX_FILE_BYTES / 1e6:.0f} MB a file, {MAX_TOTAL_BYTES / 1e6:.0f} MB in all)."
                )
            members.append(m)
        dest.mkdir(parents=True, exist_ok=True)
        manifest: dict[str, Any] = {}
        for m in members:
            if m.name == MANIFEST:
                fh = tar.extractfile(m)
                try:
                    manifest = json.loads(fh.read().decode()) if fh else {}
                except (ValueError, UnicodeDecodeError) as exc:
                    raise SubmissionError(f"{archive.name}: {MANIFEST} is not JSON.") from exc
                continue
            tar.extract(m, dest, filter="data")
        return manifest
