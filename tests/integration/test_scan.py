"""Real scanners on real images: the gate fails a baked-in secret and an oversized image,
passes a clean slim one, and says plainly when the vulnerability scan could not run."""

import contextlib
import json
import secrets
import string

import pytest

from helpers import gate, images, scan
from tests.support import helpers_cli

pytestmark = [pytest.mark.docker]

CLEAN = """FROM python:3.11-slim
WORKDIR /app
COPY app.py .
RUN useradd --uid 10001 app
USER app
HEALTHCHECK --interval=10s CMD ["python", "-c", "import os, sys; sys.exit(0 if os.path.isfile('/tmp/alive') else 1)"]
CMD ["python", "app.py"]
"""


def fake_github_token() -> str:
    """A token of GitHub's shape, made up now (never a real one, never on Trivy's allow-list)."""
    return "ghp_" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(36))


@contextlib.contextmanager
def built(tmp_context, name: str, dockerfile: str, files: dict[str, str] | None = None):
    """The image of ``dockerfile`` with ``app.py`` (and ``files``) in its context, removed after."""
    tmp_context.write("app.py", "print('hello')\n")
    for rel, text in (files or {}).items():
        tmp_context.write(rel, text)
    tmp_context.write("Dockerfile", dockerfile)
    tag = images.temp_tag(name, tmp_context)
    images.build(tmp_context, tag, on_event=None, timeout_s=300)
    try:
        yield tag
    finally:
        images.remove(tag)


@pytest.fixture
def clean_image(tmp_context, base_images):
    with built(tmp_context, "scan-clean", CLEAN) as tag:
        yield tag


@pytest.fixture
def secret_image(tmp_context, base_images):
    with built(
        tmp_context,
        "scan-secret",
        CLEAN.replace("COPY app.py .", "COPY app.py settings.env ./"),
        {"settings.env": f"GITHUB_TOKEN={fake_github_token()}\n"},
    ) as tag:
        yield tag


@pytest.fixture
def no_vuln_db(tmp_path, monkeypatch):
    """An empty Trivy cache: exactly the situation of a machine that cannot download the DB."""
    d = tmp_path / "trivy-cache"
    d.mkdir()
    monkeypatch.setenv(scan.TRIVY_CACHE_ENV, str(d))
    return d


def test_gate_passes_a_clean_slim_image(clean_image, no_vuln_db, resource_counts):
    before = resource_counts()
    res = gate.evaluate(clean_image, "500MB", "HIGH,CRITICAL")
    assert res.passed, str(res)
    assert {r.gate: r.status for r in res.rows} == {
        "size": "PASS",
        "vulnerabilities": "NOT RUN",
        "secrets": "PASS",
        "misconfigurations": "PASS",
        "efficiency": "PASS",
        "checklist": "PASS",
    }
    # incomplete, and the exit code says so unless the caller accepts it
    assert res.exit_code == gate.EXIT_INCOMPLETE
    res.allow_incomplete = True
    assert res.exit_code == gate.EXIT_OK
    assert resource_counts() == before  # the scans started no container and left nothing


def test_gate_fails_a_baked_in_secret(secret_image, no_vuln_db):
    res = gate.evaluate(secret_image, "500MB", "HIGH,CRITICAL", allow_incomplete=True)
    row = res.row("secrets")
    assert row.status == "FAIL", str(res)
    assert any(
        f["id"] == "github-pat" and f["target"].endswith("settings.env")
        for f in row.evidence["findings"]
    )
    assert {r.gate for r in res.failed} == {"secrets"}
    assert res.exit_code == gate.EXIT_FAIL


def test_checklist_gate_rejects_a_healthcheck_that_cannot_fail(tmp_context, base_images):
    """The gate and the checklist audit judge a probe by the same rule."""
    trivial = CLEAN.replace(
        CLEAN.splitlines()[5], 'HEALTHCHECK --interval=10s CMD ["python", "-c", "print(\'ok\')"]'
    )
    with built(tmp_context, "scan-trivial-probe", trivial) as tag:
        row = gate.checklist_gate(tag)
    assert row.status == gate.FAIL and "can never fail" in row.reason, row


def test_checklist_gate_runs_the_probe_where_the_app_never_started(tmp_context, base_images):
    """A probe no static rule flags, yet it cannot fail: it checks a file the image always has.
    Run in a container of the image whose command serves nothing, it still exits 0."""
    blind = CLEAN.replace("/tmp/alive", "/app/app.py")
    with built(tmp_context, "scan-blind-probe", blind) as tag:
        row = gate.checklist_gate(tag)
    assert row.status == gate.FAIL and "exited 0 with the app not running" in row.reason, row
    assert row.evidence["probe_without_app"]["exit_code"] == 0


