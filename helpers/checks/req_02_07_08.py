"""README requirements of exercises 02, 07 and 08, each mapped to the rubric items that judge
it (issue 11; see :mod:`helpers.checks.requirements`). Each check module re-exports its table.
"""

from __future__ import annotations

from .requirements import Requirement

#: Exercise 02: what the README asks, and the item that judges it (issue 11).
REQUIREMENTS_02 = (
    Requirement(
        "the api has a health check that probes http://localhost:8000/health, and becomes "
        "healthy after the warm-up",
        ("healthy",),
    ),
    Requirement(
        "the health check notices a real fault: after /break, the api must turn unhealthy "
        "within retries × (interval + timeout) (plus 5 s slack)",
        ("fault",),
    ),
    Requirement("a probe that cannot fail", ("fault",)),
    Requirement(
        "the worker starts only once the api is healthy (depends_on with condition: "
        "service_healthy)",
        ("depends",),
    ),
    Requirement("timeout shorter than interval", ("options",)),
    Requirement("a start_period longer than the 3 s warm-up", ("options",)),
    Requirement("for this exercise keep interval at 5 s or less", ("fault",)),
    Requirement(
        "Do not change app.py, its warm-up (APP_WARMUP_S) or worker/", ("fault", "depends")
    ),
)
README_NOT_RULES_02 = {
    "like many real services it needs a few seconds to warm up": "describes the app",
    "right now docker compose up reports both services as started": "describes the starter",
}


#: Exercise 07: what the README asks, and the item that judges it (issue 11).
REQUIREMENTS_07 = (
    Requirement(
        "Multi-stage Dockerfile: compile psycopg2 (it needs gcc and libpq-dev) in a builder "
        "stage; the final stage, named production, installs the wheel, needs only libpq5 at "
        "run time and has no compiler",
        ("multi_stage", "image_details"),
    ),
    Requirement("slim, pinned base images", ("base_slim", "version_tags")),
    Requirement("pip install --no-cache-dir", ("pip_no_cache",)),
    Requirement("apt lists removed in the same RUN", ("apt_clean",)),
    Requirement("a non-root user", ("non_root",)),
    Requirement("exec-form CMD", ("graceful_shutdown",)),
    Requirement("PYTHONUNBUFFERED=1; OCI labels", ("image_details",)),
    Requirement("a HEALTHCHECK that can fail", ("healthcheck",)),
    Requirement("a .dockerignore (.git, .env, **/__pycache__", ("dockerignore",)),
    Requirement(
        "the password as a secret file (secrets/db_password.txt, read through "
        "POSTGRES_PASSWORD_FILE and DB_PASSWORD_FILE), never in environment: or ENV",
        ("no_secrets", "password"),
    ),
    Requirement(
        "a pg_isready health check on the database and depends_on: condition: service_healthy",
        ("healthy", "healthcheck", "compose_details"),
    ),
    Requirement("build: target: production", ("image_details",)),
    Requirement("memory and CPU limits on both services", ("resource_limits", "compose_details")),
    Requirement("json-file log rotation (max-size, max-file)", ("log_limits", "compose_details")),
    Requirement("restart policies; stop_grace_period", ("compose_details",)),
    Requirement("a named volume for the database's data", ("compose_details",)),
    Requirement("the stack comes up with every service healthy", ("healthy",)),
    Requirement("the ETL loads 500 rows", ("rows",)),
    Requirement(
        "the password is never in an image or in docker inspect", ("password", "no_secrets")
    ),
    Requirement(
        "docker compose stop etl must end with exit code 0 within the grace period", ("stop",)
    ),
    Requirement("the image must be at most 40% of the naive image's size", ("size",)),
    Requirement(
        "the user of every process in the running etl container must not be root",
        ("non_root",),
    ),
    Requirement("its PID 1 must be the app or an init, not a shell", ("graceful_shutdown", "stop")),
    Requirement(
        "each health probe is also run in a container of its image where the app never "
        "started: it must fail there",
        ("healthcheck",),
    ),
)
README_NOT_RULES_07 = {
    "Make the project production-ready, using every practice from the lessons": "introduces "
    "the list of practices, each a requirement of its own",
    "The check copies this folder to a temporary place": "describes how the check works",
    "The restart policies, CPU limits, max-file, stop_grace_period and the named volume are "
    "read from the running containers": "describes how compose_details is measured",
}


#: Exercise 08: what the README asks, and the item that judges it (issue 11).
REQUIREMENTS_08 = (
    Requirement("write the GitHub Actions workflow .github/workflows/docker.yml", ("valid",)),
    Requirement("The workflow must, in this order:", ("roles", "order")),
    Requirement("build the image", ("roles",)),
    Requirement("run the tests inside that image", ("roles",)),
    Requirement("scan it and fail the job on HIGH or CRITICAL findings", ("roles", "scan")),
    Requirement("fail the job when the image is over 500 MB", ("size",)),
    Requirement(
        "push to the registry only after all of that passed, and only for pushes to main",
        ("roles", "order"),
    ),
    Requirement(
        "A gate step with continue-on-error: true, or a push step with if: always(), lets a "
        "bad image through: the check looks for both",
        ("order", "scan"),
    ),
    Requirement(
        "the check runs a run: scan step with a stand-in scanner that reports a HIGH, then a "
        "CRITICAL finding, then none, and the step must fail, fail, then pass",
        ("scan",),
    ),
    Requirement(
        "it runs your tests step with a docker run that exits 1, and the step must fail",
        ("order",),
    ),
    Requirement(
        "A push is only for pushes to main when an if: checks github.ref against main",
        ("order",),
    ),
    Requirement(
        "Keep naming the image through the workflow's env: IMAGE (as the starter does)",
        ("size",),
    ),
    Requirement(
        "fix the Dockerfile so the image passes the course's gate when you run it locally",
        ("gate",),
    ),
)
README_NOT_RULES_08 = {
    "A production gate only works when the pipeline cannot go around it": "the motivation",
}
