"""pip-audit: requirements against PyPI's advisory data, counting what was really audited."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from .common import ScanResult, _last_error, _run, require


def interpret_pip_audit(doc: dict[str, Any]) -> ScanResult:
    """Judge pip-audit's JSON honestly: skipped dependencies were NOT audited.

    pip-audit says "No known vulnerabilities found" (exit 0) even when every dependency
    was skipped because its advisory service could not be reached. Only dependencies
    without a ``skip_reason`` were looked up.

    >>> r = interpret_pip_audit({"dependencies": [{"name": "flask", "skip_reason":
    ...     "Dependency not found on PyPI and could not be audited: flask (2.3.3)"}]})
    >>> r.status, r.clean
    ('unavailable', None)
    >>> r = interpret_pip_audit({"dependencies": [{"name": "flask", "version": "2.3.3",
    ...     "vulns": [{"id": "PYSEC-1", "fix_versions": ["2.3.4"], "description": "x"}]}]})
    >>> r.status, r.findings[0]["id"]
    ('scanned', 'PYSEC-1')
    """
    deps = doc.get("dependencies") or []
    audited = [d for d in deps if not d.get("skip_reason")]
    skipped = [d for d in deps if d.get("skip_reason")]
    if not audited:
        why = skipped[0]["skip_reason"] if skipped else "no dependencies were found"
        return ScanResult(
            "pip-audit",
            "requirements",
            "unavailable",
            reason=f"pip-audit audited 0 of {len(deps)} dependencies ({why}); its "
            "'No known vulnerabilities found' means nothing was looked up.",
            raw=doc,
        )
    rows = []
    for d in audited:
        for v in d.get("vulns") or []:
            rows.append(
                {
                    "kind": "vuln",
                    "target": f"{d['name']} {d.get('version', '')}",
                    "id": v.get("id", ""),
                    "severity": "UNKNOWN",  # pip-audit reports no severity
                    "title": (v.get("description") or "")[:120],
                    "detail": "fix: " + (", ".join(v.get("fix_versions") or []) or "none yet"),
                }
            )
    reason = f"audited {len(audited)} of {len(deps)} dependencies"
    if skipped:
        reason += f"; NOT audited: {', '.join(d['name'] for d in skipped)}"
    return ScanResult("pip-audit", "requirements", "scanned", rows, reason=reason, raw=doc)


def pip_audit(requirements: str | Path, timeout_s: float = 120) -> ScanResult:
    """pip-audit on a pinned requirements file (no install, no resolver)."""
    p = Path(requirements)
    if not p.is_file():
        raise FileNotFoundError(f"No requirements file at {p}.")
    import tempfile

    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="shipshape-pip-audit-") as tmp:
        report = Path(tmp) / "report.json"
        # the report goes to a file: with FORCE_COLOR set (Jupyter kernels set it) pip-audit
        # writes its progress spinner to stdout too
        out = _run(
            [
                require("pip-audit"),
                "-r",
                str(p),
                "--no-deps",
                "--disable-pip",
                "--progress-spinner",
                "off",
                "-f",
                "json",
                "-o",
                str(report),
            ],
            timeout_s,
        )
        text = report.read_text() if report.is_file() else ""
    secs = time.monotonic() - t0
    try:
        doc = json.loads(text)
    except ValueError:
        return ScanResult(
            "pip-audit", str(p), "unavailable", reason=_last_error(out.stderr), seconds=secs
        )
    res = interpret_pip_audit(doc)
    res.target, res.seconds = str(p), secs
    return res
