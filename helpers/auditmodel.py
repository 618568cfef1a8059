"""The checklist audit's result model: one :class:`AuditItem` per Quick Checklist line."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PASS, FAIL, NA = "pass", "fail", "n/a"


@dataclass
class AuditItem:
    """One checklist line: its verdict, what was seen, how to fix it, the linter rule id."""

    key: str
    title: str
    status: str
    detail: str
    hint: str = ""
    rule: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status != FAIL


@dataclass
class AuditReport:
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

    def to_frame(self) -> Any:
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
        return {
            "path": self.path,
            "ok": self.ok,
            "items": [
                {k: v for k, v in i.__dict__.items() if k != "evidence"} | {"evidence": i.evidence}
                for i in self.items
            ],
        }

    def __str__(self) -> str:
        lines = [f"Checklist audit of {self.path}"]
        for i in self.items:
            mark = {PASS: "ok  ", FAIL: "FAIL", NA: "n/a "}[i.status]
            rule = f" [{i.rule}]" if i.rule else ""
            lines.append(f"  [{mark}] {i.title}{rule}: {i.detail}")
            if i.status == FAIL and i.hint:
                lines.append(f"         hint: {i.hint}")
        lines.append("all items pass" if self.ok else f"{len(self.failed())} item(s) fail")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return self.to_frame().to_html(index=False)
