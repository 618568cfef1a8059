"""One result model for everything the course judges: a ``Finding``, gathered into a ``Report``.

A leaf module: it imports nothing from the package, so every layer may use it. Check items,
audit items (:mod:`helpers.auditmodel`), gate rows (:mod:`helpers.gatemodel`) and doctor
items (:mod:`helpers.preflight`) are all findings: a key, a title, points, a status, a
message, a hint and the measured evidence. A check's findings gather in a :class:`Report`; an
audit's, a gate's and the doctor's in a :class:`Findings` list. How they look (text, HTML)
lives in :mod:`helpers.render` alone, which registers itself in :data:`RENDERERS`.

Example:
    >>> r = Report("01", "Optimise an image")
    >>> _ = r.add(Finding("builds", 2, True, "built in 3.1 s"))
    >>> _ = r.add(Finding("size", 3, False, "1.0 GB", hint="slim base", points_earned=1))
    >>> (r.score, r.max_score, r.passed, r.exit_code)
    (3, 5, False, 1)
    >>> human_bytes(1_234_567)
    '1.2 MB'
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

PASS = "pass"
FAIL = "fail"
#: the item could not be judged because a fact it needs failed (e.g. the image did not build)
NOT_JUDGED = "not judged"
#: the check itself broke on this item (a bug in the check, not the learner's doing)
ERROR = "error"
#: the item does not apply to this project (e.g. no compose file): neither a pass nor a failure
NOT_APPLICABLE = "n/a"
#: a tool the item needs could not run (e.g. no vulnerability database): not a pass either
NOT_RUN = "not run"
#: a failure that blocks nothing (the doctor's optional items, a linter's warnings)
WARN = "warn"


@dataclass
class Finding:
    """One judged item.

    Args:
        name: the rubric title, e.g. ``"the image builds"``.
        points: the item's full value.
        passed: True when it earned full points.
        message: what was measured, in a sentence.
        hint: what to change when it failed (teaches, never just "wrong").
        evidence: the measured figures (bytes, seconds, exit codes, logs, timelines).
        points_earned: partial credit; defaults to ``points`` if passed else 0.
        key: the item's stable id in its rubric (defaults to ``name``).
        status: ``pass``, ``fail``, ``not judged``, ``error``, ``n/a``, ``not run`` or
            ``warn`` (derived from ``passed`` when not given). Gate rows spell theirs in
            capitals (``PASS``, ``NOT RUN``), the words of the gate's CI table.
        hidden: a grader-only item: counted, but its message is not shown to the learner.
    """

    name: str
    points: float
    passed: bool
    message: str
    hint: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    points_earned: float | None = None
    key: str = ""
    status: str = ""
    hidden: bool = False
    #: a subclass's own names for its facts (the audit's ``detail``, the gate's ``measured``),
    #: written by :meth:`to_dict` beside the common keys so its JSON keeps its words
    also: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        if self.points_earned is None:
            self.points_earned = self.points if self.passed else 0
        self.points_earned = max(0, min(self.points, self.points_earned))
        self.key = self.key or self.name
        self.status = self.status or (PASS if self.passed else FAIL)

    @property
    def title(self) -> str:
        return self.name

    def extras(self) -> list[str]:
        """Short facts shown beside the title (a linter rule id, a measured size and its limit)."""
        return []

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "status": self.status,
            "points": self.points,
            "points_earned": self.points_earned,
            "passed": self.passed,
            "message": self.message,
            "hint": self.hint,
            "hidden": self.hidden,
            "evidence": jsonable(self.evidence),
        } | {name: getattr(self, name) for name in self.also}


def alias(name: str, doc: str = "") -> Any:
    """A second name for a field of a :class:`Finding`, read and written through (the
    doctor's ``fix`` is its ``hint``)."""
    return property(
        lambda self: getattr(self, name), lambda self, v: setattr(self, name, v), doc=doc
    )


def jsonable(x: Any) -> Any:
    """``x`` as plain JSON types (unknown objects become their ``str``)."""
    return json.loads(json.dumps(x, default=str))


#: How reports and lists of findings are shown: :mod:`helpers.render` registers ``report.text``,
#: ``report.html``, ``findings.text`` and ``findings.html`` when it is imported (``import
#: helpers`` does it), so this model never imports its presentation. These are the fallbacks.
RENDERERS: dict[str, Callable[[Any], str]] = {
    "report.text": lambda rep: f"Exercise {rep.exercise}: score {rep.score:g}/{rep.max_score:g}",
    "report.html": lambda rep: f"<pre>{rep.exercise}: {rep.score:g}/{rep.max_score:g}</pre>",
    "findings.text": lambda fs: f"{fs.heading}\n{fs.summary}",
    "findings.html": lambda fs: f"<pre>{fs.heading}\n{fs.summary}</pre>",
}


class Findings:
    """A titled list of findings (an audit, a gate, the doctor), shown by :mod:`helpers.render`.

    Subclasses hold their findings in ``items`` (or override :attr:`findings`) and give
    :attr:`heading` (what was judged) and :attr:`summary` (the verdict line).
    """

    @property
    def findings(self) -> list[Finding]:
        return list(getattr(self, "items", []))

    @property
    def heading(self) -> str:
        return ""

    @property
    def summary(self) -> str:
        return ""

    def __str__(self) -> str:
        return RENDERERS["findings.text"](self)

    def _repr_html_(self) -> str:
        return RENDERERS["findings.html"](self)


@dataclass
class Report:
    """All findings of one exercise check.

    ``error`` is set when the check could not run at all (no engine, no folder) or broke
    (``internal_error`` then holds the traceback); the CLI exits 2 for both.
    """

    exercise: str
    title: str
    path: str = ""
    results: list[Finding] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0
    internal_error: str | None = None
    run_id: str = ""

    def add(self, result: Finding) -> Finding:
        self.results.append(result)
        return result

    def by_key(self, key: str) -> Finding:
        return next(r for r in self.results if r.key == key)

    @property
    def score(self) -> float:
        return sum(r.points_earned or 0 for r in self.results)

    @property
    def max_score(self) -> float:
        return sum(r.points for r in self.results)

    @property
    def passed(self) -> bool:
        return self.error is None and bool(self.results) and all(r.passed for r in self.results)

    @property
    def exit_code(self) -> int:
        """0 every item passed, 1 some failed, 2 the check could not run or broke."""
        if self.error:
            return 2
        return 0 if self.passed else 1

    def failed(self) -> list[Finding]:
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
            "internal_error": self.internal_error,
            "run_id": self.run_id,
            "seconds": round(self.seconds, 2),
            "results": [r.to_dict() for r in self.results],
        }

    def __str__(self) -> str:
        return RENDERERS["report.text"](self)

    def _repr_html_(self) -> str:
        return RENDERERS["report.html"](self)


def human_bytes(n: float | None) -> str:
    """``1234567`` -> ``'1.2 MB'`` (decimal units, like ``docker images``); the one formatter.

    >>> human_bytes(None), human_bytes(999), human_bytes(2_000_000_000)
    ('-', '999 B', '2.0 GB')
    """
    if n is None:
        return "-"
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def fmt_points(x: float | None) -> str:
    """``3.0`` -> ``'3'``, ``1.5`` -> ``'1.5'``."""
    x = x or 0
    return str(int(x)) if float(x).is_integer() else f"{x:.1f}"
