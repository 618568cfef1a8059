"""The one renderer of findings: a report as terminal text and as notebook HTML.

It imports nothing but the model (:mod:`helpers.findings`) and renders its two shapes: a
check's :class:`~helpers.findings.Report` (with points) and a
:class:`~helpers.findings.Findings` list (an audit, a gate, the doctor). Nothing below the
front ends imports it: the model reaches it through ``RENDERERS`` (``str(report)``,
``report._repr_html_()``).

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

from .findings import (
    ERROR,
    FAIL,
    NOT_APPLICABLE,
    NOT_JUDGED,
    NOT_RUN,
    PASS,
    RENDERERS,
    WARN,
    Finding,
    Findings,
    Report,
    fmt_points,
)

GREEN, RED, AMBER, GREY = "#1a7f37", "#cf222e", "#9a6700", "#666"

#: status -> (text mark, HTML mark, colour); gate rows' capitalised statuses are looked up lowered
LOOKS = {
    PASS: ("PASS", "&#10004;", GREEN),
    FAIL: ("FAIL", "&#10008;", RED),
    ERROR: ("ERROR", "&#10008;", RED),
    WARN: ("WARN", "!", AMBER),
    NOT_RUN: ("NOT RUN", "?", AMBER),
    NOT_JUDGED: ("SKIP", "&#8212;", GREY),
    NOT_APPLICABLE: ("N/A", "&#8212;", GREY),
}


def _look(r: Finding) -> tuple[str, str, str]:
    return LOOKS.get(r.status.lower(), LOOKS[FAIL])


def _shown(r: Finding) -> tuple[str, str]:
    """(message, hint) as the learner may see them: a hint only where the item did not pass or
    apply, nothing of a hidden item but its verdict."""
    if r.hidden:
        return "(hidden item: judged by the grader)", ""
    quiet = r.status.lower() in (PASS, NOT_APPLICABLE)
    return r.message, "" if quiet else r.hint


def _title(r: Finding) -> str:
    extras = r.extras()
    return f"{r.name} [{'; '.join(extras)}]" if extras else r.name


def _points(r: Finding) -> str:
    return f"{fmt_points(r.points_earned)}/{fmt_points(r.points)}"


def _lines(r: Finding, points: bool, mark_width: int = 4) -> list[str]:
    msg, hint = _shown(r)
    score = f" ({_points(r)})" if points else ""
    mark = f"[{_look(r)[0]}]".ljust(mark_width + 2)
    lines = [f"  {mark} {_title(r)}{score}: {msg}"]
    if hint:
        lines.append(" " * (mark_width + 5) + f"hint: {hint}")
    return lines


def report_text(rep: Report) -> str:
    head = f"Exercise {rep.exercise}: {rep.title}  [{rep.path}]"
    if rep.error:
        lines = [head, f"COULD NOT RUN: {rep.error}"]
        if rep.internal_error:
            lines.append("  (the details for whoever maintains the check are in --json)")
        return "\n".join(lines)
    lines = [head, f"score {fmt_points(rep.score)}/{fmt_points(rep.max_score)}"]
    for r in rep.results:
        lines += _lines(r, points=True)
    return "\n".join(lines)


def findings_text(fs: Findings) -> str:
    """An audit, a gate or the doctor as lines: heading, one line per finding, the verdict."""
    lines = [fs.heading] if fs.heading else []
    width = max((len(_look(r)[0]) for r in fs.findings), default=4)
    for r in fs.findings:
        lines += _lines(r, points=bool(r.points), mark_width=width)
    return "\n".join([*lines, fs.summary])


def _esc(x: Any) -> str:
    return html.escape(str(x))


def _row_html(r: Finding, points: bool) -> str:
    msg, hint_text = _shown(r)
    word, mark, tint = _look(r)
    ev = ""
    if r.evidence and not r.hidden:
        ev = (
            "<details><summary>evidence</summary><pre style='white-space:pre-wrap'>"
            f"{_esc(json.dumps(r.evidence, indent=1, default=str)[:4000])}</pre></details>"
        )
    hint = f"<div style='color:{AMBER}'>Hint: {_esc(hint_text)}</div>" if hint_text else ""
    extras = "".join(f" <code>{_esc(x)}</code>" for x in r.extras())
    score = f"<td style='text-align:right;white-space:nowrap'>{_points(r)}</td>" if points else ""
    return (
        f"<tr style='vertical-align:top'>"
        f"<td title='{word}' style='color:{tint};font-size:1.2em;width:1.5em'>{mark}</td>"
        f"<td style='text-align:left'><b>{_esc(r.name)}</b>{extras}<br>{_esc(msg)}{hint}{ev}</td>"
        f"{score}</tr>"
    )


def report_html(rep: Report) -> str:
    if rep.error:
        return (
            f"<div style='border-left:4px solid {RED};padding:6px 10px'>"
            f"<b>Exercise {_esc(rep.exercise)}: the check could not run.</b><br>"
            f"{_esc(rep.error)}</div>"
        )
    colour = GREEN if rep.passed else (AMBER if rep.score else RED)
    rows = "".join(_row_html(r, points=True) for r in rep.results)
    return (
        f"<div style='border-left:4px solid {colour};padding:6px 10px'>"
        f"<b>Exercise {_esc(rep.exercise)}: {_esc(rep.title)}</b> "
        f"&mdash; score <b>{fmt_points(rep.score)}/{fmt_points(rep.max_score)}</b> "
        f"<span style='color:{GREY}'>({rep.seconds:.1f} s, {_esc(rep.path)})</span>"
        f"<table style='width:100%'>{rows}</table></div>"
    )


def findings_html(fs: Findings) -> str:
    """An audit, a gate or the doctor as a table, its verdict beneath."""
    statuses = {r.status.lower() for r in fs.findings}
    colour = RED if statuses & {FAIL, ERROR} else (AMBER if statuses & {WARN, NOT_RUN} else GREEN)
    head = f"<b>{_esc(fs.heading)}</b>" if fs.heading else ""
    rows = "".join(_row_html(r, points=bool(r.points)) for r in fs.findings)
    return (
        f"<div style='border-left:4px solid {colour};padding:6px 10px'>{head}"
        f"<table style='width:100%'>{rows}</table><b>{_esc(fs.summary)}</b></div>"
    )


RENDERERS.update(
    {
        "report.text": report_text,
        "report.html": report_html,
        "findings.text": findings_text,
        "findings.html": findings_html,
    }
)
