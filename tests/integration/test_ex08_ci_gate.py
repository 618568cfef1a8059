"""Exercise 08 proven both ways: starter fails with hints, solution passes, wrong answers fail
exactly their item."""

import pytest

from helpers import check
from tests.conftest import ROOT, checked, solution_copy
from tests.support import assert_fails_exactly

pytestmark = [pytest.mark.docker, pytest.mark.slow]

STARTER = ROOT / "exercises" / "08_ci_gate"
SOLUTION = ROOT / "solutions" / "08_ci_gate"
WORKFLOW = ".github/workflows/docker.yml"


def test_starter_fails_with_hints(base_images, resource_counts):
    before = resource_counts()
    rep = checked("08")
    assert rep.error is None, rep.error
    failed = {r.name: r for r in rep.results if not r.passed}
    assert set(failed) == {
        "it builds, runs the tests, scans and pushes",
        "the push comes only after the scan, the size gate and the tests passed",
        "the scan fails the job on HIGH/CRITICAL",
        "the size step fails a 1 GB image and passes a 150 MB one",
        "your image passes the gate",
    }, str(rep)
    assert "trivy-action" in failed["the scan fails the job on HIGH/CRITICAL"].hint
    assert "500000000" in failed["the size step fails a 1 GB image and passes a 150 MB one"].hint
    gate_item = failed["your image passes the gate"]
    assert "size" in gate_item.message and "USER" in gate_item.hint
    assert gate_item.evidence["gates"]["size"].startswith("FAIL")
    assert resource_counts() == before


def test_solution_evidence(base_images):
    """The solution's own evidence (passing at full score is the contract test's)."""
    rep = checked("08", "solution")
    size = next(r for r in rep.results if r.name.startswith("the size step"))
    # measured, not assumed: the step really ran and really judged two real images
    assert size.evidence["bloated"]["exit_code"] != 0
    assert size.evidence["bloated"]["size_bytes"] > 500_000_000
    assert size.evidence["slim"]["exit_code"] == 0
    assert size.evidence["slim"]["size_bytes"] < 500_000_000
    gate_item = next(r for r in rep.results if r.name == "your image passes the gate")
    assert gate_item.evidence["gates"]["secrets"].startswith("PASS")
    # no vulnerability database on this machine: said so, never called clean
    vul = gate_item.evidence["gates"]["vulnerabilities"]
    assert vul.startswith(("PASS", "NOT RUN"))
    if vul.startswith("NOT RUN"):
        assert "NOT RUN" in gate_item.message


PUSH_FIRST = """name: docker
on:
  push:
    branches: [main]
env:
  IMAGE: ghcr.io/${{ github.repository }}/stats-service
jobs:
  image:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: docker/login-action@v3
        with:
          registry: ghcr.io
          username: ${{ github.actor }}
          password: ${{ secrets.GITHUB_TOKEN }}
      - name: Build and push
        uses: docker/build-push-action@v6
        with:
          push: true
          load: true
          tags: ${{ env.IMAGE }}:${{ github.sha }}
      - name: Tests
        run: docker run --rm "$IMAGE:${{ github.sha }}" python -m unittest -v
      - name: Scan
        uses: aquasecurity/trivy-action@0.28.0
        with:
          image-ref: ${{ env.IMAGE }}:${{ github.sha }}
          severity: HIGH,CRITICAL
          exit-code: "1"
      - name: Size gate
        run: |
          size=$(docker image inspect --format '{{.Size}}' "$IMAGE:${{ github.sha }}")
          [ "$size" -le 500000000 ] || { echo "too big: $size"; exit 1; }
"""


def _without_size_step(text: str) -> str:
    start = text.index("      - name: Size gate")
    end = text.index("      - name: Log in")
    return text[:start] + text[end:]


@pytest.mark.parametrize(
    ("mutate", "failing"),
    [
        # builds and pushes in one step, then scans: a vulnerable image is already out
        (
            lambda _t: PUSH_FIRST,
            {"the push comes only after the scan, the size gate and the tests passed"},
        ),
        # no size step at all: a 1 GB image goes through
        (_without_size_step, {"the size step fails a 1 GB image and passes a 150 MB one"}),
        # the scan only reports: exit code 0 never fails the job
        (
            lambda t: t.replace('exit-code: "1"', 'exit-code: "0"'),
            {"the scan fails the job on HIGH/CRITICAL"},
        ),
    ],
    ids=["push-before-scan", "no-size-gate", "scan-never-fails"],
)
def test_wrong_answers_fail_exactly_their_item(tmp_path, base_images, mutate, failing):
    folder = solution_copy("08_ci_gate", tmp_path / "ex08")
    wf = folder / WORKFLOW
    wf.write_text(mutate(wf.read_text()))
    assert_fails_exactly(check("08", path=folder), failing)


