"""Ownership on a shared engine: runs never share a name, and a run whose process died is swept."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid

import pytest

from helpers import engine, ownership, waiting
from tests.conftest import ROOT

# ``serial``: its sweep removes what any dead process left, and it asserts something was left
pytestmark = [pytest.mark.docker, pytest.mark.serial]


def start_check(run_id: str, folder, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "SHIPSHAPE_RUN_ID": run_id}
    return subprocess.Popen(
        [sys.executable, "-m", "helpers", "check", "00", "--path", str(folder), *extra],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def left(run_id: str) -> dict[str, list[str]]:
    return {k: v for k, v in engine.leftovers(run=run_id).items() if v}


def running(run_id: str) -> list[str]:
    flt = {"label": [f"{engine.RUN_LABEL}={run_id}"], "status": "running"}
    return [c.name for c in engine.client().containers.list(filters=flt)]


def test_two_checks_of_one_folder_at_once(base_images):
    """Same folder, two processes, two run ids: two tags, two correct verdicts, nothing left."""
    runs = [f"own-a-{uuid.uuid4().hex[:6]}", f"own-b-{uuid.uuid4().hex[:6]}"]
    folder = ROOT / "solutions" / "00_warmup"
    procs = [start_check(r, folder, "--json") for r in runs]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, out + err
        data = json.loads(out)
        assert data["passed"] and data["score"] == data["max_score"]
    assert [json.loads(o)["run_id"] for o, _ in outs] == runs
    for r in runs:
        assert not left(r), left(r)


def test_a_killed_run_is_swept(tmp_path, base_images):
    """kill -9 mid-check leaves its container; the next check() on this host removes it."""
    (tmp_path / "greet.py").write_text(
        "import time\nprint('hello from shipshape', flush=True)\ntime.sleep(300)\n"
    )
    (tmp_path / "Dockerfile").write_text(
        'FROM python:3.11-slim\nWORKDIR /app\nCOPY greet.py .\nCMD ["python", "greet.py"]\n'
    )
    run = f"own-k-{uuid.uuid4().hex[:6]}"
    proc = start_check(run, tmp_path)
    waiting.holds(lambda: proc.poll() is not None or running(run), timeout_s=300)
    # running, not merely created: a build's own intermediate containers come and go
    assert running(run), "the check never started its container"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert left(run).get("containers"), "nothing was left to sweep"
    swept = ownership.sweep_dead_runs()
    assert swept["containers"] >= 1
    assert not left(run), left(run)


def test_a_live_run_is_not_swept(base_images):
    """This process is alive: its own resources are never taken for a dead run's."""
    from helpers import containers

    with containers.running("python:3.11-slim", ["sleep", "30"]) as ctr:
        ownership.sweep_dead_runs()
        ctr.reload()
        assert ctr.status == "running"


def test_a_dead_runs_untagged_image_is_swept(tmp_path, base_images):
    """A process that died after its tag moved on (or mid-build) leaves an untagged image:
    the sweep removes it by id, as it removes the dead run's tagged ones (CI's stop 21 found
    one such image, left by a killed test run, hours later)."""
    run = f"own-u-{uuid.uuid4().hex[:6]}"
    script = (
        "import pathlib, sys\n"
        "from helpers import images\n"
        "d = pathlib.Path(sys.argv[1])\n"
        "for n in (1, 2):  # the second build takes the tag: the first image is left untagged\n"
        "    (d / 'Dockerfile').write_text(f'FROM python:3.11-slim\\nLABEL take={n}\\n')\n"
        "    images.build(d, tag='shipshape-own-u:latest', on_event=None)\n"
    )
    env = {**os.environ, "SHIPSHAPE_RUN_ID": run}
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    before = left(run).get("images", [])
    assert "shipshape-own-u:latest" in before and len(before) == 2, before
    swept = ownership.sweep_dead_runs()
    assert swept["images"] >= 2, swept
    assert not left(run), left(run)
