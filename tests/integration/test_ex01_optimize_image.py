"""Exercise 01 proven both ways: the starter fails with hints, the solution passes, and
realistic wrong answers each fail exactly the item they should."""

import shutil
import subprocess

import pytest

from helpers import check
from helpers.checks import _size_common as sc
from helpers.checks import ex01_optimize_image as ex01
from tests.conftest import ROOT, checked
from tests.support import assert_fails_exactly, assert_full_score

pytestmark = [pytest.mark.docker]

SOLUTION = ROOT / "solutions" / "01_optimize_image"
STARTER = ROOT / "exercises" / "01_optimize_image"

# The solution's lines, reused verbatim so every variant shares its layer cache.
FROM_SLIM = "FROM python:3.11-slim\n"
APT_CLEAN = (
    "RUN apt-get update \\\n    && apt-get install -y --no-install-recommends curl \\\n"
    "    && rm -rf /var/lib/apt/lists/*\n"
)
DEPS = "WORKDIR /app\nCOPY requirements.txt .\nRUN pip install --no-cache-dir -r requirements.txt\n"
CODE = 'COPY data/ data/\nCOPY etl.py .\nCMD ["python", "etl.py"]\n'

WRONG = {
    # the lists are deleted, but by a later RUN: their bytes stay in the apt layer
    "cleanup-in-later-layer": (
        FROM_SLIM
        + "RUN apt-get update \\\n    && apt-get install -y --no-install-recommends curl\n"
        + "RUN rm -rf /var/lib/apt/lists/*\n"
        + DEPS
        + CODE,
        {ex01.N_WASTE},
    ),
    # slim and tidy apt, but pip keeps its cache (the wheel it built for docopt)
    "slim-but-pip-cache-kept": (
        FROM_SLIM
        + APT_CLEAN
        + "WORKDIR /app\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n"
        + CODE,
        {ex01.N_JUNK},
    ),
    # everything cleaned, but the code is copied before the dependencies are installed
    "code-before-deps": (
        FROM_SLIM
        + APT_CLEAN
        + "WORKDIR /app\nCOPY . .\nRUN pip install --no-cache-dir -r requirements.txt\n"
        + 'CMD ["python", "etl.py"]\n',
        {ex01.N_CACHE},
    ),
    # every habit right except the base: still ~1 GB
    "full-base-image": (
        "FROM python:3.11\n" + APT_CLEAN + DEPS + CODE,
        {ex01.N_SIZE},
    ),
    # smallest of all, but curl was dropped with the apt step
    "dropped-curl": (FROM_SLIM + DEPS + CODE, {ex01.N_CURL}),
}


def test_pristine_baseline_is_the_committed_starter():
    """The check's own copy of the starter is the starter as committed (no drift)."""
    kept = sc.pristine(ex01.SLUG)
    files = sorted(p.relative_to(kept) for p in kept.rglob("*") if p.is_file())
    assert {str(f) for f in files} >= {
        "Dockerfile",
        "etl.py",
        "requirements.txt",
        "data/orders.csv",
    }
    for rel in files:
        committed = subprocess.run(
            ["git", "show", f"HEAD:exercises/{ex01.SLUG}/{rel}"],
            cwd=ROOT,
            capture_output=True,
        )
        want = committed.stdout if committed.returncode == 0 else (STARTER / rel).read_bytes()
        assert (kept / rel).read_bytes() == want, rel
    # the starter and solution ship the same app and data, so the reference output holds
    # (the solution is an overlay: it changes only the Dockerfile)
    assert sorted(p.name for p in SOLUTION.iterdir()) == ["Dockerfile", "OVERLAY"]


def test_starter_fails_with_hints(base_images, resource_counts):
    before = resource_counts()
    rep = checked("01")
    assert rep.error is None, rep.error
    by = {r.name: r for r in rep.results}
    assert {r.name for r in rep.failed()} == {ex01.N_SIZE, ex01.N_JUNK, ex01.N_CACHE}, str(rep)
    assert by[ex01.N_OUTPUT].passed and by[ex01.N_CURL].passed  # it works: it is just fat
    assert "python:3.11-slim" in by[ex01.N_SIZE].hint
    assert by[ex01.N_SIZE].evidence["ratio"] == pytest.approx(1.0, abs=0.01)
    assert "rm -rf /var/lib/apt/lists/*" in by[ex01.N_JUNK].hint
    assert "--no-cache-dir" in by[ex01.N_JUNK].hint
    assert by[ex01.N_JUNK].evidence["found"]["apt lists"]["bytes"] > 1_000_000
    assert "COPY requirements.txt" in by[ex01.N_CACHE].hint
    assert "RE-RAN" in by[ex01.N_CACHE].message
    assert resource_counts() == before


