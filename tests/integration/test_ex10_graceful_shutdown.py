"""Exercise 10 proven both ways: a real docker stop, timed, with its exit code and logs."""

import pytest

from helpers import check
from helpers.checks import ex10_graceful_shutdown as ex
from tests.conftest import ROOT, checked, failed_items, solution_copy
from tests.support import assert_fails_exactly, assert_full_score

pytestmark = [pytest.mark.docker, pytest.mark.slow]

SOLUTION = ROOT / "solutions" / "10_graceful_shutdown"
WORKER = (SOLUTION / "worker.py").read_text()
DOCKERFILE = (SOLUTION / "Dockerfile").read_text()
EXEC_CMD = 'CMD ["python", "worker.py"]'
HANDLERS = (
    "signal.signal(signal.SIGTERM, request_stop)\nsignal.signal(signal.SIGINT, request_stop)\n"
)
assert EXEC_CMD in DOCKERFILE and HANDLERS in WORKER
ALL_BUT_NOTHING = {ex.QUICK, ex.EXIT0, ex.CLEANUP, ex.PID1, ex.SIGINT}
#: an entrypoint script as learners write it; NO_EXEC lacks the `exec`
START_SH = "#!/bin/sh\nset -e\nmkdir -p /app/state\n{run}python worker.py\n"


def test_starter_fails_with_hints(base_images, resource_counts):
    before = resource_counts()
    rep = checked("10")
    assert rep.error is None, rep.error
    assert failed_items(rep) == {ex.QUICK, ex.EXIT0, ex.CLEANUP, ex.PID1, ex.SIGINT}, str(rep)
    by = {r.name: r for r in rep.results}
    assert by[ex.QUICK].evidence["stop_seconds"] >= ex.GRACE_S - 0.5  # waited out the grace
    assert by[ex.EXIT0].evidence["exit_code"] == 137
    assert "exec form" in by[ex.QUICK].hint.lower() or "json list" in by[ex.QUICK].hint.lower()
    assert by[ex.PID1].evidence["pid1"].startswith("/bin/sh -c")  # read from the container
    assert resource_counts() == before


def test_solution_evidence(base_images):
    """The solution's own evidence (passing at full score is the contract test's)."""
    rep = checked("10", "solution")
    by = {r.name: r for r in rep.results}
    assert by[ex.QUICK].evidence["stop_seconds"] < ex.BOUND_S
    assert by[ex.CLEANUP].evidence["last_batch_logged"] >= 1
    assert by[ex.PID1].evidence["pid1"] == "python worker.py"
    assert by[ex.SIGINT].evidence["exit_code"] == 0


@pytest.mark.parametrize(
    ("worker", "dockerfile", "failing", "hint_word"),
    [
        # a correct handler behind the shell form: sh is PID 1 and never passes SIGTERM on
        (
            WORKER,
            DOCKERFILE.replace(EXEC_CMD, "CMD python worker.py"),
            ALL_BUT_NOTHING,
            "PID 1 is `/bin/sh -c python worker.py`",
        ),
        # exec form, no handler: Python as PID 1 ignores SIGTERM, SIGKILL after the grace
        (
            WORKER.replace(HANDLERS, ""),
            DOCKERFILE,
            {ex.QUICK, ex.EXIT0, ex.CLEANUP, ex.SIGINT},
            "SIGTERM",
        ),
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
            {ex.QUICK, ex.EXIT0, ex.CLEANUP, ex.SIGINT},
            "exit",
        ),
        # a handler that just exits: quick, but a failure code and nothing flushed
        (
            WORKER.replace(
                HANDLERS, "signal.signal(signal.SIGTERM, lambda *a: sys.exit('terminated'))\n"
            ),
            DOCKERFILE,
            {ex.EXIT0, ex.CLEANUP, ex.SIGINT},
            "sys.exit(0)",
        ),
        # kind 3: a JSON list, so a static "exec form" rule passes it, but sh is PID 1
        (
            WORKER,
            DOCKERFILE.replace(EXEC_CMD, 'CMD ["sh", "-c", "python worker.py"]'),
            ALL_BUT_NOTHING,
            "PID 1 is `sh -c python worker.py`",
        ),
        # kind 4: exec-form ENTRYPOINT, but the script it runs starts Python without `exec`
        (
            WORKER,
            DOCKERFILE.replace(
                "COPY worker.py .", "COPY worker.py start.sh ./\nRUN chmod +x start.sh"
            ).replace(EXEC_CMD, 'ENTRYPOINT ["/app/start.sh"]'),
            ALL_BUT_NOTHING,
            "`exec python worker.py`",
        ),
        # kind 2: the README asks for SIGTERM *and* SIGINT; this one handles SIGTERM only
        (
            WORKER.replace("signal.signal(signal.SIGINT, request_stop)\n", ""),
            DOCKERFILE,
            {ex.SIGINT},
            "signal.SIGINT",
        ),
    ],
    ids=[
        "handler-behind-shell-form",
        "no-handler",
        "handler-never-exits",
        "exit-without-cleanup",
        "sh-c-json-list",
        "entrypoint-script-without-exec",
        "sigterm-only",
    ],
)
def test_wrong_answers_fail_exactly_their_item(
    tmp_path, base_images, worker, dockerfile, failing, hint_word
):
    assert (worker, dockerfile) != (WORKER, DOCKERFILE)
    dst = tmp_path / "ex10"
    solution_copy("10_graceful_shutdown", dst)
    (dst / "worker.py").write_text(worker)
    (dst / "Dockerfile").write_text(dockerfile)
    (dst / "start.sh").write_text(START_SH.format(run=""))
    failed = assert_fails_exactly(check("10", path=dst), failing)
    assert hint_word in failed[0].hint, failed[0].hint