def test_gate_fails_an_oversized_image(base_images):
    res = gate.evaluate("python:3.11", "500MB", only=("size",))
    assert res.row("size").status == "FAIL"
    assert res.row("size").evidence["size_bytes"] > 500_000_000
    assert res.exit_code == gate.EXIT_FAIL


def test_vulnerability_scan_unavailable_is_reported_as_such(clean_image, no_vuln_db):
    db = scan.vuln_db()
    assert not db.available and str(no_vuln_db) in db.reason
    res = scan.trivy_vulns(clean_image)
    assert res.status == "unavailable" and res.clean is None and res.findings == []
    assert "NOT SCANNED" in res.summary() and scan.TRIVY_CACHE_ENV in res.summary()
    row = gate.evaluate(clean_image, only=("vulnerabilities",)).row("vulnerabilities")
    assert row.status == "NOT RUN" and row.measured == "not scanned"
    assert "vulnerability scan was NOT run" in row.reason
    assert "no vulnerabilities found" not in (row.reason + row.measured).lower()


def cli(*args, env_extra=None):
    return helpers_cli("gate", *args, env_extra=env_extra)


def test_gate_cli_exit_codes(clean_image, secret_image, no_vuln_db):
    env = {scan.TRIVY_CACHE_ENV: str(no_vuln_db)}
    ok = cli(clean_image, "--max-size", "500MB", "--fail-on", "HIGH,CRITICAL", env_extra=env)
    assert ok.returncode == 3, ok.stdout + ok.stderr
    assert "NOT RUN" in ok.stdout and "INCOMPLETE" in ok.stdout
    allowed = cli(clean_image, "--allow-incomplete", "--json", env_extra=env)
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    data = json.loads(allowed.stdout)
    assert data["exit_code"] == 0 and {g["gate"] for g in data["gates"]} >= {"size", "secrets"}
    bad = cli(secret_image, "--allow-incomplete", env_extra=env)
    assert bad.returncode == 1 and "secrets" in bad.stdout and "FAIL" in bad.stdout
    small = cli(clean_image, "--max-size", "10MB", "--only", "size")
    assert small.returncode == 1 and "over" in small.stdout
    missing = cli("shipshape-nope/none:0")
    assert missing.returncode == 2 and "No image" in missing.stderr
    badsize = cli(clean_image, "--max-size", "lots")
    assert badsize.returncode == 2 and "not a size" in badsize.stderr


def test_trivy_config_and_hadolint_on_a_dockerfile(tmp_path):
    (tmp_path / "Dockerfile").write_text(
        "FROM python:3.11\nRUN apt-get update && apt-get install -y curl\nCMD python app.py\n"
    )
    cfg = scan.trivy_config(tmp_path)
    assert cfg.scanned
    ids = {f["id"] for f in cfg.findings}
    assert {"DS-0002", "DS-0029"} <= ids  # root user; apt without --no-install-recommends
    lint = scan.hadolint(tmp_path / "Dockerfile")
    codes = {f["id"] for f in lint.findings}
    assert {"DL3008", "DL3009", "DL3015", "DL3025"} <= codes


def test_dive_ci_on_an_image(clean_image):
    d = scan.dive_ci(clean_image, lowest_efficiency=0.5)
    assert d.rules["lowestEfficiency"] == "PASS" and 0.5 < d.efficiency <= 1.0
    strict = scan.dive_ci(clean_image, lowest_efficiency=0.99999)
    assert strict.rules["lowestEfficiency"] == "FAIL" and not strict.passed


def test_facts_from_inside_the_image(clean_image, resource_counts):
    before = resource_counts()
    py = scan.python_packages(clean_image)
    assert py.status == "ok" and "pip" in {r["name"] for r in py.rows}
    pkgs = scan.os_packages(clean_image)
    assert pkgs.status == "ok" and len(pkgs.rows) > 50
    upd = scan.pending_security_updates(clean_image)
    # a number from the security suite, or a plain reason why it could not be read
    assert upd.status in ("ok", "unavailable")
    assert upd.status == "ok" or upd.reason
    assert all(r["security"] for r in upd.rows)
    assert resource_counts() == before


def test_pip_audit_that_looked_nothing_up_is_not_a_pass(tmp_path, monkeypatch):
    """pip-audit prints "No known vulnerabilities found" (exit 0) when it audited nothing."""
    monkeypatch.setenv("FORCE_COLOR", "1")  # as in a Jupyter kernel: spinner on stdout
    req = tmp_path / "requirements.txt"
    req.write_text("humanize==4.9.0\n")
    res = scan.pip_audit(req)
    if res.status == "unavailable":
        assert res.clean is None and "audited 0 of 1" in res.reason, res.reason
    else:  # the advisory service answered: then it really audited the package
        assert "audited 1 of 1" in res.reason