def test_solution_evidence(base_images):
    """The solution's own evidence (passing at full score is the contract test's)."""
    rep = checked("01", "solution")
    size = next(r for r in rep.results if r.name == ex01.N_SIZE)
    assert size.evidence["ratio"] < 0.35  # measured ~0.25: slim base is most of the drop


@pytest.mark.parametrize("name", list(WRONG))
def test_wrong_answers_fail_exactly_their_item(tmp_path, base_images, name):
    dockerfile, failing = WRONG[name]
    _starter_copy(tmp_path)
    (tmp_path / "Dockerfile").write_text(dockerfile)
    rep = check("01", path=tmp_path)
    assert_fails_exactly(rep, failing)
    if name == "full-base-image":  # partial credit, from the measured ratio
        size = next(r for r in rep.results if r.name == ex01.N_SIZE)
        assert 0 <= size.points_earned < size.points


# --- issue 11: correct alternatives pass at full score; cheats fail exactly their items ---

ALTERNATIVES = {
    # BuildKit: pip's cache lives in a cache mount, never in a layer; apt-get clean as well
    "buildkit-cache-mount": (
        FROM_SLIM + "RUN apt-get update && apt-get install -y --no-install-recommends curl "
        "&& apt-get clean && rm -rf /var/lib/apt/lists/*\n"
        "WORKDIR /app\nCOPY requirements.txt .\n"
        "RUN --mount=type=cache,target=/root/.cache/pip pip install -r requirements.txt\n"
        "COPY etl.py ./\nCOPY data ./data\n"
        'CMD ["python", "etl.py"]\n'
    ),
    # the solution's layers up to the install (served from the layer cache), then another
    # layout: the app under /srv/etl, python3 with an absolute path
    "other-layout-absolute-path": (
        FROM_SLIM
        + APT_CLEAN
        + DEPS
        + "COPY etl.py /srv/etl/\nCOPY data /srv/etl/data\n"
        + 'WORKDIR /srv/etl\nCMD ["python3", "/srv/etl/etl.py"]\n'
    ),
}

CANNED = FROM_SLIM + APT_CLEAN + 'WORKDIR /app\nCOPY report.csv .\nCMD ["cat", "report.csv"]\n'
#: etl.py rewritten without pandas, requirements.txt cut to docopt: same report, tiny image
NO_PANDAS_ETL = "import sys\nsys.stdout.write(open('report.csv').read())\n"

CHEATS = {
    # prints a saved report: the output matches, nothing of the app runs
    "canned-report": (
        CANNED,
        {},
        {"kept", "size", "dep_cache"},
        'CMD ["python", "etl.py"]',
    ),
    # the app rewritten to drop pandas, and pandas dropped from the pins
    "rewrites-app-drops-pandas": (
        FROM_SLIM + APT_CLEAN + DEPS + "COPY report.csv .\n" + CODE,
        {"etl.py": NO_PANDAS_ETL, "requirements.txt": "docopt==0.6.2\n"},
        {"kept", "size"},
        "Restore etl.py, requirements.txt from the starter",
    ),
}


def _starter_copy(tmp_path):
    """The starter's app, data and pins, without its Dockerfile."""
    for rel in ("etl.py", "requirements.txt", "data"):
        src = STARTER / rel
        if src.is_dir():
            shutil.copytree(src, tmp_path / rel)
        else:
            shutil.copy(src, tmp_path / rel)


def _folder(tmp_path, dockerfile: str, edits: dict[str, str] | None = None):
    _starter_copy(tmp_path)
    shutil.copy(ex01.EXPECTED, tmp_path / "report.csv")
    (tmp_path / "Dockerfile").write_text(dockerfile)
    for rel, text in (edits or {}).items():
        (tmp_path / rel).write_text(text)
    return tmp_path


@pytest.mark.parametrize("name", list(ALTERNATIVES))
def test_alternative_answers_score_full(tmp_path, base_images, name):
    assert_full_score(check("01", path=_folder(tmp_path, ALTERNATIVES[name])))


@pytest.mark.parametrize("name", list(CHEATS))
def test_cheats_fail_exactly_their_items(tmp_path, base_images, name):
    dockerfile, edits, failing, hint_has = CHEATS[name]
    rep = check("01", path=_folder(tmp_path, dockerfile, edits))
    assert_fails_exactly(rep, failing, by="key")
    kept = next(r for r in rep.results if r.key == "kept")
    assert hint_has in kept.hint, kept.hint
