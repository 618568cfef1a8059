"""Exercise 07 (capstone): a production-ready pipeline, judged by the checklist and by behaviour.

Rubric (30 points):
- the Quick Checklist audit, one point per item, static and refined by the built image (12):
  every health probe is also run where the app never started (it must fail there), and the
  user and PID 1 are judged on the running etl container (``docker top``);
- the stack comes up healthy through the Compose CLI (3);
- the ETL loads the expected rows into Postgres (3);
- the database password is never in an image or in `docker inspect` (3);
- `docker compose stop etl` ends cleanly within the grace period (3);
- the image: build target ``production``, ``PYTHONUNBUFFERED=1``, OCI labels (2);
- Compose, read from the running containers: restart policies, CPU limits, ``max-file``,
  ``stop_grace_period``, a named data volume; ``depends_on`` ``service_healthy`` (2);
- the final image is much smaller than the naive one (2).

The check works in a temporary copy of the folder (the learner's files are never touched) and
writes a random password into its ``secrets/db_password.txt``.
"""

from __future__ import annotations

import contextlib
import json
import secrets as pysecrets
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .. import audit, compose, containers, engine, images, waiting
from ..findings import Report
from . import capstone_runtime
from .base import CheckResult
from .req_02_07_08 import README_NOT_RULES_07, REQUIREMENTS_07
from .rubric import Facts, NotJudged, Rubric, Verdict

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


def naive_image(app_folder: Path, tag: str) -> str:
    """Build the naive baseline from the learner's app code and the starter's Dockerfile."""
    with tempfile.TemporaryDirectory(prefix="shipshape-ex07-naive-") as tmp:
        ctx = _copy(app_folder, Path(tmp) / "ctx")
        (ctx / "Dockerfile").write_text(NAIVE_DOCKERFILE)
        (ctx / ".dockerignore").unlink(missing_ok=True)
        shutil.rmtree(ctx / "secrets", ignore_errors=True)
        images.build(ctx, tag, on_event=None, timeout_s=600, exercise=EXERCISE)
    return tag


def _wait_rows(db: Any, deadline_s: float = 90) -> tuple[int | None, str]:
    last = [""]

    def loaded() -> bool:
        code, out = db.exec_run(
            ["psql", "-U", "postgres", "-tAc", "SELECT count(*) FROM trips"], user="postgres"
        )
        last[0] = out.decode(errors="replace").strip()
        return code == 0 and last[0].isdigit() and int(last[0]) >= EXPECTED_ROWS

    waiting.holds(loaded, deadline_s, interval_s=0.5)
    return (int(last[0]) if last[0].isdigit() else None), last[0]


def _grace_seconds(cfg: dict[str, Any], service: str) -> float:
    raw = str((cfg["services"][service] or {}).get("stop_grace_period") or "10s")
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    for u in ("ms", "s", "m", "h"):
        if raw.endswith(u) and raw[: -len(u)].replace(".", "").isdigit():
            return float(raw[: -len(u)]) * units[u]
    return float(raw) if raw.replace(".", "").isdigit() else 10.0


#: The Quick Checklist, one point per line, in the audit's order (a unit test keeps it equal
#: to the keys :func:`helpers.audit.audit_static` returns).
CHECKLIST = (
    ("base_slim", "slim or alpine base image"),
    ("multi_stage", "multi-stage build (build tools not in the final image)"),
    ("dockerignore", ".dockerignore excludes unnecessary files"),
    ("no_secrets", "no secrets baked into the image or its config"),
    ("non_root", "runs as a non-root user"),
    ("healthcheck", "health checks defined (and able to fail)"),
    ("resource_limits", "resource limits set"),
    ("log_limits", "log size limits configured"),
    ("graceful_shutdown", "graceful shutdown handled (signals reach the app)"),
    ("version_tags", "specific version tags (not latest)"),
    ("pip_no_cache", "pip install --no-cache-dir used"),
    ("apt_clean", "apt-get cache cleaned (same RUN) and no recommends"),
)

N_HEALTHY = "the stack comes up healthy (Compose CLI)"
N_ROWS = f"the ETL loads {EXPECTED_ROWS} rows into Postgres"
N_PASSWORD = "the password is never in an image or in docker inspect"
N_STOP = "compose stop etl ends cleanly within the grace period"
N_SIZE = "the image is much smaller than the naive one"
N_IMAGE_DETAILS = "the image: target production, PYTHONUNBUFFERED=1, OCI labels"
N_COMPOSE_DETAILS = (
    "Compose: restart, CPU limits, max-file, stop_grace_period, named volume, service_healthy"
)
RUBRIC = Rubric(EXERCISE, SLUG, TITLE)

