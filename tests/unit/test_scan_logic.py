"""Scanner output parsing, gate thresholds and workflow analysis: pure logic, no engine."""

import json

import pytest

from helpers import gate, scan, workflow


def test_parse_trivy_json_flattens_every_kind():
    doc = {
        "Results": [
            {
                "Target": "img (debian 12)",
                "Vulnerabilities": [
                    {
                        "VulnerabilityID": "CVE-2024-1",
                        "PkgName": "libssl3",
                        "InstalledVersion": "3.0.1",
                        "FixedVersion": "3.0.2",
                        "Severity": "HIGH",
                    }
                ],
            },
            {
                "Target": "/app/.env",
                "Secrets": [{"RuleID": "github-pat", "Severity": "CRITICAL", "Title": "GitHub"}],
            },
            {
                "Target": "Dockerfile",
                "Misconfigurations": [
                    {"ID": "DS-0002", "Severity": "HIGH", "Title": "root", "Status": "FAIL"},
                    {"ID": "DS-0001", "Severity": "MEDIUM", "Title": "ok", "Status": "PASS"},
                ],
            },
        ]
    }
    rows = scan.parse_trivy_json(doc)
    assert [(r["kind"], r["id"], r["severity"]) for r in rows] == [
        ("vuln", "CVE-2024-1", "HIGH"),
        ("secret", "github-pat", "CRITICAL"),
        ("misconfig", "DS-0002", "HIGH"),
    ]
    assert "3.0.1 -> 3.0.2" in rows[0]["detail"]


def test_unavailable_scan_is_never_clean():
    r = scan.ScanResult("trivy vuln", "x", "unavailable", reason="no db")
    assert r.clean is None and not r.scanned and "NOT SCANNED" in r.summary()
    assert scan.ScanResult("t", "x", "scanned").clean is True


def test_pip_audit_all_skipped_is_unavailable_not_clean():
    doc = {
        "dependencies": [
            {"name": "requests", "skip_reason": "Dependency not found on PyPI"},
            {"name": "flask", "skip_reason": "Dependency not found on PyPI"},
        ],
        "fixes": [],
    }
    r = scan.interpret_pip_audit(doc)
    assert r.status == "unavailable" and r.clean is None and "0 of 2" in r.reason


def test_pip_audit_partial_audit_names_what_was_skipped():
    doc = {
        "dependencies": [
            {"name": "requests", "version": "2.19.0", "vulns": []},
            {"name": "private-lib", "skip_reason": "not on PyPI"},
        ]
    }
    r = scan.interpret_pip_audit(doc)
    assert r.scanned and r.clean is True and "NOT audited: private-lib" in r.reason


def test_vuln_db_found_only_with_database_and_metadata(tmp_path):
    assert not scan.vuln_db(tmp_path).available
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "trivy.db").write_bytes(b"x")
    assert not scan.vuln_db(tmp_path).available
    (tmp_path / "db" / "metadata.json").write_text(json.dumps({"UpdatedAt": "2026-11-01"}))
    db = scan.vuln_db(tmp_path)
    assert db.available and db.updated_at == "2026-11-01"


def test_vuln_db_reads_the_instructor_setting(tmp_path, monkeypatch):
    monkeypatch.setenv(scan.TRIVY_CACHE_ENV, str(tmp_path))
    db = scan.vuln_db()
    assert db.cache_dir == tmp_path and scan.TRIVY_CACHE_ENV in db.reason


def test_parse_dive_ci_strips_colours_and_reads_rules():
    out = (
        "  efficiency: 97.0907 %\n  wastedBytes: 5517204 bytes (5.5 MB)\n"
        "  userWastedPercent: 10.0019 %\n\x1b[1mInefficient Files:\x1b[0m\n"
        "Count  Wasted Space  File Path\n    3        2.3 MB  /var/cache/debconf/templates.dat\n"
        "\x1b[1mResults:\x1b[0m\n  \x1b[1;7;31mFAIL\x1b[0m: highestUserWastedPercent: too many\n"
        "  \x1b[34mSKIP\x1b[0m: highestWastedBytes: rule disabled\n  PASS: lowestEfficiency\n"
        "\x1b[31mResult:FAIL [Total:3]\x1b[0m\n"
    )
    p = scan.parse_dive_ci(out)
    assert p["rules"] == {
        "highestUserWastedPercent": "FAIL",
        "highestWastedBytes": "SKIP",
        "lowestEfficiency": "PASS",
    }
    assert p["efficiency"] == pytest.approx(0.970907) and p["wasted_bytes"] == 5517204
    assert p["inefficient_files"][0]["path"] == "/var/cache/debconf/templates.dat"
    assert not p["passed"]


