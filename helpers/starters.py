"""Untouched starters and reference solutions, kept apart from the learner's own folder.

A notebook that shows "the starter fails" must not run the check on ``exercises/NN_*``:
once the learner has solved the exercise that folder passes, and the demonstration would
stop "Run All". :func:`pristine` gives the starter as it was shipped, from (in order)

1. ``.starters/NN_slug`` — written by ``python -m helpers learner-copy`` into a learner's copy;
2. the git commit the course is checked out at (``git archive HEAD exercises/NN_slug``).

:func:`starter_report` runs the check on that copy, reusing the learner's own report when
the learner's folder is still byte-for-byte the starter (so the check runs once, not twice).
:func:`solution_diff` shows a reference solution as a diff against the learner's folder,
only when asked for (``python -m helpers solution NN``).

Example:
    >>> from helpers import starters
    >>> starters.slug("0")
    '00_warmup'
"""

from __future__ import annotations

import contextlib
import difflib
import filecmp
import io
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import settings
from .checks import OVERLAY, find_module
from .checks.base import CheckCannotRun

SNAPSHOT_DIR = ".starters"
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".ipynb_checkpoints")


class StarterUnavailable(CheckCannotRun):
    """No untouched copy of the starter can be found (not a git checkout, no snapshot)."""


def slug(exercise: str | int) -> str:
    """``"05"`` -> ``"05_resource_limits"`` (also accepts 5 and the slug itself)."""
    return str(find_module(str(exercise)).SLUG)


def _git_archive(rel: str, dest: Path) -> bool:
    root = settings.repo_root()
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "archive", "--format=tar", "HEAD", "--", rel],
            capture_output=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    if out.returncode != 0 or not out.stdout:
        return False
    with tarfile.open(fileobj=io.BytesIO(out.stdout)) as tar:
        tar.extractall(dest, filter="data")
    return (dest / rel).is_dir()


@contextlib.contextmanager
def pristine(exercise: str | int) -> Iterator[Path]:
    """A temporary copy of exercise ``exercise``'s starter as shipped, never the learner's.

    Raises:
        StarterUnavailable: neither a ``.starters`` snapshot nor a git checkout holds it.
    """
    name = slug(exercise)
    root = settings.repo_root()
    with tempfile.TemporaryDirectory(prefix="shipshape-starter-") as tmp:
        snap = root / SNAPSHOT_DIR / name
        if snap.is_dir():
            dest = Path(tmp) / name
            shutil.copytree(snap, dest, ignore=_IGNORE)
            yield dest
            return
        rel = f"exercises/{name}"
        if _git_archive(rel, Path(tmp)):
            yield Path(tmp) / rel
            return
        raise StarterUnavailable(
            f"No untouched copy of {rel}: this course is not a git checkout and has no "
            f"{SNAPSHOT_DIR}/ folder. Ask your instructor for a copy made with "
            "`python -m helpers learner-copy`."
        )


def _files(folder: Path) -> set[str]:
    skip = {"__pycache__", ".pytest_cache", ".ipynb_checkpoints"}
    return {
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.is_file() and not skip.intersection(p.relative_to(folder).parts) and p.suffix != ".pyc"
    }


def same_files(a: Path, b: Path) -> bool:
    """True when two folders hold the same files with the same bytes (caches ignored)."""
    names = _files(a)
    if names != _files(b):
        return False
    return all(filecmp.cmp(a / n, b / n, shallow=False) for n in names)


def starter_report(exercise: str | int, learner: Any | None = None) -> Any:
    """The check's report on the untouched starter of ``exercise``.

    ``learner`` is the report of ``check(exercise)`` on the learner's folder: when that folder
    is still exactly the starter, it *is* the starter's report and is returned as is.

    Returns None (after saying why) when no untouched copy exists, for example in a course
    downloaded as a zip file; under the test suite (``SHIPSHAPE_STRICT=1``) that raises.
    """
    from .checks import check, default_path
    from .expect import strict

    mine = default_path(find_module(str(exercise)))
    try:
        with pristine(exercise) as fresh:
            if learner is not None and mine.is_dir() and same_files(fresh, mine):
                return learner
            report = check(exercise, path=fresh)
    except StarterUnavailable as exc:
        if strict():
            raise
        print(f"(not shown: {exc})")
        return None
    report.path = f"{mine} (untouched starter)"
    return report


@contextlib.contextmanager
def solution(exercise: str | int) -> Iterator[Path]:
    """The reference solution of ``exercise`` laid over its *untouched* starter.

    Raises:
        StarterUnavailable: this copy of the course has no ``solutions/`` folder.
    """
    name = slug(exercise)
    src = settings.repo_root() / "solutions" / name
    if not src.is_dir():
        raise StarterUnavailable(
            f"{src} does not exist: this copy of the course ships without solutions."
        )
    if not (src / OVERLAY).is_file():
        yield src
        return
    with pristine(exercise) as base:
        shutil.copytree(src, base, dirs_exist_ok=True, ignore=shutil.ignore_patterns(OVERLAY))
        yield base


def solution_diff(exercise: str | int) -> str:
    """Unified diff from the learner's ``exercises/NN_*`` to the reference solution."""
    from .checks import default_path

    mine = default_path(find_module(str(exercise)))
    with solution(exercise) as ref:
        names = sorted(_files(ref) | (_files(mine) if mine.is_dir() else set()))
        chunks = []
        for n in names:
            a, b = mine / n, ref / n
            try:
                old = a.read_text().splitlines(keepends=True) if a.is_file() else []
                new = b.read_text().splitlines(keepends=True) if b.is_file() else []
            except UnicodeDecodeError:
                continue
            chunks.extend(difflib.unified_diff(old, new, f"yours/{n}", f"solution/{n}"))
    return "".join(chunks)


def learner_copy(dest: str | Path) -> Path:
    """Copy the course to ``dest`` without ``solutions/``, with untouched starters kept aside.

    The copy holds what the course's git commit holds (or the working files when this is not
    a git checkout), minus ``solutions/``, plus ``.starters/`` so its notebooks can still show
    "the starter fails" after the learner has solved an exercise.
    """
    root = settings.repo_root()
    out = Path(dest).resolve()
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} exists and is not empty: choose a new folder.")
    out.mkdir(parents=True, exist_ok=True)
    skip = shutil.ignore_patterns(
        ".git",
        ".venv",
        "solutions",
        SNAPSHOT_DIR,
        "__pycache__",
        "*.egg-info",
        ".ipynb_checkpoints",
        ".pytest_cache",
        "artifacts",
    )
    with tempfile.TemporaryDirectory(prefix="shipshape-copy-") as tmp:
        src = Path(tmp) / "course"
        if not _git_archive(".", src.parent) or not (src.parent / "helpers").is_dir():
            shutil.copytree(root, src, ignore=skip)
        else:
            src = src.parent
        shutil.copytree(src, out, ignore=skip, dirs_exist_ok=True)
    shutil.copytree(out / "exercises", out / SNAPSHOT_DIR, ignore=_IGNORE)
    return out
