"""The gradebook: one JSON file per graded submission, and every other output rebuilt from them.

Results are written atomically (write to a temp file, ``os.replace``) the moment a submission is
graded, so a crash, a timeout or ``kill -9`` never loses a grade that was already given.
``grades.csv`` (nbgrader's export columns first), ``grades_long.csv`` (one row per student x
exercise x rubric item), the feedback pages and the class overview are all derived from the
JSON files and can be rebuilt without an engine (``python -m helpers grade-report``).

Example:
    >>> r = {"student": "ada", "assignment": "a1", "exercise": "01", "status": "completed",
    ...      "score": 5, "max_score": 10, "report": {"results": []}}
    >>> apply_late_policy(r, 0.0, "per-day=10")["score"]
    5
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

STATUSES = ("completed", "timeout", "error", "rejected", "missing")
NBGRADER_COLUMNS = [
    "assignment",
    "duedate",
    "timestamp",
    "student_id",
    "last_name",
    "first_name",
    "email",
    "raw_score",
    "late_submission_penalty",
    "score",
    "max_score",
]


class GradebookLocked(RuntimeError):
    """Another grader is writing this gradebook."""


def _safe_name(text: str) -> str:
    """A file-system-safe version of a student or assignment id (never a path)."""
    out = re.sub(r"[^A-Za-z0-9._@-]+", "_", text).strip("._")
    return out or "_"


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write ``obj`` as JSON so that readers see the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(obj, fh, indent=2, default=str, ensure_ascii=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def parse_time(text: str | None) -> datetime | None:
    """An ISO 8601 time (``2026-11-27 14:00``, ``...Z``, nbgrader's timestamp.txt) or None."""
    if not text:
        return None
    s = text.strip().replace("Z", "+00:00")
    for cand in (s, s.replace(" ", "T", 1)):
        try:
            t = datetime.fromisoformat(cand)
        except ValueError:
            continue
        return t if t.tzinfo else t.replace(tzinfo=UTC)
    return None


def with_late_policy(result: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``result`` with the gradebook's due date and late policy applied."""
    r = dict(result)
    due = parse_time(settings.get("duedate"))
    when = parse_time(r.get("timestamp"))
    days = (when - due).total_seconds() / 86400 if due and when else 0.0
    r["duedate"] = settings.get("duedate") or ""
    return apply_late_policy(r, days, settings.get("late_policy") or "none")


def apply_late_policy(result: dict[str, Any], days_late: float, policy: str) -> dict[str, Any]:
    """Set ``raw_score``, ``late_submission_penalty`` and ``score`` on a result.

    Policies: ``none`` (record lateness only), ``zero`` (a late submission scores 0),
    ``per-day=P`` (P percent of the max score per started day late, never below 0).
    """
    raw = float(result.get("score") or 0)
    maximum = float(result.get("max_score") or 0)
    penalty = 0.0
    if days_late > 0:
        if policy == "zero":
            penalty = raw
        elif policy.startswith("per-day="):
            pct = float(policy.split("=", 1)[1])
            import math

            penalty = min(raw, maximum * pct / 100 * math.ceil(days_late))
    result["raw_score"] = raw
    result["late_submission_penalty"] = round(penalty, 4)
    result["score"] = round(raw - penalty, 4) if penalty else result.get("score", raw)
    result["days_late"] = round(max(days_late, 0.0), 4)
    return result


class Gradebook:
    """A folder of results: ``results/<student>/<assignment>/<NN>.json`` plus derived outputs."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.results_dir = self.root / "results"
        self.inflight_dir = self.root / ".inflight"
        self._lock_fh: Any = None

    # -- the lock ---------------------------------------------------------------------
    def lock(self) -> None:
        """Take the gradebook's lock; raise GradebookLocked if another grader holds it."""
        self.root.mkdir(parents=True, exist_ok=True)
        fh = (self.root / ".lock").open("a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            fh.close()
            raise GradebookLocked(
                f"{self.root} is being written by {holder}. Wait for it to finish, or grade "
                "into another folder with --out."
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}")
        fh.flush()
        self._lock_fh = fh

    def unlock(self) -> None:
        if self._lock_fh is not None:
            fcntl.flock(self._lock_fh, fcntl.LOCK_UN)
            self._lock_fh.close()
            self._lock_fh = None

    @contextlib.contextmanager
    def locked(self) -> Iterator[Gradebook]:
        self.lock()
        try:
            yield self
        finally:
            self.unlock()

    # -- in-flight markers: what a killed grader may have left on the engine ------------
    def mark_inflight(self, run_id: str) -> Path:
        self.inflight_dir.mkdir(parents=True, exist_ok=True)
        p = self.inflight_dir / _safe_name(run_id)
        p.write_text(run_id)
        return p

    def inflight(self) -> list[str]:
        if not self.inflight_dir.is_dir():
            return []
        return sorted(p.read_text().strip() for p in self.inflight_dir.iterdir() if p.is_file())

    def workdir(self, run_id: str, create: bool = True) -> Path:
        """``.work/<run id>``: the copy of a submission being graded (removed when it is)."""
        p = self.root / ".work" / _safe_name(run_id)
        if create:
            p.mkdir(parents=True, exist_ok=True)
        return p

    def clear_inflight(self, run_id: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.inflight_dir / _safe_name(run_id)).unlink()

    # -- results ----------------------------------------------------------------------
    def result_path(self, student: str, assignment: str, exercise: str) -> Path:
        return self.results_dir / _safe_name(student) / _safe_name(assignment) / f"{exercise}.json"

    def read(self, student: str, assignment: str, exercise: str) -> dict[str, Any] | None:
        p = self.result_path(student, assignment, exercise)
        try:
            return json.loads(p.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return None

    def write(self, result: dict[str, Any]) -> Path:
        if result.get("status") not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, not {result.get('status')!r}")
        p = self.result_path(result["student"], result["assignment"], result["exercise"])
        write_json_atomic(p, result)
        return p

    def rubric_max(self) -> dict[str, float]:
        """``{exercise: max score}`` learned so far (``rubric.json``)."""
        try:
            return json.loads((self.root / "rubric.json").read_text())
        except (FileNotFoundError, ValueError):
            return {}

    def settings(self) -> dict[str, Any]:
        """The due date and late policy the outputs apply (``settings.json``)."""
        try:
            return json.loads((self.root / "settings.json").read_text())
        except (FileNotFoundError, ValueError):
            return {}

    def update_settings(self, **changes: Any) -> dict[str, Any]:
        """Change only the given settings (None leaves one as it was)."""
        current = self.settings()
        current.update({k: v for k, v in changes.items() if v is not None})
        write_json_atomic(self.root / "settings.json", current)
        return current

    def write_rubric_max(self, known: dict[str, float]) -> None:
        write_json_atomic(self.root / "rubric.json", dict(sorted(known.items())))

    def results(self) -> list[dict[str, Any]]:
        """Every result in the gradebook, sorted by student, assignment, exercise."""
        out = []
        for p in sorted(self.results_dir.glob("*/*/*.json")):
            try:
                out.append(json.loads(p.read_text(encoding="utf-8")))
            except ValueError:
                continue  # a torn file cannot exist (atomic writes); skip foreign junk
        out.sort(key=lambda r: (str(r.get("student")), str(r.get("assignment")), r["exercise"]))
        return out
