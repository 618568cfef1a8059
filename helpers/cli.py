"""``python -m helpers doctor|images|check|clean|bundle|leftovers|cache``.

Exit codes: 0 success; 1 a check or preflight item failed; 2 the command could not run
(no engine, missing folder), always with a message that says what to do and no traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, default=str))


def cmd_doctor(args: argparse.Namespace) -> int:
    from . import preflight

    rep = preflight.doctor()
    _print_json(rep.to_dict()) if args.json else print(rep)
    if not rep.ok:
        engine_item = rep.items[0]
        return 2 if not engine_item.ok else 1
    return 0


def images_table(statuses: list[Any]) -> str:
    from .display import human_bytes

    head = f"{'image':<22} {'route':<12} {'measured':>10} {'documented':>11}  note"
    lines = [head, "-" * len(head)]
    for s in statuses:
        lines.append(
            f"{s.name:<22} {s.route:<12} {human_bytes(s.size_bytes):>10} "
            f"{human_bytes(s.documented_bytes):>11}  {s.detail[:70]}"
        )
    return "\n".join(lines)


def cmd_images(args: argparse.Namespace) -> int:
    from . import baseimages, display, engine

    engine.client()
    names = args.names or None
    statuses = baseimages.ensure_all(
        names, on_line=None if args.quiet else display.line_printer("  ")
    )
    if args.json:
        _print_json([s.to_dict() for s in statuses])
    else:
        print(images_table(statuses))
    missing = [s.name for s in statuses if not s.present and s.name in baseimages.REQUIRED]
    if missing:
        print(f"missing required base images: {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from . import check

    rep = check(args.exercise, path=args.path)
    _print_json(rep.to_dict()) if args.json else print(rep)
    if rep.error:
        return 2
    return 0 if rep.passed else 1


def cmd_solution(args: argparse.Namespace) -> int:
    from . import starters

    print(
        f"warning: this is the reference answer to exercise {args.exercise}. Reading it before "
        "you have tried the exercise yourself skips the part that teaches.",
        file=sys.stderr,
    )
    diff = starters.solution_diff(args.exercise)
    print(diff or "your folder already matches the reference solution")
    return 0


def cmd_learner_copy(args: argparse.Namespace) -> int:
    from . import starters

    out = starters.learner_copy(args.dest)
    print(f"learner copy (no solutions/) written to {out}")
    return 0


def cmd_gate(args: argparse.Namespace) -> int:
    from . import gate

    return gate.run_cli(args)


def cmd_clean(args: argparse.Namespace) -> int:
    from . import engine

    counts = engine.clean(include_base=args.all)
    print("removed " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    return 0


def cmd_leftovers(args: argparse.Namespace) -> int:
    from . import engine

    left = engine.leftovers()
    _print_json(left)
    from . import images

    kept = images.cache_entries()
    if kept:  # not leftovers: the layer cache that makes the next check fast (bounded)
        print(
            f"layer cache kept (not leftovers): {len(kept)} builds, "
            f"{images.cache_bytes(kept) / 1e6:.0f} MB; `clean --all` removes it",
            file=sys.stderr,
        )
    return 1 if any(left.values()) else 0


def cmd_bundle(args: argparse.Namespace) -> int:
    from . import baseimages

    if args.action == "save":
        _print_json(baseimages.bundle_save(args.path))
    else:
        _print_json({"loaded": baseimages.bundle_load(args.path)})
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from . import audit

    folder = args.path
    import pathlib

    if not (pathlib.Path(folder) / "Dockerfile").is_file():
        raise FileNotFoundError(f"No Dockerfile in {folder}: pass a project folder.")
    rep = audit.audit(folder, image=args.image)
    _print_json(rep.to_dict()) if args.json else print(rep)
    return 0 if rep.ok else 1


def cmd_cache(args: argparse.Namespace) -> int:
    from . import pkgcache

    try:
        if args.action == "start":
            _print_json(
                pkgcache.start(
                    offline=args.offline,
                    upstream_proxy=args.upstream_proxy,
                    timeout_s=args.timeout,
                )
            )
            if pkgcache.config() is None:
                print(
                    f"builds do not use it yet: export {pkgcache.ENV}=auto "
                    "(or this machine's address for other laptops), then "
                    "`python -m helpers images`",
                    file=sys.stderr,
                )
        elif args.action == "stop":
            _print_json({"stopped": pkgcache.stop()})
        elif args.action == "status":
            st = pkgcache.status()
            _print_json(st)
            return 0 if st["devpi"] and st["apt-cacher-ng"] else 1
        elif args.action == "warm":
            rows = pkgcache.warm(on_line=print)
            # a starter that does not build yet is the exercise; a solution must build
            return 0 if all(r["ok"] for r in rows if not r["starter"]) else 1
        elif args.action == "export":
            _print_json(pkgcache.export(args.path))
        elif args.action == "import":
            _print_json(pkgcache.import_(args.path))
    except pkgcache.PackageCacheError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


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


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m helpers",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("doctor", help="preflight: engine, API, Compose, buildx, cgroups, disk")
    d.add_argument("--json", action="store_true")
    d.set_defaults(fn=cmd_doctor)
    i = sub.add_parser("images", help="make the course's base images present (offline too)")
    i.add_argument("names", nargs="*", help="only these images (default: all required)")
    i.add_argument("--json", action="store_true")
    i.add_argument("--quiet", action="store_true")
    i.set_defaults(fn=cmd_images)
    c = sub.add_parser("check", help="score an exercise folder")
    c.add_argument("exercise", help="exercise number, e.g. 01")
    c.add_argument("--path", help="the folder to check (default exercises/NN_*)")
    c.add_argument("--json", action="store_true")
    c.set_defaults(fn=cmd_check)
    so = sub.add_parser("solution", help="show a reference solution as a diff against your folder")
    so.add_argument("exercise", help="exercise number, e.g. 01")
    so.set_defaults(fn=cmd_solution)
    lc = sub.add_parser("learner-copy", help="copy the course without solutions/ (instructors)")
    lc.add_argument("dest", help="a new, empty folder")
    lc.set_defaults(fn=cmd_learner_copy)
    a = sub.add_parser(
        "audit", help="the Quick Checklist on a project folder (Dockerfile, compose)"
    )
    a.add_argument("path", help="project folder with a Dockerfile (and optionally compose.yaml)")
    a.add_argument("--image", help="also look inside this built image")
    a.add_argument("--json", action="store_true")
    a.set_defaults(fn=cmd_audit)
    g = sub.add_parser("gate", help="release gate for an image: size, scans, checklist")
    from .gate import add_arguments as gate_arguments

    gate_arguments(g)
    g.set_defaults(fn=cmd_gate)
    cl = sub.add_parser("clean", help="remove what the course created (by label only)")
    cl.add_argument(
        "--all", action="store_true", help="base-image replicas and the layer cache too"
    )
    cl.set_defaults(fn=cmd_clean)
    lo = sub.add_parser("leftovers", help="list temporary resources still present (exit 1 if any)")
    lo.set_defaults(fn=cmd_leftovers)
    b = sub.add_parser("bundle", help="save/load the base images for offline rooms")
    b.add_argument("action", choices=["save", "load"])
    b.add_argument(
        "path", nargs="?", help="tarball path (default ~/.cache/shipshape/base-images.tar)"
    )
    b.set_defaults(fn=cmd_bundle)
    pc = sub.add_parser(
        "cache",
        help="package cache for builds (PyPI + Debian): start|stop|status|warm|export|import",
    )
    pc.add_argument("action", choices=["start", "stop", "status", "warm", "export", "import"])
    pc.add_argument(
        "path", nargs="?", help="archive for export/import (default: beside the image bundle)"
    )
    pc.add_argument("--offline", action="store_true", help="serve only what is cached")
    pc.add_argument("--upstream-proxy", help="send upstream requests through this proxy")
    pc.add_argument("--timeout", type=float, default=120.0, help="start deadline, seconds")
    pc.set_defaults(fn=cmd_cache)
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
    return p


def main(argv: list[str] | None = None) -> int:
    """Run one command. Errors end as one paragraph and exit 2, never as a traceback
    (``SHIPSHAPE_DEBUG=1`` prints it for whoever maintains the course)."""
    import os

    from .checks.base import CheckCannotRun
    from .engine import EngineUnavailable
    from .pkgcache import PackageCacheError

    args = build_parser().parse_args(argv)
    try:
        return int(args.fn(args))
    except (
        EngineUnavailable,
        CheckCannotRun,
        FileNotFoundError,
        FileExistsError,
        PackageCacheError,
    ) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        print(f"error: {explain_error(exc)}", file=sys.stderr)
        if os.environ.get("SHIPSHAPE_DEBUG") == "1":
            import traceback

            traceback.print_exc()
        return 2


def explain_error(exc: BaseException) -> str:
    """One paragraph for an error a command did not expect to reach the user."""
    import docker
    import yaml

    if isinstance(exc, yaml.YAMLError):
        return (
            f"a YAML file does not parse: {str(exc).strip()[:300]}. Fix the YAML (indent "
            "with spaces, `key: value`, list entries with `- `); `docker compose config` "
            "shows the same error for a compose file."
        )
    if isinstance(exc, docker.errors.ImageNotFound):
        return f"no such image: {exc.explanation or exc}. Build or pull it first (`docker images` lists them)."
    if isinstance(exc, docker.errors.APIError):
        return f"the Docker engine refused: {exc.explanation or exc}."
    if isinstance(exc, (PermissionError, UnicodeDecodeError, IsADirectoryError)):
        return f"a file cannot be read: {exc}. Make it readable text (`chmod a+r FILE`)."
    return (
        f"the command failed unexpectedly ({type(exc).__name__}: {exc}). This is a bug in "
        "the course's helpers, not in your work: rerun with SHIPSHAPE_DEBUG=1 and send "
        "the output to the maintainers."
    )
