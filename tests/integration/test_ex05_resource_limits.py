"""Exercise 05 proven both ways: limits read back from the engine, a real OOM kill."""

import pytest

from helpers import check
from helpers.checks import ex05_resource_limits as ex
from tests.conftest import ROOT, checked, failed_items, solution_copy
from tests.support import assert_fails_exactly, assert_full_score

pytestmark = [pytest.mark.docker, pytest.mark.slow]

SOLUTION = ROOT / "solutions" / "05_resource_limits"
SOLVED = (SOLUTION / "compose.yaml").read_text()
DB_LIMITS = (
    '    deploy:\n      resources:\n        limits:\n          memory: 1G\n          cpus: "1"\n'
)
ETL_LIMITS = "        limits:\n          memory: 2G"
assert DB_LIMITS in SOLVED and ETL_LIMITS in SOLVED


def test_starter_fails_with_hints(base_images, resource_counts):
    before = resource_counts()
    rep = checked("05")
    assert rep.error is None, rep.error
    assert failed_items(rep) == {ex.LIMITS, ex.OOM, ex.DB_ALIVE}, str(rep)
    by = {r.name: r for r in rep.results}
    assert by[ex.LIMITS].points_earned == 0 and "limits:" in by[ex.LIMITS].hint
    assert "memory limit" in by[ex.OOM].message  # the hog is never run without a limit
    assert resource_counts() == before


def test_solution_evidence_with_three_oom_signals(base_images):
    """The solution's own evidence (passing at full score is the contract test's)."""
    rep = checked("05", "solution")
    by = {r.name: r for r in rep.results}
    ins = by[ex.LIMITS].evidence["inspect"]
    assert ins["db"]["memory_bytes"] == 1024**3 and ins["db"]["cpus"] == 1.0
    assert ins["etl"]["memory_bytes"] == 2 * 1024**3 and ins["etl"]["cpus"] == 2.0
    oom = by[ex.OOM].evidence
    assert oom["oom_killed"] is True and oom["exit_code"] == 137
    assert oom["memory_limit_bytes"] == 2 * 1024**3
    assert by[ex.DB_ALIVE].evidence["status"] == "running"
    assert by[ex.DB_ALIVE].evidence["oom_killed"] is False


@pytest.mark.parametrize(
    ("edit", "failing", "hint_word"),
    [
        # the ETL's numbers under reservations: a floor, not a ceiling; the hog is not run
        (
            lambda s: s.replace(ETL_LIMITS, "        reservations:\n          memory: 2G").replace(
                "        reservations:\n          memory: 512M     # a soft floor the engine keeps for it under memory pressure\n",
                "",
            ),
            {ex.LIMITS, ex.OOM, ex.DB_ALIVE},
            "reservations",
        ),
        # only the ETL limited: the database has no ceiling of its own
        (lambda s: s.replace(DB_LIMITS, ""), {ex.LIMITS}, "db: 1G"),
        # the lesson's 4G: the 3 GB hog finishes unharmed
        (
            lambda s: s.replace(ETL_LIMITS, "        limits:\n          memory: 4G"),
            {ex.LIMITS, ex.OOM},
            "limit",
        ),
        # issue 11, kind 1: the limits are right but hog.py was changed (it is still
        # OOM-killed: only the "leave hog.py as it is" rule fails it)
        (lambda s: s + "\n", {ex.OOM}, "restore hog.py"),
    ],
    ids=["reservation-not-limit", "db-unlimited", "etl-4g", "hog-rewritten"],
)
def test_wrong_answers_fail_exactly_their_item(tmp_path, base_images, edit, failing, hint_word):
    text = edit(SOLVED)
    assert text != SOLVED
    dst = tmp_path / "ex05"
    solution_copy("05_resource_limits", dst)
    (dst / "compose.yaml").write_text(text)
    hog = dst / "hog.py"
    if hint_word == "restore hog.py":  # the kind-1 case: compose right, the hog rewritten
        hog.write_text(
            hog.read_text().replace(
                'MAX_MB = int(os.environ.get("HOG_MAX_MB", "3072"))', "MAX_MB = 8192"
            )
        )
    failed = assert_fails_exactly(check("05", path=dst), failing)
    assert hint_word in failed[0].hint, failed[0].hint


#: Correct answers that differ from the reference solution: each must score the maximum.
#: The service keys instead of ``deploy:``, in other units and number types.
SERVICE_KEYS = (
    SOLVED.replace(DB_LIMITS, "    mem_limit: 1g\n    cpus: 1\n").split(
        "    deploy:\n      resources:\n        limits:\n          memory: 2G"
    )[0]
    + "    mem_limit: 2048m\n    cpus: 2.0\n"
)
#: ``deploy:`` in flow style with MiB and numbers, a YAML anchor, and a restart policy.
FLOW_STYLE = (
    SOLVED.replace(DB_LIMITS, "    deploy: {resources: {limits: {memory: 1024M, cpus: 1.0}}}\n")
    .replace("  etl:\n", '  etl:\n    restart: "no"\n')
    .split("    deploy:\n      resources:\n        limits:\n          memory: 2G")[0]
    + "    deploy:\n      resources:\n        limits: &etl_limits\n          memory: 2g\n"
    + "          cpus: '2.0'\n"
)


@pytest.mark.parametrize(
    "compose_yaml", [SERVICE_KEYS, FLOW_STYLE], ids=["mem-limit-keys", "flow-style"]
)
def test_alternative_answers_score_the_maximum(tmp_path, base_images, compose_yaml):
    assert "deploy:\n      resources:\n        limits:\n          memory: 2G" not in compose_yaml
    dst = tmp_path / "ex05"
    solution_copy("05_resource_limits", dst)
    (dst / "compose.yaml").write_text(compose_yaml)
    rep = check("05", path=dst)
    assert_full_score(rep)
