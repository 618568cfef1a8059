"""Shared fixtures: an engine (or a clear skip), base images, and resource bookkeeping.

Set ``SHIPSHAPE_REQUIRE_ENGINE=1`` (CI does) to turn "no engine" from a skip into a failure.
"""

from __future__ import annotations

import os
import re
import tempfile
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# One run id for this test session and everything it starts (CLI subprocesses, notebook
# kernels), so the leak test can judge exactly what the suite made, even on a shared engine.
# ``make test`` runs the suite in parallel processes (pytest-xdist workers) and then, alone,
# the few tests that need the engine to themselves: it passes one suite run id to both, and
# each worker takes ``<suite run id>-<worker>`` as its own, so a test's leak check and a
# notebook's ``engine.clean(run=RUN_ID)`` only ever see their own worker's resources.
SUITE_RUN_ID = os.environ.setdefault("SHIPSHAPE_RUN_ID", "pytest-" + uuid.uuid4().hex[:8])
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if WORKER:
    os.environ["SHIPSHAPE_RUN_ID"] = f"{SUITE_RUN_ID}-{WORKER}"

# A private temp folder for the session and every process it starts, so the leak test can
# judge the helpers' own scratch folders (``shipshape-*``) even on a machine others share.
# Sessions of one suite (workers, and the serial phase after them) share a parent folder.
SUITE_TMP = Path(os.environ.get("SHIPSHAPE_SUITE_TMP") or tempfile.mkdtemp(prefix="pytest-suite-"))
os.environ["SHIPSHAPE_SUITE_TMP"] = str(SUITE_TMP)
SESSION_TMP = Path(tempfile.mkdtemp(prefix="pytest-session-", dir=SUITE_TMP))
os.environ["TMPDIR"] = str(SESSION_TMP)
tempfile.tempdir = str(SESSION_TMP)


def unit_of(nodeid: str) -> str:
    """The unit one worker runs whole, in order: one exercise's plain tests with its contract
    tests (they share one memoised check, see :func:`checked`); each parametrised case of an
    exercise's tests on its own (it builds its own variant); otherwise one file (a notebook's
    cells share one kernel).

    >>> unit_of("tests/integration/test_contract.py::test_solution_scores_the_rubric_max[07]")
    'ex07'
    >>> unit_of("tests/integration/test_ex07_production_pipeline.py::test_solution_passes")
    'ex07'
    >>> unit_of("tests/integration/test_ex07_production_pipeline.py::test_wrong[no-user]")
    'tests/integration/test_ex07_production_pipeline.py::test_wrong[no-user]'
    >>> unit_of("notebooks/03_health_checks.ipynb::Cell 4")
    'notebooks/03_health_checks.ipynb'
    """
    path, _, rest = nodeid.partition("::")
    name = path.rsplit("/", 1)[-1]
    contract = re.search(r"\[(\d\d)\]$", rest)
    if name == "test_contract.py" and contract:
        return f"ex{contract[1]}"
    if name.startswith("test_ex") and name[7:9].isdigit():
        return nodeid if rest.endswith("]") else f"ex{name[7:9]}"
    return path


