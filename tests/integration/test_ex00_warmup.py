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
    ],
    ids=["no-cmd", "full-base", "wrong-file"],
)
def test_wrong_answers_fail_exactly_their_item(tmp_path, base_images, dockerfile, failing):
    (tmp_path / "greet.py").write_text((ROOT / "exercises/00_warmup/greet.py").read_text())
    (tmp_path / "Dockerfile").write_text(dockerfile)
    rep = check("00", path=tmp_path)
    assert {r.name for r in rep.results if not r.passed} == failing, str(rep)
    for r in rep.results:
        if not r.passed:
            assert r.hint, f"{r.name} failed without a hint"


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
