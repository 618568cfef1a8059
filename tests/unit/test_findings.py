"""One result model: check items, audit items, gate rows and doctor items are Findings, shown by
one renderer. Pure logic, no engine."""

from __future__ import annotations

import json

from helpers import gate, render
from helpers.auditmodel import FAIL, NA, PASS, AuditItem, AuditReport
from helpers.findings import NOT_APPLICABLE, NOT_RUN, WARN, Finding
from helpers.preflight import DoctorItem, DoctorReport


def audit_report() -> AuditReport:
    return AuditReport(
        "proj",
        [
            AuditItem(
                "non_root", "runs as a non-root user", FAIL, "USER root", "add a USER", "DL3002"
            ),
            AuditItem("log_limits", "log rotation", NA, "no compose file", hint="set max-size"),
            AuditItem("base_slim", "slim base", PASS, "python:3.11-slim", hint="use -slim"),
        ],
    )


def gate_result() -> gate.GateResult:
    return gate.GateResult(
        "app:1",
        [
            gate.GateRow("size", gate.FAIL, "812.0 MB", "<= 500.0 MB", "312.0 MB over", {"b": 1}),
            gate.GateRow("vulnerabilities", gate.NOT_RUN, "not scanned", "-", "no database"),
            gate.GateRow("hadolint", gate.WARN, "0 errors, 1 warnings", "no errors", "DL3008"),
        ],
        2.0,
    )


def lines(*lists) -> list[str]:
    """The rendered lines of findings (``  [MARK] title...``), hints and headings left out."""
    return [ln for fs in lists for ln in str(fs).splitlines() if ln.startswith("  [")]


def test_every_kind_of_item_is_a_finding_worth_no_points():
    rep, res = audit_report(), gate_result()
    doc = DoctorItem("buildx", False, "missing", "install it", required=False)
    for item in [*rep.items, *res.rows, doc]:
        assert isinstance(item, Finding) and item.points == item.points_earned == 0
    assert [i.status for i in rep.items] == [FAIL, NOT_APPLICABLE, PASS]
    assert [r.status.lower() for r in res.rows] == ["fail", NOT_RUN, WARN]
    assert doc.status == WARN and not doc.ok


def test_n_a_and_not_run_are_never_a_pass():
    rep, res = audit_report(), gate_result()
    na, not_run = rep.get("log_limits"), res.row("vulnerabilities")
    assert not na.passed and na.ok and rep.failed() == ["non_root"]
    assert not not_run.passed and res.exit_code == gate.EXIT_FAIL
    marks = {line.split("]")[1].split()[0]: line.split("]")[0].strip() for line in lines(rep, res)}
    assert marks["log"] == "[N/A" and marks["vulnerabilities"] == "[NOT RUN"
    # an n/a item's hint is not shown (nothing to fix); a failed item's is
    assert "set max-size" not in str(rep) and "hint: add a USER" in str(rep)


def test_a_refined_audit_verdict_moves_passed_with_it():
    item = audit_report().get("base_slim")
    item.status, item.detail = FAIL, "python:3.11 in the image"
    assert not item.passed and item.message == "python:3.11 in the image"


def test_json_keeps_every_consumers_keys():
    items = json.loads(json.dumps(audit_report().to_dict()))["items"]
    assert {"key", "title", "status", "detail", "hint", "rule", "evidence"} <= set(items[0])
    gates = json.loads(json.dumps(gate_result().to_dict()))["gates"]
    assert {"gate", "status", "measured", "threshold", "reason", "evidence"} <= set(gates[0])
    assert gates[1]["status"] == "NOT RUN" and gates[0]["evidence"] == {"b": 1}
    doctor = DoctorReport([DoctorItem("engine", True, "Docker Engine 26")]).to_dict()
    assert doctor["ok"] and {"name", "ok", "required", "message", "hint"} <= set(doctor["items"][0])


def test_one_renderer_for_audit_gate_and_doctor():
    rep, res = audit_report(), gate_result()
    doctor = DoctorReport([DoctorItem("engine", False, "no engine answers", "start one")])
    assert str(rep) == render.findings_text(rep) and rep._repr_html_() == render.findings_html(rep)
    assert "[FAIL] runs as a non-root user [DL3002]: USER root" in str(rep)
    assert "  [N/A]  log rotation: no compose file" in str(rep)  # marks line up
    assert str(rep).splitlines()[-1] == "1 item(s) fail"
    assert "[FAIL]    size [812.0 MB; needs <= 500.0 MB]: 312.0 MB over" in str(res)
    assert str(res).splitlines()[-1].startswith("verdict: FAIL: size (exit 1")
    assert str(doctor).splitlines() == [
        "  [FAIL] engine: no engine answers",
        "         hint: start one",
        "NOT ready: fix the FAIL items above",
    ]
    html = res._repr_html_()
    assert "<table" in html and "gate for app:1" in html and "title='NOT RUN'" in html
