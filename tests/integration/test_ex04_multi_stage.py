"""Exercise 04 proven both ways: the starter fails with hints, the solution passes, and
realistic wrong answers each fail exactly the item they should."""

import shutil
import subprocess

import pytest

from helpers import check
from helpers.checks import _size_common as sc
from helpers.checks import ex04_multi_stage as ex04
from tests.conftest import ROOT, checked
from tests.support import assert_fails_exactly, assert_full_score

pytestmark = [pytest.mark.docker]

SOLUTION = ROOT / "solutions" / "04_multi_stage"
STARTER = ROOT / "exercises" / "04_multi_stage"

# The solution's builder stage, verbatim, so every variant shares its layer cache.
BUILDER = (
    "FROM python:3.11-slim AS builder\n"
    "RUN apt-get update \\\n"
    "    && apt-get install -y --no-install-recommends gcc libc6-dev libpq-dev \\\n"
    "    && rm -rf /var/lib/apt/lists/*\n"
    "WORKDIR /app\nCOPY requirements.txt .\n"
    "RUN pip install --no-cache-dir --prefix=/install -r requirements.txt\n"
)
RUNTIME_TAIL = 'COPY --from=builder /install /usr/local\nWORKDIR /app\nCOPY app.py .\nCMD ["python", "app.py"]\n'


def runtime(packages: str) -> str:
    return (
        "FROM python:3.11-slim\n"
        "RUN apt-get update \\\n"
        f"    && apt-get install -y --no-install-recommends {packages} \\\n"
        "    && rm -rf /var/lib/apt/lists/*\n"
    )


WRONG = {
    # two stages, but the runtime library was left behind with the compiler
    "no-runtime-library": (
        BUILDER + "FROM python:3.11-slim\n" + RUNTIME_TAIL,
        {ex04.N_APP},
    ),
    # the -dev package instead of the runtime one: works, small, but ships headers
    "dev-package-in-runtime": (
        BUILDER + runtime("libpq-dev") + RUNTIME_TAIL,
        {ex04.N_COMPILER},
    ),
    # the builder's apt line pasted into the final stage: the compiler ships again
    "compiler-in-final-stage": (
        BUILDER + runtime("gcc libc6-dev libpq-dev") + RUNTIME_TAIL,
        {ex04.N_COMPILER, ex04.N_SIZE},
    ),
    # one stage, tools purged in a later layer: gcc-12 stays, and so do the bytes
    "single-stage-purge-later": (
        (STARTER / "Dockerfile")
        .read_text()
        .replace("COPY app.py .", "RUN apt-get purge -y gcc libc6-dev libpq-dev\nCOPY app.py ."),
        {ex04.N_STAGES, ex04.N_COMPILER, ex04.N_SIZE, ex04.N_BUILDER},
    ),
}


def test_pristine_baseline_is_the_committed_starter():
    kept = sc.pristine(ex04.SLUG)
    files = sorted(p.relative_to(kept) for p in kept.rglob("*") if p.is_file())
    assert {str(f) for f in files} >= {"Dockerfile", "app.py", "requirements.txt"}
    for rel in files:
        committed = subprocess.run(
            ["git", "show", f"HEAD:exercises/{ex04.SLUG}/{rel}"], cwd=ROOT, capture_output=True
        )
        want = committed.stdout if committed.returncode == 0 else (STARTER / rel).read_bytes()
        assert (kept / rel).read_bytes() == want, rel


def test_starter_fails_with_hints(base_images, resource_counts):
    before = resource_counts()
    rep = checked("04")
    assert rep.error is None, rep.error
    by = {r.name: r for r in rep.results}
    assert {r.name for r in rep.failed()} == {
        ex04.N_STAGES,
        ex04.N_COMPILER,
        ex04.N_SIZE,
        ex04.N_BUILDER,
    }, str(rep)
    assert (
        "AS builder" in by[ex04.N_STAGES].hint and "COPY --from=builder" in by[ex04.N_STAGES].hint
    )
    assert "/usr/bin/gcc" in by[ex04.N_COMPILER].evidence["compilers"]
    assert "libpq5" in by[ex04.N_COMPILER].hint
    assert "--target builder" in by[ex04.N_BUILDER].hint
    assert by[ex04.N_APP].passed  # it works: it just ships a compiler
    assert resource_counts() == before


