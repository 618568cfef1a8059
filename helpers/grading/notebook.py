"""Grading from a notebook: the same grader as ``python -m helpers grade``, with a progress bar.

A front end, like the CLI: it may import ipywidgets; nothing below it does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import outputs
from .gradebook import Gradebook
from .runner import GradeOptions, Grader, discover


def grade_class(
    assignment: str,
    submissions: str | Path,
    out: str | Path = "gradebook",
    *,
    exercises: list[str] | None = None,
    students: list[str] | None = None,
    jobs: int = 1,
    timeout_s: float = 600,
    force: bool = False,
    roster: str | Path | None = None,
    duedate: str | None = None,
    late_policy: str | None = None,
    progress: bool = True,
) -> Any:
    """Grade ``submissions`` into the gradebook ``out``; return ``grades.csv`` as a DataFrame.

    Shows an ipywidgets progress bar (count, current student, time left) while it runs.
    """
    import pandas as pd

    people = outputs.read_roster(Path(roster)) if roster else {}
    subs = discover(Path(submissions), assignment, exercises, students, people)
    book = Gradebook(out)
    bar = _progress_bar() if progress else None
    with book.locked():
        book.update_settings(duedate=duedate, late_policy=late_policy)
        grader = Grader(
            book,
            GradeOptions(timeout_exercise_s=timeout_s, jobs=jobs, force=force),
            people,
            progress=bar,
        )
        grader.sweep_crashed()
        grader.run(subs)
    return pd.read_csv(book.root / "grades.csv", dtype={"student_id": str})


def _progress_bar():
    try:
        import ipywidgets as w
        from IPython.display import display
    except ImportError:  # plain Python: no bar
        return None
    bar = w.IntProgress(min=0, max=1, description="grading")
    label = w.Label("starting")
    display(w.HBox([bar, label]))

    def update(p: dict[str, Any]) -> None:
        bar.max = max(1, p["total"])
        bar.value = p["done"]
        eta = f", about {p['eta_s'] / 60:.1f} min left" if p.get("eta_s") is not None else ""
        last = f" -> {p['status']}" if p.get("status") else ""
        label.value = f"{p['done']}/{p['total']} {p['current']}{last}{eta}"

    return update
