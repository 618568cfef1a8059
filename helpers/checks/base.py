"""The names checks have always imported: ``CheckResult`` and ``Report`` (see :mod:`helpers.findings`).

``CheckResult`` is a :class:`helpers.findings.Finding`: one rubric item with its points,
verdict, message, hint and evidence.

Example:
    >>> r = Report("01", "Optimise an image")
    >>> _ = r.add(CheckResult("builds", 2, True, "built in 3.1 s"))
    >>> (r.score, r.max_score, r.passed)
    (2, 2, True)
"""

from __future__ import annotations

from ..findings import Finding, Report


class CheckCannotRun(RuntimeError):
    """The check itself could not run (no engine, missing folder): CLI exit code 2."""


CheckResult = Finding

__all__ = ["CheckCannotRun", "CheckResult", "Finding", "Report"]