def _rank(unit: str) -> int:
    """Start the long units first, so the short ones fill the workers' gaps at the end."""
    if unit.startswith(("ex", "tests/integration/test_ex")):
        return 0
    if unit.startswith("tests/integration"):
        return 1
    return 2 if unit.startswith("notebooks") else 3


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """xdist's scope scheduling with :func:`unit_of` as the scope (pytest 9 no longer lets
    ``--dist loadgroup`` add its group to a test's id, so the grouping lives here)."""
    from xdist.scheduler import LoadScopeScheduling

    class ByUnit(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return unit_of(nodeid)

    return ByUnit(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The leak test judges everything that ran before it, so it always runs last.
    last = [i for i in items if i.get_closest_marker("leakcheck")]
    rest = [i for i in items if not i.get_closest_marker("leakcheck")]
    if WORKER:  # units in collection order are handed out in that order: long ones first
        order = {id(i): n for n, i in enumerate(rest)}
        rest.sort(key=lambda i: (_rank(unit_of(i.nodeid)), order[id(i)]))
    items[:] = rest + last


@pytest.fixture(scope="session")
def docker_client():
    from helpers import engine

    try:
        return engine.client()
    except engine.EngineUnavailable as exc:
        if os.environ.get("SHIPSHAPE_REQUIRE_ENGINE") == "1":
            pytest.fail(str(exc))
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def base_images(docker_client):
    """Every required base image present (pulled, bundled or replica)."""
    from helpers import baseimages

    statuses = baseimages.ensure_all(include_unavailable=False)
    missing = [s for s in statuses if not s.present]
    if missing:
        pytest.fail("base images missing: " + "; ".join(f"{s.name}: {s.detail}" for s in missing))
    return {s.name: s for s in statuses}


class BuildContext(os.PathLike):
    """A build-context folder; ``write(name, text)`` adds a file. Usable wherever a path is."""

    def __init__(self, root: Path):
        self.root = root

    def __fspath__(self) -> str:
        return str(self.root)

    def __str__(self) -> str:
        return str(self.root)

    def __truediv__(self, other: str) -> Path:
        return self.root / other

    def write(self, name: str, text: str) -> Path:
        p = self.root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        return p


@pytest.fixture
def tmp_context(tmp_path: Path) -> BuildContext:
    return BuildContext(tmp_path)


@pytest.fixture
def resource_counts(docker_client):
    """A function returning which managed temp resources of this run exist now, by name.

    Identities, not counts: a test's leak check compares the very resources before and
    after, so one that another test removed meanwhile cannot hide one this test left.
    ``after > before`` means "something new appeared".
    """
    from helpers import engine

    def counts() -> dict[str, set[str]]:
        return {k: set(v) for k, v in engine.leftovers(run=engine.RUN_ID).items()}

    return counts


def solution_copy(slug: str, dest: Path) -> Path:
    """A learner-shaped copy of ``solutions/<slug>`` (an overlay laid over its starter)."""
    import shutil

    from helpers.checks import materialized

    with materialized(ROOT / "solutions" / slug) as src:
        shutil.copytree(src, dest)
    return dest


def failed_items(report) -> set[str]:
    """Names of the rubric items a report failed."""
    return {r.name for r in report.results if not r.passed}


def run_leftovers() -> dict[str, list[str]]:
    """What this test session's run still has on the engine (empty kinds left out)."""
    from helpers import engine

    return {k: v for k, v in engine.leftovers(run=engine.RUN_ID).items() if v}


def failed_keys(report) -> set[str]:
    """Keys of the rubric items a report failed."""
    return {r.key for r in report.results if not r.passed}


#: The starter each contract test judges: the folder learners get, except where the check
#: measures against its own pristine copy (01, 04), which is then the starter as shipped.
PRISTINE_STARTERS = {"01", "04"}
_CHECKED: dict[tuple[str, str], tuple[object, dict, dict]] = {}


def checked(exercise: str, which: str = "starter"):
    """``check()`` of an exercise's starter or solution, run once per test session.

    The contract test and the per-exercise tests share the one run (a check takes up to
    minutes); the run's leftovers before and after are kept for the contract test to judge.
    """
    from helpers import check
    from helpers.checks import _size_common, find_module

    key = (exercise, which)
    if key not in _CHECKED:
        mod = find_module(exercise)
        if which == "solution":
            path = ROOT / "solutions" / mod.SLUG
        elif exercise in PRISTINE_STARTERS:
            path = _size_common.pristine(mod.SLUG)
        else:
            path = ROOT / "exercises" / mod.SLUG
        before = run_leftovers()
        rep = check(exercise, path=path)
        _CHECKED[key] = (rep, before, run_leftovers())
    return _CHECKED[key][0]


def checked_leftovers(exercise: str, which: str = "starter") -> tuple[dict, dict]:
    """What the run of :func:`checked` found before it and left after it."""
    checked(exercise, which)
    _, before, after = _CHECKED[(exercise, which)]
    return before, after
