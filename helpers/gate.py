"""A release gate for one local image: size, scans, checklist. Exit codes a CI system can use.

``python -m helpers gate IMAGE --max-size 500MB --fail-on HIGH,CRITICAL [--json]``

Gates (one row each in the table of reasons):

- **size**: the image's size against ``--max-size``.
- **vulnerabilities**: Trivy with its database; where there is no database the row says
  ``NOT RUN`` with the reason, never "no vulnerabilities".
- **secrets**: Trivy's secret scan of the image's files (always runs, offline). Any secret
  fails, whatever its severity.
- **misconfigurations**: Trivy's checks of the image config, failing at ``--fail-on``.
- **efficiency**: dive in CI mode (lowest efficiency 0.9, dive's default).
- **checklist**: items of the production checklist readable from the image itself:
  runs as a non-root user, declares a HEALTHCHECK.
- **hadolint** (with ``--dockerfile``): lint errors fail, warnings are shown.
- **checklist audit** (with ``--project DIR``): the course's full checklist audit
  (:mod:`helpers.audit`) of the folder and the image.

Exit codes: 0 every gate passed; 1 a gate failed; 2 the gate could not run (no engine, no such
image, a scanner missing); 3 nothing failed but the vulnerability scan could not run
(incomplete; ``--allow-incomplete`` makes that 0, the row still says NOT RUN).

Example:
    >>> parse_size("500MB"), parse_size("1.5GB"), parse_size("200MiB")
    (500000000, 1500000000, 209715200)
"""

from __future__ import annotations

import re
import time
from typing import Any

from .findings import human_bytes as _human
from .gatemodel import (  # noqa: F401 - the gate's result model, also importable from here
    EXIT_CANNOT_RUN,
    EXIT_FAIL,
    EXIT_INCOMPLETE,
    EXIT_OK,
    FAIL,
    NOT_RUN,
    PASS,
    WARN,
    GateResult,
    GateRow,
)

DEFAULT_MAX_SIZE = "500MB"
DEFAULT_FAIL_ON = ("HIGH", "CRITICAL")
ALL_GATES = ("size", "vulnerabilities", "secrets", "misconfigurations", "efficiency", "checklist")

_UNITS = {"": 1, "B": 1, "K": 10**3, "M": 10**6, "G": 10**9}
_UNITS |= {"KB": 10**3, "MB": 10**6, "GB": 10**9, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30}


def parse_size(text: str | int) -> int:
    """``"500MB"`` -> 500000000 bytes (SI units as ``docker images`` shows; KiB/MiB/GiB too).

    Raises:
        ValueError: not a size.
    """
    if isinstance(text, int):
        return text
    m = re.fullmatch(r"\s*([\d.]+)\s*([A-Za-z]*)\s*", str(text))
    if not m or m.group(2).upper() not in _UNITS:
        raise ValueError(f"{text!r} is not a size: write e.g. 500MB, 1GB or 200MiB.")
    return int(float(m.group(1)) * _UNITS[m.group(2).upper()])


def parse_severities(text: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """``"high,critical"`` -> ``("HIGH", "CRITICAL")``, checked against Trivy's levels."""
    from .scan import SEVERITIES

    items = text.split(",") if isinstance(text, str) else list(text)
    out = tuple(s.strip().upper() for s in items if s.strip())
    bad = [s for s in out if s not in SEVERITIES]
    if bad or not out:
        raise ValueError(f"unknown severity {bad or text!r}: use {', '.join(SEVERITIES)}.")
    return out


def size_gate(image: str, max_size: int | str) -> GateRow:
    """The image's size (as ``docker images`` shows it) against ``max_size``."""
    from . import images

    limit = parse_size(max_size)
    size = images.image_size_bytes(image)
    ok = size <= limit
    return GateRow(
        "size",
        PASS if ok else FAIL,
        _human(size),
        f"<= {_human(limit)}",
        "within the limit"
        if ok
        else f"{_human(size - limit)} over: use a slim base and a multi-stage build",
        {"size_bytes": size, "limit_bytes": limit},
    )


def _severity_counts(findings: list[dict[str, Any]]) -> str:
    counts: dict[str, int] = {}
    for f in findings:
        counts[f["severity"]] = counts.get(f["severity"], 0) + 1
    return ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) or "none"


