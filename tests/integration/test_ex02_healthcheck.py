"""Exercise 02 proven both ways on a real stack, wrong answers, and an interrupted check."""

import pytest

from helpers import check
from helpers.checks import ex02_healthcheck as ex
from tests.conftest import ROOT, checked, failed_items, solution_copy
from tests.support import assert_fails_exactly, interrupt_check

pytestmark = [pytest.mark.docker, pytest.mark.slow]

SOLUTION = ROOT / "solutions" / "02_healthcheck"
ALL = {ex.HEALTHY, ex.FAULT, ex.DEPENDS, ex.OPTIONS}


def test_starter_fails_with_hints(base_images, resource_counts):
    before = resource_counts()
    rep = checked("02")
    assert rep.error is None, rep.error
    assert failed_items(rep) == ALL, str(rep)
    by = {r.name: r for r in rep.results}
    assert "healthcheck" in by[ex.HEALTHY].hint and "urllib" in by[ex.HEALTHY].hint
    assert "service_healthy" in by[ex.DEPENDS].hint
    # the behaviour, not the text: the job really ran too early and failed
    assert by[ex.DEPENDS].evidence["exit_code"] == 1
    assert resource_counts() == before


def test_solution_evidence_with_measured_times(base_images):
    """The solution's own evidence (passing at full score is the contract test's)."""
    rep = checked("02", "solution")
    by = {r.name: r for r in rep.results}
    healthy = by[ex.HEALTHY].evidence
    # the app warms up for 3 s: healthy cannot come sooner, and start_interval makes it prompt
    assert 2.5 <= healthy["seconds_to_healthy"] < 15, healthy
    assert healthy["measured_from"] in {"engine event", "health log", "poll"}
    fault = by[ex.FAULT].evidence
    assert 0 < fault["seconds_to_unhealthy"] <= fault["bound_s"], fault
    assert "503" in fault["fault"]


def variant(tmp_path, compose_text=None, dockerfile=None):
    dst = tmp_path / "ex02"
    solution_copy("02_healthcheck", dst)
    if compose_text is not None:
        (dst / "compose.yaml").write_text(compose_text)
    if dockerfile is not None:
        (dst / "Dockerfile").write_text(dockerfile)
    return dst


SOLVED = (SOLUTION / "compose.yaml").read_text()
PROBE = (
    '["CMD", "python", "-c", "import urllib.request as u; '
    "u.urlopen('http://localhost:8000/health', timeout=2)\"]"
)
assert PROBE in SOLVED


@pytest.mark.parametrize(
    ("edit", "failing", "hint_word"),
    [
        # a probe that can never fail: "healthy" at once, before the warm-up is over (so the
        # job that trusted it fails too), and blind to the fault
        (lambda s: s.replace(PROBE, '["CMD", "true"]'), {ex.FAULT, ex.DEPENDS}, "never fail"),
        # curl is not in python:3.11-slim: never healthy, so the job is never started
        (
            lambda s: s.replace(PROBE, '["CMD", "curl", "-f", "http://localhost:8000/health"]'),
            {ex.HEALTHY, ex.FAULT, ex.DEPENDS},
            "curl",
        ),
        # the plain list form of depends_on means service_started
        (
            lambda s: s.replace(
                "depends_on:\n      api:\n        condition: service_healthy",
                "depends_on:\n      - api",
            ),
            {ex.DEPENDS},
            "service_healthy",
        ),
        # a timeout as long as the interval
        (lambda s: s.replace("timeout: 2s ", "timeout: 3s "), {ex.OPTIONS}, "timeout"),
    ],
    ids=["cmd-true", "curl-in-slim", "service-started", "timeout-ge-interval"],
)
def test_wrong_answers_fail_exactly_their_item(tmp_path, base_images, edit, failing, hint_word):
    text = edit(SOLVED)
    assert text != SOLVED
    failed = assert_fails_exactly(check("02", path=variant(tmp_path, compose_text=text)), failing)
    assert hint_word in failed[0].hint, failed[0].hint


def test_broken_compose_file_scores_zero_with_the_reason(tmp_path, docker_client):
    """The learner's mistake, like a Dockerfile that does not build: scored, not "could not run"."""
    dst = variant(tmp_path, compose_text="services:\n  api: [not, a, mapping\n")
    rep = check("02", path=dst)
    assert rep.error is None and rep.score == 0 and rep.max_score == ex.RUBRIC.max_score
    assert all(r.status == "not judged" and "compose" in r.message.lower() for r in rep.results)
    assert all("docker compose config" in r.hint for r in rep.results), str(rep)


def test_interrupted_check_leaves_nothing(base_images, resource_counts, tmp_path):
    """SIGINT once the stack's containers exist: containers, network and images all go."""
    interrupt_check("02", SOLUTION, resource_counts, start_within_s=180, stop_within_s=120)


