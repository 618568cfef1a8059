"""Exercise 00 proven both ways, the CLI's exit codes, and an interrupted check."""

import json
import signal
import subprocess
import sys
import time

import pytest

from helpers import check, engine
from tests.conftest import ROOT, checked

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
    assert rep.error is None, rep.error
    assert rep.score == rep.max_score, str(rep)
    greets = next(r for r in rep.results if r.name == "it prints the greeting")
    assert greets.evidence["replaced"].endswith("greet.py")  # the probe really swapped it
    assert resource_counts() == before


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "helpers", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cli_exit_codes_and_json(base_images):
    ok = cli("check", "00", "--path", "solutions/00_warmup", "--json")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    data = json.loads(ok.stdout)
    assert data["passed"] and data["score"] == data["max_score"]
    assert all("evidence" in r for r in data["results"])
    bad = cli("check", "00")
    assert bad.returncode == 1 and "hint:" in bad.stdout
    missing = cli("check", "00", "--path", "no/such/folder")
    assert missing.returncode == 2 and "is not a folder" in missing.stdout


def test_interrupted_check_leaves_nothing(base_images, resource_counts, tmp_path):
    """Ctrl-C (SIGINT) while the check's container runs: it is removed all the same."""
    (tmp_path / "greet.py").write_text(
        "import time\nprint('hello from shipshape', flush=True)\ntime.sleep(120)\n"
    )
    (tmp_path / "Dockerfile").write_text(
        'FROM python:3.11-slim\nWORKDIR /app\nCOPY greet.py .\nCMD ["python", "greet.py"]\n'
    )
    before = resource_counts()
    # restore SIGINT's default in the child: a shell's background job starts with it ignored
    proc = subprocess.Popen(
        [sys.executable, "-m", "helpers", "check", "00", "--path", str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 120
    seen = False
    while time.monotonic() < deadline and proc.poll() is None:
        if resource_counts()["containers"] > before["containers"]:
            seen = True
            break
        time.sleep(0.2)
    assert seen, "the check never started its container"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    assert resource_counts() == before, engine.leftovers()
