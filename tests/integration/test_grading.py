"""Class grading against the real engine: a small synthetic class, SIGKILL, ports, engine down.

The class (helpers.grading.synthetic.small_class_plan) covers every status: completed right and
wrong answers, a build that hangs (timeout), a memory hog (stopped at the ceiling), a
privileged compose file (rejected, never run), an archive handed in with ``submit``, one that
tries to escape its folder (rejected) and a student who handed nothing in (missing).
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import engine
from helpers.grading import runner, synthetic
from tests.conftest import ROOT

pytestmark = [pytest.mark.docker, pytest.mark.slow]

HANG_TIMEOUT_S = 45  # the grader's per-exercise deadline in these tests


def grade(subs: Path, out: Path, *extra: str, env: dict | None = None, check: bool = True):
    cmd = [sys.executable, "-m", "helpers", "grade", "ps1", "--submissions", str(subs)]
    cmd += ["--out", str(out), "--timeout", str(HANG_TIMEOUT_S), *extra]
    r = subprocess.run(
        cmd, capture_output=True, text=True, cwd=ROOT, env={**os.environ, **(env or {})}
    )
    assert "Traceback" not in r.stdout + r.stderr, r.stderr
    if check:
        assert r.returncode == 0, r.stdout + r.stderr
    return r


def results(out: Path) -> dict[tuple[str, str], dict]:
    got = {}
    for p in out.glob("results/*/*/*.json"):
        r = json.loads(p.read_text())
        key = (r["student"], r["exercise"])
        assert key not in got, f"duplicate result for {key}"
        got[key] = r
    return got


def engine_events(run_id: str, since: float) -> list[dict]:
    c = engine.client()
    flt = {"label": [f"{engine.RUN_LABEL}={run_id}"]}
    return list(
        c.events(since=int(since) - 1, until=int(time.time()) + 1, filters=flt, decode=True)
    )


def assert_nothing_left(rs: dict) -> None:
    for r in rs.values():
        run_id = r.get("run_id")
        if not run_id:
            continue
        left = {k: v for k, v in engine.leftovers(run=run_id).items() if v}
        assert not left, f"{r['student']} {r['exercise']} left {left}"
        assert not runner.run_processes(run_id), f"processes of {run_id} still run"


def test_small_class_every_status(base_images, tmp_path: Path) -> None:
    plan = synthetic.small_class_plan()
    subs = synthetic.make_class(tmp_path / "submitted", plan)
    out = tmp_path / "gradebook"
    t0 = time.time()
    r = grade(subs, out, "--jobs", "2", "--duedate", "2030-01-01T00:00Z")
    got = results(out)
    # every student x every exercise of the assignment; what was not handed in is "missing"
    students, exercises = {p.student for p in plan}, {p.exercise for p in plan}
    planned = {(p.student, p.exercise) for p in plan}
    assert set(got) == {(s, x) for s in students for x in exercises}
    for key in set(got) - planned:
        assert got[key]["status"] == "missing" and got[key]["max_score"] is None
    for p in plan:
        res = got[(p.student, p.exercise)]
        assert res["status"] == p.status, (p, res["status"], res["message"])
        if p.full_marks is True:
            assert res["score"] == res["max_score"] > 0, (p, res["report"])
        elif p.full_marks is False:
            assert 0 <= res["score"] < res["max_score"], (p, res["report"])
        if p.status == "rejected":
            assert res["message"] and res["report"] is None
    # the privileged one never reached the engine: no event of its run at all
    eve = got[("eve", "02")]
    assert "privileged" in eve["message"] and "services.api.privileged" in eve["message"]
    assert engine_events(eve["run_id"], t0) == []
    # the hanging build ended as a timeout; every other grade is in the CSV
    assert "did not finish within" in got[("cy", "00")]["message"]
    rows = list(csv.DictReader((out / "grades.csv").open(encoding="utf-8")))
    assert sorted(row["student_id"] for row in rows) == sorted({p.student for p in plan})
    assert all(float(row["max_score"]) > 0 for row in rows)
    ada = next(row for row in rows if row["student_id"] == "ada")
    # ada solved 00 and handed nothing in for 02: 5 of 5 + 10 (02's maximum, still counted)
    assert (float(ada["ex00"]), ada["ex02"], ada["status"]) == (5.0, "", "02=missing")
    assert float(ada["score"]) == 5.0 and float(ada["max_score"]) == 15.0
    # feedback per student, the overview, the per-item table
    for p in plan:
        assert (out / "feedback" / p.student / "ps1" / "index.html").is_file()
    assert (out / "overview.png").read_bytes()[:4] == b"\x89PNG"
    assert "the image builds" in (out / "item_pass_rates.csv").read_text()
    # the dee memory hog was stopped by the grader's ceiling, not by the host
    dee = got[("dee", "00")]
    assert dee["limits"].startswith("memory=2g") and dee["report"]["results"]
    assert_nothing_left(got)
    assert not list((out / ".work").glob("*"))  # the graded copies are gone
    # a second run grades nothing: every result key is unchanged
    again = grade(subs, out)  # the due date is kept in the gradebook
    assert "graded 0" in again.stdout and results(out) == got
    assert "[" in r.stderr  # the progress lines went to the terminal


def test_sigkill_mid_run_loses_nothing(base_images, tmp_path: Path) -> None:
    plan = [
        synthetic.Planned("ada", "00", "solution", "completed", True),
        synthetic.Planned("bob", "00", "hanging-build", "timeout"),
        synthetic.Planned("cy", "00", "starter", "completed", False),
    ]
    subs = synthetic.make_class(tmp_path / "submitted", plan)
    out = tmp_path / "gradebook"
    cmd = [sys.executable, "-m", "helpers", "grade", "ps1", "--submissions", str(subs)]
    cmd += ["--out", str(out), "--timeout", str(HANG_TIMEOUT_S)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    inflight = out / ".inflight"
    deadline = time.monotonic() + 120
    # wait until ada is graded and the check of bob's hanging build is running
    killed_run = ""
    while time.monotonic() < deadline and not killed_run:
        assert proc.poll() is None, "the grader ended before it could be killed"
        if (out / "results/ada/ps1/00.json").is_file():
            running = [p.read_text() for p in inflight.glob("*") if p.is_file()]
            killed_run = next((r for r in running if runner.run_processes(r)), "")
        time.sleep(0.2)
    assert killed_run, "the grader never reached bob's submission"
    before = results(out)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert runner.run_processes(killed_run), "the killed grader's check should still be running"
    grade(subs, out)
    got = results(out)
    assert set(got) == {("ada", "00"), ("bob", "00"), ("cy", "00")}
    assert got[("ada", "00")] == before[("ada", "00")]  # kept, not regraded
    assert got[("bob", "00")]["status"] == "timeout"
    assert not runner.run_processes(killed_run)
    assert not {k: v for k, v in engine.leftovers(run=killed_run).items() if v}
    assert not list(inflight.glob("*"))
    assert not list((out / ".work").glob("*"))  # the killed run's copy was swept too
    assert_nothing_left(got)
    rows = list(csv.DictReader((out / "grades.csv").open(encoding="utf-8")))
    assert sorted(row["student_id"] for row in rows) == ["ada", "bob", "cy"]


def test_same_published_port_in_parallel(base_images, tmp_path: Path) -> None:
    plan = [
        synthetic.Planned("ada", "02", "published-port", "completed", True),
        synthetic.Planned("bob", "02", "published-port", "completed", True),
    ]
    subs = synthetic.make_class(tmp_path / "submitted", plan)
    out = tmp_path / "gradebook"
    grade(subs, out, "--jobs", "2")
    got = results(out)
    for key in (("ada", "02"), ("bob", "02")):
        r = got[key]
        assert r["status"] == "completed" and r["score"] == r["max_score"], r["report"]
        assert r["port_rewrites"] == ["services.api.ports: 18080:8000 -> 8000"]
    # the learner's own files still publish the port: only the grader's copy changed
    assert "18080:8000" in (subs / "ada/ps1/02_healthcheck/compose.yaml").read_text()
    assert_nothing_left(got)


def test_engine_down_is_an_error_and_regraded_later(base_images, tmp_path: Path) -> None:
    plan = [synthetic.Planned("ada", "00", "solution", "completed", True)]
    subs = synthetic.make_class(tmp_path / "submitted", plan)
    out = tmp_path / "gradebook"
    grade(subs, out, env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    first = results(out)[("ada", "00")]
    assert first["status"] == "error" and "could not run" in first["message"]
    grade(subs, out)  # resume retries grader-side errors
    assert results(out)[("ada", "00")]["status"] == "completed"


def test_submit_packs_with_the_learners_own_check(base_images, tmp_path: Path) -> None:
    folder = tmp_path / "00_warmup"
    synthetic.MAKERS["solution"]("00", folder)
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "greet.cpython-311.pyc").write_bytes(b"\0")
    out = tmp_path / "hand-in.tar.gz"
    r = subprocess.run(
        [sys.executable, "-m", "helpers", "submit", "00", "--path", str(folder), "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert r.returncode == 0, r.stderr
    assert "your check: 5/5" in r.stdout and "left out __pycache__/" in r.stdout
    from helpers.grading import archive

    manifest = archive.safe_extract(out, tmp_path / "x")
    assert manifest["last_check"]["passed"] is True
    assert set(manifest["files"]) == {"Dockerfile", "README.md", "greet.py"}
