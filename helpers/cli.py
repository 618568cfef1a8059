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

    from . import gatecli

    return gatecli.run_cli(args)


def cmd_clean(args: argparse.Namespace) -> int:
    from . import engine

    if args.cache_unused_since is not None:  # the layer cache only: the rest stays
        from . import buildcache

        gone = buildcache.drop_unused_since(args.cache_unused_since, args.exercise)
        print(f"dropped {len(gone)} cached builds unused since {args.cache_unused_since:.0f}")
        return 0
    counts = engine.clean(include_base=args.all)
    print("removed " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    return 0


def cmd_leftovers(args: argparse.Namespace) -> int:
    from . import engine

    left = engine.leftovers()
    _print_json(left)
    from . import buildcache

    kept = buildcache.cache_entries()
    if kept:  # not leftovers: the layer cache that makes the next check fast (bounded)
        print(
            f"layer cache kept (not leftovers): {len(kept)} builds, "
            f"{buildcache.cache_bytes(kept) / 1e6:.0f} MB; `clean --all` removes it",
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
    from . import cacheserver, pkgcache

    try:
        if args.action == "start":
            _print_json(
                cacheserver.start(
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
            _print_json({"stopped": cacheserver.stop()})
        elif args.action == "status":
            st = cacheserver.status()
            _print_json(st)
            return 0 if st["devpi"] and st["apt-cacher-ng"] else 1
        elif args.action == "warm":
            rows = cacheserver.warm(on_line=print)
            # a starter that does not build yet is the exercise; a solution must build
            return 0 if all(r["ok"] for r in rows if not r["starter"]) else 1
        elif args.action == "export":
            _print_json(cacheserver.export(args.path))
        elif args.action == "import":
            _print_json(cacheserver.import_(args.path))
    except pkgcache.PackageCacheError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
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
    from .gatecli import add_arguments as gate_arguments

    gate_arguments(g)
    g.set_defaults(fn=cmd_gate)
    cl = sub.add_parser("clean", help="remove what the course created (by label only)")
    cl.add_argument(
        "--all", action="store_true", help="base-image replicas and the layer cache too"
    )
    cl.add_argument(
        "--cache-unused-since",
        type=float,
        metavar="EPOCH",
        help="only drop the cached builds not used since this time (seconds since 1970), "
        "e.g. the start of a test run: the cache keeps that run's working set",
    )
    cl.add_argument(
        "--exercise",
        metavar="KEY",
        help="with --cache-unused-since: only this exercise's (or lesson's, lessonNN) builds",
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
    from .gradecli import add_parsers as add_grading_parsers

    add_grading_parsers(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run one command. Errors end as one paragraph and exit 2, never as a traceback
    (``SHIPSHAPE_DEBUG=1`` prints it for whoever maintains the course)."""

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
