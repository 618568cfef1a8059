"""Everything derived from the result files: CSVs, feedback pages, the class overview.

Pure functions of the gradebook's JSON: no engine, no network. Every string that came from a
submission (names, file names, logs, messages) is escaped before it reaches HTML.

Example:
    >>> rows = grades_rows([{"student": "ada", "assignment": "a1", "exercise": "01",
    ...     "status": "completed", "score": 3, "max_score": 4, "report": {"results": []}}], {})
    >>> rows[0]["score"], rows[0]["max_score"], rows[0]["status"], rows[0]["ex01"]
    (3.0, 4.0, 'completed', 3.0)
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from .gradebook import (
    NBGRADER_COLUMNS,
    Gradebook,
    _safe_name,
    with_late_policy,
    write_text_atomic,
)

_COLOURS = {
    "timeout": "#9fb7d9",
    "error": "#c9c9c9",
    "rejected": "#d6a3e0",
    "missing": "#ffffff",
}


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


# -- HTML ---------------------------------------------------------------------------------
_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:70em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;
text-align:left;vertical-align:top}th{background:#f3f3f3}.pass{color:#1a7f37}.fail{color:#b42318}
.hint{color:#555;font-style:italic}pre{white-space:pre-wrap;max-width:60em;font-size:.85em}
.status{font-weight:bold}
"""


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>{body}</body></html>"
    )


def feedback_html(student: str, assignment: str, results: list[dict[str, Any]]) -> str:
    """One self-contained page for one student's assignment; hidden items show no evidence."""
    e = html.escape
    score = sum(_num(r.get("score")) for r in results)
    maximum = sum(_num(r.get("max_score")) for r in results)
    parts = [
        f"<h1>Feedback: {e(assignment)}</h1>",
        f"<p>Student: <b>{e(student)}</b> &middot; score <b>{_fmt(score)} / {_fmt(maximum)}</b></p>",
    ]
    for r in sorted(results, key=lambda r: r["exercise"]):
        rep = r.get("report") or {}
        title = rep.get("title") or r.get("title") or r.get("slug") or ""
        parts.append(
            f"<h2>Exercise {e(r['exercise'])}: {e(title)}</h2>"
            f"<p class='status'>status: {e(r['status'])} &middot; "
            f"{_fmt(_num(r.get('score')))} / {_fmt(_num(r.get('max_score')))}</p>"
        )
        if _num(r.get("late_submission_penalty")):
            parts.append(
                f"<p>Late by {r.get('days_late', 0):.2f} days: "
                f"penalty {_fmt(_num(r['late_submission_penalty']))} points.</p>"
            )
        if r.get("message"):
            parts.append(f"<p>{e(str(r['message']))}</p>")
        for v in r.get("policy") or []:
            parts.append(f"<p class='fail'>policy: {e(str(v))}</p>")
        items = rep.get("results") or []
        if not items:
            continue
        rows = ["<tr><th>item</th><th>points</th><th>result</th><th>what was measured</th></tr>"]
        for it in items:
            ok = bool(it.get("passed"))
            mark = "<span class='pass'>pass</span>" if ok else "<span class='fail'>fail</span>"
            pts = f"{_fmt(_num(it.get('points_earned')))} / {_fmt(_num(it.get('points')))}"
            if it.get("hidden"):
                detail = "<i>hidden test: details are shown after grading is released</i>"
            else:
                detail = e(str(it.get("message", "")))
                if not ok and it.get("hint"):
                    detail += f"<div class='hint'>hint: {e(str(it['hint']))}</div>"
                ev = it.get("evidence")
                if ev:
                    text = json.dumps(ev, indent=1, default=str)[:4000]
                    detail += f"<details><summary>evidence</summary><pre>{e(text)}</pre></details>"
            rows.append(
                f"<tr><td>{e(str(it.get('name', '')))}</td><td>{pts}</td>"
                f"<td>{mark}</td><td>{detail}</td></tr>"
            )
        parts.append("<table>" + "".join(rows) + "</table>")
    return _page(f"Feedback {student} {assignment}", "".join(parts))


def _cell_colour(r: dict[str, Any] | None) -> str:
    if r is None:
        return _COLOURS["missing"]
    if r["status"] != "completed":
        return _COLOURS.get(r["status"], "#ccc")
    frac = _num(r.get("score")) / _num(r.get("max_score")) if _num(r.get("max_score")) else 0
    # red (0) -> yellow -> green (1)
    red = int(255 * min(1, 2 * (1 - frac)))
    green = int(200 * min(1, 2 * frac))
    return f"#{red:02x}{green:02x}60"


def overview_html(results: list[dict[str, Any]]) -> str:
    """Students x exercises, score as colour, status marked; then the item pass rates."""
    e = html.escape
    students = sorted({r["student"] for r in results})
    exercises = sorted({r["exercise"] for r in results})
    got = {(r["student"], r["exercise"]): r for r in results}
    head = "".join(f"<th>{e(x)}</th>" for x in exercises)
    rows = [f"<tr><th>student</th>{head}</tr>"]
    for s in students:
        cells = []
        for x in exercises:
            r = got.get((s, x))
            if r is None:
                text = "-"
            elif r["status"] == "completed":
                text = f"{_fmt(_num(r.get('score')))}/{_fmt(_num(r.get('max_score')))}"
            else:
                text = r["status"]
            cells.append(f"<td style='background:{_cell_colour(r)}'>{e(text)}</td>")
        rows.append(f"<tr><th>{e(s)}</th>{''.join(cells)}</tr>")
    rates = item_pass_rates(results)
    rate_rows = ["<tr><th>exercise</th><th>item</th><th>passed</th><th>rate</th></tr>"] + [
        f"<tr><td>{e(r['exercise'])}</td><td>{e(r['item'])}</td>"
        f"<td>{r['passed']}/{r['submissions']}</td><td>{r['pass_rate']:.0%}</td></tr>"
        for r in rates
    ]
    body = (
        "<h1>Class overview</h1><table>"
        + "".join(rows)
        + "</table><h2>Rubric items, hardest first</h2><table>"
        + "".join(rate_rows)
        + "</table>"
    )
    return _page("Class overview", body)


def overview_png(results: list[dict[str, Any]], path: Path) -> Path | None:
    """The same heatmap as a PNG (matplotlib, no display needed); None without results."""
    if not results:
        return None
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    import numpy as np

    students = sorted({r["student"] for r in results})
    exercises = sorted({r["exercise"] for r in results})
    got = {(r["student"], r["exercise"]): r for r in results}
    grid = np.full((len(students), len(exercises)), np.nan)
    fig, ax = plt.subplots(
        figsize=(max(5.0, 1.6 + 1.1 * len(exercises)), 1.4 + 0.35 * len(students)), dpi=100
    )
    for i, s in enumerate(students):
        for j, x in enumerate(exercises):
            r = got.get((s, x))
            if r and r["status"] == "completed" and _num(r.get("max_score")):
                grid[i, j] = _num(r.get("score")) / _num(r.get("max_score"))
            if r is None:
                label = ""
            elif r["status"] == "completed":
                label = f"{_fmt(_num(r.get('score')))}/{_fmt(_num(r.get('max_score')))}"
            else:
                label = r["status"]
            ax.text(j, i, label, ha="center", va="center", fontsize=8)
    ax.imshow(grid, cmap="RdYlGn", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(exercises)), exercises)
    ax.set_yticks(range(len(students)), students)
    ax.set_xlabel("exercise")
    ax.set_title("score / max by student and exercise\n(blank cell: not completed, status shown)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


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
