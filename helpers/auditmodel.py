"""The checklist audit's results: one :class:`AuditItem` (a Finding) per Quick Checklist line.

An item worth no points; its status is ``pass``, ``fail`` or ``n/a`` (the line does not apply
to this project: not a pass). ``title``, ``detail`` and ``rule`` are the audit's words; the
audit refines a static verdict after looking inside the image, so ``status`` and ``detail``
may be set later and ``passed`` follows ``status``.

Example:
    >>> rep = AuditReport("proj", [AuditItem("non_root", "runs as non-root", FAIL, "root",
    ...                                      hint="add a USER", rule="DL3002"),
    ...                            AuditItem("log_limits", "log rotation", NA, "no compose file")])
    >>> rep.failed(), rep.ok, rep.get("log_limits").passed, rep.get("log_limits").ok
    (['non_root'], False, False, True)
    >>> sorted(rep.to_dict()["items"][0])[:6]
    ['detail', 'evidence', 'hidden', 'hint', 'key', 'message']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .findings import FAIL, NOT_APPLICABLE, PASS, Finding, Findings, alias

NA = NOT_APPLICABLE
__all__ = ["FAIL", "NA", "PASS", "AuditItem", "AuditReport"]


class AuditItem(Finding):
    """One checklist line: its verdict, what was seen, how to fix it, the linter rule id."""

    also = ("title", "detail", "rule")
    detail = alias("message", "what was seen")

    def __init__(
        self,
        key: str,
        title: str,
        status: str,
        detail: str,
        hint: str = "",
        rule: str = "",
        evidence: dict[str, Any] | None = None,
    ):
        evidence = evidence if evidence is not None else {}
        super().__init__(title, 0, status == PASS, detail, hint, evidence, key=key, status=status)
        self.rule = rule

    @property  # type: ignore[override]
    def passed(self) -> bool:
        """True only for ``pass`` (an ``n/a`` is not a pass), whenever ``status`` was set."""
        return self.status == PASS

    @passed.setter
    def passed(self, value: bool) -> None:
        """Derived from ``status``: the setter only lets :class:`Finding` initialise."""

    @property
    def ok(self) -> bool:
        """Not failed (``n/a`` is ok)."""
        return self.status != FAIL

    def extras(self) -> list[str]:
        return [self.rule] if self.rule else []


@dataclass
class AuditReport(Findings):
    """All checklist items for one project."""

    path: str
    items: list[AuditItem] = field(default_factory=list)

    def get(self, key: str) -> AuditItem:
        return next(i for i in self.items if i.key == key)

    def failed(self) -> list[str]:
        return [i.key for i in self.items if i.status == FAIL]

    @property
    def ok(self) -> bool:
        return not self.failed()

    @property
    def heading(self) -> str:
        return f"Checklist audit of {self.path}"

    @property
    def summary(self) -> str:
        if self.failed():
            return f"{len(self.failed())} item(s) fail"
        na = [i.key for i in self.items if i.status == NA]
        return f"no item fails; n/a (not judged): {', '.join(na)}" if na else "all items pass"

    def to_frame(self) -> Any:
        """The items as a table (pandas), for a notebook to sort and compare."""
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "item": i.title,
                    "status": i.status,
                    "rule": i.rule or "-",
                    "detail": i.detail,
                    "hint": i.hint if i.status == FAIL else "",
                }
                for i in self.items
            ]
        )

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "ok": self.ok, "items": [i.to_dict() for i in self.items]}
