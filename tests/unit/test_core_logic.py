"""Pure logic, no engine: scoring, efficiency arithmetic, Dockerfile parsing, labels."""

import io
import json
import os
import tarfile

import pytest

from helpers import engine
from helpers.checks import check, exercise_ids
from helpers.checks.base import CheckResult, Report
from helpers.dockerfile import Dockerfile, image_tag, is_exec_form
from helpers.images import _layer_entries, efficiency_from_layers


def test_report_partial_credit_and_serialisation():
    rep = Report("01", "t", "p")
    rep.add(CheckResult("a", 2, True, "ok"))
    rep.add(CheckResult("b", 3, False, "too big", hint="slim", points_earned=1.5))
    rep.add(CheckResult("c", 1, False, "over", points_earned=5))  # clamped to the item's value
    assert (rep.score, rep.max_score, rep.passed) == (4.5, 6, False)
    d = json.loads(json.dumps(rep.to_dict()))
    assert [r["points_earned"] for r in d["results"]] == [2, 1.5, 1]
    text = str(rep)
    assert "FAIL] b" in text and "hint: slim" in text
    assert "Hint: slim" in rep._repr_html_()


def test_empty_report_does_not_pass():
    assert not Report("01", "t").passed


def test_efficiency_counts_overwrites_and_deletions():
    layers = [
        {"usr/bin/python": 100, "var/lib/apt/lists/a": 40, "var/lib/apt/lists/b": 60},
        {"var/lib/apt/lists": -1},  # rm -rf in a later layer: bytes stay in layer 0
        {"app/data.csv": 10},
        {"app/data.csv": 30},  # overwritten
    ]
    e = efficiency_from_layers(layers)
    assert e.needed_bytes == 130
    assert e.stored_bytes == 240
    assert e.wasted_bytes == 110
    assert e.score == pytest.approx(130 / 240)
    assert e.top_waste[0][0] == "var/lib/apt/lists/b"
    assert ("app/data.csv", 10, 2, False) in e.top_waste


def test_efficiency_opaque_directory():
    e = efficiency_from_layers([{"d/x": 5, "d/y": 5, "e": 1}, {"d/": -2}, {"d/z": 2}])
    assert (e.needed_bytes, e.wasted_bytes) == (3, 10)


def test_layer_entries_reads_whiteouts():
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in [
            ("app/a.txt", b"abc"),
            ("tmp/.wh.big.bin", b""),
            ("cache/.wh..wh..opq", b""),
            ("./.wh.top", b""),
        ]:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
    buf.seek(0)
    assert _layer_entries(buf) == {"app/a.txt": 3, "tmp/big.bin": -1, "cache/": -2, "top": -1}


def test_dockerfile_stages_and_forms():
    df = Dockerfile.from_text(
        "FROM python:3.11-slim AS builder\nRUN pip wheel -w /w x\n"
        "FROM python:3.11-slim\nCOPY --from=builder /w /w\nCMD python app.py\n"
    )
    assert [s.alias for s in df.stages] == ["builder", None]
    assert df.external_bases() == ["python:3.11-slim", "python:3.11-slim"]
    assert not is_exec_form(df.final.find("CMD")[0].value)
    assert image_tag("docker.io/library/python:3.11@sha256:abc") == "3.11"
    with pytest.raises(ValueError):
        _ = Dockerfile.from_text("# only a comment\n").final


def test_labels_carry_project_marker_and_run_id():
    lab = engine.labels(exercise="04")
    assert lab[engine.MANAGED_LABEL] == "true"
    assert lab[engine.KIND_LABEL] == engine.KIND_TEMP
    assert lab[engine.RUN_LABEL] == engine.RUN_ID
    assert lab["io.shipshape.exercise"] == "04"


def test_unknown_exercise_is_a_clear_error_not_a_traceback():
    rep = check("99")
    assert rep.error and "No exercise '99'" in rep.error
    assert "00" in exercise_ids()


def test_missing_folder_is_reported(tmp_path):
    rep = check("00", path=tmp_path / "nope")
    assert rep.error and "is not a folder" in rep.error


def test_package_cache_setting_parses_and_rejects_nonsense(monkeypatch):
    from helpers import pkgcache

    monkeypatch.delenv(pkgcache.ENV, raising=False)
    assert pkgcache.config() is None
    monkeypatch.setenv(pkgcache.ENV, "off")
    assert pkgcache.config() is None
    monkeypatch.setenv(pkgcache.ENV, "cache.room:3141:3142")
    cfg = pkgcache.config()
    assert cfg.pip_index_url == "http://cache.room:3141/root/pypi/+simple/"
    assert cfg.apt_proxy == "http://cache.room:3142"
    monkeypatch.setenv(pkgcache.ENV, "cache.room:x")
    with pytest.raises(pkgcache.PackageCacheError, match="not understood"):
        pkgcache.config()


def test_build_cache_settings(monkeypatch):
    from helpers import settings

    monkeypatch.setenv("SHIPSHAPE_BUILD_CACHE", "off")
    assert not settings.build_cache_enabled()
    monkeypatch.setenv("SHIPSHAPE_BUILD_CACHE_KEEP", "0")
    assert settings.build_cache_keep() == 1  # never below one


def test_due_runs_a_chore_once_per_interval(tmp_path, monkeypatch):
    from helpers import settings

    monkeypatch.setenv("SHIPSHAPE_CACHE", str(tmp_path))
    assert settings.due("chore", 60)  # never ran: due, and noted
    assert not settings.due("chore", 60)  # ran just now
    assert settings.due("other", 60)  # another chore has its own stamp
    assert settings.due("chore", 0)  # 0: always due
    stamp = tmp_path / "chore.stamp"
    os.utime(stamp, (stamp.stat().st_atime, stamp.stat().st_mtime - 61))
    assert settings.due("chore", 60)  # the interval passed
