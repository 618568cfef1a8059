"""Class grading, the parts that need no engine: policy, archives, gradebook, outputs."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from helpers.grading import archive, gradebook, outputs, policy
from helpers.grading.gradebook import Gradebook, GradebookLocked

SUB = Path("/submissions/ada/01_optimize_image")


def rules(model: dict) -> set[str]:
    return {v.rule for v in policy.compose_violations(model, SUB)}


# -- policy ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("service", "rule"),
    [
        ({"privileged": True}, "privileged"),
        ({"network_mode": "host"}, "network_mode-host"),
        ({"pid": "host"}, "pid-host"),
        ({"ipc": "host"}, "ipc-host"),
        ({"userns_mode": "host"}, "userns_mode-host"),
        ({"network_mode": "container:other"}, "network_mode-host"),
        ({"devices": ["/dev/sda:/dev/sda"]}, "devices"),
        ({"cap_add": ["SYS_ADMIN"]}, "cap_add"),
        ({"security_opt": ["seccomp=unconfined"]}, "security-opt"),
        ({"security_opt": ["apparmor:unconfined"]}, "security-opt"),
        ({"security_opt": ["label=disable"]}, "security-opt"),
        ({"volumes": ["/:/host"]}, "host-bind"),
        ({"volumes": ["../../other-student:/data"]}, "host-bind"),
        ({"volumes": [{"type": "bind", "source": "/etc", "target": "/x"}]}, "host-bind"),
        ({"volumes": ["/var/run/docker.sock:/var/run/docker.sock"]}, "docker-socket"),
        ({"container_name": "db"}, "container_name"),
        ({"env_file": ["/etc/shadow"]}, "host-file"),
        ({"env_file": [{"path": "../../secrets.env"}]}, "host-file"),
        ({"build": {"context": "/"}}, "host-file"),
        ({"build": "https://example.com/repo.git"}, "remote-context"),
        ({"build": {"context": ".", "network": "host"}}, "network_mode-host"),
        ({"extends": {"file": "/etc/compose.yaml", "service": "x"}}, "host-file"),
        ({"runtime": "runc-insecure"}, "runtime"),
        ({"cgroup_parent": "/"}, "cgroup_parent"),
    ],
)
def test_policy_rejects_each_host_power(service: dict, rule: str) -> None:
    found = policy.compose_violations({"services": {"app": service}}, SUB)
    assert rule in {v.rule for v in found}
    assert all(v.where.startswith("services.app") for v in found)
    assert all(v.message for v in found)


def test_policy_rejects_external_and_host_backed_objects() -> None:
    model = {
        "services": {"app": {"image": "x"}},
        "networks": {"n": {"external": True}},
        "volumes": {"v": {"driver_opts": {"type": "none", "o": "bind", "device": "/"}}},
        "secrets": {"s": {"file": "/root/.ssh/id_rsa"}, "e": {"environment": "AWS_KEY"}},
        "include": ["/etc/other.yaml"],
    }
    assert rules(model) == {"external", "host-bind", "host-file", "host-env"}


def test_policy_accepts_every_course_solution() -> None:
    import yaml

    root = Path(__file__).resolve().parents[2]
    files = sorted((root / "solutions").glob("*/compose.yaml")) + sorted(
        (root / "exercises").glob("*/compose.yaml")
    )
    assert files
    for f in files:
        model = yaml.safe_load(f.read_text())
        assert policy.compose_violations(model, f.parent) == [], f
    for f in sorted((root / "solutions").glob("*/Dockerfile*")):
        assert policy.dockerfile_violations(f.read_text()) == [], f


def test_policy_accepts_safe_forms() -> None:
    model = {
        "services": {
            "app": {
                "build": {"context": ".", "target": "production"},
                "volumes": ["./data:/data:ro", "cache:/cache", "/scratch"],
                "security_opt": ["no-new-privileges:true"],
                "cap_drop": ["ALL"],
                "env_file": [".env"],
                "network_mode": "bridge",
            }
        },
        "volumes": {"cache": {}},
    }
    assert rules(model) == set()


def test_dockerfile_policy_names_the_line() -> None:
    text = "FROM python:3.11-slim\nRUN --security=insecure echo hi\nRUN --network=host pip x\n"
    found = policy.dockerfile_violations(text)
    assert [v.where for v in found] == ["Dockerfile:2", "Dockerfile:3"]


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("8080:80", "80"),
        ("127.0.0.1:8080:80/udp", "80/udp"),
        ("80", "80"),
        ({"target": 80, "published": "8080", "host_ip": "0.0.0.0"}, {"target": 80}),
    ],
)
def test_published_ports_become_ephemeral(entry, expected) -> None:
    model = {"services": {"web": {"ports": [entry]}}}
    changes, new = policy.rewrite_published_ports(model)
    assert new["services"]["web"]["ports"] == [expected]
    assert model["services"]["web"]["ports"] == [entry]  # input untouched
    assert bool(changes) == (entry != expected)


# -- archives ---------------------------------------------------------------------------------
def _folder(tmp_path: Path) -> Path:
    f = tmp_path / "01_optimize_image"
    (f / "etl").mkdir(parents=True)
    (f / "Dockerfile").write_text("FROM python:3.11-slim\n")
    (f / "etl" / "job.py").write_text("print('hi')\n")
    (f / "etl" / "__pycache__").mkdir()
    (f / "etl" / "__pycache__" / "job.cpython-311.pyc").write_bytes(b"\0")
    (f / ".venv" / "bin").mkdir(parents=True)
    (f / ".venv" / "bin" / "python").write_text("#!")
    return f


def test_pack_refuses_clutter_and_unpacks_identically(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    out = tmp_path / "out" / "01.shipshape.tar.gz"
    packed = archive.pack(folder, "01", "01_optimize_image", out, "0.1.0", {"score": 3})
    assert packed.files == 2
    reasons = dict(packed.refused)
    assert "etl/__pycache__/" in reasons and ".venv/" in reasons
    dest = tmp_path / "unpacked"
    manifest = archive.safe_extract(out, dest)
    assert manifest["exercise"] == "01" and manifest["last_check"] == {"score": 3}
    assert set(manifest["files"]) == {"Dockerfile", "etl/job.py"}
    got = dest / "01_optimize_image"
    for rel, digest in manifest["files"].items():
        assert archive.sha256_file(got / rel) == digest
    assert not (got / ".venv").exists()


def test_pack_refuses_an_oversized_file_with_the_cap(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    (folder / "dump.csv").write_bytes(b"x" * (archive.MAX_FILE_BYTES + 1))
    with pytest.raises(archive.SubmissionError, match=r"dump\.csv is .* at most"):
        archive.pack(folder, "01", "01_optimize_image", tmp_path / "a.tar.gz", "0.1.0")
    assert not (tmp_path / "a.tar.gz").exists()
    assert (folder / "dump.csv").exists()  # the learner's files are never touched


def _tar_with(tmp_path: Path, add) -> Path:
    p = tmp_path / "evil.tar.gz"
    with tarfile.open(p, "w:gz") as tar:
        add(tar)
    return p


def _member(name: str, data: bytes = b"x", kind: bytes = tarfile.REGTYPE, link: str = ""):
    info = tarfile.TarInfo(name)
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    info.type = kind
    info.linkname = link
    return info, io.BytesIO(data) if kind == tarfile.REGTYPE else None


@pytest.mark.parametrize(
    ("name", "kind", "link", "match"),
    [
        ("../escape.txt", tarfile.REGTYPE, "", "escapes"),
        ("/etc/cron.d/x", tarfile.REGTYPE, "", "escapes"),
        ("01_x/link", tarfile.SYMTYPE, "/etc/passwd", "link or device"),
        ("01_x/hard", tarfile.LNKTYPE, "/etc/passwd", "link or device"),
        ("01_x/dev", tarfile.CHRTYPE, "", "link or device"),
    ],
)
def test_safe_extract_refuses_escapes(tmp_path: Path, name, kind, link, match) -> None:
    p = _tar_with(tmp_path, lambda t: t.addfile(*_member(name, kind=kind, link=link)))
    dest = tmp_path / "dest"
    with pytest.raises(archive.SubmissionError, match=match):
        archive.safe_extract(p, dest)
    assert not dest.exists()  # refused before anything was written


def test_safe_extract_caps_member_count(tmp_path: Path) -> None:
    def add(tar):
        for i in range(archive.MAX_FILES + 2):
            tar.addfile(*_member(f"01_x/f{i}"))

    with pytest.raises(archive.SubmissionError, match="more than"):
        archive.safe_extract(_tar_with(tmp_path, add), tmp_path / "d")


def test_safe_extract_names_a_non_archive(tmp_path: Path) -> None:
    p = tmp_path / "x.shipshape.tar.gz"
    p.write_text("not a tar")
    with pytest.raises(archive.SubmissionError, match="not a readable tar"):
        archive.safe_extract(p, tmp_path / "d")


# -- gradebook ----------------------------------------------------------------------------
def _result(student="ada", ex="01", status="completed", score=3.0, items=None, **kw) -> dict:
    return {
        "student": student,
        "assignment": "ps1",
        "exercise": ex,
        "status": status,
        "score": score,
        "max_score": 4.0 if status == "completed" else None,
        "report": {"title": "t", "results": items or []},
        **kw,
    }


def test_gradebook_csv_survives_commas_and_non_ascii(tmp_path: Path) -> None:
    book = Gradebook(tmp_path)
    book.write(_result("zoë"))
    book.write(_result("zoë", ex="02", status="timeout", score=0))
    book.write(_result("bob", ex="02", score=4))
    roster = {"zoë": {"first_name": "Zoë", "last_name": "Ångström, Jr.", "email": "z@x.org"}}
    outputs.rebuild(book, roster, png=False)
    rows = list(csv.DictReader((tmp_path / "grades.csv").open(encoding="utf-8")))
    assert list(rows[0])[:11] == gradebook.NBGRADER_COLUMNS
    zoe = next(r for r in rows if r["student_id"] == "zoë")
    assert zoe["last_name"] == "Ångström, Jr." and zoe["first_name"] == "Zoë"
    assert zoe["status"] == "02=timeout"
    assert float(zoe["max_score"]) == 8.0  # the timed-out exercise still counts its maximum
    assert zoe["ex01"] == "3.0" and zoe["ex02"] == ""


def test_results_are_atomic_and_complete_after_a_kill(tmp_path: Path) -> None:
    """A writer killed mid-run leaves every finished result readable and no torn file."""
    root = str(Path(__file__).resolve().parents[2])
    code = (
        f"import sys; sys.path.insert(0, {root!r})\n"
        "from helpers.grading.gradebook import Gradebook\n"
        f"b = Gradebook({str(tmp_path)!r})\n"
        "for i in range(100000):\n"
        "    b.write({'student': f's{i}', 'assignment': 'a', 'exercise': '01',"
        " 'status': 'completed', 'score': i, 'max_score': 1, 'pad': 'x' * 20000})\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(list(tmp_path.glob("results/*/a/01.json"))) < 50:
        time.sleep(0.05)  # polling the files the writer makes, with a deadline
    proc.kill()
    proc.wait()
    files = list(tmp_path.glob("results/*/a/01.json"))
    assert len(files) >= 50
    for f in files:
        json.loads(f.read_text())  # every file is whole
    assert len(Gradebook(tmp_path).results()) == len(files)


def test_gradebook_lock_refuses_a_second_grader(tmp_path: Path) -> None:
    a, b = Gradebook(tmp_path), Gradebook(tmp_path)
    with a.locked(), pytest.raises(GradebookLocked, match=f"pid {os.getpid()}"):
        b.lock()
    with b.locked():
        pass  # released


def test_late_policies() -> None:
    late = _result(score=4.0, max_score=4.0)
    assert gradebook.apply_late_policy(dict(late), 0.5, "per-day=25")["score"] == 3.0
    assert gradebook.apply_late_policy(dict(late), 1.5, "per-day=25")["score"] == 2.0
    assert gradebook.apply_late_policy(dict(late), 9, "per-day=25")["score"] == 0
    assert gradebook.apply_late_policy(dict(late), 0.1, "zero")["score"] == 0
    r = gradebook.apply_late_policy(dict(late), 3, "none")
    assert r["score"] == 4.0 and r["late_submission_penalty"] == 0 and r["days_late"] == 3
    assert gradebook.apply_late_policy(dict(late), -2, "zero")["score"] == 4.0


def test_feedback_escapes_and_hides(tmp_path: Path) -> None:
    items = [
        {
            "name": "<script>alert(1)</script>.py builds",
            "points": 2,
            "points_earned": 0,
            "passed": False,
            "message": "log: <img src=x onerror=alert(2)>",
            "hint": "<b>hint</b>",
            "evidence": {"log": "</pre><script>alert(3)</script>"},
        },
        {
            "name": "hidden item",
            "points": 1,
            "points_earned": 1,
            "passed": True,
            "hidden": True,
            "message": "SECRET-MESSAGE",
            "evidence": {"expected": "SECRET-EVIDENCE"},
        },
    ]
    page = outputs.feedback_html("<b>ada</b>", "ps1", [_result(items=items)])
    assert "<script>" not in page and "<img" not in page and "<b>ada" not in page
    assert "&lt;script&gt;alert(1)" in page and "&lt;/pre&gt;&lt;script&gt;alert(3)" in page
    assert "SECRET" not in page and "hidden test" in page
    long = outputs.long_rows([_result(items=items)])
    assert all("SECRET" not in json.dumps(r) for r in long)


def test_overview_and_pass_rates(tmp_path: Path) -> None:
    ok = {"name": "builds", "points": 1, "points_earned": 1, "passed": True}
    bad = {"name": "small", "points": 3, "points_earned": 0, "passed": False}
    results = [
        _result("ada", items=[ok, bad]),
        _result("bob", items=[ok, {**bad, "passed": True}]),
        _result("cy", status="rejected", score=0),
    ]
    rates = outputs.item_pass_rates(results)
    assert [(r["item"], r["passed"], r["submissions"]) for r in rates] == [
        ("small", 1, 2),
        ("builds", 2, 2),
    ]
    page = outputs.overview_html(results)
    assert "rejected" in page and "small" in page
    png = outputs.overview_png(results, tmp_path / "o.png")
    assert png and png.read_bytes()[:4] == b"\x89PNG"


def test_late_policy_is_applied_from_the_gradebook_settings(tmp_path: Path) -> None:
    book = Gradebook(tmp_path)
    book.write(_result("ada", score=4.0, timestamp="2026-12-03 10:00:00"))
    book.update_settings(duedate="2026-12-01T17:00Z", late_policy="per-day=10")
    outputs.rebuild(book, png=False)
    row = next(csv.DictReader((tmp_path / "grades.csv").open(encoding="utf-8")))
    assert (row["raw_score"], row["late_submission_penalty"], row["score"]) == (
        "4.0",
        "0.8",
        "3.2",
    )  # 1.7 days: 2 started days x 10% of 4
    assert row["duedate"] == "2026-12-01T17:00Z"
    book.update_settings(late_policy="none")  # changed later: no regrading needed
    outputs.rebuild(book, png=False)
    row = next(csv.DictReader((tmp_path / "grades.csv").open(encoding="utf-8")))
    assert (row["late_submission_penalty"], row["score"]) == ("0.0", "4.0")
