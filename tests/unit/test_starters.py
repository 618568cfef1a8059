"""Untouched starters, reference solutions on purpose, and the learner copy (no engine)."""

import subprocess
import sys

import pytest

from helpers import starters
from tests.conftest import ROOT


def test_pristine_is_the_committed_starter_not_a_live_folder():
    with starters.pristine("00") as fresh:
        assert (fresh / "Dockerfile").read_text().count("TODO") >= 2
        assert fresh.resolve() != (ROOT / "exercises" / "00_warmup").resolve()


def test_solution_is_a_diff_against_the_learners_folder():
    diff = starters.solution_diff("00")
    assert "--- yours/Dockerfile" in diff and "+++ solution/Dockerfile" in diff
    assert '+CMD ["python", "greet.py"]' in diff


def test_cli_solution_warns_first():
    r = subprocess.run(
        [sys.executable, "-m", "helpers", "solution", "00"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0 and "warning" in r.stderr and "+++ solution/Dockerfile" in r.stdout


def test_learner_copy_has_no_solutions_but_keeps_untouched_starters(tmp_path):
    out = starters.learner_copy(tmp_path / "course")
    assert not (out / "solutions").exists()
    assert (out / ".starters" / "00_warmup" / "Dockerfile").is_file()
    assert (out / "notebooks" / "00_setup.ipynb").is_file() and (out / "helpers").is_dir()
    with pytest.raises(FileExistsError):
        starters.learner_copy(out)  # never over a folder that holds something