def vulnerability_gate(image: str, fail_on: tuple[str, ...]) -> GateRow:
    from . import scan

    res = scan.trivy_vulns(image)
    thr = "no " + "/".join(fail_on)
    if not res.scanned:
        return GateRow(
            "vulnerabilities",
            NOT_RUN,
            "not scanned",
            thr,
            res.reason,
            {"status": res.status},
        )
    bad = res.at_least(fail_on)
    return GateRow(
        "vulnerabilities",
        FAIL if bad else PASS,
        _severity_counts(res.findings),
        thr,
        f"{len(bad)} at {'/'.join(fail_on)}: " + ", ".join(sorted({f["id"] for f in bad})[:5])
        if bad
        else "none at the failing severities",
        {"findings": res.findings[:50], "seconds": round(res.seconds, 2)},
    )


def secret_and_config_gates(image: str, fail_on: tuple[str, ...]) -> list[GateRow]:
    from . import scan

    res = scan.trivy_image(image, ("secret", "misconfig"))
    if not res.scanned:
        return [
            GateRow(g, NOT_RUN, "not scanned", "-", res.reason)
            for g in ("secrets", "misconfigurations")
        ]
    secrets = [f for f in res.findings if f["kind"] == "secret"]
    miscfg = [f for f in res.findings if f["kind"] == "misconfig"]
    bad_cfg = [f for f in miscfg if f["severity"] in fail_on]
    ev = {"seconds": round(res.seconds, 2)}
    return [
        GateRow(
            "secrets",
            FAIL if secrets else PASS,
            f"{len(secrets)} found",
            "none",
            "; ".join(f"{f['title']} in {f['target']}" for f in secrets[:3])
            + ": remove it from the image and rotate it (build secrets: RUN --mount=type=secret)"
            if secrets
            else "no secrets in the image's files",
            {**ev, "findings": secrets},
        ),
        GateRow(
            "misconfigurations",
            FAIL if bad_cfg else PASS,
            _severity_counts(miscfg),
            "no " + "/".join(fail_on),
            "; ".join(f"{f['id']} {f['title']}" for f in bad_cfg[:3])
            if bad_cfg
            else (
                "only below the failing severities: "
                + "; ".join(f"{f['id']} {f['title']}" for f in miscfg[:3])
                if miscfg
                else "none"
            ),
            {**ev, "findings": miscfg},
        ),
    ]


def efficiency_gate(image: str, lowest: float = 0.9) -> GateRow:
    from . import scan

    d = scan.dive_ci(image, lowest_efficiency=lowest)
    ok = d.rules.get("lowestEfficiency") == "PASS"
    return GateRow(
        "efficiency",
        PASS if ok else FAIL,
        f"{d.efficiency:.1%} ({_human(d.wasted_bytes)} wasted)",
        f">= {lowest:.0%} (dive --ci)",
        "dive: efficient enough"
        if ok
        else "files written in one layer and deleted/overwritten in a later one still ship: "
        "clean up in the same RUN",
        {"efficiency": d.efficiency, "wasted_bytes": d.wasted_bytes, "rules": d.rules},
    )


