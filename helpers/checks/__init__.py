"""Exercise checks: ``check("NN")`` finds the exercise's rubric and runs it on a folder.

Each exercise has a module ``helpers/checks/exNN_<slug>.py`` whose ``RUBRIC`` (a
:class:`helpers.checks.rubric.Rubric`) declares its facts and items; ``run(path)`` runs it.
Checks take explicit inputs and never read notebook globals.

Example:
    >>> from helpers.checks import exercise_ids
    >>> "00" in exercise_ids()
    True
"""

from __future__ import annotations

import contextlib
import importlib
import pkgutil
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

from .. import engine, ownership, settings
from .base import CheckCannotRun, CheckResult, Report
from .rubric import Rubric

__all__ = ["CheckCannotRun", "CheckResult", "Report", "check", "exercise_ids", "find_module"]


def _modules() -> dict[str, ModuleType]:
    out = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("ex") and info.name[2:4].isdigit():
            out[info.name[2:4]] = importlib.import_module(f"{__name__}.{info.name}")
    return out


def exercise_ids() -> list[str]:
    """The exercise numbers that have a check, sorted."""
    return sorted(_modules())


def find_module(exercise: str) -> ModuleType:
    """The rubric module for ``"01"`` (or ``1`` or ``"01_optimize_image"``)."""
    key = str(exercise).split("_")[0].zfill(2)
    mods = _modules()
    if key not in mods:
        raise CheckCannotRun(
            f"No exercise {exercise!r}. Exercises with checks: {', '.join(sorted(mods))}."
        )
    return mods[key]


def default_path(mod: ModuleType, where: str = "exercises") -> Path:
    """``exercises/NN_slug`` (or ``solutions/NN_slug``) in the course checkout."""
    return settings.repo_root() / where / mod.SLUG


OVERLAY = "OVERLAY"
#: A check sweeps dead runs' images at most this often per host (a list of images scans
#: the whole store; containers, networks and volumes are swept every time).
SWEEP_IMAGES_EVERY_S = 120.0


@contextlib.contextmanager
def materialized(folder: Path) -> Iterator[Path]:
    """The folder to check: itself, or, for an overlay solution, starter + overlay in a temp copy.

    A reference solution holds only the files it changes, plus a file ``OVERLAY`` naming the
    starter folder it applies to (relative to the course root). Starter and solution then share
    one copy of the app code and can never drift apart.
    """
    marker = folder / OVERLAY
    if not marker.is_file():
        yield folder
        return
    base = settings.repo_root() / marker.read_text().strip()
    if not base.is_dir():
        raise CheckCannotRun(f"{marker} names {base}, which is not a folder.")
    with tempfile.TemporaryDirectory(prefix="shipshape-overlay-") as tmp:
        dest = Path(tmp) / folder.name
        shutil.copytree(base, dest)
        shutil.copytree(folder, dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns(OVERLAY))
        yield dest


def check(exercise: str | int, path: str | Path | None = None) -> Report:
    """Run exercise ``exercise``'s rubric on ``path`` (default: ``exercises/NN_slug``).

    Always returns a Report, never raises (except KeyboardInterrupt, after cleaning up).
    When the check cannot run at all (no engine, no folder) the report carries ``error``,
    every item is "not judged" (``max_score`` stays the rubric's) and the CLI exits 2.
    """
    t0 = time.monotonic()
    try:
        mod = find_module(str(exercise))
    except CheckCannotRun as exc:
        return Report(str(exercise), "unknown exercise", str(path or ""), error=str(exc))
    rubric: Rubric = mod.RUBRIC
    folder = Path(path) if path else default_path(mod)
    try:
        if not folder.is_dir():
            raise CheckCannotRun(f"{folder} is not a folder: pass path= the exercise folder.")
        engine.client()
        with contextlib.suppress(Exception):  # tidying others' leftovers never stops a check
            ownership.sweep_dead_runs(images_every_s=SWEEP_IMAGES_EVERY_S)
        with materialized(folder) as real:
            report = rubric.run(real)
    except (CheckCannotRun, engine.EngineUnavailable) as exc:
        report = rubric.not_run(str(folder), str(exc))
    except OSError as exc:  # the overlay copy could not read a file
        report = rubric.not_run(str(folder), f"the folder cannot be read: {exc}")
    report.path = str(folder)
    report.run_id = engine.RUN_ID
    report.seconds = time.monotonic() - t0
    return report
