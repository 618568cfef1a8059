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
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from .. import settings
from . import archive, outputs, policy
from .gradebook import Gradebook

COMPOSE_FILES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
#: Environment variables a check process may see; everything else of the grader's is dropped.
_ENV_KEEP = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "DOCKER_HOST", "DOCKER_CONFIG", "TMPDIR")
_ENV_KEEP_PREFIX = ("SHIPSHAPE_",)


@dataclass
class Submission:
    """One student's answer to one exercise (a folder or a ``submit`` archive)."""

    student: str
    assignment: str
    exercise: str
    slug: str
    source: Path | None  # None: nothing was submitted
    timestamp: str | None = None


@dataclass
class GradeOptions:
    """What ``python -m helpers grade`` was asked to do."""

    timeout_exercise_s: float = 600.0
    timeout_submission_s: float = 1800.0
    jobs: int = 1
    force: bool = False
    hidden: set[str] = field(default_factory=set)  # "NN:item name" never shown in feedback
    limits: str = ""  # SHIPSHAPE_LIMITS for every container; "" -> default_limits(jobs)


def exercise_slugs() -> dict[str, str]:
    """``{"01": "01_optimize_image", ...}`` for every exercise that has a check."""
    from ..checks import exercise_ids, find_module

    return {ex: find_module(ex).SLUG for ex in exercise_ids()}


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


def _exercise_of(name: str, slugs: dict[str, str]) -> str | None:
    key = name.split("_")[0].split(".")[0]
    return key if key in slugs else None


def discover(
    submissions: Path,
    assignment: str,
    exercises: list[str] | None = None,
    students: list[str] | None = None,
    roster: dict[str, dict[str, str]] | None = None,
) -> list[Submission]:
    """Every (student, exercise) to grade, ``source=None`` where nothing was submitted.

    Layout (nbgrader's): ``submissions/<student>/<assignment>/<NN_slug>/`` or
    ``submissions/<student>/<assignment>/<NN_slug>.shipshape.tar.gz``; nbgrader's
    ``timestamp.txt`` in the assignment folder gives the submission time.
    """
    slugs = exercise_slugs()
    found: dict[tuple[str, str], Path] = {}
    stamps: dict[str, str | None] = {}
    names = set(roster or {})
    if submissions.is_dir():
        for sdir in sorted(p for p in submissions.iterdir() if p.is_dir()):
            names.add(sdir.name)
            adir = sdir / assignment
            if not adir.is_dir():
                continue
            ts = adir / "timestamp.txt"
            stamps[sdir.name] = ts.read_text().strip() if ts.is_file() else None
            for entry in sorted(adir.iterdir()):
                ex = _exercise_of(entry.name, slugs)
                if ex is None:
                    continue
                if entry.is_dir() and not entry.is_symlink():
                    found[(sdir.name, ex)] = entry
                elif entry.is_file() and entry.name.endswith(archive.SUFFIX):
                    found.setdefault((sdir.name, ex), entry)
    if students:
        names &= set(students)
        names |= set(students)
    wanted = exercises or sorted({ex for (_, ex) in found}) or sorted(slugs)
    out = []
    for student in sorted(names):
        for ex in wanted:
            if ex not in slugs:
                raise ValueError(f"no exercise {ex!r}; exercises with checks: {sorted(slugs)}")
            out.append(
                Submission(
                    student,
                    assignment,
                    ex,
                    slugs[ex],
                    found.get((student, ex)),
                    stamps.get(student),
                )
            )
    return out


def _scrubbed_env(run_id: str, limits: str = "") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in _ENV_KEEP or k.startswith(_ENV_KEEP_PREFIX)}
    env.pop(settings.LIMITS_ENV, None)
    env["SHIPSHAPE_RUN_ID"] = run_id
    env["SHIPSHAPE_GRADING"] = "1"
    env["PYTHONPATH"] = str(settings.repo_root())
    if limits:
        env[settings.LIMITS_ENV] = limits
    return env


def default_limits(jobs: int) -> str:
    """Ceilings per graded container: 2 GiB, the host's cores shared by the jobs, 512 pids."""
    cpus = max(0.5, (os.cpu_count() or 1) / max(1, jobs))
    return f"memory=2g,cpus={cpus:g},pids=512,logs=10m"


#: The memory ceiling where an exercise judges limits: above every answer the tasks accept.
JUDGED_MEMORY = "4g"


def limits_for(exercise: str, limits: str) -> str:
    """The ceilings for one exercise.

    A check module that judges the learner's own memory or CPU limits says so with
    ``JUDGES_LIMITS = True``. There a ceiling must sit above every correct answer, or it would
    pass a missing limit or clamp a right one: memory stays bounded at :data:`JUDGED_MEMORY`
    (a stack without limits still reads as wrong: above what the task asks), CPUs are not
    capped, and the process cap stays.
    """
    from ..checks import find_module

    if getattr(find_module(exercise), "JUDGES_LIMITS", False):
        kept = [p for p in limits.split(",") if p.strip().startswith(("pids", "logs"))]
        return ",".join([f"memory={JUDGED_MEMORY}", *kept])
    return limits