def test_size_limit_too_generous_is_caught_by_running_the_step(tmp_path, base_images):
    """A size step that compares with 5 GB lets the 1 GB image through: measured, not read."""
    folder = solution_copy("08_ci_gate", tmp_path / "ex08")
    wf = folder / WORKFLOW
    wf.write_text(wf.read_text().replace("500 * 1000 * 1000", "5000 * 1000 * 1000"))
    rep = check("08", path=folder)
    item = next(r for r in rep.results if r.name.startswith("the size step"))
    assert not item.passed and item.points_earned == 1.5, str(rep)
    assert item.evidence["bloated"]["exit_code"] == 0
    assert {r.name for r in rep.results if not r.passed} == {item.name}


def test_continue_on_error_and_always_push_are_caught(tmp_path, base_images):
    folder = solution_copy("08_ci_gate", tmp_path / "ex08")
    wf = folder / WORKFLOW
    text = wf.read_text().replace(
        "      - name: Size gate (fail over 500 MB)\n",
        "      - name: Size gate (fail over 500 MB)\n        continue-on-error: true\n",
    )
    text = text.replace(
        "      - name: Push\n        if: github.event_name == 'push'",
        "      - name: Push\n        if: always()",
    )
    wf.write_text(text)
    rep = check("08", path=folder)
    order = next(r for r in rep.results if r.name.startswith("the push comes only"))
    assert not order.passed
    problems = " ".join(order.evidence["problems"])
    assert "continue-on-error" in problems and "always()" in problems


# ------------------------------------------------------------- issue 11: wrong answers, judged
N_ORDER = "the push comes only after the scan, the size gate and the tests passed"
N_SCAN = "the scan fails the job on HIGH/CRITICAL"
N_GATE = "your image passes the gate"
SOLVED_WF = (SOLUTION / WORKFLOW).read_text()
SOLVED_DF = (SOLUTION / "Dockerfile").read_text()
TRIVY_ACTION = SOLVED_WF[
    SOLVED_WF.index("      - name: Scan (fail on HIGH or CRITICAL)") : SOLVED_WF.index(
        "      - name: Size gate"
    )
]


def _scan_step(script: str) -> str:
    body = "\n".join("          " + ln for ln in script.splitlines())
    return (
        "      - uses: aquasecurity/setup-trivy@v0.2.2\n"
        "      - name: Scan (fail on HIGH or CRITICAL)\n"
        f"        run: |\n{body}\n\n"
    )


def _variant(tmp_path, workflow: str, dockerfile: str | None = None):
    folder = solution_copy("08_ci_gate", tmp_path / "ex08")
    (folder / WORKFLOW).write_text(workflow)
    if dockerfile is not None:
        (folder / "Dockerfile").write_text(dockerfile)
    return folder


def test_swallowed_exit_codes_and_a_push_for_pull_requests_fail_scan_and_order(
    tmp_path, base_images
):
    """``trivy ... || true``, tests ``|| echo``, and a push step without its event condition:
    the scan and tests steps are RUN (stand-in scanner with a finding, ``docker run`` exiting 1)
    and seen to pass; the push would run for pull requests too."""
    wf = SOLVED_WF.replace(
        TRIVY_ACTION,
        _scan_step(
            'trivy image --severity HIGH,CRITICAL --exit-code 1 "$IMAGE:${{ github.sha }}" || true'
        ),
    )
    wf = wf.replace(
        "python -m unittest -v\n", 'python -m unittest -v || echo "tests failed, pushing anyway"\n'
    )
    wf = wf.replace(
        "      - name: Push\n        if: github.event_name == 'push'\n", "      - name: Push\n"
    )
    assert wf.count("|| ") == 2 and "      - name: Push\n        run:" in wf
    rep = check("08", path=_variant(tmp_path, wf))
    assert rep.error is None, rep.error
    by = {r.name: r for r in rep.results}
    assert {r.name for r in rep.results if not r.passed} == {N_ORDER, N_SCAN}, str(rep)
    runs = next(iter(by[N_SCAN].evidence["runs"].values()))
    assert runs["HIGH"]["exit_code"] == 0 and "CVE-2099" in runs["HIGH"]["output"]
    assert "|| true" in by[N_SCAN].hint
    problems = " ".join(by[N_ORDER].evidence["problems"])
    assert "tests in the image fail" in problems and "pull_request" in problems, problems
    assert "github.event_name == 'push'" in by[N_ORDER].hint


