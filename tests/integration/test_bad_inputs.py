"""Bad input never reaches a learner or a grader as a traceback.

Each case runs the real CLI on a real broken folder and asks for a scored report (exit 0/1)
or a one-paragraph "could not run" (exit 2) with a hint, and no line starting with
``Traceback``. The cases are the ones that used to escape: a worker that crashes at start,
a mistyped CMD, an unreadable ``.dockerignore``, a malformed compose file, and an image
without a shell given to ``audit --image``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers import images
from helpers.checks import find_module
from helpers.findings import NOT_JUDGED
from tests.conftest import ROOT, run_leftovers, solution_copy
from tests.support import helpers_cli

pytestmark = [pytest.mark.docker]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return helpers_cli(*args, timeout=900)


def no_traceback(out: subprocess.CompletedProcess[str]) -> None:
    text = out.stdout + out.stderr
    assert not [ln for ln in text.splitlines() if ln.startswith("Traceback")], text[-3000:]


def check_json(exercise: str, folder: Path) -> tuple[int, dict]:
    out = cli("check", exercise, "--path", str(folder), "--json")
    no_traceback(out)
    assert out.returncode in (0, 1, 2), out.stdout + out.stderr
    return out.returncode, json.loads(out.stdout)


def items(data: dict) -> dict[str, dict]:
    return {r["key"]: r for r in data["results"]}


def test_worker_that_crashes_at_start(tmp_path, base_images):
    folder = solution_copy("10_graceful_shutdown", tmp_path / "ex10")
    (folder / "worker.py").write_text(
        "import sys\nprint('worker: started', flush=True)\n"
        "raise SystemExit('worker: cannot reach the queue')\n"
    )
    code, data = check_json("10", folder)
    assert code == 1 and data["error"] is None
    by = items(data)
    for key in ("quick", "exit0", "cleanup", "pid1", "sigint"):  # all judged on the run
        assert by[key]["status"] == NOT_JUDGED, by[key]
        assert "exited" in by[key]["message"] and by[key]["hint"]
    assert data["max_score"] == find_module("10").RUBRIC.max_score
    assert not run_leftovers()


# the Dockerfile is the learner's answer in both (03 says to keep its Dockerfile: there a
# changed one fails `kept`, and the ignore file is judged with the shipped one put back)
@pytest.mark.parametrize(("exercise", "slug"), [("06", "06_json_logging"), ("00", "00_warmup")])
def test_mistyped_cmd(tmp_path, base_images, exercise, slug):
    folder = solution_copy(slug, tmp_path / slug)
    df = folder / "Dockerfile"
    df.write_text(df.read_text().replace('CMD ["python"', 'CMD ["pyhton"'))
    assert "pyhton" in df.read_text()
    code, data = check_json(exercise, folder)
    assert code == 1 and data["error"] is None
    skipped = [r for r in data["results"] if r["status"] == NOT_JUDGED]
    assert skipped, data
    for r in skipped:
        assert "pyhton" in r["message"] or "executable file not found" in r["message"]
        assert "CMD" in r["hint"]
    assert not run_leftovers()


@pytest.mark.parametrize("how", ["a-folder", "not-utf8"])
def test_unreadable_dockerignore(tmp_path, base_images, how):
    folder = tmp_path / "ex03"
    shutil.copytree(ROOT / "exercises" / "03_dockerignore", folder)
    ignore = folder / ".dockerignore"
    ignore.unlink()
    if how == "a-folder":
        ignore.mkdir()
    else:
        ignore.write_bytes(b"data\n\xff\xfe .env\n")
    code, data = check_json("03", folder)
    assert code in (1, 2), data
    assert data["max_score"] == find_module("03").RUBRIC.max_score
    failed = [r for r in data["results"] if not r["passed"]]
    assert failed and all(r["hint"] for r in failed), data
    assert not run_leftovers()


COMPOSE_BROKEN = "services:\n  api:\n    build: .\n    ports: [8000\n"


@pytest.mark.parametrize(
    ("exercise", "slug"), [("02", "02_healthcheck"), ("05", "05_resource_limits")]
)
def test_malformed_compose_file(tmp_path, exercise, slug):
    folder = tmp_path / slug
    shutil.copytree(ROOT / "exercises" / slug, folder)
    (folder / "compose.yaml").write_text(COMPOSE_BROKEN)
    code, data = check_json(exercise, folder)
    assert code == 1 and data["error"] is None
    assert all(r["status"] == NOT_JUDGED and r["hint"] for r in data["results"]), data
    assert data["max_score"] == find_module(exercise).RUBRIC.max_score
    audit = cli("audit", str(folder))
    no_traceback(audit)
    assert audit.returncode == 2 and "YAML" in audit.stderr, audit.stderr
    assert not run_leftovers()


def test_audit_of_an_image_without_a_shell(tmp_context, base_images):
    tmp_context.write("hello.txt", "hi\n")
    tmp_context.write("Dockerfile", "FROM scratch\nCOPY hello.txt /\n")
    tag = images.temp_tag("audit-scratch", tmp_context)
    images.build(tmp_context, tag, on_event=None, timeout_s=120)
    try:
        out = cli("audit", str(tmp_context), "--image", tag, "--json")
    finally:
        images.remove(tag)
    no_traceback(out)
    assert out.returncode in (0, 1), out.stderr
    data = json.loads(out.stdout)
    assert data["items"], data
    assert not run_leftovers()


def test_a_hostile_variants_py_never_runs_on_the_host(base_images, tmp_path: Path):
    """Exercise 09 reads the learner's variants.py in a sandbox container, not in this process."""
    folder = solution_copy("09_benchmark", tmp_path / "09_benchmark")
    marker = tmp_path / "host-was-touched"
    (folder / "variants.py").write_text(
        "import pathlib, urllib.request\n"
        f"pathlib.Path({str(marker)!r}).write_text('x')\n"
        "urllib.request.urlopen('http://169.254.169.254/', timeout=3)\n"
    )
    out = cli("check", "09", "--path", str(folder), "--json")
    no_traceback(out)
    rep = json.loads(out.stdout)
    assert out.returncode == 1 and rep["score"] < rep["max_score"]
    assert any("variants.py does not load" in r["message"] for r in rep["results"]), rep
    assert not marker.exists()  # the file system the code saw was not the host's
    assert not run_leftovers()
