"""``python -m helpers gate IMAGE ...``: the release gate's options and its table or JSON."""

from __future__ import annotations

import argparse
import json

from .gate import ALL_GATES, DEFAULT_FAIL_ON, DEFAULT_MAX_SIZE, EXIT_CANNOT_RUN, evaluate


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The ``gate`` subcommand's options (used by :mod:`helpers.cli`)."""
    p.add_argument("image", help="a local image, e.g. myapp:1.0")
    p.add_argument("--max-size", default=DEFAULT_MAX_SIZE, help="size limit (default 500MB)")
    p.add_argument(
        "--fail-on", default=",".join(DEFAULT_FAIL_ON), help="severities that fail the gate"
    )
    p.add_argument("--dockerfile", help="also lint this Dockerfile with hadolint")
    p.add_argument("--project", help="also audit this folder against the production checklist")
    p.add_argument(
        "--only", help=f"comma-separated subset of gates: {','.join(ALL_GATES)}", default=None
    )
    p.add_argument(
        "--allow-incomplete",
        action="store_true",
        help="exit 0 even when the vulnerability scan could not run (the table still says so)",
    )
    p.add_argument("--json", action="store_true")


def run_cli(args: argparse.Namespace) -> int:
    """Run the gate from parsed arguments; print the table (or JSON); return the exit code."""
    import sys

    from .scan import ToolUnavailable

    try:
        res = evaluate(
            args.image,
            args.max_size,
            args.fail_on,
            dockerfile=args.dockerfile,
            project=args.project,
            only=tuple(g.strip() for g in args.only.split(",")) if args.only else None,
            allow_incomplete=args.allow_incomplete,
        )
    except (LookupError, ValueError, ToolUnavailable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    if args.json:
        print(json.dumps(res.to_dict(), indent=2, default=str))
    else:
        print(res)
    return res.exit_code