def test_set_plus_e_scan_and_a_probe_that_cannot_fail_fail_scan_and_gate(tmp_path, base_images):
    """``set +e`` before the scanner; a HEALTHCHECK whose Python swallows the error (no
    static pattern knows it): the gate's checklist row runs it in a container of the image
    whose app never started, and it exits 0 there."""
    wf = SOLVED_WF.replace(
        TRIVY_ACTION,
        _scan_step(
            "set +e\n"
            'trivy image --severity HIGH,CRITICAL --exit-code 1 "$IMAGE:${{ github.sha }}"\n'
            'echo "scan finished"'
        ),
    )
    probe = SOLVED_DF[SOLVED_DF.index("    CMD [") : SOLVED_DF.index("\nCMD [")]
    df = SOLVED_DF.replace(
        probe,
        '    CMD ["python", "-c", "import urllib.request as u\\ntry:\\n    '
        "u.urlopen('http://127.0.0.1:8000/health', timeout=2)\\nexcept Exception:\\n    pass\"]",
    )
    assert df != SOLVED_DF
    rep = check("08", path=_variant(tmp_path, wf, df))
    assert rep.error is None, rep.error
    by = {r.name: r for r in rep.results}
    assert {r.name for r in rep.results if not r.passed} == {N_SCAN, N_GATE}, str(rep)
    assert by[N_GATE].evidence["gates"]["checklist"].startswith("FAIL")
    assert "exited 0 with the app not running" in by[N_GATE].message, by[N_GATE].message
    assert "scan finished" in next(iter(by[N_SCAN].evidence["runs"].values()))["HIGH"]["output"]


# ------------------------------------------------------------- issue 11: correct alternatives
#: trivy installed and run as a command, a size check with the spaced template, and the push
#: guarded by github.ref (the workflow runs on every push and PR)
ALT_TRIVY_CLI = """name: ci
on: [push, pull_request]
env:
  IMAGE: ghcr.io/${{ github.repository }}/stats
jobs:
  ship:
    runs-on: ubuntu-24.04
    permissions: {contents: read, packages: write}
    steps:
      - uses: actions/checkout@v4
      - run: docker build --pull -t "$IMAGE:$GITHUB_SHA" .
      - name: unit tests in the image
        run: docker run --rm "$IMAGE:$GITHUB_SHA" python -m unittest -v
      - uses: aquasecurity/setup-trivy@v0.2.2
      - name: trivy
        run: trivy image --no-progress --ignore-unfixed -s HIGH,CRITICAL --exit-code 2 "$IMAGE:$GITHUB_SHA"
      - name: size
        run: |
          bytes=$(docker image inspect -f '{{ .Size }}' "$IMAGE:$GITHUB_SHA")
          test "$bytes" -le 500000000 || { echo "image is $bytes bytes"; exit 1; }
      - if: github.ref == 'refs/heads/main' && github.event_name == 'push'
        run: |
          echo "${{ secrets.GITHUB_TOKEN }}" | docker login ghcr.io -u "${{ github.actor }}" --password-stdin
          docker push "$IMAGE:$GITHUB_SHA"
"""
ALT_TRIVY_CLI_DOCKERFILE = """FROM python:3.11-slim
WORKDIR /app
COPY app.py test_app.py ./
USER 10001:10001
HEALTHCHECK --interval=15s --timeout=3s --retries=2 \\
    CMD python -c "import urllib.request as r; r.urlopen('http://localhost:8000/health', timeout=2)" || exit 1
CMD ["python", "app.py"]
"""
#: the course gate as the scan and size step, and build-push-action pushing at the end only
#: for pushes to main (it rebuilds from the cache the tested image came from)
ALT_COURSE_GATE = """name: docker
on:
  push:
    branches: [main]
  pull_request:
env:
  IMAGE: ghcr.io/${{ github.repository }}/stats-service
jobs:
  image:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: docker/setup-buildx-action@v3
      - name: Build
        uses: docker/build-push-action@v6
        with:
          load: true
          push: false
          tags: ${{ env.IMAGE }}:${{ github.sha }}
      - name: Tests
        run: docker run --rm "${IMAGE}:${{ github.sha }}" python -m unittest -v
      - name: Gate (vulnerabilities, size, checklist)
        run: |
          pip install shipshape-course
          python -m helpers gate "$IMAGE:${{ github.sha }}" --max-size 500MB --fail-on HIGH,CRITICAL
      - uses: docker/login-action@v3
        if: github.event_name == 'push'
        with:
          registry: ghcr.io
          username: ${{ github.actor }}
          password: ${{ secrets.GITHUB_TOKEN }}
      - name: Push
        uses: docker/build-push-action@v6
        with:
          push: ${{ github.event_name == 'push' }}
          tags: ${{ env.IMAGE }}:${{ github.sha }}
"""


@pytest.mark.parametrize(
    ("workflow", "dockerfile"),
    [(ALT_TRIVY_CLI, ALT_TRIVY_CLI_DOCKERFILE), (ALT_COURSE_GATE, None)],
    ids=["trivy-cli+ref-guard+numeric-user", "course-gate-step+build-push-action"],
)
def test_alternative_answers_pass_at_full_score(tmp_path, base_images, workflow, dockerfile):
    rep = check("08", path=_variant(tmp_path, workflow, dockerfile))
    assert rep.error is None, rep.error
    assert rep.passed and rep.score == rep.max_score, str(rep)
