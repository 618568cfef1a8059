"""The CLI without an engine: clear messages and exit code 2, never a traceback."""

from tests.support import helpers_cli


def run_cli(*args, env_extra=None):
    no_engine = {"DOCKER_HOST": "unix:///nonexistent/docker.sock", **(env_extra or {})}
    return helpers_cli(*args, timeout=60, env_extra=no_engine)


def test_doctor_without_engine_says_how_to_start_one():
    r = run_cli("doctor")
    assert r.returncode == 2
    assert "no engine answers" in r.stdout
    assert "install-engine.sh" in r.stdout
    assert "Traceback" not in r.stdout + r.stderr


def test_check_without_engine_exits_2_with_reason():
    r = run_cli("check", "00")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "COULD NOT RUN" in r.stdout and "No Docker engine answers" in r.stdout
    assert "Traceback" not in r.stdout + r.stderr


def test_images_without_engine_exits_2():
    r = run_cli("images")
    assert r.returncode == 2
    assert "error: No Docker engine answers" in r.stderr
