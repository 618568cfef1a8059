"""Exercise 03 proven both ways: starter fails with hints, solution passes, and realistic
wrong .dockerignore files each fail exactly the items they should."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from helpers import check
from helpers.checks import ex03_dockerignore as ex03
from tests.conftest import ROOT, checked, run_leftovers
from tests.support import assert_fails_exactly, assert_full_score

pytestmark = [pytest.mark.docker, pytest.mark.slow]

SIZE, RUNS, SECRET, CLUTTER = ex03.ITEM_SIZE, ex03.ITEM_RUNS, ex03.ITEM_SECRET, ex03.ITEM_CLUTTER
KEPT = ex03.ITEM_KEPT


def _scratch_dirs() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("shipshape-ex03-*")}


def _variant(tmp_path: Path, ignore: str, edits: dict[str, str] | None = None) -> Path:
    dest = tmp_path / "ex03"
    shutil.copytree(ROOT / "exercises" / "03_dockerignore", dest)
    (dest / ".dockerignore").write_text(ignore)
    for rel, text in (edits or {}).items():
        (dest / rel).write_text(text)
    return dest


def test_starter_fails_with_hints(base_images):
    scratch = _scratch_dirs()
    rep = checked("03")
    assert rep.error is None, rep.error
    by = {r.name: r for r in rep.results}
    assert {r.name for r in rep.failed()} == {SIZE, SECRET, CLUTTER}, str(rep)
    assert by[RUNS].passed  # the starter app works; only the ignore file is missing
    assert "no patterns yet" in by[SIZE].hint and "data" in by[SIZE].hint
    assert by[SIZE].evidence["context_bytes_with"] > 30e6  # the clutter was really sent
    assert "/app/.env" in by[SECRET].hint and "`.env`" in by[SECRET].hint
    assert "`.git`" in by[CLUTTER].hint and "`data/`" in by[CLUTTER].hint
    assert rep.score == 5  # the app runs (3) and the Dockerfile and app are kept (2)
    assert not run_leftovers() and _scratch_dirs() == scratch


def test_solution_evidence(base_images):
    """The solution's own evidence (passing at full score is the contract test's)."""
    rep = checked("03", "solution")
    ev = {r.name: r for r in rep.results}[SIZE].evidence
    assert ev["context_bytes_with"] <= ev["limit_bytes"]
    assert ev["ratio"] > 100  # 37 MB of clutter left behind
    assert ev["build_seconds_with"] is not None and ev["build_seconds_without"] is not None


@pytest.mark.parametrize(
    ("ignore", "failing", "hint_has"),
    [
        # forgets the secret: small context, clean image, but the password ships
        (".git\ndata/\n**/__pycache__\n.pytest_cache\n", {SECRET}, "`.env`"),
        # an allow-list that forgot to let the code back in: excludes the app itself
        ("*\n!Dockerfile\n", {RUNS}, "etl/pipeline.py"),
        # "ignore every CSV" also drops the app's reference table
        (
            ".git\n.env\n**/__pycache__\n.pytest_cache\n**/*.csv\ndata/\n",
            {RUNS},
            "excluded by `**/*.csv`",
        ),
        # a bare __pycache__ only matches at the top: etl/__pycache__ ships
        (".git\n.env\ndata/\n__pycache__\n.pytest_cache\n", {CLUTTER}, "`**/__pycache__`"),
        # forgets .git: megabytes of history in the context and the image
        (".env\ndata/\n**/__pycache__\n.pytest_cache\n", {SIZE, CLUTTER}, ".git"),
    ],
    ids=["misses-env", "excludes-app", "all-csv", "bare-pycache", "misses-git"],
)
def test_wrong_answers_fail_exactly_their_items(tmp_path, base_images, ignore, failing, hint_has):
    rep = check("03", path=_variant(tmp_path, ignore))
    failed = assert_fails_exactly(rep, failing)
    assert any(hint_has in r.hint for r in failed), str(rep)
    assert not run_leftovers()


def test_partial_credit_for_halving_the_context(tmp_path, base_images):
    rep = check("03", path=_variant(tmp_path, ".env\ndata/\n**/__pycache__\n.pytest_cache\n"))
    size = {r.name: r for r in rep.results}[SIZE]
    assert not size.passed and size.points_earned == 1  # halved, not lean
    clutter = {r.name: r for r in rep.results}[CLUTTER]
    assert clutter.points_earned == pytest.approx(2 * 2 / 3)  # one kind of three left


def test_an_allow_list_is_a_correct_answer_too(tmp_path, base_images):
    rep = check("03", path=_variant(tmp_path, "*\n!etl\n**/__pycache__\n"))
    assert rep.passed, str(rep)


# --- issue 11: correct alternatives pass at full score; cheats fail exactly their items ---


def test_shipped_dockerfile_copy_is_the_starter():
    """The check's own copy of the Dockerfile (put back when changed) is the starter's."""
    shipped = (ex03.SHIPPED / "Dockerfile").read_bytes()
    assert shipped == (ROOT / "exercises" / "03_dockerignore" / "Dockerfile").read_bytes()


ALTERNATIVES = {
    # allow-list: everything out, the package back in, its caches out again at any depth
    "allow-list-package": "# allow-list\n*\n!etl/\netl/**/__pycache__\n",
    # deny-list spelled differently: anchored, trailing slashes, a wildcard secret, .pyc files
    "deny-list-other-spelling": (
        "/.git/\n.env*\n/data/\n**/__pycache__/\n**/*.py[co]\n.pytest_cache/\n*.md\n"
        "make_clutter.py\n"
    ),
}


@pytest.mark.parametrize("name", list(ALTERNATIVES))
def test_alternative_ignore_files_score_full(tmp_path, base_images, name):
    rep = check("03", path=_variant(tmp_path, ALTERNATIVES[name]))
    assert_full_score(rep)


GOOD = ".git\n.env\ndata/\n**/__pycache__\n.pytest_cache\n"


@pytest.mark.parametrize(
    ("ignore", "edits", "failing", "hint_has"),
    [
        # the Dockerfile copies only etl/: the clutter stays out without any ignore file
        (
            "# comments only\n",
            {
                "Dockerfile": 'FROM python:3.11-slim\nWORKDIR /app\nCOPY etl/ etl/\nCMD ["python", "-m", "etl"]\n'
            },
            {KEPT, SIZE, SECRET, CLUTTER},
            "Restore Dockerfile from the starter",
        ),
        # the app rewritten so it no longer needs its reference table, which the ignore drops
        (
            GOOD + "**/*.csv\n",
            {"etl/__main__.py": f"print({ex03.EXPECTED!r})\n"},
            {KEPT, RUNS},
            "Restore etl/__main__.py from the starter",
        ),
        # caches matched per level: the deeper one (etl/reference/__pycache__) ships
        (
            ".git\n.env\ndata/\n__pycache__\n*/__pycache__\n.pytest_cache\n",
            {},
            {CLUTTER},
            "`**/__pycache__`",
        ),
    ],
    ids=["dockerfile-edited", "app-edited", "cache-per-level"],
)
def test_cheats_fail_exactly_their_items(tmp_path, base_images, ignore, edits, failing, hint_has):
    rep = check("03", path=_variant(tmp_path, ignore, edits))
    failed = assert_fails_exactly(rep, failing)
    assert any(hint_has in r.hint for r in failed), str(rep)
