"""Scored results: one ``CheckResult`` per rubric item, gathered into a ``Report``.

A rubric item never raises to the learner: whatever goes wrong becomes a failed item with
a message, the measured evidence and a hint.

Example:
    >>> r = Report("01", "Optimise an image")
    >>> _ = r.add(CheckResult("builds", 2, True, "built in 3.1 s"))
    >>> _ = r.add(CheckResult("size", 3, False, "1.0 GB", hint="slim base", points_earned=1))
    >>> (r.score, r.max_score, r.passed)
    (3, 5, False)
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class CheckCannotRun(RuntimeError):
    """The check itself could not run (no engine, missing folder): CLI exit code 2."""


@dataclass
class CheckResult:
    """One rubric item.

    Args:
        name: what is judged, e.g. ``"image is smaller than the starter"``.
        points: the item's full value.
        passed: True when it earned full points.
        message: what was measured, in a sentence.
        hint: what to change when it failed (teaches, never just "wrong").
        evidence: the measured figures (bytes, seconds, exit codes, logs, timelines).
        points_earned: partial credit; defaults to ``points`` if passed else 0.
    """

    name: str
    points: float
    passed: bool
    message: str
    hint: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    points_earned: float | None = None

    def __post_init__(self) -> None:
        if self.points_earned is None:
            self.points_earned = self.points if self.passed else 0
        self.points_earned = max(0, min(self.points, self.points_earned))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "points": self.points,
            "points_earned": self.points_earned,
            "passed": self.passed,
            "message": self.message,
            "hint": self.hint,
            "evidence": _jsonable(self.evidence),
        }


def _jsonable(x: Any) -> Any:
    return json.loads(json.dumps(x, default=str))


@dataclass
class Report:
    """All items of one exercise check."""

    exercise: str
    title: str
    path: str = ""
    results: list[CheckResult] = field(default_factory=list)
    error: str | None = None  # set when the check could not run at all
    seconds: float = 0.0

    def add(self, result: CheckResult) -> CheckResult:
        self.results.append(result)
        return result

    def item(
        self,
        name: str,
        points: float,
        fn: Callable[[], CheckResult | tuple[bool, str, str, dict[str, Any]]],
    ) -> CheckResult:
        """Run one rubric item; an exception becomes a failed item with its reason as evidence."""
        try:
            out = fn()
            if isinstance(out, CheckResult):
                res = out
            else:
                ok, msg, hint, ev = out
                res = CheckResult(name, points, ok, msg, hint if not ok else "", ev)
        except Exception as exc:
            res = CheckResult(
                name,
                points,
                False,
                f"could not be measured: {exc}",
                hint=getattr(exc, "hint", "") or "Fix the error above, then run the check again.",
                evidence={
                    "error": f"{type(exc).__name__}: {exc}",
                    **getattr(exc, "evidence", {}),
                    "trace": traceback.format_exc(limit=3),
                },
            )
        return self.add(res)

    @property
    def score(self) -> float:
        return sum(r.points_earned or 0 for r in self.results)

    @property
    def max_score(self) -> float:
        return sum(r.points for r in self.results)

    @property
    def passed(self) -> bool:
        return self.error is None and bool(self.results) and all(r.passed for r in self.results)

    def failed(self) -> list[CheckResult]:
        return [r for r in self.results if not r.passed]

    def to_dict(self) -> dict[str, Any]:
        return {
            "exercise": self.exercise,
            "title": self.title,
            "path": self.path,
            "score": self.score,
            "max_score": self.max_score,
            "passed": self.passed,
            "error": self.error,
            "seconds": round(self.seconds, 2),
            "results": [r.to_dict() for r in self.results],
        }

    def __str__(self) -> str:
        head = f"Exercise {self.exercise}: {self.title}  [{self.path}]"
        if self.error:
            return f"{head}\nCOULD NOT RUN: {self.error}"
        lines = [head, f"score {_fmt(self.score)}/{_fmt(self.max_score)}"]
        for r in self.results:
            mark = "PASS" if r.passed else "FAIL"
            lines.append(
                f"  [{mark}] {r.name} ({_fmt(r.points_earned)}/{_fmt(r.points)}): {r.message}"
            )
            if not r.passed and r.hint:
                lines.append(f"         hint: {r.hint}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from .. import display

        return display.report_html(self)


def _fmt(x: float | None) -> str:
    x = x or 0
    return str(int(x)) if float(x).is_integer() else f"{x:.1f}"