#: What the README asks, and the item that judges it (issue 11).
REQUIREMENTS, README_NOT_RULES = REQUIREMENTS_07, README_NOT_RULES_07


def checklist_results(audit_rep: audit.AuditReport) -> list[CheckResult]:
    """One rubric item per checklist line (static verdicts, refined by the image if audited)."""
    return [_checklist_item(it) for it in audit_rep.items]


def _checklist_item(it: audit.AuditItem) -> CheckResult:
    rule = f" ({it.rule})" if it.rule else ""
    return CheckResult(
        f"checklist: {it.title}",
        1,
        it.status == audit.PASS,
        it.detail + rule,
        hint=it.hint,
        evidence={"status": it.status, **it.evidence},
    )


@RUBRIC.fact
def work(f: Facts) -> tuple[Path, str]:
    """A private copy of the folder with a fresh random password in ``secrets/``."""
    dest = _copy(f.path, f.workdir() / f.path.name)
    (dest / "secrets").mkdir(exist_ok=True)
    password = "pw-" + pysecrets.token_hex(12)
    (dest / "secrets" / "db_password.txt").write_text(password + "\n")
    return dest, password


@RUBRIC.fact
def project(f: Facts) -> Iterator[compose.Project]:
    """The Compose project over the copy; down with its volumes and images at teardown."""
    with compose.Project(f.work[0], name=compose.project_name(f.path, "-ex07")) as proj:
        yield proj


@RUBRIC.fact
def etl_image(f: Facts) -> str:
    """``compose build``; the etl image's tag."""
    f.project.run("build", timeout_s=900)
    if not f.project.built_images:
        raise NotJudged("Compose built no image", "The etl service needs a `build:` section.")
    return f.project.built_images[0]


@RUBRIC.fact
def checklist(f: Facts) -> dict[str, CheckResult]:
    """The audit: static verdicts, refined by the built image when there is one."""
    rep = audit.audit_static(f.work[0])
    image, _ = f.outcome("etl_image")
    if image:
        with contextlib.suppress(Exception):  # the static verdicts still stand
            # with the compose file: its user: and every service's probe are judged too
            # (the model Compose resolved: variables interpolated, as the engine gets it)
            audit.audit_image(rep, image, f.project.config())
    return {it.key: _checklist_item(it) for it in rep.items}


@RUBRIC.fact
def up(f: Facts) -> dict[str, Any]:
    """``compose up --wait``: the seconds it took, or why it failed (then judged, not raised)."""
    f.etl_image  # noqa: B018 - nothing comes up that did not build
    t0 = time.monotonic()
    try:
        f.project.up(wait=True, timeout_s=UP_TIMEOUT_S)
    except compose.ComposeError as exc:
        return {"error": str(exc), "logs": f.project.logs(tail=30)}
    return {"seconds": time.monotonic() - t0}


@RUBRIC.fact
def runtime(f: Facts) -> dict[str, Any]:
    """What runs in the etl container (:func:`helpers.checks.capstone_runtime.runtime`)."""
    return capstone_runtime.runtime(f)


#: checklist lines judged again on the running container (issue 11: declarations are not truth)
RUNTIME_REFINED = ("non_root", "graceful_shutdown")


def _checklist_judge(key: str) -> Any:
    def judge(f: Facts) -> Verdict:
        if key in RUNTIME_REFINED:
            return capstone_runtime.refined(key, f)
        return f.checklist[key]

    return judge


for _key, _title in CHECKLIST:
    RUBRIC.item(_key, f"checklist: {_title}", 1, needs=("checklist",))(_checklist_judge(_key))


@RUBRIC.item("healthy", N_HEALTHY, 3, needs=("up",))
def healthy(f: Facts) -> Verdict:
    if "error" in f.up:
        return Verdict(
            False,
            f"`compose up --wait` failed: {f.up['error'][-300:]}",
            hint="Read `docker compose logs`; a service that exits or never becomes healthy stops the stack.",
            evidence={"logs": f.up["logs"]},
        )
    secs = f.up["seconds"]
    health = {}
    for c in f.project.containers():
        c.reload()
        health[c.labels["com.docker.compose.service"]] = (
            containers.health_status(c) or "no healthcheck"
        )
    ok = all(v == "healthy" for v in health.values())
    return Verdict(
        ok,
        f"up in {secs:.1f} s; health: {health}",
        hint="Every service needs a health check that probes it (pg_isready for the database, the /health URL for the ETL).",
        evidence={"seconds_to_up": round(secs, 2), "health": health},
    )


