"""Exercise 06: structured JSON logs on stdout (practice problem 6).

The check builds the learner's image, runs it twice (default level, then
``LOG_LEVEL=WARNING``), parses every line ``docker logs`` returns, and reads the container's
filesystem changes (``container.diff()``) for log files.

Rubric: every line is JSON (3, partial by share of lines); each record has timestamp, level,
message, module, function (2); an exception carries its traceback (2); no log files written
inside the container (2); LOG_LEVEL=WARNING hides INFO records (2).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import containers, images, logs
from ..findings import Report
from .rubric import Facts, Rubric, Verdict

EXERCISE = "06"
SLUG = "06_json_logging"
TITLE = "Structured JSON logs on stdout"
#: The pipeline's bad row raises this; its traceback must reach the logs.
EXPECTED_EXCEPTION = "ValueError"

ITEM_JSON = "every log line is JSON"
ITEM_KEYS = "each record has timestamp, level, message, module, function"
ITEM_EXC = "an exception carries its traceback"
ITEM_FILES = "no log files written inside the container"
ITEM_LEVEL = "LOG_LEVEL=WARNING hides INFO records"


def _run_once(tag: str, environment: dict[str, str] | None = None) -> dict[str, Any]:
    """Run the image to completion; its logs (stdout+stderr), exit code and diff."""
    with containers.running(tag, environment=environment or {}) as ctr:
        try:
            info = containers.wait_for_exit(ctr, timeout_s=60)
            code: int | None = info.exit_code
        except containers.WaitError:
            ctr.kill()
            code = None
        text = ctr.logs(stdout=True, stderr=True).decode("utf-8", "replace")
        return {"exit_code": code, "text": text, "diff": ctr.diff() or []}


RUBRIC = Rubric(EXERCISE, SLUG, TITLE)


@RUBRIC.fact
def image(f: Facts) -> images.BuildResult:
    return images.build(f.path, f.tag("image"), on_event=None, timeout_s=300, exercise=EXERCISE)


@RUBRIC.fact
def default(f: Facts) -> dict[str, Any]:
    """The run with LOG_LEVEL unset, its logs parsed."""
    out = _run_once(f.image.image_id)
    return {**out, "parsed": logs.parse_json_lines(out["text"])}


@RUBRIC.fact
def warning(f: Facts) -> dict[str, Any]:
    """The run with LOG_LEVEL=WARNING, its logs parsed."""
    out = _run_once(f.image.image_id, {"LOG_LEVEL": "WARNING"})
    return {**out, "parsed": logs.parse_json_lines(out["text"])}


@RUBRIC.item("json", ITEM_JSON, 3, needs=("default",))
def every_line_json(f: Facts) -> Verdict:
    p, code = f.default["parsed"], f.default["exit_code"]
    ev = {
        "lines": p.lines,
        "json_records": len(p.records),
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
    ok = not p.bad and code == 0
    share = len(p.records) / p.lines
    first = p.bad[0][1][:120] if p.bad else ""
    if p.bad:
        hint = (
            f"Line {p.bad[0][0]} is not a JSON object: {first!r}. Every line must be one "
            "JSON object: replace each print() with a logger call formatted by "
            "JsonFormatter (json.dumps of a dict), and let no stray print or uncaught "
            "traceback write to stdout/stderr."
        )
    elif code != 0:
        hint = f"The pipeline exited with code {code}: it should finish cleanly (exit 0)."
    else:
        hint = ""
    return Verdict(
        ok,
        f"{len(p.records)} of {p.lines} lines parse as JSON objects; exit code {code}",
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
    )
    ok = not missing and not bad_levels
    hint = ""
    if missing:
        names = {
            "timestamp": "record.created (formatted, e.g. ISO 8601)",
            "level": "record.levelname",
            "message": "record.getMessage()",
            "module": "record.module",
            "function": "record.funcName",
        }
        hint = (
            "Add "
            + ", ".join(f"`{k}` from {names[k]}" for k in missing)
            + " to the dict JsonFormatter.format() dumps."
        )
    elif bad_levels:
        hint = f"`level` should be the level name (record.levelname), not {bad_levels[0]!r}."
    return Verdict(
        ok,
        (
            f"all {len(recs)} records carry the five keys"
            if ok
            else "records lacking keys: "
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
    found = sorted(
        set(logs.log_file_changes(f.default["diff"]))
        | set(logs.log_file_changes(f.warning["diff"]))
    )
    changes = [f"{'CAD'[c.get('Kind', 0)]} {c.get('Path')}" for c in f.default["diff"]]
    return Verdict(
        not found,
        (
            f"the container wrote {', '.join(found[:4])}"
            if found
            else f"no log files among the container's {len(changes)} filesystem changes"
        ),
        hint=(
            f"{found[0]} was written inside the container. Docker never sees it (`docker "
            "logs` cannot show it, rotation cannot bound it), it grows the container's "
            "writable layer, and it is lost with the container. Remove the FileHandler / "
            "filename=: log to stdout only and let the engine store and rotate."
            if found
            else ""
        ),
        evidence={"log_files": found, "diff": changes[:30]},
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
    if not default.get("INFO"):
        return Verdict(
            False,
            f"no INFO records at the default level: {default}",
            hint="With LOG_LEVEL unset the pipeline should log at INFO (progress messages "
            "like 'extracted 5 orders').",
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


def run(path: Path) -> Report:
    return RUBRIC.run(path)