def test_apt_upgradable_marks_security_suite():
    rows = scan.parse_apt_upgradable(
        "Listing...\n"
        "libssl3/bookworm-security 3.0.15-1~deb12u1 amd64 [upgradable from: 3.0.14-1~deb12u2]\n"
        "tzdata/bookworm-updates 2025b-0+deb12u1 all [upgradable from: 2024a-0+deb12u1]\n"
    )
    assert [(r["package"], r["security"]) for r in rows] == [("libssl3", True), ("tzdata", False)]


@pytest.mark.parametrize(
    ("text", "n"),
    [("500MB", 500_000_000), ("500 MB", 500_000_000), ("1GB", 10**9), ("512MiB", 512 * 2**20)],
)
def test_parse_size(text, n):
    assert gate.parse_size(text) == n


def test_parse_size_and_severity_errors_say_what_to_write():
    with pytest.raises(ValueError, match="500MB"):
        gate.parse_size("lots")
    with pytest.raises(ValueError, match="CRITICAL"):
        gate.parse_severities("HIGH,SEVERE")
    assert gate.parse_severities("high, critical") == ("HIGH", "CRITICAL")


def test_gate_exit_codes():
    row = lambda s: gate.GateRow("g", s, "", "", "")  # noqa: E731
    assert gate.GateResult("i", [row("PASS")], 0).exit_code == 0
    assert gate.GateResult("i", [row("PASS"), row("FAIL")], 0).exit_code == 1
    assert gate.GateResult("i", [row("PASS"), row("NOT RUN")], 0).exit_code == 3
    assert gate.GateResult("i", [row("NOT RUN")], 0, allow_incomplete=True).exit_code == 0
    assert "INCOMPLETE" in gate.GateResult("i", [row("NOT RUN")], 0).verdict


WF = """
name: x
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: docker build -t "$IMAGE:${{ github.sha }}" .
      - run: docker run --rm "$IMAGE:${{ github.sha }}" python -m unittest
      - uses: aquasecurity/trivy-action@0.28.0
        with: {severity: "HIGH,CRITICAL", exit-code: "1"}
      - run: test $(docker image inspect --format '{{.Size}}' "$IMAGE:${{ github.sha }}") -le 500000000
  publish:
    needs: build
    runs-on: ubuntu-latest
    steps:
      - run: docker push "$IMAGE:${{ github.sha }}"
"""


def _doc(text):
    import yaml

    d = yaml.safe_load(text)
    d["on"] = d.pop(True)
    return d


def test_workflow_roles_and_needs_order():
    doc = _doc(WF)
    r = workflow.roles(workflow.steps_of(doc))
    assert {k: len(v) for k, v in r.items()} == {
        "build": 1,
        "tests": 1,
        "scan": 1,
        "size": 1,
        "push": 1,
    }
    needs = workflow.needs_of(doc)
    assert workflow.runs_before(r["scan"][0], r["push"][0], needs)
    assert not workflow.runs_before(r["push"][0], r["scan"][0], needs)
    assert workflow.structure_errors(doc) == []


def test_workflow_without_needs_runs_jobs_in_parallel():
    doc = _doc(WF.replace("    needs: build\n", ""))
    r = workflow.roles(workflow.steps_of(doc))
    assert not workflow.runs_before(r["scan"][0], r["push"][0], workflow.needs_of(doc))


def test_build_push_action_push_flag():
    s = workflow.Step("j", 0, {"uses": "docker/build-push-action@v6", "with": {"push": False}})
    assert workflow.is_build(s) and not workflow.is_push(s)
    s2 = workflow.Step(
        "j", 0, {"uses": "docker/build-push-action@v6", "with": {"push": "${{ x }}"}}
    )
    assert workflow.is_push(s2)  # an expression may be true at run time


def test_expressions_substituted_with_overridden_image():
    doc = _doc(WF.replace("name: x", "name: x\nenv:\n  IMAGE: ghcr.io/${{ github.repository }}/a"))
    build = workflow.roles(workflow.steps_of(doc))["build"][0]
    assert workflow.image_ref(doc, build, "shipshape-check/t", "abc") == "shipshape-check/t:abc"
