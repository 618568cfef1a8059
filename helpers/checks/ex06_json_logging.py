"""Exercise 06: structured JSON logs on stdout (practice problem 6).

The check builds the learner's image, runs it twice (default level, then
``LOG_LEVEL=WARNING``), parses every line ``docker logs`` returns (stdout and stderr read
apart), and reads what the container wrote to its writable layer (``container.diff()``, all
of it but ``/proc``, ``/dev`` and ``/sys``; the written files' content too).

Rubric: every log line is JSON, on stdout (3, partial by share of lines); each record has
timestamp, level, message, module, function (2); an exception carries its traceback (2); no
log files written inside the container (2); LOG_LEVEL sets the level (2); the Dockerfile is
left as shipped (1).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .. import containers, images, inside, logs
from ..findings import Report
from . import intact
from .requirements import Requirement
from .rubric import Facts, Rubric, Verdict

EXERCISE = "06"
SLUG = "06_json_logging"
TITLE = "Structured JSON logs on stdout"
#: The pipeline's bad row raises this; its traceback must reach the logs.
EXPECTED_EXCEPTION = "ValueError"

ITEM_JSON = "every log line is JSON, on stdout"
ITEM_KEYS = "each record has timestamp, level, message, module, function"
ITEM_EXC = "an exception carries its traceback"
ITEM_FILES = "no log files written inside the container"
ITEM_LEVEL = "LOG_LEVEL sets the level: INFO by default, WARNING hides INFO"
ITEM_DOCKERFILE = "the Dockerfile is left as shipped"

REQUIREMENTS = (
    Requirement("writes one JSON object per line", ("json",)),
    Requirement("with these keys, spelled exactly so: timestamp, level,", ("keys",)),
    Requirement("plus exception (the full traceback) when the record carries one", ("traceback",)),
    Requirement("which sends records to stdout", ("json",)),
    Requirement("at the level given by the LOG_LEVEL environment variable", ("level",)),
    Requirement("(default INFO)", ("level",)),
    Requirement("Make pipeline.py log instead of print", ("json",)),
    Requirement("log.exception(...) inside the except block", ("traceback",)),
    Requirement("Write no log files inside the container", ("no_files",)),
    Requirement("Leave the Dockerfile as it is", ("dockerfile",)),
)
README_NOT_RULES = {
    "setup() once in main(), a module logger, log.info / log.warning": "how to get there; the "
    "result is judged by the JSON, level and traceback items",
    "looks at every file the container wrote": "describes how the check judges the "
    "no-log-files requirement",
}

#: Text only a log of this pipeline carries: a written file holding it is a log file
#: whatever its name.
_PIPELINE_MARKERS = re.compile(
    r"pipeline (started|finished)|extracted \d+ orders|A-1003|skipped \d+ of \d+|daily_totals",
    re.IGNORECASE,
)
#: At most this many written files are read for their content (each at most 256 KiB).
MAX_FILES_READ = 20


def is_log_content(text: str) -> bool:
    """A file's text looks like this pipeline's log (its messages, or JSON log records).

    >>> is_log_content('{"level": "INFO", "message": "x"}'), is_log_content("A-1003 failed")
    (True, True)
    >>> is_log_content("name,total\\n2024-05-01,24.90\\n")
    False
    """
    if _PIPELINE_MARKERS.search(text):
        return True
    recs = logs.parse_json_lines(text).records
    return any("level" in r or "levelname" in r for r in recs)


def _run_once(tag: str, environment: dict[str, str] | None = None) -> dict[str, Any]:
    """Run the image to completion: stdout and stderr apart, exit code, diff, written files."""
    with containers.running(tag, environment=environment or {}) as ctr:
        try:
            info = containers.wait_for_exit(ctr, timeout_s=60)
            code: int | None = info.exit_code
        except containers.WaitError:
            ctr.kill()
            code = None
        out = ctr.logs(stdout=True, stderr=False).decode("utf-8", "replace")
        err = ctr.logs(stdout=False, stderr=True).decode("utf-8", "replace")
        diff = ctr.diff() or []
        written: dict[str, str | None] = {}
        for path in logs.written_paths(diff)[:MAX_FILES_READ]:
            data = inside.read_file(ctr, path, max_bytes=256 * 1024)
            written[path] = data.decode("utf-8", "replace") if data is not None else None
        return {
            "exit_code": code,
            "stdout": out,
            "stderr": err,
            "diff": diff,
            "written": written,
        }


def _parsed(out: dict[str, Any]) -> dict[str, Any]:
    po, pe = logs.parse_json_lines(out["stdout"]), logs.parse_json_lines(out["stderr"])
    both = logs.ParsedLogs(records=po.records + pe.records, bad=po.bad + pe.bad)
    return {**out, "parsed": both, "on_stdout": po, "on_stderr": pe}


RUBRIC = Rubric(EXERCISE, SLUG, TITLE)


@RUBRIC.fact
def image(f: Facts) -> images.BuildResult:
    return images.build(f.path, f.tag("image"), on_event=None, timeout_s=300, exercise=EXERCISE)


@RUBRIC.fact
def default(f: Facts) -> dict[str, Any]:
    """The run with LOG_LEVEL unset, its logs parsed."""
    return _parsed(_run_once(f.image.image_id))


@RUBRIC.fact
def warning(f: Facts) -> dict[str, Any]:
    """The run with LOG_LEVEL=WARNING, its logs parsed."""
    return _parsed(_run_once(f.image.image_id, {"LOG_LEVEL": "WARNING"}))


@RUBRIC.item("json", ITEM_JSON, 3, needs=("default",))
def every_line_json(f: Facts) -> Verdict:
    p, code = f.default["parsed"], f.default["exit_code"]
    on_err = f.default["on_stderr"]
    on_out = f.default["on_stdout"]
    ev = {
        "lines": p.lines,
        "json_records": len(p.records),
        "records_on_stderr": len(on_err.records),
        "first_bad_lines": [f"{n}: {t[:200]}" for n, t in p.bad[:5]],
        "exit_code": code,
    }
    if p.lines == 0:
        return Verdict(
            False,
            f"`docker logs` is empty (exit code {code})",
            hint="Nothing reached stdout or stderr. Are the records going to a file? Give "
            "the root logger a StreamHandler(sys.stdout) with your JsonFormatter, and call "
            "jsonlog.setup() in main().",
            evidence=ev,
        )
    ok = not p.bad and not on_err.records and code == 0
    share = len(on_out.records) / p.lines
    first = p.bad[0][1][:120] if p.bad else ""
    if p.bad:
        hint = (
            f"Line {p.bad[0][0]} is not a JSON object: {first!r}. Every line must be one "
            "JSON object: replace each print() with a logger call formatted by "
            "JsonFormatter (json.dumps of a dict), and let no stray print or uncaught "
            "traceback write to stdout/stderr."
        )
    elif on_err.records:
        hint = (
            f"{len(on_err.records)} of {p.lines} records went to stderr: the task asks for "
            "stdout (`logging.StreamHandler()` writes to stderr unless you pass it "
            "`sys.stdout`)."
        )
    elif code != 0:
        hint = f"The pipeline exited with code {code}: it should finish cleanly (exit 0)."
    else:
        hint = ""
    return Verdict(
        ok,
        f"{len(p.records)} of {p.lines} lines parse as JSON objects, "
        f"{len(on_out.records)} of them on stdout; exit code {code}",
        hint=hint,
        evidence=ev,
        earned=3 if ok else round(3 * share, 1) if code == 0 else 0,
    )


@RUBRIC.item("keys", ITEM_KEYS, 2, needs=("default",))
def five_keys(f: Facts) -> Verdict:
    recs = f.default["parsed"].records
    if not recs:
        return Verdict(
            False,
            "no JSON records to judge",
            hint="Make the log lines JSON first (see the item above).",
        )
    missing = logs.missing_keys(recs)
    bad_levels = sorted(
        {str(r.get("level")) for r in recs if str(r.get("level", "")).upper() not in logs.LEVELS}
        - ({"None"} if "level" in missing else set())
    )
    ok = not missing and not bad_levels
    hint = ""
    if missing:
        names = {
            "timestamp": "record.created (an ISO-8601 string or the epoch number)",
            "level": "record.levelname",
            "message": "record.getMessage()",
            "module": "record.module",
            "function": "record.funcName",
        }
        aliases = logs.aliases_used(recs, list(missing))
        hint = (
            "Add "
            + ", ".join(f"`{k}` from {names[k]}" for k in missing)
            + " to the dict JsonFormatter.format() dumps."
        )
        if aliases:
            hint += (
                " The records say "
                + ", ".join(f"`{a}`" for a in aliases.values())
                + ": the task fixes the key names ("
                + ", ".join(f"`{k}`" for k in aliases)
                + "), because a log search queries one name."
            )
        if "timestamp" in missing and any("timestamp" in r for r in recs):
            sample = next(r["timestamp"] for r in recs if "timestamp" in r)
            hint += (
                f" `timestamp` holds {sample!r}, which is not a point in time: use an "
                "ISO-8601 string (2024-05-01T12:00:00+00:00) or the epoch number."
            )
    elif bad_levels:
        hint = f"`level` should be the level name (record.levelname), not {bad_levels[0]!r}."
    return Verdict(
        ok,
        (
            f"all {len(recs)} records carry the five keys"
            if ok
            else "records lacking keys (or with values that are not one): "
            + ", ".join(f"{k} in {n} of {len(recs)}" for k, n in missing.items())
            + (f"; unknown levels {bad_levels}" if bad_levels else "")
        ),
        hint=hint,
        evidence={"missing": missing, "bad_levels": bad_levels, "sample": recs[:2]},
    )


@RUBRIC.item("traceback", ITEM_EXC, 2, needs=("default",))
def exception_traceback(f: Facts) -> Verdict:
    recs = f.default["parsed"].records
    if not recs:
        return Verdict(
            False,
            "no JSON records to judge",
            hint="Make the log lines JSON first; then log the bad row (A-1003) from the "
            "except block with log.exception(...), which keeps its traceback.",
        )
    with_exc = [r for r in recs if r.get("exception")]
    good = [
        r
        for r in with_exc
        if "Traceback (most recent call last)" in _text(r["exception"])
        and EXPECTED_EXCEPTION in _text(r["exception"])
    ]
    errors = [r for r in recs if str(r.get("level", "")).upper() in ("ERROR", "CRITICAL")]
    if good:
        tb = _text(good[0]["exception"])
        return Verdict(
            True,
            f"{good[0].get('level')} record with a {len(tb.splitlines())}-line traceback "
            f"ending {tb.strip().splitlines()[-1][:100]!r}",
            evidence={"record": good[0]},
        )
    if with_exc:
        hint = (
            "The `exception` field holds no traceback. Fill it with "
            "self.formatException(record.exc_info): the whole stack, not just str(exc)."
        )
    elif errors:
        hint = (
            "The failed row is logged, but without its traceback. Inside the except block "
            "use log.exception(...) (or exc_info=True), and in JsonFormatter add "
            "`exception` = self.formatException(record.exc_info) when record.exc_info is set."
        )
    else:
        hint = (
            "No error record at all: the bad row (A-1003, amount 'n/a') must be logged from "
            "the except block with log.exception(...), which keeps the traceback."
        )
    return Verdict(
        False,
        f"no record with an `exception` traceback of the {EXPECTED_EXCEPTION} "
        f"({len(errors)} error records, {len(with_exc)} with an `exception` key)",
        hint=hint,
        evidence={"error_records": errors[:3]},
    )


def _text(x: Any) -> str:
    return "\n".join(map(str, x)) if isinstance(x, list) else str(x)


@RUBRIC.item("no_files", ITEM_FILES, 2, needs=("default", "warning"))
def no_log_files(f: Facts) -> Verdict:
    by_name = set(logs.log_file_changes(f.default["diff"])) | set(
        logs.log_file_changes(f.warning["diff"])
    )
    written = {**f.warning["written"], **f.default["written"]}
    by_content = {p for p, text in written.items() if text and is_log_content(text)}
    found = sorted(by_name | by_content)
    changes = [f"{'CAD'[c.get('Kind', 0)]} {c.get('Path')}" for c in f.default["diff"]]
    return Verdict(
        not found,
        (
            f"the container wrote {', '.join(found[:4])}"
            if found
            else f"no log files among the {len(written)} files the container wrote "
            f"({len(changes)} filesystem changes)"
        ),
        hint=(
            f"{found[0]} was written inside the container"
            + (" and holds log records" if found[0] in by_content else "")
            + ". Docker never sees it (`docker logs` cannot show it, rotation cannot bound "
            "it), it grows the container's writable layer (/tmp is part of it), and it is "
            "lost with the container. Remove the FileHandler / filename=: log to stdout only "
            "and let the engine store and rotate."
            if found
            else ""
        ),
        evidence={
            "log_files": found,
            "written_files": sorted(written)[:30],
            "diff": changes[:30],
        },
    )


@RUBRIC.item("level", ITEM_LEVEL, 2, needs=("default", "warning"))
def level_filter(f: Facts) -> Verdict:
    default = logs.level_counts(f.default["parsed"].records)
    warned_p = f.warning["parsed"]
    warned = logs.level_counts(warned_p.records)
    ev = {"default_levels": default, "levels_with_LOG_LEVEL_WARNING": warned}
    if not f.default["parsed"].records or not warned_p.records:
        return Verdict(
            False,
            "not judged: the runs produced no JSON records",
            hint="Make the log lines JSON first; this item compares levels between two runs.",
            evidence=ev,
        )
    if not default.get("INFO") or default.get("DEBUG"):
        return Verdict(
            False,
            f"the default run (LOG_LEVEL unset) logged {default}",
            hint=(
                "With LOG_LEVEL unset the level must be INFO: DEBUG records are hidden. "
                "Default to 'INFO' in os.environ.get('LOG_LEVEL', 'INFO')."
                if default.get("DEBUG")
                else "With LOG_LEVEL unset the pipeline should log at INFO (progress "
                "messages like 'extracted 5 orders')."
            ),
            evidence=ev,
        )
    leaked = warned.get("INFO", 0) + warned.get("DEBUG", 0)
    kept = sum(warned.get(k, 0) for k in ("WARNING", "ERROR", "CRITICAL"))
    ok = leaked == 0 and kept > 0
    if leaked:
        hint = (
            f"With LOG_LEVEL=WARNING, {leaked} INFO/DEBUG records still appeared: read the "
            "level in setup() with os.environ.get('LOG_LEVEL', 'INFO') and pass it to "
            "setLevel() on the root logger."
        )
    elif not kept:
        hint = "With LOG_LEVEL=WARNING the warning and the error must still appear."
    else:
        hint = ""
    return Verdict(
        ok,
        f"default run {default}; with LOG_LEVEL=WARNING {warned}",
        hint=hint,
        evidence=ev,
    )


@RUBRIC.item("dockerfile", ITEM_DOCKERFILE, 1)
def dockerfile_intact(f: Facts) -> Verdict:
    changed = intact.changed(f.path, SLUG, ["Dockerfile"])
    if not changed:
        return Verdict(True, "the Dockerfile is the one shipped with the exercise")
    return Verdict(
        False,
        f"the Dockerfile is {changed['Dockerfile']}",
        hint="The task is solved in jsonlog.py and pipeline.py alone: restore the Dockerfile "
        "from the starter (exercises/06_json_logging/Dockerfile as shipped). The level comes "
        "from LOG_LEVEL at run time, not from an ENV line.",
        evidence={"changed": changed},
    )


def run(path: Path) -> Report:
    return RUBRIC.run(path)
