"""Trivy: Dockerfile misconfigurations, image secrets, and vulnerabilities (which need its database)."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .common import TRIVY_CACHE_ENV, ScanResult, _last_error, _run, require


def trivy_cache_dir() -> Path | None:
    """``$SHIPSHAPE_TRIVY_CACHE_DIR`` when set (an instructor's pre-downloaded database)."""
    v = os.environ.get(TRIVY_CACHE_ENV, "").strip()
    return Path(v).expanduser() if v else None


@dataclass
class VulnDB:
    """Whether Trivy's vulnerability database is on this machine, and where."""

    available: bool
    cache_dir: Path
    reason: str
    updated_at: str | None = None


def vuln_db(cache_dir: Path | None = None) -> VulnDB:
    """Find Trivy's vulnerability database without touching the network.

    Looks in ``cache_dir``, else ``$SHIPSHAPE_TRIVY_CACHE_DIR``, else Trivy's default cache
    (``~/.cache/trivy``). The database is ``db/trivy.db`` with ``db/metadata.json``.
    """
    d = cache_dir or trivy_cache_dir() or Path.home() / ".cache" / "trivy"
    db = d / "db" / "trivy.db"
    meta = d / "db" / "metadata.json"
    if db.is_file() and meta.is_file():
        try:
            updated = json.loads(meta.read_text()).get("UpdatedAt")
        except (OSError, ValueError):
            updated = None
        return VulnDB(True, d, f"Trivy database found in {d}", updated)
    how = (
        f"No Trivy vulnerability database in {d}, so the vulnerability scan was NOT run (the "
        "course never downloads one in the middle of a scan: without network that would hang). "
        "With network, `trivy image --download-db-only` fetches it once (from a container "
        "registry). For an offline room: on a machine with network run `trivy image "
        f"--download-db-only --cache-dir DIR`, copy DIR here and set {TRIVY_CACHE_ENV}=DIR."
    )
    return VulnDB(False, d, how)


def _trivy_base(cache_dir: Path | None) -> list[str]:
    args = [require("trivy")]
    return args


def _cache_args(cache_dir: Path | None) -> list[str]:
    d = cache_dir or trivy_cache_dir()
    return ["--cache-dir", str(d)] if d else []


def parse_trivy_json(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Flatten Trivy's JSON report into rows: kind, target, id, severity, title, detail.

    ``kind`` is ``vuln``, ``secret`` or ``misconfig``.
    """
    rows: list[dict[str, Any]] = []
    for res in doc.get("Results") or []:
        target = res.get("Target", "")
        for v in res.get("Vulnerabilities") or []:
            rows.append(
                {
                    "kind": "vuln",
                    "target": target,
                    "id": v.get("VulnerabilityID", ""),
                    "severity": v.get("Severity", "UNKNOWN"),
                    "title": v.get("Title", "") or v.get("PkgName", ""),
                    "detail": f"{v.get('PkgName', '')} {v.get('InstalledVersion', '')}"
                    f" -> {v.get('FixedVersion', '') or 'no fix yet'}",
                }
            )
        for s in res.get("Secrets") or []:
            rows.append(
                {
                    "kind": "secret",
                    "target": target,
                    "id": s.get("RuleID", ""),
                    "severity": s.get("Severity", "UNKNOWN"),
                    "title": s.get("Title", ""),
                    "detail": f"line {s.get('StartLine', '?')}: {s.get('Match', '')[:80]}",
                    "layer": ((s.get("Layer") or {}).get("CreatedBy") or "")[:120],
                }
            )
        for m in res.get("Misconfigurations") or []:
            if m.get("Status", "FAIL") != "FAIL":
                continue
            rows.append(
                {
                    "kind": "misconfig",
                    "target": target,
                    "id": m.get("ID", ""),
                    "severity": m.get("Severity", "UNKNOWN"),
                    "title": m.get("Title", ""),
                    "detail": (m.get("Message", "") or "")[:200],
                }
            )
    return rows


def _trivy(args: list[str], target: str, scanner: str, timeout_s: float) -> ScanResult:
    t0 = time.monotonic()
    out = _run([*_trivy_base(None), *args], timeout_s)
    secs = time.monotonic() - t0
    if out.returncode != 0:
        err = _last_error(out.stderr)
        return ScanResult(scanner, target, "unavailable", reason=err, seconds=secs)
    doc = json.loads(out.stdout or "{}")
    return ScanResult(scanner, target, "scanned", parse_trivy_json(doc), seconds=secs, raw=doc)


def trivy_config(path: str | Path, timeout_s: float = 120) -> ScanResult:
    """Trivy's misconfiguration scan of a Dockerfile (or a folder of them). Works offline."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p} does not exist: pass a Dockerfile or its folder.")
    args = ["config", "--format", "json", "--quiet", "--skip-check-update", *_cache_args(None)]
    return _trivy([*args, str(p)], str(p), "trivy config", timeout_s)


#: ``trivy image`` of an image on the local engine (never a registry), reported as JSON.
_LOCAL_IMAGE = ("image", "--image-src", "docker", "--format", "json", "--quiet")


def trivy_image(
    image: str, scanners: tuple[str, ...] = ("secret", "misconfig"), timeout_s: float = 300
) -> ScanResult:
    """Trivy's secret scan of the image's files and misconfiguration scan of its config.

    Reads the image from the local engine (``--image-src docker``) and never downloads
    anything: vulnerabilities are :func:`trivy_vulns`' job.
    """
    file_scanners = [s for s in scanners if s == "secret"]
    args = [
        *_LOCAL_IMAGE,
        "--skip-db-update",
        "--skip-check-update",
        "--offline-scan",
        "--scanners",
        ",".join(file_scanners) or "none",
        *_cache_args(None),
    ]
    if "misconfig" in scanners:
        args += ["--image-config-scanners", "misconfig"]
    return _trivy([*args, image], image, "trivy image (" + ",".join(scanners) + ")", timeout_s)


def trivy_vulns(image: str, timeout_s: float = 600, cache_dir: Path | None = None) -> ScanResult:
    """Trivy's vulnerability scan of a local image, only if its database is present.

    Returns ``status="unavailable"`` with the reason when there is no database; it never
    tries to download one (that would hang on a machine without network).
    """
    db = vuln_db(cache_dir)
    if not db.available:
        return ScanResult("trivy vuln", image, "unavailable", reason=db.reason)
    args = [
        *_LOCAL_IMAGE,
        "--scanners",
        "vuln",
        "--skip-db-update",
        "--skip-java-db-update",
        "--offline-scan",
        "--cache-dir",
        str(db.cache_dir),
        image,
    ]
    return _trivy(args, image, "trivy vuln", timeout_s)
