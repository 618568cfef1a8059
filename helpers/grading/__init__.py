"""Class grading: ``submit`` on the learner's side, ``grade`` and ``grade-report`` for instructors.

- :mod:`.archive`: pack an exercise folder with a manifest; unpack archives safely.
- :mod:`.policy`: what a submission may not ask of the grader's engine.
- :mod:`.runner`: discover, vet, run each check isolated and timed, sweep by run id.
- :mod:`.gradebook`: one atomic JSON per graded submission, a lock, late policy.
- :mod:`.outputs`: CSVs, feedback pages and the class overview, rebuilt from the JSON.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .archive import Packed, SubmissionError
from .gradebook import Gradebook, GradebookLocked
from .runner import GradeOptions, Grader, Submission, discover

__all__ = [
    "GradeOptions",
    "Gradebook",
    "GradebookLocked",
    "Grader",
    "Packed",
    "Submission",
    "SubmissionError",
    "discover",
    "submit",
]


def submit(
    exercise: str | int,
    path: str | Path | None = None,
    out: str | Path | None = None,
    run_check: bool = True,
) -> tuple[Packed, Any]:
    """Pack an exercise folder into ``<NN_slug>.shipshape.tar.gz`` to hand in.

    Runs your own check first (its score goes into the manifest, so your instructor sees what
    you saw), leaves out generated clutter and refuses oversized files with a clear message.

    Returns:
        (what was packed, your check's report or None).

    Raises:
        SubmissionError: the folder cannot be handed in as it is (the message says why).
    """
    from ..checks import check, default_path, find_module
    from . import archive, runner

    mod = find_module(str(exercise))
    folder = Path(path) if path else default_path(mod)
    report = check(mod.EXERCISE, path=folder) if run_check else None
    last = None
    if report is not None:
        d = report.to_dict()
        last = {k: d.get(k) for k in ("score", "max_score", "passed", "error", "seconds")}
    target = Path(out) if out else Path.cwd() / f"{mod.SLUG}{archive.SUFFIX}"
    packed = archive.pack(folder, mod.EXERCISE, mod.SLUG, target, runner.course_version(), last)
    return packed, report
