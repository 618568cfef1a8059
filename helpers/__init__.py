"""Shipshape's helpers: the package every notebook and the CLI import.

Nothing happens at import time (no engine is contacted); functions connect when called.

Example:
    >>> import helpers
    >>> report = helpers.check("00", path="solutions/00_warmup")   # doctest: +SKIP
    >>> report.passed                                               # doctest: +SKIP
    True
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import render  # noqa: F401 - registers how reports are shown (text, HTML)
from .checks import check
from .checks.base import CheckResult, Report

__all__ = ["CheckResult", "Report", "build", "check", "doctor", "submit"]
__version__ = "0.1.0"


def doctor() -> Any:
    """Preflight report (renders as a table in a notebook)."""
    from .preflight import doctor as _doctor

    return _doctor()


def submit(exercise: str | int, path: str | Path | None = None, **kwargs: Any) -> Any:
    """Hand in an exercise: runs your check, then packs the folder with a manifest.

    See :func:`helpers.grading.submit`; returns what was packed and your check's report.
    """
    from .grading import submit as _submit

    return _submit(exercise, path, **kwargs)


def build(path: str | Path, tag: str | None = None, **kwargs: Any) -> Any:
    """Build with a progress bar in notebooks and step lines in a terminal."""
    from . import display, images

    progress = display.BuildProgress(tag or str(path))
    try:
        res = images.build(path, tag, on_event=progress, **kwargs)
    except Exception:
        progress.done(False)
        raise
    progress.done(True)
    return res
