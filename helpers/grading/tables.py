"""The gradebook's tables, from the result files: grades, per item, pass rates, the roster.

Example:
    >>> rows = grades_rows([{"student": "ada", "assignment": "a1", "exercise": "01",
    ...     "status": "completed", "score": 3, "max_score": 4, "report": {"results": []}}], {})
    >>> rows[0]["score"], rows[0]["max_score"], rows[0]["status"], rows[0]["ex01"]
    (3.0, 4.0, 'completed', 3.0)
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from pathlib import Path
from typing import Any

from .gradebook import NBGRADER_COLUMNS


def _num(x: Any) -> float:
    try:
        return float(x or 0)
    except (TypeError, ValueError):
        return 0.0


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.2f}"


def grades_rows(results: list[dict[str, Any]], roster: dict[str, dict[str, str]]) -> list[dict]:
    """One row per student x assignment: nbgrader's columns, status, one column per exercise."""
    by_key: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in results:
        by_key[(r["student"], r["assignment"])].append(r)
    exercises = sorted({r["exercise"] for r in results})
    rows = []
    for (student, assignment), rs in sorted(by_key.items()):
        person = roster.get(student, {})
        not_done = [f"{r['exercise']}={r['status']}" for r in rs if r["status"] != "completed"]
        times = [r.get("timestamp") for r in rs if r.get("timestamp")]
        row: dict[str, Any] = {
            "assignment": assignment,
            "duedate": next((r.get("duedate") for r in rs if r.get("duedate")), "") or "",
            "timestamp": max(times) if times else "",
            "student_id": student,
            "last_name": person.get("last_name", ""),
            "first_name": person.get("first_name", ""),
            "email": person.get("email", ""),
            "raw_score": sum(_num(r.get("raw_score", r.get("score"))) for r in rs),
            "late_submission_penalty": sum(_num(r.get("late_submission_penalty")) for r in rs),
            "score": sum(_num(r.get("score")) for r in rs),
            "max_score": sum(_num(r.get("max_score")) for r in rs),
            "status": "completed" if not not_done else "; ".join(not_done),
        }
        got = {r["exercise"]: r for r in rs}
        for ex in exercises:
            r = got.get(ex)
            row[f"ex{ex}"] = _num(r.get("score")) if r and r["status"] == "completed" else ""
        rows.append(row)
    return rows


def _csv(rows: list[dict[str, Any]], columns: list[str]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, quoting=csv.QUOTE_MINIMAL, extrasaction="ignore")
    w.writeheader()
    for row in rows:
        w.writerow(row)
    return buf.getvalue()


def grades_csv(results: list[dict[str, Any]], roster: dict[str, dict[str, str]]) -> str:
    rows = grades_rows(results, roster)
    exercises = sorted({r["exercise"] for r in results})
    return _csv(rows, [*NBGRADER_COLUMNS, "status", *[f"ex{e}" for e in exercises]])


LONG_COLUMNS = [
    "student_id",
    "assignment",
    "exercise",
    "status",
    "item",
    "points",
    "points_earned",
    "passed",
    "message",
]


def long_rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per student x exercise x rubric item (one row with no item when not judged)."""
    rows = []
    for r in results:
        items = ((r.get("report") or {}).get("results")) or []
        base = {
            "student_id": r["student"],
            "assignment": r["assignment"],
            "exercise": r["exercise"],
            "status": r["status"],
        }
        if not items:
            rows.append({**base, "message": r.get("message", "")})
        for it in items:
            rows.append(
                {
                    **base,
                    "item": it.get("name", ""),
                    "points": it.get("points", ""),
                    "points_earned": it.get("points_earned", ""),
                    "passed": it.get("passed", ""),
                    "message": "" if it.get("hidden") else it.get("message", ""),
                }
            )
    return rows


def item_pass_rates(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per exercise x rubric item: how many completed submissions passed it, hardest first."""
    seen: dict[tuple[str, str], list[bool]] = defaultdict(list)
    for r in results:
        if r["status"] != "completed":
            continue
        for it in (r.get("report") or {}).get("results") or []:
            seen[(r["exercise"], it.get("name", ""))].append(bool(it.get("passed")))
    rows = [
        {
            "exercise": ex,
            "item": item,
            "submissions": len(v),
            "passed": sum(v),
            "pass_rate": round(sum(v) / len(v), 3) if v else 0.0,
        }
        for (ex, item), v in seen.items()
    ]
    rows.sort(key=lambda r: (r["pass_rate"], r["exercise"], r["item"]))
    return rows


def read_roster(path: Path | None) -> dict[str, dict[str, str]]:
    """nbgrader's student import CSV (``id,first_name,last_name,email``) by student id."""
    if not path:
        return {}
    with path.open(newline="", encoding="utf-8-sig") as fh:
        return {row["id"]: row for row in csv.DictReader(fh) if row.get("id")}


def with_known_max(
    results: list[dict[str, Any]], learned: dict[str, float] | None = None
) -> list[dict[str, Any]]:
    """Results whose ``max_score`` is unknown (missing, rejected, timeout) take the rubric's.

    The rubric's maximum comes from the check module when it declares one, else from any
    completed result of the same exercise.
    """
    known: dict[str, float] = dict(learned or {})
    for r in results:
        if r.get("status") == "completed" and r.get("max_score"):
            known.setdefault(r["exercise"], _num(r["max_score"]))
    out = []
    for r in results:
        if not r.get("max_score"):
            m = known.get(r["exercise"]) or rubric_max(r["exercise"])
            r = {**r, "max_score": m or 0}
        out.append(r)
    return out


def rubric_max(exercise: str) -> float | None:
    """The maximum score a check module declares (``MAX_SCORE`` or ``RUBRIC.max_score``)."""
    try:
        from ..checks import find_module

        mod = find_module(exercise)
    except Exception:
        return None
    for value in (
        getattr(mod, "MAX_SCORE", None),
        getattr(getattr(mod, "RUBRIC", None), "max_score", None),
    ):
        if isinstance(value, (int, float)):
            return float(value)
    return None
