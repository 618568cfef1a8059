"""Exercise 06 proven both ways: starter fails with hints, solution passes, and realistic
wrong logging setups each fail exactly the items they should."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import check
from helpers.checks import ex06_json_logging as ex06
from tests.conftest import ROOT, checked, run_leftovers, solution_copy

pytestmark = [pytest.mark.docker, pytest.mark.slow]

JSON, KEYS, EXC, FILES, LEVEL = (
    ex06.ITEM_JSON,
    ex06.ITEM_KEYS,
    ex06.ITEM_EXC,
    ex06.ITEM_FILES,
    ex06.ITEM_LEVEL,
)
SOLUTION = ROOT / "solutions" / "06_json_logging"


def _variant(tmp_path: Path, **edits: tuple[str, str]) -> Path:
    """The solution with text replacements: file name (dots as _) -> (old, new)."""
    dest = solution_copy("06_json_logging", tmp_path / "ex06")
    for fname, (old, new) in edits.items():
        p = dest / fname.replace("_py", ".py")
        text = p.read_text()
        assert old in text, f"{old!r} not in {p.name}: the solution changed, update the test"
        p.write_text(text.replace(old, new))
    return dest


def test_starter_fails_with_hints(base_images):
    rep = checked("06")
    assert rep.error is None, rep.error
    by = {r.name: r for r in rep.results}
    assert {r.name for r in rep.failed()} == {JSON, KEYS, EXC, LEVEL}, str(rep)
    assert by[FILES].passed  # print() writes to stdout: no files, the one thing it gets right
    assert "not a JSON object" in by[JSON].hint and "print()" in by[JSON].hint
    assert by[JSON].evidence["lines"] > 0 and by[JSON].evidence["json_records"] == 0
    assert "log.exception" in by[EXC].hint
    assert rep.score == 2
    assert not run_leftovers()


def test_solution_evidence(base_images):
    """The solution's own evidence (passing at full score is the contract test's)."""
    rep = checked("06", "solution")
    by = {r.name: r for r in rep.results}
    assert "Traceback" in by[EXC].evidence["record"]["exception"]
    assert by[LEVEL].evidence["levels_with_LOG_LEVEL_WARNING"] == {"WARNING": 1, "ERROR": 1}


FILE_AND_STDOUT = (
    "    root.handlers[:] = [handler]",
    "    keep = logging.FileHandler('/app/pipeline.log')\n"
    "    keep.setFormatter(JsonFormatter())\n"
    "    root.handlers[:] = [handler, keep]",
)
NO_MODULE_FUNCTION = (
    '            "module": record.module,\n            "function": record.funcName,\n',
    "",
)
EXCEPTION_AS_TEXT = (
    '            out["exception"] = self.formatException(record.exc_info)',
    '            out["exception"] = repr(record.exc_info[1])',
)
LEVEL_HARDCODED = (
    'root.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())',
    "root.setLevel(logging.INFO)",
)
PLAIN_TEXT = (
    "    handler.setFormatter(JsonFormatter())",
    "    handler.setFormatter(logging.Formatter('%(asctime)s %(name)s %(levelname)s %(message)s'))",
)
ERROR_WITHOUT_TRACEBACK = (
    'log.exception("could not parse the amount of %s"',
    'log.error("could not parse the amount of %s"',
)


@pytest.mark.parametrize(
    ("edits", "failing", "hint_has"),
    [
        # "keep a file too, just in case": stdout is fine, but a log file grows in the container
        ({"jsonlog_py": FILE_AND_STDOUT}, {FILES}, "/app/pipeline.log"),
        # JSON, but the formatter forgot two keys
        ({"jsonlog_py": NO_MODULE_FUNCTION}, {KEYS}, "record.funcName"),
        # the exception field holds repr(exc): no stack
        ({"jsonlog_py": EXCEPTION_AS_TEXT}, {EXC}, "formatException"),
        # log.error in the except block: the traceback is dropped
        ({"pipeline_py": ERROR_WITHOUT_TRACEBACK}, {EXC}, "log.exception"),
        # the level is fixed in code: LOG_LEVEL does nothing
        ({"jsonlog_py": LEVEL_HARDCODED}, {LEVEL}, "LOG_LEVEL"),
        # the seed's plain-text format: readable, not parseable
        ({"jsonlog_py": PLAIN_TEXT}, {JSON, KEYS, EXC, LEVEL}, "not a JSON object"),
    ],
    ids=[
        "logs-to-file",
        "missing-keys",
        "exception-repr",
        "error-not-exception",
        "level-hardcoded",
        "plain-text",
    ],
)
def test_wrong_answers_fail_exactly_their_items(tmp_path, base_images, edits, failing, hint_has):
    rep = check("06", path=_variant(tmp_path, **edits))
    assert rep.error is None, rep.error
    assert {r.name for r in rep.failed()} == failing, str(rep)
    for r in rep.failed():
        assert r.hint, f"{r.name} failed without a hint"
    assert any(hint_has in r.hint for r in rep.failed()), str(rep)
    assert not run_leftovers()


def test_file_only_logging_leaves_docker_logs_empty(tmp_path, base_images):
    """basicConfig(filename=...): every item fails, and the first says where the logs went."""
    path = _variant(
        tmp_path,
        jsonlog_py=(
            "handler = logging.StreamHandler(sys.stdout)",
            "handler = logging.FileHandler('run.log')",
        ),
    )
    rep = check("06", path=path)
    by = {r.name: r for r in rep.results}
    assert {r.name for r in rep.failed()} == {JSON, KEYS, EXC, FILES, LEVEL}, str(rep)
    assert "empty" in by[JSON].message and "file" in by[JSON].hint
    assert by[FILES].evidence["log_files"] == ["/app/run.log"]


def test_a_broken_build_fails_every_item_with_the_build_error(tmp_path, base_images):
    path = _variant(tmp_path)
    (path / "Dockerfile").write_text("FROM python:3.11-slim\nCOPY missing.py ./\n")
    rep = check("06", path=path)
    assert rep.error is None and rep.score == 0
    assert all("not judged" in r.message and r.hint for r in rep.results), str(rep)
