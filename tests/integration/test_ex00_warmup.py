"""Exercise 00 proven both ways, the CLI's exit codes, and an interrupted check."""

import json

import pytest

from helpers import check
from tests.conftest import ROOT, checked
from tests.support import assert_full_score, helpers_cli, interrupt_check

pytestmark = [pytest.mark.docker]


def test_starter_fails_with_hints(base_images, resource_counts):
    before = resource_counts()
    rep = checked("00")
    assert rep.error is None
    assert not rep.passed and rep.score < rep.max_score
    by_name = {r.name: r for r in rep.results}
    pinned = by_name["the base image is a specific slim tag"]
    assert not pinned.passed and "python:3.11-slim" in pinned.hint and "DL3007" in pinned.hint
    assert resource_counts() == before


@pytest.mark.parametrize(
    ("dockerfile", "failing"),
    [
        # slim base but no CMD: runs the base image's python REPL, prints nothing
        ("FROM python:3.11-slim\nWORKDIR /app\nCOPY greet.py .\n", {"it prints the greeting"}),
        # the full image: works, but not slim
        (
            'FROM python:3.11\nWORKDIR /app\nCOPY greet.py .\nCMD ["python", "greet.py"]\n',
            {"the base image is a specific slim tag"},
        ),
        # copies a file that is not there
        (
            'FROM python:3.11-slim\nCOPY app.py .\nCMD ["python", "app.py"]\n',
            {"the image builds", "it prints the greeting"},
        ),
        # issue 11, kind 3: the right words, but not from the script
        (
            'FROM python:3.11-slim\nCMD ["echo", "hello from shipshape"]\n',
            {"it prints the greeting"},
        ),
        (
            "FROM python:3.11-slim\nWORKDIR /app\nCOPY greet.py .\n"
            'CMD ["python", "-c", "print(\'hello from shipshape\')"]\n',
            {"it prints the greeting"},
        ),
        # a slim first stage does not make the final image slim
        (
            "FROM python:3.11-slim AS deps\nFROM python:3.11\nWORKDIR /app\nCOPY greet.py .\n"
            'CMD ["python", "greet.py"]\n',
            {"the base image is a specific slim tag"},
        ),
    ],
    ids=["no-cmd", "full-base", "wrong-file", "echo", "python-c", "slim-only-in-first-stage"],
)
def test_wrong_answers_fail_exactly_their_item(tmp_path, base_images, dockerfile, failing):
    (tmp_path / "greet.py").write_text((ROOT / "exercises/00_warmup/greet.py").read_text())
    (tmp_path / "Dockerfile").write_text(dockerfile)
    rep = check("00", path=tmp_path)
    assert {r.name for r in rep.results if not r.passed} == failing, str(rep)
    for r in rep.results:
        if not r.passed:
            assert r.hint, f"{r.name} failed without a hint"
    if "echo" in dockerfile or "-c" in dockerfile:
        hint = next(r.hint for r in rep.results if not r.passed)
        assert "run the script" in hint and 'CMD ["python", "greet.py"]' in hint


@pytest.mark.parametrize(
    "dockerfile",
    [
        # the tag from an ARG, a named stage, ENTRYPOINT + CMD split
        "ARG PYTHON_TAG=3.11-slim\nFROM python:${PYTHON_TAG} AS base\nWORKDIR /srv\n"
        'COPY greet.py .\n\nFROM base\nENTRYPOINT ["python"]\nCMD ["greet.py"]\n',
        # no WORKDIR, an absolute path, the shell form (the warm-up does not judge the form)
        "FROM python:3.11-slim\nCOPY greet.py /opt/greet/greet.py\nCMD python3 -u /opt/greet/greet.py\n",
    ],
    ids=["arg-and-stage", "absolute-path-shell-form"],
)
def test_alternative_answers_score_the_maximum(tmp_path, base_images, resource_counts, dockerfile):
    before = resource_counts()
    (tmp_path / "greet.py").write_text((ROOT / "exercises/00_warmup/greet.py").read_text())
    (tmp_path / "Dockerfile").write_text(dockerfile)
    rep = check("00", path=tmp_path)
    assert_full_score(rep)
    greets = next(r for r in rep.results if r.name == "it prints the greeting")
    assert greets.evidence["replaced"].endswith("greet.py")  # the probe really swapped it
    assert resource_counts() == before


def test_cli_exit_codes_and_json(base_images):
    ok = helpers_cli("check", "00", "--path", "solutions/00_warmup", "--json")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    data = json.loads(ok.stdout)
    assert data["passed"] and data["score"] == data["max_score"]
    assert all("evidence" in r for r in data["results"])
    bad = helpers_cli("check", "00")
    assert bad.returncode == 1 and "hint:" in bad.stdout
    missing = helpers_cli("check", "00", "--path", "no/such/folder")
    assert missing.returncode == 2 and "is not a folder" in missing.stdout


def test_interrupted_check_leaves_nothing(base_images, resource_counts, tmp_path):
    """Ctrl-C (SIGINT) while the check's container runs: it is removed all the same."""
    (tmp_path / "greet.py").write_text(
        "import time\nprint('hello from shipshape', flush=True)\ntime.sleep(120)\n"
    )
    (tmp_path / "Dockerfile").write_text(
        'FROM python:3.11-slim\nWORKDIR /app\nCOPY greet.py .\nCMD ["python", "greet.py"]\n'
    )
    interrupt_check("00", tmp_path, resource_counts, start_within_s=120, stop_within_s=60)


def test_interrupted_build_leaves_nothing(base_images, resource_counts, tmp_path):
    """Ctrl-C in the build's last step (the LABEL step the engine adds for the run's
    labels): the engine still commits it after the client has gone, untagged; the check's
    cleanup waits for that commit and removes the image (before: an untagged image of the
    run was left behind, intermittently, depending on when the signal landed)."""
    (tmp_path / "greet.py").write_text(f"print('hello from shipshape')  # {tmp_path.name}\n")
    (tmp_path / "Dockerfile").write_text(
        'FROM python:3.11-slim\nWORKDIR /app\nCOPY greet.py .\nCMD ["python", "greet.py"]\n'
    )
    interrupt_check(
        "00", tmp_path, resource_counts, start_within_s=120, stop_within_s=60, during="build"
    )
