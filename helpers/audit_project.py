"""Checklist lines the whole project settles: secrets, health checks, limits, logs, shutdown
(compose file and source code), and the 13th line, the image scan.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import yaml

from .auditmodel import FAIL, NA, PASS, AuditItem
from .dockerfile import Dockerfile, is_exec_form

SECRET_NAME = re.compile(
    r"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|CREDENTIALS?)", re.I
)


# names that carry a *pointer* to a secret, not the secret itself
SECRET_POINTER = re.compile(r"(_FILE|_PATH|_DIR)$", re.I)


SECRET_FILES = re.compile(
    r"(^|/)(\.env(\..+)?|id_rsa|id_ed25519|.*\.pem|.*\.key|credentials(\.json)?|secrets?/.+|db_password.*)$"
)


TRIVIAL_PROBES = (
    re.compile(r"^(true|:|exit 0|/bin/true|/usr/bin/true)$"),
    re.compile(r"^(echo|printf)\b"),
    re.compile(r"python3? -c ['\"]?print\("),
)

#: A command that always succeeds, as the last word of a shell list.
_ALWAYS_OK = r"(?:true|:|/bin/true|/usr/bin/true|exit\s+0|echo\b[^|;&]*|printf\b[^|;&]*)"

#: The shell's ways of swallowing a probe's exit code: ``cmd || true``, ``cmd || :``,
#: ``cmd || exit 0``, ``cmd || echo down``, ``cmd; exit 0``, ``cmd; true``, ``cmd | cat``,
#: a final ``exit 0`` on its own line; ``set +e`` followed by something that succeeds.
SWALLOWS_EXIT = (
    re.compile(r"(\|\||;|\n|&(?!&))\s*\(?\s*" + _ALWAYS_OK + r"\s*\)?\s*;?\s*['\"]?\s*$"),
    re.compile(r"(?<!\|)\|(?!\|)\s*(cat|tee\b[^|;&]*|true|:)\s*;?\s*['\"]?\s*$"),
)


def find_compose(folder: Path) -> Path | None:
    """The compose file Compose itself would pick in ``folder``, or None."""
    from .compose import find_compose_file

    try:
        return find_compose_file(folder)
    except FileNotFoundError:
        return None


def load_compose(folder: Path) -> dict[str, Any] | None:
    p = find_compose(folder)
    if p is None:
        return None
    data = yaml.safe_load(p.read_text()) or {}
    return data if isinstance(data, dict) else None


def _secret_envs(pairs: dict[str, str]) -> list[str]:
    return [
        k
        for k, v in pairs.items()
        if SECRET_NAME.search(k) and not SECRET_POINTER.search(k) and str(v).strip()
    ]


def _env_pairs(value: str) -> dict[str, str]:
    """ENV/ARG values: ``A=1 B=2`` or the legacy ``A 1``."""
    out: dict[str, str] = {}
    try:
        words = shlex.split(value)
    except ValueError:
        words = value.split()
    if words and "=" not in words[0]:
        return {words[0]: " ".join(words[1:])}
    for w in words:
        k, _, v = w.partition("=")
        out[k] = v
    return out


def item_no_secrets(df: Dockerfile, compose: dict[str, Any] | None) -> AuditItem:
    found: list[str] = []
    for st in df.stages:
        for ins in st.find("ENV") + st.find("ARG"):
            found += [
                f"{ins.name} {k} (line {ins.line})" for k in _secret_envs(_env_pairs(ins.value))
            ]
        for ins in st.find("COPY") + st.find("ADD"):
            srcs = ins.value.split()[:-1]
            found += [f"{ins.name} {s} (line {ins.line})" for s in srcs if SECRET_FILES.search(s)]
    for name, svc in (compose or {}).get("services", {}).items():
        env = (svc or {}).get("environment") or {}
        if isinstance(env, list):
            env = dict(e.split("=", 1) if "=" in e else (e, "") for e in env)
        found += [f"compose {name}: environment {k}" for k in _secret_envs(env)]
    return AuditItem(
        "no_secrets",
        "no secrets baked into the image or its config",
        FAIL if found else PASS,
        "; ".join(found) if found else "no secret-looking ENV, ARG, COPY or compose environment",
        "Pass secrets at run time as files (Compose `secrets:` + *_FILE variables), never ENV/ARG or COPY.",
        evidence={"found": found},
    )


def _probe_text(test: Any) -> str:
    if isinstance(test, list):
        if test and test[0] in ("CMD", "CMD-SHELL"):
            test = test[1:]
        return " ".join(str(t) for t in test)
    return str(test or "")


def trivial_probe(cmd: str) -> bool:
    """True for a health probe that succeeds whatever the app does.

    >>> trivial_probe('python -c "print(\\'healthy\\')" || exit 1'), trivial_probe("true")
    (True, True)
    >>> trivial_probe("python -c \\"import urllib.request; urllib.request.urlopen('http://localhost:8000/health')\\"")
    False
    """
    cmd = re.sub(r"\s*\|\|\s*exit 1\s*$", "", cmd.strip())
    return any(p.search(cmd) for p in TRIVIAL_PROBES) or swallows_exit(cmd)


def swallows_exit(cmd: str) -> bool:
    """True when the probe's shell throws its exit code away (the static fallback).

    >>> [swallows_exit(c) for c in ("curl -f x || true", "curl -f x || exit 0", "curl -f x; exit 0",
    ...  "curl -f x || :", "curl -f x || echo down", "curl -f x | cat", "curl -f x || exit 1")]
    [True, True, True, True, True, True, False]
    """
    cmd = cmd.strip()
    return any(p.search(cmd) for p in SWALLOWS_EXIT)


def item_healthcheck(df: Dockerfile, compose: dict[str, Any] | None) -> AuditItem:
    probes: dict[str, str] = {}
    hc = df.final.find("HEALTHCHECK")
    if hc and hc[-1].value.strip().upper() != "NONE":
        m = re.search(r"\bCMD\b(.*)$", hc[-1].value, re.S)
        probes["Dockerfile"] = (m.group(1) if m else hc[-1].value).strip()
    for name, svc in (compose or {}).get("services", {}).items():
        test = ((svc or {}).get("healthcheck") or {}).get("test")
        if test:
            probes[f"compose {name}"] = _probe_text(test)
    if not probes:
        return AuditItem(
            "healthcheck",
            "health checks defined (and able to fail)",
            FAIL,
            "no HEALTHCHECK and no compose healthcheck",
            "Add a probe of what the app really does (an HTTP /health URL, a DB query, a heartbeat file's age).",
        )
    trivial = [k for k, v in probes.items() if trivial_probe(v)]
    return AuditItem(
        "healthcheck",
        "health checks defined (and able to fail)",
        FAIL if trivial else PASS,
        "; ".join(f"{k}: {v[:80]}" for k, v in probes.items()),
        f"{', '.join(trivial)}: this probe succeeds whatever the app does (or its shell "
        "swallows the exit code: `|| true`, `|| exit 0`, `; exit 0`, `|| echo ...`). Probe the "
        "app itself and let the probe's exit code stand.",
        evidence={"probes": probes},
    )


def _services(compose: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    return {k: (v or {}) for k, v in ((compose or {}).get("services") or {}).items()}


def item_resource_limits(compose: dict[str, Any] | None) -> AuditItem:
    svcs = _services(compose)
    if not svcs:
        return AuditItem("resource_limits", "resource limits set", NA, "no compose file")
    missing = []
    for name, svc in svcs.items():
        lim = ((svc.get("deploy") or {}).get("resources") or {}).get("limits") or {}
        if not (lim.get("memory") or svc.get("mem_limit")):
            missing.append(name)
    return AuditItem(
        "resource_limits",
        "resource limits set",
        FAIL if missing else PASS,
        f"no memory limit: {', '.join(missing)}" if missing else "every service has a memory limit",
        "Give each service deploy.resources.limits (memory, cpus) so one container cannot starve the host.",
    )


def item_log_limits(compose: dict[str, Any] | None) -> AuditItem:
    svcs = _services(compose)
    if not svcs:
        return AuditItem("log_limits", "log size limits configured", NA, "no compose file")
    missing = []
    for name, svc in svcs.items():
        log = svc.get("logging") or {}
        opts = log.get("options") or {}
        if log.get("driver") == "none":
            continue
        if not opts.get("max-size"):
            missing.append(name)
    return AuditItem(
        "log_limits",
        "log size limits configured",
        FAIL if missing else PASS,
        f"unbounded logs: {', '.join(missing)}" if missing else "every service rotates its logs",
        "Set logging: {driver: json-file, options: {max-size: 10m, max-file: '3'}} on each service.",
    )


#: a SIGTERM handler in the app's own code (Python, Go, Node, shell)
SIGTERM_HANDLER = re.compile(
    r"signal\.signal\(\s*signal\.SIGTERM|add_signal_handler\(\s*signal\.SIGTERM"
    r"|signal\.Notify\(|process\.on\(\s*['\"]SIGTERM|\btrap\b.*\b(TERM|SIGTERM)\b"
)


#: an init process that forwards signals (and reaps zombies) in front of the app
INIT_PROCESS = re.compile(r"\b(tini|dumb-init|catatonit)\b")


SOURCE_SUFFIXES = (".py", ".go", ".js", ".mjs", ".ts", ".sh")


SKIP_DIRS = {".git", "node_modules", ".venv", "venv", "__pycache__", ".pytest_cache", "secrets"}


def _handler_evidence(folder: Path, limit_bytes: int = 4_000_000) -> list[str]:
    """Files under ``folder`` whose code installs a SIGTERM handler."""
    found, read = [], 0
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if SKIP_DIRS.intersection(rel.parts) or path.suffix not in SOURCE_SUFFIXES:
            continue
        if not path.is_file() or read > limit_bytes:
            continue
        text = path.read_text(errors="replace")
        read += len(text)
        if SIGTERM_HANDLER.search(text):
            found.append(str(rel))
    return found


def item_graceful(
    df: Dockerfile, folder: Path | None = None, compose: dict[str, Any] | None = None
) -> AuditItem:
    """Signals reach the app (exec form) *and* something acts on them (a handler or an init).

    Exec form alone is not enough: the app is then PID 1, and the kernel delivers no default
    action to PID 1, so without a handler ``SIGTERM`` is ignored and ``docker stop`` kills it
    at the deadline (lesson 07 measures it).
    """
    forms = [(i.name, i.value) for i in df.final.find("CMD") + df.final.find("ENTRYPOINT")]
    shell = [f"{n} {v}" for n, v in forms if not is_exec_form(v)]
    key, title = "graceful_shutdown", "graceful shutdown handled (signals reach the app)"
    if not forms or shell:
        return AuditItem(
            key,
            title,
            FAIL,
            f"shell form: {shell[0][:80]}" if shell else "no CMD",
            'Use exec form, CMD ["python", "app.py"], so the app is PID 1 and receives SIGTERM.',
            rule="DL3025",
        )
    init = [f"{n} {v}"[:60] for n, v in forms if INIT_PROCESS.search(v)]
    init += [
        f"compose {name}: init: true"
        for name, svc in _services(compose).items()
        if svc.get("init") is True
    ]
    handlers = _handler_evidence(folder) if folder else []
    ev = {"init": init, "handlers": handlers}
    if init or handlers:
        how = f"init: {init[0]}" if init else f"SIGTERM handler in {', '.join(handlers[:3])}"
        return AuditItem(
            key, title, PASS, f"exec-form CMD/ENTRYPOINT; {how}", rule="DL3025", evidence=ev
        )
    return AuditItem(
        key,
        title,
        FAIL,
        "exec form, but no SIGTERM handler in the project's code and no init process: as PID 1 "
        "the app ignores SIGTERM and is killed at the deadline",
        "Handle SIGTERM in the app (Python: signal.signal(signal.SIGTERM, ...), then exit "
        "cleanly), or run it under an init that does: `init: true` in Compose, "
        "`docker run --init`, or tini in the ENTRYPOINT.",
        evidence=ev,
    )


def item_image_scanned() -> AuditItem:
    """Judged only with an image (:func:`audit_image`): from files alone it is not judged."""
    return AuditItem(
        "image_scanned",
        "image scanned for vulnerabilities",
        NA,
        "no image given: build it and audit with --image to scan it",
        "Scan the built image (`trivy image IMAGE`, lesson 11) before it ships.",
    )


def scan_image_item(image: str) -> AuditItem:
    """Trivy's vulnerability scan of ``image``; says whether a database was available.

    PASS when the scan ran (findings are counted in the detail: the release gate, lesson 11,
    decides which severities block). Without a vulnerability database nothing was scanned,
    and that is reported as not judged, never as clean.
    """
    from . import scan

    item = item_image_scanned()
    try:
        res = scan.trivy_vulns(image)
    except scan.ToolUnavailable as exc:
        item.detail = f"not scanned: {exc}"
        item.evidence = {"db_available": False, "status": "unavailable"}
        return item
    counts: dict[str, int] = {}
    for f in res.findings:
        counts[str(f.get("severity"))] = counts.get(str(f.get("severity")), 0) + 1
    item.evidence = {"db_available": res.scanned, "status": res.status, "counts": counts}
    if res.scanned:
        item.status = PASS
        got = ", ".join(f"{n} {sev}" for sev, n in sorted(counts.items())) or "no findings"
        item.detail = f"scanned by Trivy with a vulnerability database: {got}"
    else:
        item.detail = (
            f"not scanned: no vulnerability database available ({res.reason[:120]}). "
            "A scan that could not run is not a clean scan."
        )
        item.hint = (
            "Give Trivy a database (network, or SHIPSHAPE_TRIVY_CACHE_DIR with a copied "
            "cache: lesson 11) and audit again."
        )
    return item
