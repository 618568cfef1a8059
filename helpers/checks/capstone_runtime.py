"""Exercise 07 judged on what runs: the etl container's processes (``docker top``), and the
README's image and Compose details read from the built image and the running containers.

The capstone's check (:mod:`helpers.checks.ex07_production_pipeline`) registers these as its
``runtime`` fact and its ``image_details`` / ``compose_details`` items; a Compose ``user:``
override or an entrypoint script without ``exec`` is seen here, whatever the files declare.
"""

from __future__ import annotations

import re
from typing import Any

from .. import engine
from ..dockerfile import Dockerfile
from .base import CheckResult
from .rubric import Facts, NotJudged, Verdict

OCI_PREFIX = "org.opencontainers.image."
#: an anonymous volume's name (64 hex digits): data that no name keeps
ANON = re.compile(r"[0-9a-f]{64}")


#: PID 1 that is a shell: ``docker stop``'s SIGTERM stops there (no handler, no forwarding)
SHELLS = ("sh", "bash", "dash", "ash", "zsh", "busybox")


def runtime(f: Facts) -> dict[str, Any]:
    """What really runs in the etl container (``docker top``): each process's uid and command
    line, and which one is PID 1. The running truth, whatever Dockerfile and Compose declare."""
    f.up  # noqa: B018 - judged on the stack that came up
    etl = f.project.containers("etl")
    if not etl:
        raise NotJudged("no etl container", "Bring the stack up first.")
    ctr = etl[0]
    ctr.reload()
    if ctr.status != "running":
        raise NotJudged(
            f"the etl container is {ctr.status}, so what runs in it cannot be seen",
            "Read `docker compose logs etl`; the ETL must keep running and serve /health.",
        )
    pid1_host = int(ctr.attrs["State"]["Pid"])
    top = ctr.top(ps_args="-o pid,uid,args")
    titles = [t.upper() for t in top.get("Titles") or []]
    procs = []
    for row in top.get("Processes") or []:
        rec = dict(zip(titles, row, strict=False))
        procs.append(
            {
                "host_pid": int(rec.get("PID", 0)),
                "uid": str(rec.get("UID", "?")),
                "args": rec.get("COMMAND", rec.get("ARGS", "")),
            }
        )
    pid1 = next((p for p in procs if p["host_pid"] == pid1_host), procs[0] if procs else None)
    return {"pid1": pid1, "processes": procs[:20]}


def refined(key: str, f: Facts) -> CheckResult:
    """The checklist verdict, overruled by the running etl container where it disagrees."""
    res = f.checklist[key]
    rt, _ = f.outcome("runtime")
    if not res.passed or not rt or not rt.get("pid1"):
        return res
    pid1 = rt["pid1"]
    if key == "non_root":
        root = [p for p in rt["processes"] if p["uid"] in ("0", "root")]
        if root:
            return CheckResult(
                res.name,
                res.points,
                False,
                f"the running etl container has processes as root: {root[0]['args'][:80]!r} "
                f"(uid {root[0]['uid']}), whatever the Dockerfile's USER says",
                hint="Run the app as the user the Dockerfile creates: end with USER app and do "
                'not override it (`user: root` or `user: "0"` in compose.yaml, `USER root` later).',
                evidence={**res.evidence, "running": rt["processes"]},
            )
        res.evidence["running_uid"] = pid1["uid"]
    if key == "graceful_shutdown":
        argv0 = (pid1["args"].split() or [""])[0].rsplit("/", 1)[-1]
        if argv0 in SHELLS:
            return CheckResult(
                res.name,
                res.points,
                False,
                f"PID 1 of the running etl container is the shell `{pid1['args'][:80]}`, not "
                "the app: docker stop's SIGTERM stops at the shell",
                hint="Make the app PID 1: exec-form CMD, and in an entrypoint script start the "
                'app with `exec "$@"` (or `exec python -m etl`), or run under an init '
                "(`init: true`, tini).",
                evidence={**res.evidence, "pid1": pid1},
            )
        res.evidence["pid1"] = pid1
    return res


