"""Exercise 06 proven both ways: starter fails with hints, solution passes, and realistic
wrong logging setups each fail exactly the items they should."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import check
from helpers.checks import ex06_json_logging as ex06
from tests.conftest import ROOT, checked, run_leftovers, solution_copy
from tests.support import assert_fails_exactly, assert_full_score

pytestmark = [pytest.mark.docker, pytest.mark.slow]

JSON, KEYS, EXC, FILES, LEVEL, DOCKERFILE = (
    ex06.ITEM_JSON,
    ex06.ITEM_KEYS,
    ex06.ITEM_EXC,
    ex06.ITEM_FILES,
    ex06.ITEM_LEVEL,
    ex06.ITEM_DOCKERFILE,
)
SOLUTION = ROOT / "solutions" / "06_json_logging"


def _variant(tmp_path: Path, **edits: tuple[str, str]) -> Path:
    """The solution with text replacements: file name (dots as _) -> (old, new)."""
    dest = solution_copy("06_json_logging", tmp_path / "ex06")
    for fname, (old, new) in edits.items():
        p = dest / fname.replace("_py", ".py")
        if not p.exists():  # the overlay keeps the starter's files in exercises/
            p.write_text((ROOT / "exercises" / "06_json_logging" / p.name).read_text())
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
    assert rep.score == 3  # no files (2) and the Dockerfile untouched (1)
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
# issue 11, kind 4: a log file where the old check did not look (/tmp), or one whose name
# does not say "log" (judged by what it holds)
FILE_IN_TMP = (
    FILE_AND_STDOUT[0],
    FILE_AND_STDOUT[1].replace("/app/pipeline.log", "/tmp/pipeline.log"),
)
FILE_NOT_NAMED_LOG = (
    FILE_AND_STDOUT[0],
    FILE_AND_STDOUT[1].replace("/app/pipeline.log", "/var/tmp/orders-run.jsonl"),
)
# kind 2: the README says stdout; StreamHandler() alone writes to stderr
ON_STDERR = ("logging.StreamHandler(sys.stdout)", "logging.StreamHandler()")
# kind 2: "default INFO": a DEBUG default shows the debug records
DEFAULT_DEBUG = ('os.environ.get("LOG_LEVEL", "INFO")', 'os.environ.get("LOG_LEVEL", "DEBUG")')
# kind 5's other side: a number that is not a time (ms since logging was imported)
RELATIVE_TIME = (
    '"timestamp": datetime.fromtimestamp(record.created, timezone.utc).isoformat(),',
    '"timestamp": record.relativeCreated,',
)
# the README fixes the key names: python-json-logger's default `levelname` is not `level`
LEVELNAME_KEY = ('"level": record.levelname,', '"levelname": record.levelname,')

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
        ({"jsonlog_py": FILE_IN_TMP}, {FILES}, "/tmp/pipeline.log"),
        ({"jsonlog_py": FILE_NOT_NAMED_LOG}, {FILES}, "holds log records"),
        ({"jsonlog_py": ON_STDERR}, {JSON}, "stderr"),
        ({"jsonlog_py": DEFAULT_DEBUG}, {LEVEL}, "DEBUG"),
        ({"jsonlog_py": RELATIVE_TIME}, {KEYS}, "not a point in time"),
        ({"jsonlog_py": LEVELNAME_KEY}, {KEYS}, "`levelname`"),
        # kind 1: the README says leave the Dockerfile alone
        (
            {"Dockerfile": ("WORKDIR /app", "ENV LOG_LEVEL=INFO\nWORKDIR /app")},
            {DOCKERFILE},
            "restore the Dockerfile",
        ),
    ],
    ids=[
        "logs-to-file",
        "missing-keys",
        "exception-repr",
        "error-not-exception",
        "level-hardcoded",
        "plain-text",
        "log-file-in-tmp",
        "log-file-not-named-log",
        "records-on-stderr",
        "default-debug",
        "relative-time",
        "levelname-key",
        "dockerfile-changed",
    ],
)
def test_wrong_answers_fail_exactly_their_items(tmp_path, base_images, edits, failing, hint_has):
    rep = check("06", path=_variant(tmp_path, **edits))
    failed = assert_fails_exactly(rep, failing)
    assert any(hint_has in r.hint for r in failed), str(rep)
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
    assert by[DOCKERFILE].passed


def test_a_broken_build_fails_every_item_with_the_build_error(tmp_path, base_images):
    path = _variant(tmp_path)
    (path / "Dockerfile").write_text("FROM python:3.11-slim\nCOPY missing.py ./\n")
    rep = check("06", path=path)
    assert rep.error is None and rep.score == 0
    by = {r.name: r for r in rep.results}
    assert by[DOCKERFILE].hint and not by[DOCKERFILE].passed
    assert all("not judged" in r.message and r.hint for r in rep.results if r.name != DOCKERFILE), (
        str(rep)
    )


#: Correct answers that differ from the reference solution: each must score the maximum.
#: dictConfig with the formatter class, epoch-seconds timestamps, lower-case level names,
#: the traceback as a list of lines, and log.error(..., exc_info=True).
DICTCONFIG_JSONLOG = """import json
import logging
import logging.config
import os
import traceback


class JsonFormatter(logging.Formatter):
    def format(self, record):
        doc = {
            "timestamp": record.created,
            "level": record.levelname.lower(),
            "message": record.getMessage(),
            "module": record.module,
            "function": record.funcName,
            "logger": record.name,
        }
        if record.exc_info:
            doc["exception"] = traceback.format_exception(*record.exc_info)
        return json.dumps(doc)


def setup():
    logging.config.dictConfig({
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {
            "out": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout",
                    "formatter": "json"},
        },
        "root": {"level": os.environ.get("LOG_LEVEL", "INFO").upper(), "handlers": ["out"]},
    })
"""
#: basicConfig(force=True), logging's own time format (2024-05-01 12:00:00,123) and epoch
#: milliseconds beside it, a ``logging.Formatter`` subclass that reuses formatException.
BASICCONFIG_JSONLOG = """import json
import logging
import os
import sys


class JsonFormatter(logging.Formatter):
    def format(self, record):
        record.message = record.getMessage()
        out = dict(
            timestamp=self.formatTime(record),
            epoch_ms=int(record.created * 1000),
            level=record.levelname,
            message=record.message,
            module=record.module,
            function=record.funcName,
        )
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def setup():
    handler = logging.StreamHandler(stream=sys.stdout)
    handler.setFormatter(JsonFormatter())
    logging.basicConfig(
        level=getattr(logging, os.getenv("LOG_LEVEL", "INFO").upper()),
        handlers=[handler],
        force=True,
    )
"""


@pytest.mark.parametrize(
    "edits",
    [
        {
            "jsonlog.py": DICTCONFIG_JSONLOG,
            "pipeline.py": (
                'log.exception("could not parse the amount of %s", order_id, '
                'extra={"order_id": order_id})',
                'log.error("could not parse the amount of %s", order_id, exc_info=True)',
            ),
        },
        {"jsonlog.py": BASICCONFIG_JSONLOG},
    ],
    ids=["dictconfig-epoch-seconds", "basicconfig-asctime"],
)
def test_alternative_answers_score_the_maximum(tmp_path, base_images, edits):
    dest = solution_copy("06_json_logging", tmp_path / "ex06")
    for name, edit in edits.items():
        p = dest / name
        if isinstance(edit, str):
            p.write_text(edit)
        else:
            assert edit[0] in p.read_text()
            p.write_text(p.read_text().replace(*edit))
    rep = check("06", path=dest)
    assert_full_score(rep)
    assert not run_leftovers()
