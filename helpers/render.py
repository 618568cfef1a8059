"""The one renderer of findings: a report as terminal text and as notebook HTML.

It imports nothing but the model (:mod:`helpers.findings`); nothing below the front ends
imports it except through ``Report.__str__`` / ``Report._repr_html_``.

Example:
    >>> from helpers.findings import Finding, Report
    >>> r = Report("00", "Warm-up", "ex")
    >>> _ = r.add(Finding("it builds", 2, False, "no Dockerfile", hint="add one"))
    >>> print(report_text(r))
    Exercise 00: Warm-up  [ex]
    score 0/2
      [FAIL] it builds (0/2): no Dockerfile
             hint: add one
"""

from __future__ import annotations

import html
import json
from typing import Any

from .findings import NOT_JUDGED, RENDERERS, Finding, Report, fmt_points

GREEN, RED, AMBER, GREY = "#1a7f37", "#cf222e", "#9a6700", "#666"

MARKS = {"pass": "PASS", "fail": "FAIL", NOT_JUDGED: "SKIP", "error": "ERROR"}


def _shown(r: Finding) -> tuple[str, str]:
    """(message, hint) as the learner may see them (hidden items keep their verdict only)."""
    if r.hidden:
        return "(hidden item: judged by the grader)", ""
    return r.message, r.hint


def report_text(rep: Report) -> str:
    head = f"Exercise {rep.exercise}: {rep.title}  [{rep.path}]"
    if rep.error:
        lines = [head, f"COULD NOT RUN: {rep.error}"]
        if rep.internal_error:
            lines.append("  (the details for whoever maintains the check are in --json)")
        return "\n".join(lines)
    lines = [head, f"score {fmt_points(rep.score)}/{fmt_points(rep.max_score)}"]
    for r in rep.results:
        mark = MARKS.get(r.status, "FAIL")
        msg, hint = _shown(r)
        lines.append(
            f"  [{mark}] {r.name} ({fmt_points(r.points_earned)}/{fmt_points(r.points)}): {msg}"
        )
        if not r.passed and hint:
            lines.append(f"         hint: {hint}")
    return "\n".join(lines)


def _esc(x: Any) -> str:
    return html.escape(str(x))


def report_html(rep: Report) -> str:
    if rep.error:
        return (
            f"<div style='border-left:4px solid {RED};padding:6px 10px'>"
            f"<b>Exercise {_esc(rep.exercise)}: the check could not run.</b><br>"
            f"{_esc(rep.error)}</div>"
        )
    colour = GREEN if rep.passed else (AMBER if rep.score else RED)
    rows = []
    for r in rep.results:
        msg, hint_text = _shown(r)
        mark = "&#10004;" if r.passed else ("&#8212;" if r.status == NOT_JUDGED else "&#10008;")
        tint = GREEN if r.passed else (GREY if r.status == NOT_JUDGED else RED)
        ev = ""
        if r.evidence and not r.hidden:
            ev = (
                "<details><summary>evidence</summary><pre style='white-space:pre-wrap'>"
                f"{_esc(json.dumps(r.evidence, indent=1, default=str)[:4000])}</pre></details>"
            )
        hint = (
            f"<div style='color:{AMBER}'>Hint: {_esc(hint_text)}</div>"
            if hint_text and not r.passed
            else ""
        )
        rows.append(
            f"<tr style='vertical-align:top'>"
            f"<td style='color:{tint};font-size:1.2em;width:1.5em'>{mark}</td>"
            f"<td style='text-align:left'><b>{_esc(r.name)}</b><br>{_esc(msg)}{hint}{ev}</td>"
            f"<td style='text-align:right;white-space:nowrap'>{fmt_points(r.points_earned)}/"
            f"{fmt_points(r.points)}</td></tr>"
        )
    return (
        f"<div style='border-left:4px solid {colour};padding:6px 10px'>"
        f"<b>Exercise {_esc(rep.exercise)}: {_esc(rep.title)}</b> "
        f"&mdash; score <b>{fmt_points(rep.score)}/{fmt_points(rep.max_score)}</b> "
        f"<span style='color:{GREY}'>({rep.seconds:.1f} s, {_esc(rep.path)})</span>"
        f"<table style='width:100%'>{''.join(rows)}</table></div>"
    )


def doctor_html(rep: Any) -> str:
    """The doctor's table (duck-typed: items with ``ok``, ``required``, ``name``, ``detail``, ``fix``)."""
    rows = []
    for i in rep.items:
        colour = GREEN if i.ok else (RED if i.required else AMBER)
        fix = f"<br><i>{_esc(i.fix)}</i>" if not i.ok and i.fix else ""
        rows.append(
            f"<tr style='vertical-align:top'><td style='color:{colour};text-align:left'>"
            f"{'ok' if i.ok else 'FAIL' if i.required else 'warn'}</td>"
            f"<td style='text-align:left'><b>{_esc(i.name)}</b></td>"
            f"<td style='text-align:left'>{_esc(i.detail)}{fix}</td></tr>"
        )
    verdict = "ready" if rep.ok else "not ready: fix the red items"
    return f"<table>{''.join(rows)}</table><b>{verdict}</b>"


RENDERERS.update(text=report_text, html=report_html)
