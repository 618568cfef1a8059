"""Grade a class: find submissions, vet them, run each check isolated, write each grade at once.

Every submission is graded by the course's own check, run as a separate process
(``python -m helpers check NN --path COPY --json``) with:

- a copy of the submission (the original is never touched; archives are unpacked safely);
- the policy step first (:mod:`helpers.grading.policy`): a violating submission is
  ``rejected`` and nothing of it ever reaches the engine;
- its own run id, so every tag, label and Compose project it makes is its own and is swept by
  label afterwards, and after a crash (``.inflight`` markers in the gradebook);
- a scrubbed environment (no grader secrets for ``${VAR}`` interpolation to read);
- a deadline per exercise and per submission: on expiry the process group is killed and the
  run's resources removed; the grade is ``timeout`` and every other grade stands.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import settings
from . import archive, outputs
from .discovery import Submission, discover, exercise_slugs, materialise
from .gradebook import Gradebook
from .isolation import (
    _run_check,
    _scrubbed_env,
    _sweep,
    default_limits,
    limits_for,
    run_processes,
)
from .policy import resolved_violations, vet

__all__ = [
    "GradeOptions",
    "Grader",
    "Submission",
    "default_limits",
    "discover",
    "exercise_slugs",
    "limits_for",
    "materialise",
    "run_processes",
    "vet",
]


@dataclass
class GradeOptions:
    """What ``python -m helpers grade`` was asked to do."""

    timeout_exercise_s: float = 600.0
    timeout_submission_s: float = 1800.0
    jobs: int = 1
    force: bool = False
    hidden: set[str] = field(default_factory=set)  # "NN:item name" never shown in feedback
    limits: str = ""  # SHIPSHAPE_LIMITS for every container; "" -> default_limits(jobs)


def grader_version() -> str:
    """A hash of the course's check code: a changed check regrades on ``--resume``."""
    h = hashlib.sha256()
    root = Path(__file__).resolve().parent.parent
    for p in sorted(root.rglob("*.py")):
        h.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes())
    return h.hexdigest()[:16]


def course_version() -> str:
    try:
        from importlib.metadata import version

        return version("shipshape")
    except Exception:
        return "unknown"


def _title(exercise: str) -> str:
    from ..checks import find_module

    return getattr(find_module(exercise), "TITLE", "")


def _mark_hidden(report: dict[str, Any] | None, exercise: str, hidden: set[str]) -> None:
    for it in (report or {}).get("results") or []:
        if f"{exercise}:{it.get('name')}" in hidden or f"{exercise}:*" in hidden:
            it["hidden"] = True