def checklist_gate(image: str, probe: bool = True) -> GateRow:
    """A non-root USER and a HEALTHCHECK that fails where the app never started (``probe``)."""
    from . import engine
    from .audit import _probe_text, trivial_probe
    from .audit_probes import blind_probe_problem

    cfg = engine.client().images.get(image).attrs.get("Config") or {}
    user = (cfg.get("User") or "").strip()
    root = user in ("", "0", "root") or user.startswith(("0:", "root:"))
    hc = (cfg.get("Healthcheck") or {}).get("Test") or []
    has_hc = bool(hc) and hc[0] != "NONE"
    problems = []
    if root:
        problems.append("runs as root: add a USER")
    if not has_hc:
        problems.append("no HEALTHCHECK")
    elif trivial_probe(_probe_text(hc)):  # the same rule as the checklist audit
        has_hc = False
        problems.append(
            f"the HEALTHCHECK can never fail ({_probe_text(hc)[:80]}): probe what the app "
            "does, e.g. request its /health URL"
        )
    problem, broken = blind_probe_problem(image, hc) if has_hc and probe else (None, {})
    if problem:  # break it: the probe exited 0 where the app never started
        has_hc = False
        problems.append(problem)
    return GateRow(
        "checklist",
        FAIL if problems else PASS,
        f"user={user or 'root'}, healthcheck={'yes' if has_hc else 'no'}",
        "non-root, healthcheck",
        "; ".join(problems) or "non-root user and a health check that fails without the app",
        {"user": user, "healthcheck": hc, "probe_without_app": broken},
    )


def hadolint_gate(dockerfile: str) -> GateRow:
    from . import scan

    res = scan.hadolint(dockerfile)
    errors = [f for f in res.findings if f.get("level") == "error"]
    warnings = [f for f in res.findings if f.get("level") == "warning"]
    return GateRow(
        "hadolint",
        FAIL if errors else (WARN if warnings else PASS),
        f"{len(errors)} errors, {len(warnings)} warnings",
        "no errors",
        "; ".join(f"{f['id']} {f['title'][:60]}" for f in (errors or warnings)[:3]) or "clean",
        {"findings": res.findings},
    )


def audit_gate(project: str, image: str) -> GateRow:
    """The course's checklist audit (:mod:`helpers.audit`) of a project folder and its image."""
    from . import audit

    rep = audit.audit(project, image)
    failed = [i for i in rep.items if i.status == audit.FAIL]
    return GateRow(
        "checklist audit",
        FAIL if failed else PASS,
        f"{len(rep.items) - len(failed)}/{len(rep.items)} items pass",
        "every item",
        "; ".join(f"{i.title}: {i.detail}" for i in failed[:3]) or "every checklist item passes",
        {"failed": [i.key for i in failed]},
    )


def evaluate(
    image: str,
    max_size: int | str = DEFAULT_MAX_SIZE,
    fail_on: str | tuple[str, ...] = DEFAULT_FAIL_ON,
    *,
    dockerfile: str | None = None,
    project: str | None = None,
    only: tuple[str, ...] | None = None,
    allow_incomplete: bool = False,
) -> GateResult:
    """Run the gates on a local image.

    Args:
        image: a local image reference (tag or id).
        max_size: the size limit, e.g. ``"500MB"``.
        fail_on: severities that fail the vulnerability and misconfiguration gates.
        dockerfile: also lint this Dockerfile with hadolint.
        project: also run the course's checklist audit on this folder (Dockerfile, compose).
        only: run just these gates (names from :data:`ALL_GATES`).
        allow_incomplete: a vulnerability scan that could not run does not change the exit code.

    Raises:
        LookupError: no such image on the engine.
    """
    import docker

    from . import engine

    sev = parse_severities(fail_on)
    want = set(only or ALL_GATES)
    unknown = want - set(ALL_GATES)
    if unknown:
        raise ValueError(f"unknown gates {sorted(unknown)}: choose from {', '.join(ALL_GATES)}")
    try:
        engine.client().images.get(image)
    except docker.errors.ImageNotFound:
        raise LookupError(f"No image {image!r} on this engine: build it first.") from None
    t0 = time.monotonic()
    rows: list[GateRow] = []
    if "size" in want:
        rows.append(size_gate(image, max_size))
    if "vulnerabilities" in want:
        rows.append(vulnerability_gate(image, sev))
    if want & {"secrets", "misconfigurations"}:
        rows += [r for r in secret_and_config_gates(image, sev) if r.gate in want]
    if "efficiency" in want:
        rows.append(efficiency_gate(image))
    if "checklist" in want:
        rows.append(checklist_gate(image))
    if dockerfile:
        rows.append(hadolint_gate(dockerfile))
    if project:
        rows.append(audit_gate(project, image))
    return GateResult(image, rows, time.monotonic() - t0, allow_incomplete)
