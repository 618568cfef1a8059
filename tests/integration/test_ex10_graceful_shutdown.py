"""Exercise 10 proven both ways: a real docker stop, timed, with its exit code and logs."""

import pytest

from helpers import check
from helpers.checks import ex10_graceful_shutdown as ex
from tests.conftest import ROOT, checked, failed_items, solution_copy

pytestmark = [pytest.mark.docker, pytest.mark.slow]

SOLUTION = ROOT / "solutions" / "10_graceful_shutdown"
WORKER = (SOLUTION / "worker.py").read_text()
DOCKERFILE = (SOLUTION / "Dockerfile").read_text()
EXEC_CMD = 'CMD ["python", "worker.py"]'
HANDLERS = (
    "signal.signal(signal.SIGTERM, request_stop)\nsignal.signal(signal.SIGINT, request_stop)\n"
)
assert EXEC_CMD in DOCKERFILE and HANDLERS in WORKER


def test_starter_fails_with_hints(base_images, resource_counts):
    before = resource_counts()
    rep = checked("10")
    assert rep.error is None, rep.error
    assert failed_items(rep) == {ex.QUICK, ex.EXIT0, ex.CLEANUP, ex.EXEC}, str(rep)
    by = {r.name: r for r in rep.results}
    assert by[ex.QUICK].evidence["stop_seconds"] >= ex.GRACE_S - 0.5  # waited out the grace
    assert by[ex.EXIT0].evidence["exit_code"] == 137
    assert "exec form" in by[ex.QUICK].hint.lower() or "json list" in by[ex.QUICK].hint.lower()
    assert resource_counts() == before


def test_solution_evidence(base_images):
    """The solution's own evidence (passing at full score is the contract test's)."""
    rep = checked("10", "solution")
    by = {r.name: r for r in rep.results}
    assert by[ex.QUICK].evidence["stop_seconds"] < ex.BOUND_S
    assert by[ex.CLEANUP].evidence["last_batch_logged"] >= 1


@pytest.mark.parametrize(
    ("worker", "dockerfile", "failing", "hint_word"),
    [
        # a correct handler behind the shell form: sh is PID 1 and never passes SIGTERM on
        (
            WORKER,
            DOCKERFILE.replace(EXEC_CMD, "CMD python worker.py"),
            {ex.QUICK, ex.EXIT0, ex.CLEANUP, ex.EXEC},
            "shell form",
        ),
        # exec form, no handler: Python as PID 1 ignores SIGTERM, SIGKILL after the grace
        (WORKER.replace(HANDLERS, ""), DOCKERFILE, {ex.QUICK, ex.EXIT0, ex.CLEANUP}, "SIGTERM"),
        # a handler that cleans up but never leaves the loop: SIGKILL at the end of the grace
        # period, and the batches done after the "cleanup" are lost (stale checkpoint)
        (
            WORKER.replace(
                "    running = False\n",
                # os.write, not print: a print in a signal handler can interrupt the
                # main loop's print and die of a reentrant-call error (a flaky exit 1)
                "    flush()\n    os.write(1, b'worker: shutdown complete\\n')\n",
            ),
            DOCKERFILE,
            {ex.QUICK, ex.EXIT0, ex.CLEANUP},
            "exit",
        ),
        # a handler that just exits: quick, but a failure code and nothing flushed
        (
            WORKER.replace(
                HANDLERS, "signal.signal(signal.SIGTERM, lambda *a: sys.exit('terminated'))\n"
            ),
            DOCKERFILE,
            {ex.EXIT0, ex.CLEANUP},
            "sys.exit(0)",
        ),
    ],
    ids=["handler-behind-shell-form", "no-handler", "handler-never-exits", "exit-without-cleanup"],
)
def test_wrong_answers_fail_exactly_their_item(
    tmp_path, base_images, worker, dockerfile, failing, hint_word
):
    assert (worker, dockerfile) != (WORKER, DOCKERFILE)
    dst = tmp_path / "ex10"
    solution_copy("10_graceful_shutdown", dst)
    (dst / "worker.py").write_text(worker)
    (dst / "Dockerfile").write_text(dockerfile)
    rep = check("10", path=dst)
    assert rep.error is None, rep.error
    assert failed_items(rep) == failing, str(rep)
    first = next(r for r in rep.results if r.name in failing)
    assert hint_word in first.hint, first.hint
    for r in rep.results:
        if not r.passed:
            assert r.hint, f"{r.name} failed without a hint"
