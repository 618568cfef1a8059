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