def materialise(sub: Submission, dest: Path) -> tuple[Path, dict[str, Any]]:
    """Copy or unpack a submission into ``dest``; return (exercise folder, manifest)."""
    assert sub.source is not None
    if sub.source.is_dir():
        files, _refused = archive.folder_files(sub.source)
        if len(files) > archive.MAX_FILES:
            raise archive.SubmissionError(
                f"{len(files)} files; a submission holds at most {archive.MAX_FILES}."
            )
        folder = dest / sub.slug
        total = 0
        for rel, p in files.items():
            total += p.stat().st_size
            if total > archive.MAX_TOTAL_BYTES:
                raise archive.SubmissionError(
                    f"more than {archive.MAX_TOTAL_BYTES / 1e6:.0f} MB of files."
                )
            target = folder / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(p, target)
        folder.mkdir(parents=True, exist_ok=True)
        return folder, {}
    manifest = archive.safe_extract(sub.source, dest)
    kids = [p for p in dest.iterdir() if p.is_dir()]
    folder = dest / sub.slug if (dest / sub.slug).is_dir() else (kids[0] if kids else dest)
    return folder, manifest


def vet(folder: Path) -> tuple[list[policy.Violation], list[str]]:
    """The policy step: (violations, port rewrites applied to the copy)."""
    violations: list[policy.Violation] = []
    for p in sorted(folder.rglob("Dockerfile*"))[:20]:
        if p.is_file():
            text = p.read_text(errors="replace")
            violations += policy.dockerfile_violations(text, str(p.relative_to(folder)))
    rewrites: list[str] = []
    for name in COMPOSE_FILES:
        f = folder / name
        if not f.is_file():
            continue
        try:
            raw = yaml.safe_load(f.read_text(errors="replace"))
        except yaml.YAMLError:
            continue  # not a policy matter: the check reports the broken file
        if not isinstance(raw, dict):
            continue
        found = policy.compose_violations(raw, folder)
        violations += [policy.Violation(v.rule, f"{name}: {v.where}", v.message) for v in found]
        if not found:
            changes, new = policy.rewrite_published_ports(raw)
            if changes:
                f.write_text(yaml.safe_dump(new, sort_keys=False))
                rewrites += changes
    return violations, rewrites


def _resolved_violations(folder: Path, env: dict[str, str]) -> list[policy.Violation]:
    """Judge the model Compose itself resolves (extends, anchors, interpolation)."""
    from .. import engine

    cmd = engine.compose_command()
    if not cmd or not any((folder / n).is_file() for n in COMPOSE_FILES):
        return []
    try:
        r = subprocess.run(
            [*cmd, "--project-directory", str(folder), "config", "--format", "json"],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    except subprocess.TimeoutExpired:
        return []
    if r.returncode != 0:
        return []  # the check reports the broken file with its own hint
    try:
        model = json.loads(r.stdout)
    except ValueError:
        return []
    return [
        policy.Violation(v.rule, f"resolved: {v.where}", v.message)
        for v in policy.compose_violations(model, folder)
    ]


def _run_check(
    exercise: str, folder: Path, run_id: str, timeout_s: float, limits: str = ""
) -> tuple[str, dict[str, Any] | None, str]:
    """(status, report dict, message) of one check process, killed at the deadline."""
    env = _scrubbed_env(run_id, limits_for(exercise, limits))
    cmd = [sys.executable, "-m", "helpers", "check", exercise, "--path", str(folder), "--json"]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=str(settings.repo_root()),
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=max(1.0, timeout_s))
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return "timeout", None, f"the check did not finish within {timeout_s:.0f} s"
    try:
        report = json.loads(out)
    except ValueError:
        tail = (err or out).strip().splitlines()[-5:]
        return "error", None, "the check process failed: " + " | ".join(tail)
    if report.get("error"):
        return "error", report, f"could not run: {report['error']}"
    return "completed", report, ""


def run_processes(run_id: str) -> list[int]:
    """Pids of processes started for ``run_id`` (found by ``SHIPSHAPE_RUN_ID`` in /proc).

    A grader killed with SIGKILL cannot stop its check process or the Compose commands that
    process started; they carry the run id in their environment, so the next grader finds them.
    """
    needle = f"SHIPSHAPE_RUN_ID={run_id}".encode()
    out = []
    for d in Path("/proc").glob("[0-9]*"):
        try:
            env = (d / "environ").read_bytes()
        except OSError:
            continue
        if needle in env.split(b"\0") and int(d.name) != os.getpid():
            out.append(int(d.name))
    return out


def _sweep(run_id: str) -> None:
    """Stop every process of ``run_id``, then remove its containers, networks, volumes, images."""
    from .. import engine

    for pid in run_processes(run_id):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        engine.clean(run=run_id)


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
        tmp = Path(tempfile.mkdtemp(prefix="shipshape-grade-"))
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
                violations = _resolved_violations(folder, _scrubbed_env(run_id))
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