# ---------------------------------------------------------------- issue 11: more wrong answers
#: a probe whose shell swallows the exit code: "healthy" during the warm-up, blind to the fault
SWALLOWED = (
    '["CMD-SHELL", "python -c \\"import urllib.request as u; '
    "u.urlopen('http://localhost:8000/health', timeout=2)\\\" || exit 0\"]"
)


@pytest.mark.parametrize(
    ("edit", "failing", "hint_words"),
    [
        (lambda s: s.replace(PROBE, SWALLOWED), {ex.FAULT, ex.DEPENDS}, ("kept exiting 0",)),
        # start_period no longer than the 3 s warm-up (the README's "longer than"), and an
        # interval above the README's 5 s
        (
            lambda s: s.replace("start_period: 20s", "start_period: 3s").replace(
                "interval: 3s ", "interval: 6s "
            ),
            {ex.FAULT, ex.OPTIONS},
            ("at most 5 s", "longer than"),
        ),
        # kind 1: the warm-up shortened in compose.yaml so a probe that cannot fail looks
        # right to the job: the README says the warm-up stays as shipped
        (
            lambda s: s.replace(PROBE, '["CMD", "true"]').replace(
                "    build: .\n", '    build: .\n    environment:\n      APP_WARMUP_S: "0"\n', 1
            ),
            {ex.FAULT, ex.DEPENDS},
            ("APP_WARMUP_S=0", "never fail"),
        ),
        # a probe that can never fail, and a job that gets through only because it starts
        # late (what a busy machine does by chance; here a sleep does it every time): the
        # api was "healthy" long before its warm-up ended, so the gate proved nothing. The
        # 6 s interval makes the fault item stop before it breaks the api, so the late job
        # really finds it ready.
        (
            lambda s: (
                s.replace(PROBE, '["CMD", "true"]')
                .replace("interval: 3s ", "interval: 6s ")
                .replace(
                    "    build: ./worker\n",
                    '    build: ./worker\n    command: ["sh", "-c", "sleep 6 && exec python report.py"]\n',
                )
            ),
            {ex.FAULT, ex.DEPENDS},
            ("before its 3 s warm-up ended", "only as good as the probe"),
        ),
    ],
    ids=[
        "probe-or-exit-0",
        "start-period-not-longer-than-warmup+interval-6s",
        "warm-up-shortened+cmd-true",
        "cmd-true+job-starts-late",
    ],
)
def test_more_wrong_answers_fail_exactly_their_items(
    tmp_path, base_images, edit, failing, hint_words
):
    text = edit(SOLVED)
    assert text != SOLVED
    rep = check("02", path=variant(tmp_path, compose_text=text))
    assert rep.error is None, rep.error
    assert failed_items(rep) == failing, str(rep)
    failed = " ".join(r.message + " " + r.hint for r in rep.results if not r.passed)
    for w in hint_words:
        assert w in failed, failed


# ---------------------------------------------------------------- issue 11: correct alternatives
_ALT_DOCKERFILE = """FROM python:3.11-slim
WORKDIR /app
COPY app.py .
EXPOSE 8000
HEALTHCHECK --interval=2s --timeout=1s --retries=3 --start-period=10s \\
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=1)"]
CMD ["python", "app.py"]
"""
_ALT_COMPOSE_DOCKERFILE_PROBE = """services:
  api:
    build: .
  worker:
    build: ./worker
    depends_on:
      api: {condition: service_healthy, restart: true}
"""
_ALT_COMPOSE_SHELL_PROBE = """services:
  api:
    build: .
    healthcheck:
      test: >-
        python -c "import sys, urllib.request as u;
        sys.exit(0 if u.urlopen('http://127.0.0.1:8000/health', timeout=2).status == 200 else 1)"
        || exit 1
      interval: 2s
      timeout: 1500ms
      retries: 3
      start_period: 15s
  worker:
    build:
      context: ./worker
    depends_on:
      api:
        condition: service_healthy
"""


@pytest.mark.parametrize(
    ("compose_text", "dockerfile"),
    [
        (_ALT_COMPOSE_DOCKERFILE_PROBE, _ALT_DOCKERFILE),
        (_ALT_COMPOSE_SHELL_PROBE, None),
    ],
    ids=["HEALTHCHECK-in-Dockerfile", "shell-probe-checks-status-no-start-interval"],
)
def test_alternative_answers_pass_at_full_score(tmp_path, base_images, compose_text, dockerfile):
    rep = check("02", path=variant(tmp_path, compose_text=compose_text, dockerfile=dockerfile))
    assert rep.error is None, rep.error
    assert rep.passed and rep.score == rep.max_score, str(rep)
