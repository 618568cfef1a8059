"""Exercise 09 proven both ways: the harness really measures, and the rubric judges the table."""

import os

import pytest

from helpers import benchmark, check, images
from tests.conftest import ROOT, checked, solution_copy
from tests.support import assert_fails_exactly, assert_full_score

pytestmark = [pytest.mark.docker, pytest.mark.slow]

STARTER = ROOT / "exercises" / "09_benchmark"
SOLUTION = ROOT / "solutions" / "09_benchmark"

ALL_ITEMS = {
    "every row is measured",
    "slim is smaller than full",
    "multi-stage is smaller than single-stage",
    "the .dockerignore shrinks the build context",
    "cold builds ran without the layer cache",
    "warm rebuilds are faster than the cold builds",
}


def test_starter_fails_with_hints(base_images, resource_counts):
    before = resource_counts()
    rep = checked("09")
    assert rep.error is None, rep.error
    failed = {r.name: r for r in rep.results if not r.passed}
    assert set(failed) == ALL_ITEMS, str(rep)
    assert "slim" in failed["every row is measured"].hint
    assert "'cold'" in failed["cold builds ran without the layer cache"].hint
    # the one row it has is measured: partial credit; nothing changed, nothing to probe yet
    assert 0 < rep.by_key("rows").points_earned < 1
    assert rep.by_key("kept").passed
    assert resource_counts() == before


def test_solution_evidence_and_table_is_measured(base_images):
    """The solution's own evidence (passing at full score is the contract test's)."""
    rep = checked("09", "solution")
    table = {r["variant"]: r for r in rep.results[0].evidence["summary"]}
    assert set(table) == set(benchmark.REQUIRED_ROWS)
    assert all(r["reps"] == 2 for r in table.values())
    # generous sanity bounds: a full image is ~1 GB, a slim one well under half of that
    assert table["full"]["size_mb"] > 2 * table["slim"]["size_mb"]
    assert table["cold"]["cached_steps"] == 0 and table["warm"]["cached_steps"] > 0


WRONG_MULTISTAGE = """FROM python:3.11 AS build
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir --prefix=/install -r requirements.txt

FROM build
COPY app.py .
CMD ["python", "app.py"]
"""


def _drop_rows(text: str) -> str:
    return "\n".join(ln for ln in text.splitlines() if "dockerignore=" not in ln) + "\n"


@pytest.mark.parametrize(
    ("edit", "failing"),
    [
        # the ignore comparison left out: two rows missing, so their relation is unmeasured
        (
            lambda d: (d / "variants.py").write_text(_drop_rows((d / "variants.py").read_text())),
            {"every row is measured", "the .dockerignore shrinks the build context"},
        ),
        # "cold" built with the cache: the cached-step count exposes it, and then there is no
        # genuine cold build to compare the warm one with
        (
            lambda d: (d / "variants.py").write_text(
                (d / "variants.py")
                .read_text()
                .replace(
                    'Variant("cold", "Dockerfile.slim", nocache=True)',
                    'Variant("cold", "Dockerfile.slim")',
                )
            ),
            {
                "cold builds ran without the layer cache",
                "warm rebuilds are faster than the cold builds",
            },
        ),
        # a "multi-stage" build whose final stage is the full build stage
        (
            lambda d: (d / "Dockerfile.multistage").write_text(WRONG_MULTISTAGE),
            # and /install is not on its sys.path: the app would not even import humanize
            {"multi-stage is smaller than single-stage", "the same app in every variant"},
        ),
    ],
    ids=["rows-missing", "cold-with-cache", "final-stage-is-builder"],
)
def test_wrong_answers_fail_exactly_their_item(tmp_path, base_images, edit, failing):
    folder = solution_copy("09_benchmark", tmp_path / "ex09")
    edit(folder)
    assert_fails_exactly(check("09", path=folder), failing)


def test_harness_rejects_bad_config(tmp_path):
    folder = solution_copy("09_benchmark", tmp_path / "ex09")
    with pytest.raises(FileNotFoundError, match=r"Dockerfile\.nope"):
        benchmark.run(folder, [benchmark.Variant("x", "Dockerfile.nope")])
    with pytest.raises(ValueError, match="unique"):
        benchmark.run(
            folder,
            [benchmark.Variant("x", "Dockerfile.slim"), benchmark.Variant("x", "Dockerfile.full")],
        )


def test_harness_saves_csv_and_removes_its_images(tmp_path, base_images, resource_counts):
    before = resource_counts()
    folder = solution_copy("09_benchmark", tmp_path / "ex09")
    df = benchmark.run(
        folder,
        [
            benchmark.Variant("cold", "Dockerfile.slim", nocache=True),
            benchmark.Variant("warm", "Dockerfile.slim"),
        ],
        reps=2,
    )
    out = benchmark.save_csv(df, tmp_path / "results" / "bench.csv")
    import pandas as pd

    back = pd.read_csv(out)
    assert list(back.columns) == benchmark.COLUMNS and len(back) == 4
    assert (back[back.variant == "cold"].cached_steps == 0).all()
    assert resource_counts() == before


