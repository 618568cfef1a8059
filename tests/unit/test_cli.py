"""The CLI without an engine: clear messages and exit code 2, never a traceback."""

from tests.helpers_cli import run_helpers


def run_cli(*args, env_extra=None):
    env = {"DOCKER_HOST": "unix:///nonexistent/docker.sock", **(env_extra or {})}
    return run_helpers(*args, timeout=60, env_extra=env)


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
