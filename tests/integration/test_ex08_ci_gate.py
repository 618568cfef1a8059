"""Exercise 08 proven both ways: starter fails with hints, solution passes, wrong answers fail
exactly their item."""

import pytest

from helpers import check
from tests.conftest import ROOT, checked, solution_copy

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
    rep = check("08", path=folder)
    assert rep.error is None, rep.error
    assert {r.name for r in rep.results if not r.passed} == failing, str(rep)
    for r in rep.results:
        if not r.passed:
            assert r.hint, f"{r.name} failed without a hint"


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