#: Correct answers that differ from the reference solution: each must score the maximum.
#: A worker written another way: a threading.Event, one handler for both signals, a
#: ``finally`` that flushes.
EVENT_WORKER = """import json, os, signal, sys, threading, time
from pathlib import Path

STATE = Path(os.environ.get("STATE_DIR", "/app/state"))
STATE.mkdir(parents=True, exist_ok=True)
stop = threading.Event()
buffer, batch = [], 0


def flush():
    with open(STATE / "results.jsonl", "a") as f:
        f.writelines(json.dumps(r) + "\\n" for r in buffer)
    buffer.clear()
    (STATE / "checkpoint.json").write_text(json.dumps({"last_batch": batch}))


for sig in (signal.SIGTERM, signal.SIGINT):
    signal.signal(sig, lambda signum, frame: stop.set())

print("worker: started", flush=True)
try:
    while not stop.is_set():
        batch += 1
        time.sleep(0.2)
        buffer.append({"batch": batch, "rows": 1000})
        print(f"worker: batch {batch} done", flush=True)
        if batch % 20 == 0:
            flush()
finally:
    flush()
    print("worker: shutdown complete", flush=True)
sys.exit(0)
"""


@pytest.mark.parametrize(
    ("files", "dockerfile"),
    [
        # shell form, but `exec` makes Python replace the shell as PID 1
        ({"worker.py": EVENT_WORKER}, DOCKERFILE.replace(EXEC_CMD, "CMD exec python worker.py")),
        # an entrypoint script that ends in `exec "$@"`, the CMD in exec form after it
        (
            {
                "worker.py": WORKER,
                "entrypoint.sh": '#!/bin/sh\nset -e\nmkdir -p /app/state\nexec "$@"\n',
            },
            DOCKERFILE.replace(
                "COPY worker.py .", "COPY worker.py entrypoint.sh ./\nRUN chmod +x entrypoint.sh"
            ).replace(EXEC_CMD, 'ENTRYPOINT ["/app/entrypoint.sh"]\n' + EXEC_CMD),
        ),
        # an init that forwards signals as PID 1 (a build that pip-installs it, like 05's)
        (
            {"worker.py": WORKER},
            DOCKERFILE.replace(
                "WORKDIR /app",
                "RUN pip install --no-cache-dir dumb-init==1.2.5.post1\nWORKDIR /app",
            ).replace(EXEC_CMD, 'ENTRYPOINT ["dumb-init", "--"]\n' + EXEC_CMD),
        ),
    ],
    ids=["shell-form-with-exec", "entrypoint-script-with-exec", "dumb-init"],
)
def test_alternative_answers_score_the_maximum(tmp_path, base_images, files, dockerfile):
    dst = tmp_path / "ex10"
    solution_copy("10_graceful_shutdown", dst)
    for name, text in files.items():
        (dst / name).write_text(text)
    (dst / "Dockerfile").write_text(dockerfile)
    rep = check("10", path=dst)
    assert_full_score(rep)
    pid1 = next(r for r in rep.results if r.name == ex.PID1)
    assert ("dumb-init" in dockerfile) == pid1.evidence["pid1"].startswith("dumb-init")
