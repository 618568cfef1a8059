"""Exercise 07 (capstone): a production-ready pipeline, judged by the checklist and by behaviour.

Rubric (26 points):
- the Quick Checklist audit, one point per item, static and refined by the built image (12);
- the stack comes up healthy through the Compose CLI (3);
- the ETL loads the expected rows into Postgres (3);
- the database password is never in an image or in `docker inspect` (3);
- `docker compose stop etl` ends cleanly within the grace period (3);
- the final image is much smaller than the naive one (2).

The check works in a temporary copy of the folder (the learner's files are never touched) and
writes a random password into its ``secrets/db_password.txt``.
"""

from __future__ import annotations

import json
import secrets as pysecrets
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from .. import audit, compose, containers, images
from .base import CheckResult, Report

EXERCISE = "07"
SLUG = "07_production_pipeline"
TITLE = "A production-ready pipeline (capstone)"
#: The rubric judges the learner's own memory/CPU limits: a grader must not impose its own.
JUDGES_LIMITS = True
EXPECTED_ROWS = 500
#: The naive Dockerfile the exercise starts from; tests keep it identical to the starter's.
NAIVE_DOCKERFILE = """FROM python:3.11
WORKDIR /app
COPY . .
RUN pip install psycopg2==2.9.9
ENV DB_PASSWORD=etl-dev-password
CMD python -m etl
"""
SIZE_TARGET = 0.40  # full credit at or below 40% of the naive image (the solution: ~15%)
UP_TIMEOUT_S = 240


def _copy(path: Path, dest: Path) -> Path:
    shutil.copytree(path, dest, ignore=shutil.ignore_patterns(".git", "__pycache__"))
    return dest


def naive_image(app_folder: Path) -> str:
    """Build the naive baseline from the learner's app code and the starter's Dockerfile."""
    tag = images.temp_tag("ex07-naive", app_folder)
    with tempfile.TemporaryDirectory(prefix="shipshape-ex07-naive-") as tmp:
        ctx = _copy(app_folder, Path(tmp) / "ctx")
        (ctx / "Dockerfile").write_text(NAIVE_DOCKERFILE)
        (ctx / ".dockerignore").unlink(missing_ok=True)
        shutil.rmtree(ctx / "secrets", ignore_errors=True)
        images.build(ctx, tag, on_event=None, timeout_s=600, exercise=EXERCISE)
    return tag


def _wait_rows(db: Any, deadline_s: float = 90) -> tuple[int | None, str]:
    end = time.monotonic() + deadline_s
    last = ""
    while time.monotonic() < end:
        code, out = db.exec_run(
            ["psql", "-U", "postgres", "-tAc", "SELECT count(*) FROM trips"], user="postgres"
        )
        last = out.decode(errors="replace").strip()
        if code == 0 and last.isdigit() and int(last) >= EXPECTED_ROWS:
            return int(last), last
        time.sleep(0.5)  # polling interval of a deadline-bounded wait
    return (int(last) if last.isdigit() else None), last


def _grace_seconds(cfg: dict[str, Any], service: str) -> float:
    raw = str((cfg["services"][service] or {}).get("stop_grace_period") or "10s")
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    for u in ("ms", "s", "m", "h"):
        if raw.endswith(u) and raw[: -len(u)].replace(".", "").isdigit():
            return float(raw[: -len(u)]) * units[u]
    return float(raw) if raw.replace(".", "").isdigit() else 10.0


def run(path: Path) -> Report:
    rep = Report(EXERCISE, TITLE, str(path))
    with tempfile.TemporaryDirectory(prefix="shipshape-ex07-") as tmp:
        work = _copy(path, Path(tmp) / path.name)
        (work / "secrets").mkdir(exist_ok=True)
        password = "pw-" + pysecrets.token_hex(12)
        (work / "secrets" / "db_password.txt").write_text(password + "\n")
        proj = compose.Project(work, name=compose.project_name(path, "-ex07"))
        try:
            _run_items(rep, work, proj, password)
        finally:  # also on Ctrl-C: stack, volumes and images go
            proj.__exit__(None, None, None)
            for tag in [images.temp_tag("ex07-naive", work)]:
                images.remove(tag)
    return rep


def checklist_results(audit_rep: audit.AuditReport) -> list[CheckResult]:
    """One rubric item per checklist line (static verdicts, refined by the image if audited)."""
    out = []
    for it in audit_rep.items:
        rule = f" ({it.rule})" if it.rule else ""
        out.append(
            CheckResult(
                f"checklist: {it.title}",
                1,
                it.status == audit.PASS,
                it.detail + rule,
                hint=it.hint,
                evidence={"status": it.status, **it.evidence},
            )
        )
    return out


