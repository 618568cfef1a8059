"""The release gate's results: one :class:`GateRow` (a Finding) per gate, and the exit code.

A row is worth no points; its status is the gate's CI word: ``PASS``, ``FAIL``, ``NOT RUN``
(the tool could not run: never shown as a pass) or ``WARN`` (shown, blocks nothing).
``gate``, ``measured``, ``threshold`` and ``reason`` are the gate table's columns.

Example:
    >>> res = GateResult("app:1", [GateRow("size", PASS, "120.0 MB", "<= 500.0 MB", "ok"),
    ...                            GateRow("vulnerabilities", NOT_RUN, "not scanned", "-", "no db")],
    ...                  seconds=1.0)
    >>> res.passed, res.exit_code, res.verdict
    (True, 3, 'PASS, INCOMPLETE: not run: vulnerabilities')
    >>> res.row("vulnerabilities").passed, sorted(res.to_dict()["gates"][0])[:4]
    (False, ['evidence', 'gate', 'hidden', 'hint'])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .findings import Finding, Findings, alias

PASS, FAIL, NOT_RUN, WARN = "PASS", "FAIL", "NOT RUN", "WARN"
EXIT_OK, EXIT_FAIL, EXIT_CANNOT_RUN, EXIT_INCOMPLETE = 0, 1, 2, 3


class GateRow(Finding):
    """One gate's verdict, with what was measured and the threshold."""

    also = ("gate", "measured", "threshold", "reason")
    gate = alias("name", "the gate's name, e.g. ``size``")
    reason = alias("message", "why it passed or failed, or could not run")

    def __init__(
        self,
        gate: str,
        status: str,
        measured: str,
        threshold: str,
        reason: str,
        evidence: dict[str, Any] | None = None,
    ):
        evidence = evidence if evidence is not None else {}
        super().__init__(gate, 0, status == PASS, reason, evidence=evidence, status=status)
        self.measured = measured
        self.threshold = threshold

    def extras(self) -> list[str]:
        need = [f"needs {self.threshold}"] if self.threshold not in ("", "-") else []
        return [self.measured, *need] if self.measured else need


@dataclass
class GateResult(Findings):
    """Every gate for one image, and the exit code a CI job should end with."""

    image: str
    rows: list[GateRow]
    seconds: float
    allow_incomplete: bool = False

    @property
    def failed(self) -> list[GateRow]:
        return [r for r in self.rows if r.status == FAIL]

    @property
    def not_run(self) -> list[GateRow]:
        return [r for r in self.rows if r.status == NOT_RUN]

    @property
    def passed(self) -> bool:
        """No gate failed (gates that could not run are listed in :attr:`not_run`)."""
        return not self.failed

    @property
    def exit_code(self) -> int:
        if self.failed:
            return EXIT_FAIL
        if self.not_run and not self.allow_incomplete:
            return EXIT_INCOMPLETE
        return EXIT_OK

    @property
    def verdict(self) -> str:
        if self.failed:
            return "FAIL: " + ", ".join(r.gate for r in self.failed)
        if self.not_run:
            return "PASS, INCOMPLETE: not run: " + ", ".join(r.gate for r in self.not_run)
        return "PASS"

    def row(self, gate: str) -> GateRow:
        return next(r for r in self.rows if r.gate == gate)

    @property
    def findings(self) -> list[Finding]:
        return list(self.rows)

    @property
    def heading(self) -> str:
        return f"gate for {self.image}"

    summary = property(
        lambda self: f"verdict: {self.verdict} (exit {self.exit_code}, {self.seconds:.1f} s)",
        doc="the verdict line",
    )

    def table(self) -> Any:
        """The rows as a table (pandas), one column per field of the gate table."""
        import pandas as pd

        cols = ("gate", "status", "measured", "threshold", "reason")
        return pd.DataFrame([{c: getattr(r, c) for c in cols} for r in self.rows])

    def to_dict(self) -> dict[str, Any]:
        return {
            "image": self.image,
            "verdict": self.verdict,
            "exit_code": self.exit_code,
            "seconds": round(self.seconds, 2),
            "gates": [r.to_dict() for r in self.rows],
        }