def test_harness_keeps_warm_layers_as_cache_and_cold_builds_stay_cold(
    tmp_path, base_images, resource_counts
):
    """``cache_as``: a warm variant's layers outlive its image, so the next run's unmeasured
    first build takes every step from the cache; a cold build's layers never become cache."""
    from helpers import buildcache

    key = f"lesson9{os.getpid()}"  # a cache key of this test's own
    before = resource_counts()
    folder = solution_copy("09_benchmark", tmp_path / "ex09")
    variants = [
        benchmark.Variant("cold", "Dockerfile.slim", nocache=True),
        benchmark.Variant("warm", "Dockerfile.slim"),
    ]
    try:
        df = benchmark.run(folder, variants, reps=1, cache_as=key)
        assert resource_counts() == before  # the images went; only cache stays
        kept = [e for e in buildcache.cache_entries() if e["exercise"] == key]
        assert len(kept) == 1, kept  # the warm variant's build; the cold one left nothing
        # the next run's first build of the warm variant: every step from the cache
        ctx = benchmark._prepare(folder, tmp_path / "again", 16)[True]
        tag = f"shipshape-test/bench-again:{os.getpid()}"
        again = images.build(
            ctx, tag, dockerfile="Dockerfile.slim", on_event=None, lesson=key[len("lesson") :]
        )
        images.remove(tag)
        # every step but FROM (which is never "from cache")
        assert again.steps > 1 and again.cached_steps == again.steps - 1, again.log[-1500:]
        # and a cold rep still runs every step, whatever the cache holds
        cold = benchmark.run(folder, variants[:1], reps=1, cache_as=key)
        assert (cold.cached_steps == 0).all() and (df.cached_steps[df.nocache] == 0).all()
        assert resource_counts() == before
    finally:
        buildcache.clear_cache(key)


# --- issue 11: correct alternatives pass at full score; cheats fail exactly their items ---

ALTERNATIVES = {
    # wheels in a named stage installed through a BuildKit bind mount; an allow-list ignore
    # file; PIP_NO_CACHE_DIR instead of the flag; variants built in a loop
    "run-mount-allow-list": {
        "Dockerfile.slim": "FROM python:3.11-slim\nENV PIP_NO_CACHE_DIR=1\nWORKDIR /srv\n"
        'COPY requirements.txt ./\nRUN pip install -r requirements.txt\nCOPY app.py ./\nCMD ["python", "app.py"]\n',
        "Dockerfile.multistage": "FROM python:3.11 AS wheels\nCOPY requirements.txt /src/\n"
        "RUN pip wheel --no-cache-dir -w /w -r /src/requirements.txt\n"
        "FROM python:3.11-slim\n"
        "RUN --mount=type=bind,from=wheels,source=/w,target=/w "
        "pip install --no-cache-dir --no-index /w/*.whl\n"
        'WORKDIR /app\nCOPY app.py .\nCMD ["python", "app.py"]\n',
        ".dockerignore": "# allow-list: only what the images use\n*\n!app.py\n!requirements.txt\n",
        "variants.py": "from helpers.benchmark import Variant\n\nREPS = 2\n\n"
        "PAIRS = {'full': 'Dockerfile.full', 'slim': 'Dockerfile.slim',\n"
        "         'single-stage': 'Dockerfile.full', 'multi-stage': 'Dockerfile.multistage'}\n\n\n"
        "def variants():\n"
        "    out = [Variant(n, d) for n, d in PAIRS.items()]\n"
        "    out += [Variant('no-dockerignore', 'Dockerfile.slim', dockerignore=False),\n"
        "            Variant('dockerignore', 'Dockerfile.slim')]\n"
        "    out += [Variant('cold', 'Dockerfile.full', nocache=True),\n"
        "            Variant('warm', 'Dockerfile.full', nocache=False)]\n"
        "    return out\n",
    },
    # a virtualenv copied out of the build stage; a deny-list spelled differently
    "venv-deny-list": {
        "Dockerfile.multistage": "FROM python:3.11 AS build\nRUN python -m venv /venv\n"
        "COPY requirements.txt .\nRUN /venv/bin/pip install --no-cache-dir -r requirements.txt\n"
        "FROM python:3.11-slim\nCOPY --from=build /venv /venv\nENV PATH=/venv/bin:$PATH\n"
        'WORKDIR /app\nCOPY app.py .\nCMD ["python", "app.py"]\n',
        ".dockerignore": "/.git\n.env*\n/data\n__pycache__\n**/__pycache__\n.pytest_cache\n",
    },
}

CHEATS = {
    # Dockerfile.slim leaves the dependency out (smaller, and not the same app), and the
    # ignore file forgets .env
    "slim-skips-install-and-env": (
        {
            "Dockerfile.slim": 'FROM python:3.11-slim\nWORKDIR /app\nCOPY app.py .\nCMD ["python", "app.py"]\n',
            ".dockerignore": "data/\n.git/\n**/__pycache__/\n.pytest_cache/\n",
        },
        {"slim", "kept", "context"},
        "humanize==4.9.0",
    ),
}


def _ex09(tmp_path, files):
    folder = solution_copy("09_benchmark", tmp_path / "ex09")
    for rel, text in files.items():
        (folder / rel).write_text(text)
    return folder


def test_pins_are_the_starters():
    from helpers.checks import _pinned
    from helpers.checks import ex09_benchmark as ex09

    assert _pinned.pins((STARTER / "requirements.txt").read_text()) == ex09.PINS


@pytest.mark.parametrize("name", list(ALTERNATIVES))
def test_alternative_answers_score_full(tmp_path, base_images, name):
    assert_full_score(check("09", path=_ex09(tmp_path, ALTERNATIVES[name])))


@pytest.mark.parametrize("name", list(CHEATS))
def test_cheats_fail_exactly_their_items(tmp_path, base_images, name):
    files, failing, hint_has = CHEATS[name]
    rep = check("09", path=_ex09(tmp_path, files))
    failed = assert_fails_exactly(rep, failing, by="key")
    assert any(hint_has in r.hint for r in failed), str(rep)