def _run_items(rep: Report, work: Path, proj: compose.Project, password: str) -> None:
    state: dict[str, Any] = {}
    audit_rep = audit.audit_static(work)

    def build() -> None:
        proj.run("build", timeout_s=900)
        state["etl_image"] = proj.built_images[0] if proj.built_images else None

    try:
        build()
    except compose.ComposeError as exc:
        state["build_error"] = str(exc)
    if state.get("etl_image"):
        try:
            audit.audit_image(audit_rep, state["etl_image"])
        except Exception as exc:  # the static verdicts still stand
            state["audit_image_error"] = str(exc)
    for res in checklist_results(audit_rep):
        rep.add(res)

    def healthy() -> CheckResult:
        name = "the stack comes up healthy (Compose CLI)"
        if "build_error" in state:
            return CheckResult(
                name, 3, False, "the images did not build", hint=state["build_error"][-400:]
            )
        t0 = time.monotonic()
        try:
            proj.up(wait=True, timeout_s=UP_TIMEOUT_S)
        except compose.ComposeError as exc:
            return CheckResult(
                name,
                3,
                False,
                f"`compose up --wait` failed: {str(exc)[-300:]}",
                hint="Read `docker compose logs`; a service that exits or never becomes healthy stops the stack.",
                evidence={"logs": proj.logs(tail=30)},
            )
        secs = time.monotonic() - t0
        state["up_s"] = secs
        health = {}
        for c in proj.containers():
            c.reload()
            health[c.labels["com.docker.compose.service"]] = (
                containers.health_status(c) or "no healthcheck"
            )
        ok = all(v == "healthy" for v in health.values())
        return CheckResult(
            name,
            3,
            ok,
            f"up in {secs:.1f} s; health: {health}",
            hint="Every service needs a health check that probes it (pg_isready for the database, the /health URL for the ETL).",
            evidence={"seconds_to_up": round(secs, 2), "health": health},
        )

    def rows() -> CheckResult:
        name = f"the ETL loads {EXPECTED_ROWS} rows into Postgres"
        dbs = proj.containers("db")
        if not dbs or (
            dbs[0].status != "running" and (dbs[0].reload() or dbs[0].status != "running")
        ):
            return CheckResult(
                name, 3, False, "the db service is not running", hint="Bring the stack up first."
            )
        count, raw = _wait_rows(dbs[0])
        ok = count == EXPECTED_ROWS
        return CheckResult(
            name,
            3,
            ok,
            f"SELECT count(*) FROM trips -> {raw[:120]!r}",
            hint="Check `docker compose logs etl`: the ETL must reach db with the password from the secret file.",
            evidence={"rows": count, "etl_logs": proj.logs("etl", tail=15)},
        )

    def no_password() -> CheckResult:
        name = "the password is never in an image or in docker inspect"
        where = []
        ctrs = proj.containers()
        if not ctrs:  # nothing ran, so nothing was shown to be safe
            return CheckResult(
                name,
                3,
                False,
                "not judged: no container of the stack exists",
                hint="Bring the stack up first; the password is looked for in what runs.",
            )
        for c in ctrs:
            c.reload()
            svc = c.labels["com.docker.compose.service"]
            if password in json.dumps(c.attrs):
                where.append(f"docker inspect {svc}")
            env = dict(e.split("=", 1) for e in c.attrs["Config"]["Env"] or [] if "=" in e)
            leaked = audit._secret_envs(env)
            where += [f"{svc} env {k}" for k in leaked]
        if state.get("etl_image"):
            from .. import engine

            im = engine.client().images.get(state["etl_image"])
            if password in json.dumps(im.attrs) or password in json.dumps(im.history()):
                where.append("the etl image's config/history")
        ok = not where
        return CheckResult(
            name,
            3,
            ok,
            "; ".join(where) if where else "not found in any inspect output or image config",
            hint="Use a Compose secret (file) and *_FILE variables: POSTGRES_PASSWORD_FILE for db, DB_PASSWORD_FILE for the ETL.",
            evidence={"found_in": where},
        )

    def stops() -> CheckResult:
        name = "compose stop etl ends cleanly within the grace period"
        grace = _grace_seconds(proj.config(), "etl")
        etl = proj.containers("etl")
        if not etl:
            return CheckResult(name, 3, False, "no etl container", hint="Bring the stack up first.")
        t0 = time.monotonic()
        proj.run("stop", "etl", timeout_s=grace + 60)
        secs = time.monotonic() - t0
        info = containers.exit_info(etl[0], secs)
        ok = info.exit_code == 0 and secs < grace
        hint = ""
        if info.exit_code == 137:
            hint = "SIGKILL after the grace period: the app never saw SIGTERM (shell-form CMD?) or ignored it."
        elif info.exit_code != 0:
            hint = "Handle SIGTERM: close connections, log, and exit 0."
        return CheckResult(
            name,
            3,
            ok,
            f"stopped in {secs:.1f} s (grace {grace:.0f} s), exit code {info.exit_code}",
            hint=hint,
            evidence={
                "seconds": round(secs, 2),
                "grace_s": grace,
                "exit_code": info.exit_code,
                "logs": info.logs[-800:],
            },
        )

    def size() -> CheckResult:
        name = "the image is much smaller than the naive one"
        if not state.get("etl_image"):
            return CheckResult(
                name, 2, False, "no etl image was built", hint="Make the build work first."
            )
        naive = naive_image(work)
        mine, base = images.image_size_bytes(state["etl_image"]), images.image_size_bytes(naive)
        ratio = mine / base
        earned = 2 if ratio <= SIZE_TARGET else max(0.0, 2 * (1 - ratio) / (1 - SIZE_TARGET))
        return CheckResult(
            name,
            2,
            ratio <= SIZE_TARGET,
            f"{mine / 1e6:.0f} MB vs naive {base / 1e6:.0f} MB ({ratio:.0%})",
            hint=f"Aim for at most {SIZE_TARGET:.0%} of the naive image: slim base, multi-stage, no compiler.",
            evidence={"bytes": mine, "naive_bytes": base, "ratio": round(ratio, 3)},
            points_earned=round(earned, 2),
        )

    rep.item("the stack comes up healthy (Compose CLI)", 3, healthy)
    rep.item(f"the ETL loads {EXPECTED_ROWS} rows into Postgres", 3, rows)
    rep.item("the password is never in an image or in docker inspect", 3, no_password)
    rep.item("compose stop etl ends cleanly within the grace period", 3, stops)
    rep.item("the image is much smaller than the naive one", 2, size)
