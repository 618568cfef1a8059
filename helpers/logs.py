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
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from docker.models.containers import Container
    from docker.types import LogConfig

#: The keys every structured record must carry in the lessons and exercise 06.
REQUIRED_KEYS = ("timestamp", "level", "message", "module", "function")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


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


def missing_keys(
    records: list[dict[str, Any]], keys: tuple[str, ...] = REQUIRED_KEYS
) -> dict[str, int]:
    """How many records lack each key (absent, empty or not a string), keys with 0 left out.

    >>> missing_keys([{"timestamp": "t", "level": "INFO", "message": "m"}])
    {'module': 1, 'function': 1}
    """
    counts = {k: 0 for k in keys}
    for rec in records:
        for k in keys:
            v = rec.get(k)
            if not isinstance(v, str) or not v.strip():
                counts[k] += 1
    return {k: n for k, n in counts.items() if n}


def level_counts(records: list[dict[str, Any]]) -> dict[str, int]:
    """Records per level name (upper-cased), in severity order.

    >>> level_counts([{"level": "info"}, {"level": "ERROR"}, {"level": "INFO"}, {}])
    {'INFO': 2, 'ERROR': 1, '?': 1}
    """
    out: dict[str, int] = {}
    for rec in records:
        lvl = str(rec.get("level") or "?").upper()
        out[lvl] = out.get(lvl, 0) + 1
    order = {name: i for i, name in enumerate((*LEVELS, "?"))}
    return dict(sorted(out.items(), key=lambda kv: order.get(kv[0], len(order))))


_LOG_NAME = re.compile(r"(\.log(\.\d+)?$)|(\.log\.jsonl?$)|(^logs?$)", re.IGNORECASE)
_IGNORED = ("/tmp/", "/proc/", "/dev/")


def log_file_changes(diff: list[dict[str, Any]] | None) -> list[str]:
    """Paths in ``container.diff()`` that are log files (or log folders) added or changed.

    A log path is a name ending in ``.log`` (``.log.1`` and ``.log.jsonl`` too) or a
    folder named ``log``/``logs`` and anything inside it. Deletions (Kind 2) and
    ``/tmp`` are ignored; bytecode caches are not logs.

    >>> log_file_changes([{"Path": "/app/logs", "Kind": 1}, {"Path": "/app/logs/run.txt", "Kind": 1},
    ...                   {"Path": "/app/__pycache__/x.pyc", "Kind": 1},
    ...                   {"Path": "/var/log/app.log.1", "Kind": 0},
    ...                   {"Path": "/app/old.log", "Kind": 2}])
    ['/app/logs', '/app/logs/run.txt', '/var/log/app.log.1']
    """
    out = []
    for ch in diff or []:
        path, kind = ch.get("Path", ""), ch.get("Kind")
        if kind == 2 or path.startswith(_IGNORED):
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
