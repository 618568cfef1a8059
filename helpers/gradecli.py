"""``python -m helpers submit|grade|grade-report``: handing in, and grading a class."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, default=str))


def cmd_submit(args: argparse.Namespace) -> int:
    from .grading import SubmissionError, submit

    try:
        packed, rep = submit(args.exercise, args.path, args.out, run_check=not args.no_check)
    except SubmissionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if rep is not None:
        state = " (passed)" if rep.passed else ""
        print(f"your check: {rep.score:g}/{rep.max_score:g}{state}")
    for rel, why in packed.refused:
        print(f"left out {rel}: {why}")
    print(f"wrote {packed.path} ({packed.files} files, {packed.bytes / 1024:.1f} KiB)")
    return 0


def _progress_line(p: dict[str, Any]) -> None:
    eta = f", about {p['eta_s'] / 60:.1f} min left" if p.get("eta_s") is not None else ""
    last = f" -> {p['status']}" if p.get("status") else ""
    print(f"[{p['done']}/{p['total']}] {p['current']}{last}{eta}", file=sys.stderr, flush=True)


def cmd_grade(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .grading import Gradebook, GradebookLocked, GradeOptions, Grader, discover, outputs

    subs_dir = Path(args.submissions)
    if not subs_dir.is_dir():
        print(f"error: {subs_dir} is not a folder of submissions", file=sys.stderr)
        return 2
    roster = outputs.read_roster(Path(args.roster)) if args.roster else {}
    try:
        subs = discover(subs_dir, args.assignment, args.exercises, args.student, roster)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    jobs = max(1, min(args.jobs, os.cpu_count() or 1))
    if jobs != args.jobs:
        print(f"--jobs {args.jobs} is more than this host's {jobs} cores: using {jobs}")
    opts = GradeOptions(
        timeout_exercise_s=args.timeout,
        timeout_submission_s=args.timeout_submission,
        jobs=jobs,
        force=args.force,
        hidden=set(args.hide or []),
        limits=args.limits or "",
    )
    book = Gradebook(args.out)
    try:
        book.lock()
    except GradebookLocked as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        book.update_settings(duedate=args.duedate, late_policy=args.late_policy)
        grader = Grader(book, opts, roster, progress=None if args.json else _progress_line)
        swept = grader.sweep_crashed()
        if swept:
            print(f"removed what {len(swept)} interrupted earlier gradings left on the engine")
        done = grader.run(subs)
    finally:
        book.unlock()
    results = outputs.with_known_max(book.results(), book.rubric_max())
    if args.json:
        _print_json({"graded_now": len(done), "results": results})
    else:
        counts: dict[str, int] = {}
        for r in done:
            counts[r["status"]] = counts.get(r["status"], 0) + 1
        skipped = len(subs) - len(done)
        print(
            f"graded {len(done)} ({', '.join(f'{v} {k}' for k, v in sorted(counts.items())) or 'none'})"
            + (
                f"; {skipped} unchanged since their last grade (--force regrades)"
                if skipped
                else ""
            )
        )
        print(f"gradebook: {book.root / 'grades.csv'}  feedback: {book.root / 'feedback'}")
    return 0


def cmd_grade_report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .grading import Gradebook, outputs

    book = Gradebook(args.out)
    if not book.results_dir.is_dir():
        print(f"error: {book.root} holds no results: run `grade` first", file=sys.stderr)
        return 2
    roster = outputs.read_roster(Path(args.roster)) if args.roster else {}
    with book.locked():
        book.update_settings(duedate=args.duedate, late_policy=args.late_policy)
        paths = outputs.rebuild(book, roster)
    _print_json({k: str(v) for k, v in paths.items()})
    return 0


def add_parsers(sub: Any) -> None:
    """Register ``submit``, ``grade`` and ``grade-report`` on the CLI's subparsers."""
    sm = sub.add_parser("submit", help="pack an exercise folder into one archive to hand in")
    sm.add_argument("exercise", help="exercise number, e.g. 01")
    sm.add_argument("--path", help="the folder to pack (default exercises/NN_*)")
    sm.add_argument("--out", help="archive path (default ./NN_slug.shipshape.tar.gz)")
    sm.add_argument("--no-check", action="store_true", help="do not run the check first")
    sm.set_defaults(fn=cmd_submit)
    gr = sub.add_parser("grade", help="grade a class's submissions into a gradebook")
    gr.add_argument("assignment", help="the assignment folder name in each student's folder")
    gr.add_argument("--submissions", required=True, help="DIR/<student>/<assignment>/<NN_slug>")
    gr.add_argument("--out", default="gradebook", help="gradebook folder (default gradebook/)")
    gr.add_argument("--exercises", nargs="+", help="only these exercises (default: all found)")
    gr.add_argument("--student", nargs="+", help="only these students (regrade one)")
    gr.add_argument("--jobs", type=int, default=1, help="students graded at once (<= cores)")
    gr.add_argument("--timeout", type=float, default=600, help="seconds per exercise check")
    gr.add_argument(
        "--timeout-submission", type=float, default=1800, help="seconds per student in all"
    )
    gr.add_argument("--resume", action="store_true", default=True, help=argparse.SUPPRESS)
    gr.add_argument("--force", action="store_true", help="regrade even unchanged submissions")
    gr.add_argument("--roster", help="nbgrader student CSV: id,first_name,last_name,email")
    gr.add_argument("--duedate", help="ISO time, e.g. 2026-12-01T17:00Z; kept in the gradebook")
    gr.add_argument(
        "--late-policy", help="none | zero | per-day=P (P%% of max per day); kept in the gradebook"
    )
    gr.add_argument("--hide", nargs="+", help='hidden items: "NN:item name" or "NN:*"')
    gr.add_argument(
        "--limits",
        help="ceilings per container (default memory=2g,cpus=CORES/JOBS,pids=512,logs=10m)",
    )
    gr.add_argument("--json", action="store_true")
    gr.set_defaults(fn=cmd_grade)
    grr = sub.add_parser("grade-report", help="rebuild CSVs, feedback and overview from results")
    grr.add_argument("--out", default="gradebook")
    grr.add_argument("--roster")
    grr.add_argument("--duedate", help="change the due date, then rebuild")
    grr.add_argument("--late-policy", help="change the late policy, then rebuild")
    grr.set_defaults(fn=cmd_grade_report)
