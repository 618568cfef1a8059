"""Exercise 07 (capstone) proven both ways, and five realistic wrong answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import check
from helpers.audit import audit_static
from helpers.checks import ex07_production_pipeline as ex07
from tests.conftest import ROOT, checked, failed_items, solution_copy

pytestmark = [pytest.mark.docker, pytest.mark.slow]

STARTER = ROOT / "exercises" / "07_production_pipeline"
SOLUTION = ROOT / "solutions" / "07_production_pipeline"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new))


def test_naive_dockerfile_constant_matches_the_starter():
    assert (STARTER / "Dockerfile").read_text() == ex07.NAIVE_DOCKERFILE


def test_starter_fails_with_hints(base_images, resource_counts):
    before = resource_counts()
    rep = checked("07")
    assert rep.error is None and not rep.passed
    bad = failed_items(rep)
    for name in (
        "checklist: multi-stage build (build tools not in the final image)",
        "checklist: runs as a non-root user",
        "the stack comes up healthy (Compose CLI)",
        "the password is never in an image or in docker inspect",
        "compose stop etl ends cleanly within the grace period",
        "the image is much smaller than the naive one",
    ):
        assert name in bad, name
    assert all(r.hint for r in rep.results if not r.passed)
    # the naive stack does work: the rows arrive
    assert "the ETL loads 500 rows into Postgres" not in bad
    assert resource_counts() == before


def test_solution_evidence(base_images):
    """The solution's own evidence (passing at full score is the contract test's)."""
    rep = checked("07", "solution")
    size = next(r for r in rep.results if r.name.startswith("the image is much smaller"))
    assert size.evidence["ratio"] < 0.25


def test_password_in_env_fails_the_secret_items(tmp_path, base_images):
    proj = solution_copy("07_production_pipeline", tmp_path / "07_production_pipeline")
    edit(
        proj / "compose.yaml",
        "      DB_PASSWORD_FILE: /run/secrets/db_password\n",
        "      DB_PASSWORD_FILE: /run/secrets/db_password\n      DB_PASSWORD: etl-dev-password\n",
    )
    rep = check("07", path=proj)
    assert failed_items(rep) == {
        "checklist: no secrets baked into the image or its config",
        "the password is never in an image or in docker inspect",
    }, str(rep)


def test_health_check_that_cannot_fail_is_caught(tmp_path, base_images):
    """The stack still reports healthy, which is exactly the problem: only the probe item fails."""
    proj = solution_copy("07_production_pipeline", tmp_path / "07_production_pipeline")
    df = proj / "Dockerfile"
    text = df.read_text()
    start = text.index("HEALTHCHECK")
    end = text.index('CMD ["python", "-m", "etl"]')
    df.write_text(
        text[:start] + "HEALTHCHECK --interval=5s --timeout=3s \\\n"
        "    CMD python -c \"print('healthy')\" || exit 1\n" + text[end:]
    )
    rep = check("07", path=proj)
    assert failed_items(rep) == {"checklist: health checks defined (and able to fail)"}, str(rep)


@pytest.mark.parametrize(
    ("mutate", "item"),
    [
        (lambda p: edit(p / "Dockerfile", "USER app\n", ""), "checklist: runs as a non-root user"),
        (
            lambda p: edit(p / "compose.yaml", "postgres:15-bookworm", "postgres:latest"),
            "checklist: specific version tags (not latest)",
        ),
        (
            lambda p: edit(
                p / "compose.yaml",
                '    logging:\n      driver: json-file\n      options: {max-size: 10m, max-file: "3"}\n\n  etl:',
                "\n  etl:",
            ),
            "checklist: log size limits configured",
        ),
    ],
    ids=["root-user", "latest-tag", "no-log-limits"],
)
def test_static_wrong_answers_fail_exactly_their_checklist_item(tmp_path, mutate, item):
    """Judged by the same checklist items the full check scores (no stack needed)."""
    proj = solution_copy("07_production_pipeline", tmp_path / "07_production_pipeline")
    mutate(proj)
    results = ex07.checklist_results(audit_static(proj))
    assert {r.name for r in results if not r.passed} == {item}
    assert all(r.hint for r in results if not r.passed)


# ------------------------------------------------------- issue 11: judged on what really runs
SWALLOWING_PROBE = (
    "    healthcheck:\n"
    '      test: ["CMD", "python", "-c", "import urllib.request as u\\ntry:\\n'
    "    u.urlopen('http://127.0.0.1:8000/health', timeout=2)\\nexcept OSError:\\n    pass\"]\n"
    "      interval: 5s\n"
    "      timeout: 3s\n"
)


def test_declarations_overruled_by_the_running_truth(tmp_path, base_images):
    """Kinds 3, 4 and 2 in one submission, each written so no static rule sees it:

    - ``user: "${ETL_UID:-0}"``: Compose interpolates it to root; the YAML does not say root;
    - an exec-form ENTRYPOINT that runs a script which starts the app without ``exec``:
      PID 1 is the shell, so SIGTERM never reaches the ETL (and stop takes the grace period);
    - a Compose probe whose Python swallows the error: it passes where the app never started;
    - no restart policy on db and no OCI labels (README requirements with their own items).
    """
    proj = solution_copy("07_production_pipeline", tmp_path / "07_production_pipeline")
    (proj / "start.sh").write_text("#!/bin/sh\necho 'starting the ETL'\npython -m etl\n")
    edit(
        proj / "Dockerfile",
        'CMD ["python", "-m", "etl"]',
        'COPY start.sh /app/start.sh\nENTRYPOINT ["sh", "/app/start.sh"]',
    )
    df = (proj / "Dockerfile").read_text()
    start = df.index("LABEL org.opencontainers")
    (proj / "Dockerfile").write_text(df[:start] + df[df.index("RUN apt-get", start) :])
    edit(proj / "compose.yaml", "    restart: unless-stopped\n", "")
    edit(proj / "compose.yaml", "stop_grace_period: 30s", "stop_grace_period: 5s")
    edit(
        proj / "compose.yaml",
        "    secrets: [db_password]\n    depends_on:",
        '    secrets: [db_password]\n    user: "${ETL_UID:-0}"\n'
        + SWALLOWING_PROBE
        + "    depends_on:",
    )
    static = {r.name for r in ex07.checklist_results(audit_static(proj)) if not r.passed}
    assert static == set(), static  # nothing a static rule can see
    rep = check("07", path=proj)
    assert rep.error is None, rep.error
    assert failed_items(rep) == {
        "checklist: runs as a non-root user",
        "checklist: graceful shutdown handled (signals reach the app)",
        "checklist: health checks defined (and able to fail)",
        ex07.N_STOP,
        ex07.N_IMAGE_DETAILS,
        ex07.N_COMPOSE_DETAILS,
    }, str(rep)
    by = {r.name: r for r in rep.results}
    assert "root" in by["checklist: runs as a non-root user"].message
    assert "user:" in by["checklist: runs as a non-root user"].hint
    graceful = by["checklist: graceful shutdown handled (signals reach the app)"]
    assert "PID 1" in graceful.message and "exec" in graceful.hint
    probe = by["checklist: health checks defined (and able to fail)"]
    assert "never started" in probe.message and "compose etl" in probe.message
    assert by[ex07.N_STOP].evidence["exit_code"] == 137
    assert "db: no restart policy" in by[ex07.N_COMPOSE_DETAILS].message
    assert "OCI label" in by[ex07.N_IMAGE_DETAILS].message


# ------------------------------------------------------- issue 11: correct alternatives
#: the wheels reach the final stage through RUN --mount (never a layer); the user, init,
#: the etl probe and the limits are set in Compose, in their short forms
ALT_MOUNT_DOCKERFILE = """FROM python:3.11-slim AS builder
RUN apt-get update \\
 && apt-get install -y --no-install-recommends gcc libc6-dev libpq-dev \\
 && rm -rf /var/lib/apt/lists/*
COPY requirements.txt /tmp/requirements.txt
RUN pip wheel --no-cache-dir -w /wheels -r /tmp/requirements.txt

FROM python:3.11-slim AS production
LABEL org.opencontainers.image.title="trips-etl" org.opencontainers.image.source="https://example.org/etl"
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN apt-get update \\
 && apt-get install -y --no-install-recommends libpq5 \\
 && rm -rf /var/lib/apt/lists/*
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \\
    pip install --no-cache-dir /wheels/*.whl
WORKDIR /srv
COPY etl/ ./etl/
CMD ["python", "-m", "etl"]
"""
ALT_MOUNT_COMPOSE = """name: trips
services:
  db:
    image: postgres:15-bookworm
    environment:
      POSTGRES_PASSWORD_FILE: /run/secrets/db_password
    secrets: [db_password]
    volumes: [pgdata:/var/lib/postgresql/data]
    healthcheck:
      test: pg_isready -U postgres -d postgres
      interval: 3s
      timeout: 2s
      retries: 20
    mem_limit: 768m
    cpus: 1.5
    restart: always
    logging:
      options: {max-size: 5m, max-file: "2"}
  etl:
    build: {context: ., target: production}
    user: "10001:10001"
    init: true
    environment:
      DB_HOST: db
      DB_PASSWORD_FILE: /run/secrets/db_password
    secrets: [db_password]
    healthcheck:
      test: ["CMD-SHELL", "python -c \\"import urllib.request as u; u.urlopen('http://127.0.0.1:8000/health', timeout=2)\\" || exit 1"]
      interval: 4s
      timeout: 2s
      start_period: 15s
    depends_on:
      db: {condition: service_healthy, restart: true}
    mem_limit: 256m
    cpus: 0.5
    restart: on-failure:3
    stop_grace_period: 15s
    logging:
      driver: json-file
      options: {max-size: 5m, max-file: "2"}
secrets:
  db_password: {file: secrets/db_password.txt}
volumes:
  pgdata: {}
"""
#: an install prefix copied whole, a numeric USER, a shell-form-probe HEALTHCHECK, and an
#: entrypoint script that execs the CMD (so the ETL is PID 1)
ALT_PREFIX_DOCKERFILE = """FROM python:3.11-slim AS builder
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev libpq-dev \\
    && rm -rf /var/lib/apt/lists/*
COPY requirements.txt .
RUN pip install --no-cache-dir --prefix=/install -r requirements.txt

FROM python:3.11-slim AS production
LABEL org.opencontainers.image.title="trips-etl"
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 \\
    && rm -rf /var/lib/apt/lists/* \\
    && groupadd --gid 2000 etl && useradd --uid 2000 --gid etl --no-create-home etl
COPY --from=builder /install /usr/local
WORKDIR /app
COPY --chmod=755 entrypoint.sh /usr/local/bin/entrypoint.sh
COPY etl/ ./etl/
ENV PYTHONUNBUFFERED=1
USER 2000
HEALTHCHECK --interval=5s --timeout=2s --start-period=30s \\
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2)" || exit 1
ENTRYPOINT ["/usr/local/bin/entrypoint.sh"]
CMD ["python", "-m", "etl"]
"""
ALT_ENTRYPOINT = """#!/bin/sh
set -e
echo "etl: starting as $(id -u)"
exec "$@"
"""


def _alt_mount(proj: Path) -> None:
    (proj / "Dockerfile").write_text(ALT_MOUNT_DOCKERFILE)
    (proj / "compose.yaml").write_text(ALT_MOUNT_COMPOSE)


def _alt_prefix(proj: Path) -> None:
    (proj / "Dockerfile").write_text(ALT_PREFIX_DOCKERFILE)
    (proj / "entrypoint.sh").write_text(ALT_ENTRYPOINT)


@pytest.mark.parametrize(
    "make",
    [_alt_mount, _alt_prefix],
    ids=["run-mount-from-builder+compose-user-init-probe", "prefix-install+exec-entrypoint"],
)
def test_alternative_answers_pass_at_full_score(tmp_path, base_images, make):
    proj = solution_copy("07_production_pipeline", tmp_path / "07_production_pipeline")
    make(proj)
    rep = check("07", path=proj)
    assert rep.error is None, rep.error
    assert rep.passed and rep.score == rep.max_score, str(rep)