def image_details(f: Facts) -> Verdict:
    """From the built image and the Compose model: what the README asks of the final stage."""
    im = engine.client().images.get(f.etl_image)
    cfg = im.attrs.get("Config") or {}
    env = dict(e.split("=", 1) for e in cfg.get("Env") or [] if "=" in e)
    labels = {k: v for k, v in (cfg.get("Labels") or {}).items() if k.startswith(OCI_PREFIX)}
    build = (f.project.config()["services"].get("etl") or {}).get("build") or {}
    target = build.get("target") if isinstance(build, dict) else None
    stages = [st.alias for st in Dockerfile.from_path(f.work[0] / "Dockerfile").stages]
    problems = []
    if target != "production" or "production" not in stages:
        problems.append(
            f"compose builds target {target!r} (stages: {', '.join(str(a) for a in stages)}): "
            "name the final stage `production` and build it with `build: target: production`"
        )
    if env.get("PYTHONUNBUFFERED", "") in ("", "0"):
        problems.append("PYTHONUNBUFFERED is not set in the image: add ENV PYTHONUNBUFFERED=1")
    if not labels:
        problems.append(
            "the image has no OCI label: add LABEL org.opencontainers.image.title=... (and "
            "version, description)"
        )
    return Verdict(
        not problems,
        "; ".join(problems) if problems else "target production, PYTHONUNBUFFERED=1, OCI labels",
        hint=" ".join(p[0].upper() + p[1:] + "." for p in problems),
        evidence={"target": target, "stages": stages, "oci_labels": labels},
        earned=round(2 * (3 - len(problems)) / 3, 2),
    )


def compose_details(f: Facts) -> Verdict:
    """From the running containers (``docker inspect``), not from the YAML: what the engine got."""
    ctrs = {c.labels["com.docker.compose.service"]: c for c in f.project.containers()}
    if set(ctrs) < {"db", "etl"}:
        raise NotJudged(
            f"services running: {sorted(ctrs)}", "Bring both services (db, etl) up first."
        )
    problems: list[str] = []
    seen: dict[str, Any] = {}
    for name in ("db", "etl"):
        c = ctrs[name]
        c.reload()
        hc = c.attrs["HostConfig"]
        restart = (hc.get("RestartPolicy") or {}).get("Name") or "no"
        cpus = (hc.get("NanoCpus") or 0) / 1e9 or (
            (hc.get("CpuQuota") or 0) / (hc.get("CpuPeriod") or 100000)
        )
        log = hc.get("LogConfig") or {}
        seen[name] = {"restart": restart, "cpus": cpus, "log": log}
        if restart in ("", "no"):
            problems.append(f"{name}: no restart policy")
        if not cpus:
            problems.append(f"{name}: no CPU limit")
        if log.get("Type") == "json-file" and not (log.get("Config") or {}).get("max-file"):
            problems.append(f"{name}: json-file logs without max-file")
    stop_timeout = ctrs["etl"].attrs["Config"].get("StopTimeout")
    seen["etl"]["stop_timeout_s"] = stop_timeout
    if stop_timeout is None:
        problems.append("etl: no stop_grace_period")
    data = [
        m
        for m in ctrs["db"].attrs.get("Mounts") or []
        if m.get("Destination") == "/var/lib/postgresql/data"
    ]
    named = [m for m in data if m.get("Type") == "volume" and not ANON.fullmatch(m.get("Name", ""))]
    seen["db"]["data_mounts"] = [{k: m.get(k) for k in ("Type", "Name", "Source")} for m in data]
    if not named:
        problems.append("db: /var/lib/postgresql/data is not on a named volume")
    dep = ((f.project.config()["services"]["etl"].get("depends_on") or {}).get("db") or {}).get(
        "condition"
    )
    seen["etl"]["depends_on_db"] = dep
    if dep != "service_healthy":
        problems.append(f"etl depends on db with condition {dep!r}, not service_healthy")
    return Verdict(
        not problems,
        "; ".join(problems)
        if problems
        else "restart policies, CPU limits, max-file, stop_grace_period, a named data volume, "
        "and depends_on service_healthy, as the running containers show",
        hint="In compose.yaml: `restart:` on both services, `deploy.resources.limits.cpus` on "
        "both, logging options max-file, `stop_grace_period` on etl, a named volume "
        "(`volumes: {pg-data: {}}`) at /var/lib/postgresql/data, and "
        "`depends_on: {db: {condition: service_healthy}}`."
        if problems
        else "",
        evidence=seen,
        earned=max(0.0, round(2 - 0.5 * len(problems), 2)),
    )
