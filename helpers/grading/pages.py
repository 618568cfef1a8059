"""Feedback pages and the class overview (HTML and a PNG heatmap), from the result files.

Every string that came from a submission (names, file names, logs, messages) is escaped before
it reaches HTML; an item marked hidden shows its points, never its message or evidence.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from .tables import _fmt, _num, item_pass_rates

_COLOURS = {
    "timeout": "#9fb7d9",
    "error": "#c9c9c9",
    "rejected": "#d6a3e0",
    "missing": "#ffffff",
}


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


def _cell_label(r: dict[str, Any] | None) -> str:
    """``3/5`` for a completed result, its status otherwise, "" when there is none."""
    if r is None:
        return ""
    if r["status"] == "completed":
        return f"{_fmt(_num(r.get('score')))}/{_fmt(_num(r.get('max_score')))}"
    return str(r["status"])


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
            text = _cell_label(r) or "-"
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
            ax.text(j, i, _cell_label(r), ha="center", va="center", fontsize=8)
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
