"""Which submissions a class handed in, and a safe working copy of each.

Layout (nbgrader's): ``submissions/<student>/<assignment>/<NN_slug>/`` or
``submissions/<student>/<assignment>/<NN_slug>.shipshape.tar.gz``.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import archive


@dataclass
class Submission:
    """One student's answer to one exercise (a folder or a ``submit`` archive)."""

    student: str
    assignment: str
    exercise: str
    slug: str
    source: Path | None  # None: nothing was submitted
    timestamp: str | None = None


def exercise_slugs() -> dict[str, str]:
    """``{"01": "01_optimize_image", ...}`` for every exercise that has a check."""
    from ..checks import exercise_ids, find_module

    return {ex: find_module(ex).SLUG for ex in exercise_ids()}


def _exercise_of(name: str, slugs: dict[str, str]) -> str | None:
    key = name.split("_")[0].split(".")[0]
    return key if key in slugs else None


def discover(
    submissions: Path,
    assignment: str,
    exercises: list[str] | None = None,
    students: list[str] | None = None,
    roster: dict[str, dict[str, str]] | None = None,
) -> list[Submission]:
    """Every (student, exercise) to grade, ``source=None`` where nothing was submitted.

    Layout (nbgrader's): ``submissions/<student>/<assignment>/<NN_slug>/`` or
    ``submissions/<student>/<assignment>/<NN_slug>.shipshape.tar.gz``; nbgrader's
    ``timestamp.txt`` in the assignment folder gives the submission time.
    """
    slugs = exercise_slugs()
    found: dict[tuple[str, str], Path] = {}
    stamps: dict[str, str | None] = {}
    names = set(roster or {})
    if submissions.is_dir():
        for sdir in sorted(p for p in submissions.iterdir() if p.is_dir()):
            names.add(sdir.name)
            adir = sdir / assignment
            if not adir.is_dir():
                continue
            ts = adir / "timestamp.txt"
            stamps[sdir.name] = ts.read_text().strip() if ts.is_file() else None
            for entry in sorted(adir.iterdir()):
                ex = _exercise_of(entry.name, slugs)
                if ex is None:
                    continue
                if entry.is_dir() and not entry.is_symlink():
                    found[(sdir.name, ex)] = entry
                elif entry.is_file() and entry.name.endswith(archive.SUFFIX):
                    found.setdefault((sdir.name, ex), entry)
    if students:
        names &= set(students)
        names |= set(students)
    wanted = exercises or sorted({ex for (_, ex) in found}) or sorted(slugs)
    out = []
    for student in sorted(names):
        for ex in wanted:
            if ex not in slugs:
                raise ValueError(f"no exercise {ex!r}; exercises with checks: {sorted(slugs)}")
            out.append(
                Submission(
                    student,
                    assignment,
                    ex,
                    slugs[ex],
                    found.get((student, ex)),
                    stamps.get(student),
                )
            )
    return out


def materialise(sub: Submission, dest: Path) -> tuple[Path, dict[str, Any]]:
    """Copy or unpack a submission into ``dest``; return (exercise folder, manifest)."""
    assert sub.source is not None
    if sub.source.is_dir():
        files, _refused = archive.folder_files(sub.source)
        if len(files) > archive.MAX_FILES:
            raise archive.SubmissionError(
                f"{len(files)} files; a submission holds at most {archive.MAX_FILES}."
            )
        folder = dest / sub.slug
        total = 0
        for rel, p in files.items():
            total += p.stat().st_size
            if total > archive.MAX_TOTAL_BYTES:
                raise archive.SubmissionError(
                    f"more than {archive.MAX_TOTAL_BYTES / 1e6:.0f} MB of files."
                )
            target = folder / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(p, target)
        folder.mkdir(parents=True, exist_ok=True)
        return folder, {}
    manifest = archive.safe_extract(sub.source, dest)
    kids = [p for p in dest.iterdir() if p.is_dir()]
    folder = dest / sub.slug if (dest / sub.slug).is_dir() else (kids[0] if kids else dest)
    return folder, manifest