@RUBRIC.item("rows", N_ROWS, 3, needs=("up",))
def rows(f: Facts) -> Verdict:
    dbs = f.project.containers("db")
    if not dbs or (dbs[0].status != "running" and (dbs[0].reload() or dbs[0].status != "running")):
        return Verdict(False, "the db service is not running", hint="Bring the stack up first.")
    count, raw = _wait_rows(dbs[0])
    return Verdict(
        count == EXPECTED_ROWS,
        f"SELECT count(*) FROM trips -> {raw[:120]!r}",
        hint="Check `docker compose logs etl`: the ETL must reach db with the password from the secret file.",
        evidence={"rows": count, "etl_logs": f.project.logs("etl", tail=15)},
    )


@RUBRIC.item("password", N_PASSWORD, 3, needs=("up",))
def no_password(f: Facts) -> Verdict:
    password = f.work[1]
    where = []
    ctrs = f.project.containers()
    if not ctrs:  # nothing ran, so nothing was shown to be safe
        raise NotJudged(
            "no container of the stack exists",
            "Bring the stack up first; the password is looked for in what runs.",
        )
    for c in ctrs:
        c.reload()
        svc = c.labels["com.docker.compose.service"]
        if password in json.dumps(c.attrs):
            where.append(f"docker inspect {svc}")
        env = dict(e.split("=", 1) for e in c.attrs["Config"]["Env"] or [] if "=" in e)
        where += [f"{svc} env {k}" for k in audit._secret_envs(env)]
    im = engine.client().images.get(f.etl_image)
    if password in json.dumps(im.attrs) or password in json.dumps(im.history()):
        where.append("the etl image's config/history")
    return Verdict(
        not where,
        "; ".join(where) if where else "not found in any inspect output or image config",
        hint="Use a Compose secret (file) and *_FILE variables: POSTGRES_PASSWORD_FILE for db, DB_PASSWORD_FILE for the ETL.",
        evidence={"found_in": where},
    )


@RUBRIC.item("stop", N_STOP, 3, needs=("up",))
def stops(f: Facts) -> Verdict:
    grace = _grace_seconds(f.project.config(), "etl")
    etl = f.project.containers("etl")
    if not etl:
        return Verdict(False, "no etl container", hint="Bring the stack up first.")
    t0 = time.monotonic()
    f.project.run("stop", "etl", timeout_s=grace + 60)
    secs = time.monotonic() - t0
    info = containers.exit_info(etl[0], secs)
    hint = ""
    if info.exit_code == 137:
        hint = "SIGKILL after the grace period: the app never saw SIGTERM (shell-form CMD?) or ignored it."
    elif info.exit_code != 0:
        hint = "Handle SIGTERM: close connections, log, and exit 0."
    return Verdict(
        info.exit_code == 0 and secs < grace,
        f"stopped in {secs:.1f} s (grace {grace:.0f} s), exit code {info.exit_code}",
        hint=hint,
        evidence={
            "seconds": round(secs, 2),
            "grace_s": grace,
            "exit_code": info.exit_code,
            "logs": info.logs[-800:],
        },
    )


@RUBRIC.item("image_details", N_IMAGE_DETAILS, 2, needs=("etl_image",))
def image_details(f: Facts) -> Verdict:
    return capstone_runtime.image_details(f)


@RUBRIC.item("compose_details", N_COMPOSE_DETAILS, 2, needs=("up",))
def compose_details(f: Facts) -> Verdict:
    return capstone_runtime.compose_details(f)


@RUBRIC.item("size", N_SIZE, 2, needs=("etl_image",))
def size(f: Facts) -> Verdict:
    naive = naive_image(f.work[0], f.tag("naive"))
    mine, base = images.image_size_bytes(f.etl_image), images.image_size_bytes(naive)
    ratio = mine / base
    earned = 2 if ratio <= SIZE_TARGET else max(0.0, 2 * (1 - ratio) / (1 - SIZE_TARGET))
    return Verdict(
        ratio <= SIZE_TARGET,
        f"{mine / 1e6:.0f} MB vs naive {base / 1e6:.0f} MB ({ratio:.0%})",
        hint=f"Aim for at most {SIZE_TARGET:.0%} of the naive image: slim base, multi-stage, no compiler.",
        evidence={"bytes": mine, "naive_bytes": base, "ratio": round(ratio, 3)},
        earned=round(earned, 2),
    )


def run(path: Path) -> Report:
    return RUBRIC.run(path)
