"""hadolint: Dockerfile lint rules (DL3008, DL3009, ...)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from .common import ScanResult, _last_error, _run, require


def hadolint(dockerfile: str | Path, timeout_s: float = 60) -> ScanResult:
    """hadolint's findings for one Dockerfile: rule code, level (error/warning/info/style)."""
    p = Path(dockerfile)
    if p.is_dir():
        p = p / "Dockerfile"
    if not p.is_file():
        raise FileNotFoundError(f"No Dockerfile at {p}.")
    t0 = time.monotonic()
    out = _run([require("hadolint"), "--no-fail", "-f", "json", str(p)], timeout_s)
    secs = time.monotonic() - t0
    try:
        items = json.loads(out.stdout or "[]")
    except ValueError:
        return ScanResult("hadolint", str(p), "unavailable", reason=_last_error(out.stderr))
    level_to_sev = {"error": "HIGH", "warning": "MEDIUM", "info": "LOW", "style": "LOW"}
    rows = [
        {
            "kind": "lint",
            "target": p.name,
            "id": i.get("code", ""),
            "severity": level_to_sev.get(i.get("level", ""), "UNKNOWN"),
            "title": i.get("message", ""),
            "detail": f"line {i.get('line')} ({i.get('level')})",
            "level": i.get("level", ""),
            "line": i.get("line"),
        }
        for i in items
    ]
    return ScanResult("hadolint", str(p), "scanned", rows, seconds=secs, raw={"items": items})