def test_solution_evidence(base_images):
    """The solution's own evidence (passing at full score is the contract test's)."""
    rep = checked("04", "solution")
    by = {r.name: r for r in rep.results}
    assert "gcc: not found" in by[ex04.N_COMPILER].message
    assert by[ex04.N_SIZE].evidence["ratio"] < 0.5  # measured ~0.39
    assert (
        by[ex04.N_BUILDER].evidence["builder_bytes"]
        > 2 * by[ex04.N_BUILDER].evidence["final_bytes"]
    )


@pytest.mark.parametrize("name", list(WRONG))
def test_wrong_answers_fail_exactly_their_item(tmp_path, base_images, name):
    dockerfile, failing = WRONG[name]
    assert_fails_exactly(check("04", path=_folder(tmp_path, dockerfile)), failing)


# --- issue 11: correct alternatives pass at full score; cheats fail exactly their items ---

ALTERNATIVES = {
    # wheels built in a stage named "build", installed through a BuildKit bind mount of it
    "wheels-through-run-mount": (
        "FROM python:3.11-slim AS build\n"
        "RUN apt-get update \\\n"
        "    && apt-get install -y --no-install-recommends gcc libc6-dev libpq-dev \\\n"
        "    && rm -rf /var/lib/apt/lists/*\n"
        "COPY requirements.txt /src/\n"
        "RUN pip wheel --no-cache-dir --wheel-dir=/wheels -r /src/requirements.txt\n"
        "FROM python:3.11-slim\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends libpq5 "
        "&& apt-get clean && rm -rf /var/lib/apt/lists/*\n"
        "RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \\\n"
        "    pip install --no-cache-dir --no-index /wheels/*.whl\n"
        'WORKDIR /srv\nCOPY app.py .\nCMD ["python", "app.py"]\n'
    ),
    # a virtualenv compiled in the builder, copied whole; its python is first on the PATH
    "venv-copied": (
        # the solution's apt line, verbatim, so the layer cache serves it
        BUILDER.split("WORKDIR")[0].replace("AS builder", "AS compile")
        + "RUN python -m venv /opt/venv\n"
        "COPY requirements.txt .\n"
        "RUN /opt/venv/bin/pip install --no-cache-dir -r requirements.txt\n"
        "FROM python:3.11-slim\n"
        "RUN apt-get update \\\n"
        "    && apt-get install -y --no-install-recommends libpq5 \\\n"
        "    && rm -rf /var/lib/apt/lists/*\n"
        "COPY --from=compile /opt/venv /opt/venv\n"
        'ENV PATH="/opt/venv/bin:$PATH"\n'
        'WORKDIR /app\nCOPY app.py .\nCMD ["python", "app.py"]\n'
    ),
}

CHEATS = {
    # the binary wheel bundles libpq: no compiler anywhere, one stage, the lesson skipped
    "psycopg2-binary-one-stage": (
        "FROM python:3.11-slim\n"
        "RUN pip install --no-cache-dir psycopg2-binary==2.9.10\n"
        'WORKDIR /app\nCOPY app.py .\nCMD ["python", "app.py"]\n',
        {},
        {"stages", "kept", "size", "builder_larger"},
        "psycopg2-binary",
    ),
    # two stages, but the pin swapped for the binary variant in requirements.txt
    "pin-swapped-for-binary": (
        BUILDER + runtime("libpq5") + RUNTIME_TAIL,
        {"requirements.txt": "psycopg2-binary==2.9.10\n"},
        {"kept", "size"},
        "Restore requirements.txt from the starter",
    ),
}


def _folder(tmp_path, dockerfile: str, edits: dict[str, str] | None = None):
    for rel in ("app.py", "requirements.txt"):
        shutil.copy(STARTER / rel, tmp_path / rel)
    (tmp_path / "Dockerfile").write_text(dockerfile)
    for rel, text in (edits or {}).items():
        (tmp_path / rel).write_text(text)
    return tmp_path


@pytest.mark.parametrize("name", list(ALTERNATIVES))
def test_alternative_answers_score_full(tmp_path, base_images, name):
    assert_full_score(check("04", path=_folder(tmp_path, ALTERNATIVES[name])))


@pytest.mark.parametrize("name", list(CHEATS))
def test_cheats_fail_exactly_their_items(tmp_path, base_images, name):
    dockerfile, edits, failing, hint_has = CHEATS[name]
    rep = check("04", path=_folder(tmp_path, dockerfile, edits))
    assert_fails_exactly(rep, failing, by="key")
    kept = next(r for r in rep.results if r.key == "kept")
    assert hint_has in kept.hint + kept.message, kept
