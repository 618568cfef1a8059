"""Everything derived from the result files: CSVs, feedback pages, the class overview.

Pure functions of the gradebook's JSON: no engine, no network. :func:`rebuild` writes them all;
the tables live in :mod:`.tables`, the pages in :mod:`.pages`.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from .gradebook import Gradebook, _safe_name, with_late_policy, write_text_atomic
from .pages import feedback_html, overview_html, overview_png
from .tables import (
    LONG_COLUMNS,
    _csv,
    grades_csv,
    grades_rows,
    item_pass_rates,
    long_rows,
    read_roster,
    rubric_max,
    with_known_max,
)

__all__ = [
    "feedback_html",
    "grades_csv",
    "grades_rows",
    "item_pass_rates",
    "long_rows",
    "overview_html",
    "overview_png",
    "read_roster",
    "rebuild",
    "rubric_max",
    "with_known_max",
]


def rebuild(
    book: Gradebook,
    roster: dict[str, dict[str, str]] | None = None,
    png: bool = True,
    students: set[str] | None = None,
) -> dict[str, Path]:
    """Write every derived output from the result files; return their paths.

    ``students`` limits the feedback pages rewritten to those students (the grader passes the
    one it just graded); the CSVs and the overview always cover everyone.
    """
    roster = roster or {}
    late = book.settings()
    results = [with_late_policy(r, late) for r in with_known_max(book.results(), book.rubric_max())]
    out: dict[str, Path] = {}
    p = book.root / "grades.csv"
    write_text_atomic(p, grades_csv(results, roster))
    out["grades"] = p
    p = book.root / "grades_long.csv"
    write_text_atomic(p, _csv(long_rows(results), LONG_COLUMNS))
    out["grades_long"] = p
    p = book.root / "item_pass_rates.csv"
    write_text_atomic(
        p,
        _csv(item_pass_rates(results), ["exercise", "item", "submissions", "passed", "pass_rate"]),
    )
    out["item_pass_rates"] = p
    by_student: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in results:
        by_student[(r["student"], r["assignment"])].append(r)
    for (student, assignment), rs in by_student.items():
        if students is not None and student not in students:
            continue
        p = book.root / "feedback" / _safe_name(student) / _safe_name(assignment) / "index.html"
        write_text_atomic(p, feedback_html(student, assignment, rs))
    p = book.root / "overview.html"
    write_text_atomic(p, overview_html(results))
    out["overview"] = p
    if png and results:
        p = book.root / "overview.png"
        tmp = p.with_name(".tmp-overview.png")
        overview_png(results, tmp)
        tmp.replace(p)
        out["overview_png"] = p
    return out
