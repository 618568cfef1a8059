"""Container logs: parse JSON log lines, spot log files in a container, count kept lines.

Pure functions (parsing, judging ``container.diff()``) are unit-tested without an engine;
the rest reads what the engine kept through the API, never the engine's own files, so it
works the same on Linux, Docker Desktop and a remote engine.

Example:
    >>> parsed = parse_json_lines('{"level": "INFO", "message": "hi"}\\nplain text\\n')
    >>> len(parsed.records), parsed.bad
    (1, [(2, 'plain text')])
    >>> log_file_changes([{"Path": "/app/pipeline.log", "Kind": 1}, {"Path": "/tmp", "Kind": 0}])
    ['/app/pipeline.log']
    >>> timestamp_ok("2024-05-01T12:00:00.123Z"), timestamp_ok(1714564800.5), timestamp_ok("now")
    (True, True, False)
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from docker.models.containers import Container
    from docker.types import LogConfig

#: The keys every structured record must carry in the lessons and exercise 06.
REQUIRED_KEYS = ("timestamp", "level", "message", "module", "function")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
#: Other spellings of the required keys that logging libraries use; named in hints only,
#: because a log search queries one name (the exercise's README fixes them).
KEY_ALIASES = {
    "timestamp": ("@timestamp", "time", "ts", "asctime", "created", "datetime"),
    "level": ("levelname", "severity", "lvl", "log.level"),
    "message": ("msg", "text", "event"),
    "module": ("mod", "logger", "name"),
    "function": ("funcName", "func", "funcname"),
}
#: Epoch timestamps are accepted in seconds, milliseconds, microseconds or nanoseconds
#: when they fall between 2000-01-01 and 2100-01-01.
_EPOCH_RANGE_S = (946_684_800, 4_102_444_800)


@dataclass
class ParsedLogs:
    """JSON log lines split into records and the lines that are not JSON objects."""

    records: list[dict[str, Any]] = field(default_factory=list)
    bad: list[tuple[int, str]] = field(default_factory=list)  # (line number, text)

    @property
    def lines(self) -> int:
        return len(self.records) + len(self.bad)


def parse_json_lines(text: str) -> ParsedLogs:
    """Parse one JSON object per line; blank lines are skipped, anything else is ``bad``.

    >>> parse_json_lines('[1, 2]\\n\\n{"a": 1}').bad
    [(1, '[1, 2]')]
    """
    out = ParsedLogs()
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            out.bad.append((n, line))
            continue
        if isinstance(obj, dict):
            out.records.append(obj)
        else:
            out.bad.append((n, line))
    return out


def timestamp_ok(value: Any) -> bool:
    """A point in time as log tools read it: an ISO-8601 / RFC 3339 string with a time of day
    (``2024-05-01T12:00:00Z``, logging's default ``2024-05-01 12:00:00,123``), or a Unix
    epoch number (seconds, ms, us or ns; a numeric string too).

    >>> [timestamp_ok(v) for v in ("2024-05-01 12:00:00,123", 1714564800123, "1714564800.5")]
    [True, True, True]
    >>> [timestamp_ok(v) for v in ("2024-05-01", "", 12, True, None, "yesterday")]
    [False, False, False, False, False, False]
    """
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, str):
        text = value.strip()
        try:
            value = float(text)
        except ValueError:
            if len(text) < 16 or not re.search(r"\d[T ]\d\d:\d\d", text):
                return False
            try:
                datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
            except ValueError:
                return False
            return True
    if not isinstance(value, int | float) or not math.isfinite(value):
        return False
    lo, hi = _EPOCH_RANGE_S
    return any(lo <= value / scale <= hi for scale in (1, 1e3, 1e6, 1e9))


def _value_ok(key: str, value: Any) -> bool:
    if key == "timestamp":
        return timestamp_ok(value)
    if key == "message":
        return isinstance(value, str)
    return isinstance(value, str) and bool(value.strip())


def missing_keys(
    records: list[dict[str, Any]], keys: tuple[str, ...] = REQUIRED_KEYS
) -> dict[str, int]:
    """How many records lack each key or carry a value that is not one, 0 counts left out.

    A value counts when it is what the key names: ``timestamp`` a time (see
    :func:`timestamp_ok`: ISO-8601 string or epoch number), ``message`` a string (it may be
    empty), the other keys non-empty strings.

    >>> missing_keys([{"timestamp": "t", "level": "INFO", "message": "m"}])
    {'timestamp': 1, 'module': 1, 'function': 1}
    >>> missing_keys([{"timestamp": 1714564800.1, "level": "INFO", "message": "", "module": "m",
    ...                "function": "f"}])
    {}
    """
    counts = {k: 0 for k in keys}
    for rec in records:
        for k in keys:
            if not _value_ok(k, rec.get(k)):
                counts[k] += 1
    return {k: n for k, n in counts.items() if n}


def aliases_used(
    records: list[dict[str, Any]], keys: list[str] | tuple[str, ...]
) -> dict[str, str]:
    """For each of ``keys``, another spelling of it the records carry instead (for hints).

    >>> aliases_used([{"levelname": "INFO", "msg": "hi"}], ["level", "message", "module"])
    {'level': 'levelname', 'message': 'msg'}
    """
    out: dict[str, str] = {}
    for k in keys:
        for alias in KEY_ALIASES.get(k, ()):
            if any(alias in r for r in records):
                out[k] = alias
                break
    return out


def level_counts(records: list[dict[str, Any]]) -> dict[str, int]:
    """Records per level name (upper-cased), in severity order; ``levelname`` & co. count.

    >>> level_counts([{"level": "info"}, {"level": "ERROR"}, {"level": "INFO"}, {}])
    {'INFO': 2, 'ERROR': 1, '?': 1}
    """
    out: dict[str, int] = {}
    for rec in records:
        name = rec.get("level") or next((rec[a] for a in KEY_ALIASES["level"] if rec.get(a)), None)
        lvl = str(name or "?").upper()
        out[lvl] = out.get(lvl, 0) + 1
    order = {name: i for i, name in enumerate((*LEVELS, "?"))}
    return dict(sorted(out.items(), key=lambda kv: order.get(kv[0], len(order))))


_LOG_NAME = re.compile(r"(\.log(\.\d+)?$)|(\.log\.jsonl?$)|(^logs?$)", re.IGNORECASE)
#: Not files the image or the container wrote: the kernel's and the engine's mounts.
_NOT_WRITTEN = ("/proc", "/dev", "/sys")


def _outside_mounts(path: str) -> bool:
    return not any(path == m or path.startswith(m + "/") for m in _NOT_WRITTEN)


def written_paths(diff: list[dict[str, Any]] | None) -> list[str]:
    """Paths the container added or changed that are not just parents of other changes.

    ``docker diff`` lists a folder as changed when anything below it changes; the leaves
    are the files (or empty folders) the container wrote. Everything counts, ``/tmp`` and
    ``/var/tmp`` included; only ``/proc``, ``/dev`` and ``/sys`` are not the writable layer.

    >>> written_paths([{"Path": "/tmp", "Kind": 0}, {"Path": "/tmp/x.out", "Kind": 1},
    ...                {"Path": "/app/old.log", "Kind": 2}, {"Path": "/dev/shm", "Kind": 0}])
    ['/tmp/x.out']
    """
    kept = [
        ch.get("Path", "")
        for ch in diff or []
        if ch.get("Kind") != 2 and _outside_mounts(ch.get("Path", ""))
    ]
    return sorted(p for p in kept if p and not any(q.startswith(p + "/") for q in kept))


def log_file_changes(diff: list[dict[str, Any]] | None) -> list[str]:
    """Paths in ``container.diff()`` that are log files (or log folders) added or changed.

    A log path is a name ending in ``.log`` (``.log.1`` and ``.log.jsonl`` too) or a
    folder named ``log``/``logs`` and anything inside it, anywhere in the writable layer
    (``/tmp`` too). Deletions (Kind 2) and ``/proc``, ``/dev``, ``/sys`` are ignored;
    bytecode caches are not logs.

    >>> log_file_changes([{"Path": "/app/logs", "Kind": 1}, {"Path": "/app/logs/run.txt", "Kind": 1},
    ...                   {"Path": "/app/__pycache__/x.pyc", "Kind": 1},
    ...                   {"Path": "/var/log/app.log.1", "Kind": 0},
    ...                   {"Path": "/app/old.log", "Kind": 2}])
    ['/app/logs', '/app/logs/run.txt', '/var/log/app.log.1']
    """
    out = []
    for ch in diff or []:
        path, kind = ch.get("Path", ""), ch.get("Kind")
        if kind == 2 or not _outside_mounts(path):
            continue
        parts = [p for p in path.split("/") if p]
        if not parts or "__pycache__" in parts:
            continue
        name_is_log = bool(_LOG_NAME.search(parts[-1]))
        under_log_dir = any(p.lower() in ("log", "logs") for p in parts[:-1])
        if name_is_log or under_log_dir:
            if parts[:2] == ["var", "log"] and len(parts) == 2:
                continue  # /var/log itself shows as "changed" when anything below changes
            out.append(path)
    return out


def rotating_log_config(max_size: str = "10m", max_file: int = 3) -> LogConfig:
    """docker-py's ``log_config`` for the ``json-file`` driver with rotation.

    The same as ``docker run --log-opt max-size=10m --log-opt max-file=3`` or, in Compose,
    ``logging: {driver: json-file, options: {max-size: "10m", max-file: "3"}}``.
    """
    from docker.types import LogConfig

    return LogConfig(
        type=LogConfig.types.JSON, config={"max-size": max_size, "max-file": str(max_file)}
    )


def count_kept_lines(ctr: Container) -> tuple[int, int]:
    """Lines and bytes ``docker logs`` returns for the container now (streamed, not buffered).

    This is what the engine kept: with rotation, what fell off the oldest file is gone.
    """
    lines = size = 0
    for chunk in ctr.logs(stream=True, follow=False, stdout=True, stderr=True):
        lines += chunk.count(b"\n")
        size += len(chunk)
    return lines, size


def flood_command(lines: int, width: int = 100) -> list[str]:
    """A command for ``python:3.11-slim`` that prints ``lines`` numbered lines of ``width`` bytes.

    >>> flood_command(3, 20)[:2]
    ['python', '-c']
    """
    body = "x" * max(0, width - 13)
    script = (
        "import sys\n"
        "w = sys.stdout.write\n"
        f"for i in range({int(lines)}):\n"
        f"    w(f'{{i:011d}} {body}\\n')\n"
    )
    return ["python", "-c", script]