class Grader:
    """Grades submissions into a :class:`Gradebook`; one instance per ``grade`` command."""

    def __init__(
        self,
        book: Gradebook,
        options: GradeOptions,
        roster: dict[str, dict[str, str]] | None = None,
        progress: Callable[[dict[str, Any]], None] | None = None,
    ):
        self.book = book
        self.opts = options
        self.roster = roster or {}
        self.progress = progress
        self._write_lock = threading.Lock()
        self._env_info: dict[str, Any] | None = None
        self.key_salt = grader_version()

    def environment(self) -> dict[str, Any]:
        """Engine and Compose versions and base-image ids, recorded in every result."""
        if self._env_info is None:
            info: dict[str, Any] = {}
            with contextlib.suppress(Exception):
                from .. import baseimages, engine

                v = engine.client().version()
                info["engine"] = v.get("Version")
                info["api"] = v.get("ApiVersion")
                cmd = engine.compose_command()
                if cmd:
                    r = subprocess.run([*cmd, "version", "--short"], capture_output=True, text=True)
                    info["compose"] = r.stdout.strip()
                ids = {}
                for name in baseimages.REQUIRED:
                    with contextlib.suppress(Exception):
                        ids[name] = engine.client().images.get(name).id
                info["base_images"] = ids
            info["course"] = course_version()
            info["grader"] = self.key_salt
            self._env_info = info
        return self._env_info

    def sweep_crashed(self) -> list[str]:
        """Remove what a killed earlier grader left on the engine (by its in-flight run ids)."""
        left = self.book.inflight()
        for run_id in left:
            _sweep(run_id)
            shutil.rmtree(self.book.workdir(run_id, create=False), ignore_errors=True)
            self.book.clear_inflight(run_id)
        return left

    def _key(self, sub: Submission) -> str | None:
        if sub.source is None:
            return None
        h = hashlib.sha256()
        if sub.source.is_dir():
            files, _ = archive.folder_files(sub.source)
            h.update(archive.content_key(files).encode())
        else:
            h.update(archive.sha256_file(sub.source).encode())
        h.update(f"{sub.exercise}|{self.key_salt}|".encode())
        h.update(",".join(sorted(self.opts.hidden)).encode())
        return h.hexdigest()

    def up_to_date(self, sub: Submission) -> bool:
        if self.opts.force:
            return False
        old = self.book.read(sub.student, sub.assignment, sub.exercise)
        if not old or old.get("status") == "error":
            return False  # grader-side errors are always retried
        return (old.get("key") == self._key(sub) and old.get("key") is not None) or (
            sub.source is None and old.get("status") == "missing"
        )

    def grade_one(self, sub: Submission, budget_s: float) -> dict[str, Any]:
        """Grade one submission and write its result; never raises for a submission's fault."""
        t0 = time.monotonic()
        run_id = (
            "grade-"
            + hashlib.sha256(
                f"{self.book.root.resolve()}|{sub.student}|{sub.exercise}|{time.time()}".encode()
            ).hexdigest()[:12]
        )
        result: dict[str, Any] = {
            "schema": 1,
            "student": sub.student,
            "assignment": sub.assignment,
            "exercise": sub.exercise,
            "slug": sub.slug,
            "title": _title(sub.exercise),
            "source": str(sub.source) if sub.source else None,
            "key": self._key(sub),
            "run_id": run_id,
            "graded_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "timestamp": sub.timestamp or "",
            "environment": self.environment(),
            "score": 0,
            "max_score": None,
            "report": None,
            "policy": [],
            "message": "",
        }
        if sub.source is None:
            result.update(status="missing", message="nothing was submitted for this exercise")
            return self._finish(result, t0)
        result["sha256"] = (
            archive.sha256_file(sub.source) if sub.source.is_file() else result["key"]
        )
        tmp = self.book.workdir(run_id)
        self.book.mark_inflight(run_id)
        try:
            try:
                folder, manifest = materialise(sub, tmp)
            except archive.SubmissionError as exc:
                result.update(status="rejected", message=f"unreadable submission: {exc}")
                return self._finish(result, t0)
            if manifest:
                result["manifest"] = {
                    k: manifest.get(k) for k in ("exercise", "course_version", "packed_at")
                }
                result["timestamp"] = result["timestamp"] or manifest.get("packed_at") or ""
                if manifest.get("exercise") not in (None, sub.exercise):
                    result.update(
                        status="rejected",
                        message=f"the archive was packed for exercise {manifest['exercise']}, "
                        f"not {sub.exercise}: submit it under its own exercise.",
                    )
                    return self._finish(result, t0)
            violations, rewrites = vet(folder)
            if not violations:
                violations = resolved_violations(folder, _scrubbed_env(run_id))
            if violations:
                result.update(
                    status="rejected",
                    policy=[str(v) for v in violations],
                    message="not run: the submission asks the grader's engine for powers the "
                    "course never needs. Change: " + "; ".join(str(v) for v in violations),
                )
                return self._finish(result, t0)
            result["port_rewrites"] = rewrites
            timeout = min(self.opts.timeout_exercise_s, max(1.0, budget_s))
            limits = self.opts.limits or default_limits(self.opts.jobs)
            result["limits"] = limits_for(sub.exercise, limits)
            status, report, message = _run_check(sub.exercise, folder, run_id, timeout, limits)
            _mark_hidden(report, sub.exercise, self.opts.hidden)
            result.update(status=status, report=report, message=message)
            if report is not None:
                result["score"] = report.get("score") or 0
                result["max_score"] = report.get("max_score")
            return self._finish(result, t0)
        finally:
            _sweep(run_id)
            self.book.clear_inflight(run_id)
            shutil.rmtree(tmp, ignore_errors=True)

    def _finish(self, result: dict[str, Any], t0: float) -> dict[str, Any]:
        result["seconds"] = round(time.monotonic() - t0, 2)
        with self._write_lock:
            self.book.write(result)
            outputs.rebuild(self.book, self.roster, png=False, students={result["student"]})
        return result

    def run(self, subs: list[Submission]) -> list[dict[str, Any]]:
        """Grade every submission not already up to date; return the results written now."""
        todo = [s for s in subs if not self.up_to_date(s)]
        by_student: dict[str, list[Submission]] = {}
        for s in todo:
            by_student.setdefault(s.student, []).append(s)
        done: list[dict[str, Any]] = []
        state = {"done": 0, "total": len(todo), "t0": time.monotonic()}
        lock = threading.Lock()

        def report(current: str, result: dict[str, Any] | None) -> None:
            if self.progress is None:
                return
            with lock:
                if result is not None:
                    state["done"] += 1
                n, total = state["done"], state["total"]
                elapsed = time.monotonic() - state["t0"]
                eta = elapsed / n * (total - n) if n else None
                self.progress(
                    {
                        "done": n,
                        "total": total,
                        "current": current,
                        "eta_s": eta,
                        "status": (result or {}).get("status"),
                    }
                )

        def student_job(items: list[Submission]) -> list[dict[str, Any]]:
            start = time.monotonic()
            out = []
            for sub in items:
                budget = self.opts.timeout_submission_s - (time.monotonic() - start)
                report(f"{sub.student} {sub.exercise}", None)
                if budget <= 0:
                    r = self._finish(
                        {
                            "schema": 1,
                            "student": sub.student,
                            "assignment": sub.assignment,
                            "exercise": sub.exercise,
                            "slug": sub.slug,
                            "key": self._key(sub),
                            "status": "timeout",
                            "score": 0,
                            "max_score": None,
                            "report": None,
                            "message": "the submission's time budget was used up by its "
                            "earlier exercises",
                            "timestamp": sub.timestamp or "",
                        },
                        time.monotonic(),
                    )
                else:
                    r = self.grade_one(sub, budget)
                out.append(r)
                report(f"{sub.student} {sub.exercise}", r)
            return out

        jobs = max(1, min(self.opts.jobs, os.cpu_count() or 1))
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            for rs in pool.map(student_job, by_student.values()):
                done += rs
        self.learn_max_scores()
        outputs.rebuild(self.book, self.roster, png=True)
        return done

    def learn_max_scores(self) -> dict[str, float]:
        """The rubric maximum of every graded exercise, so missing or rejected work counts.

        Taken from the check module when it declares one, else from any completed result, else
        measured once by checking the course's own reference solution (trusted code), and kept
        in ``rubric.json`` beside the results.
        """
        known = self.book.rubric_max()
        results = self.book.results()
        for r in results:
            if r["status"] == "completed" and r.get("max_score"):
                known.setdefault(r["exercise"], float(r["max_score"]))
        for ex in sorted({r["exercise"] for r in results} - set(known)):
            declared = outputs.rubric_max(ex)
            if declared:
                known[ex] = declared
                continue
            solution = settings.repo_root() / "solutions" / exercise_slugs()[ex]
            run_id = f"grade-rubric-{ex}-{os.getpid()}"
            self.book.mark_inflight(run_id)
            try:
                from ..checks import materialized

                with materialized(solution) as folder:
                    status, report, _ = _run_check(
                        ex, folder, run_id, self.opts.timeout_exercise_s, ""
                    )
            finally:
                _sweep(run_id)
                self.book.clear_inflight(run_id)
            if status == "completed" and report and report.get("max_score"):
                known[ex] = float(report["max_score"])
        self.book.write_rubric_max(known)
        return known
