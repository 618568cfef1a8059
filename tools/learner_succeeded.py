"""The notebooks survive a learner's success: every exercise solved, then every notebook run.

A notebook must never assert on the learner's own exercise folder: once the learner has
solved an exercise, "Run All" must still pass. This proves it on a copy of the course:

1. copy the course to a temporary folder (with ``.starters/``, as ``learner-copy`` writes);
2. put every reference solution into ``exercises/`` (the learner succeeded) and run
   ``python -m helpers check NN`` on each: every one must score its maximum;
3. run every notebook with nbval (the same flags as ``make test``);
4. restore the starters from ``.starters/`` and run every notebook again.

Usage::

    python tools/learner_succeeded.py            # both phases
    python tools/learner_succeeded.py --phase solved --notebooks 00 03

Prints one line per phase with the pytest summary; exits 1 if anything failed. Takes about
as long as the notebooks' share of ``make test``, twice.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from helpers.checks import OVERLAY, exercise_ids, find_module, materialized  # noqa: E402

COPY_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", "artifacts", "__pycache__", "*.egg-info", ".ipynb_checkpoints", ".pytest_cache"
)


def solve_all(course: Path) -> list[str]:
    """Overlay every reference solution onto ``course/exercises``; return the slugs."""
    done = []
    for ex in exercise_ids():
        slug = find_module(ex).SLUG
        with materialized(ROOT / "solutions" / slug) as full:
            dest = course / "exercises" / slug
            shutil.rmtree(dest)
            shutil.copytree(full, dest, ignore=shutil.ignore_patterns(OVERLAY))
        done.append(slug)
    return done


def check_all(course: Path, env: dict[str, str]) -> list[str]:
    """``python -m helpers check NN --json`` in the copy; the exercises below their maximum."""
    short = []
    for ex in exercise_ids():
        out = subprocess.run(
            [sys.executable, "-m", "helpers", "check", ex, "--json"],
            cwd=course,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        try:
            rep = json.loads(out.stdout)
            score, top = rep["score"], rep["max_score"]
        except (ValueError, KeyError):
            short.append(f"{ex}: no report (exit {out.returncode}): {out.stderr[-300:]}")
            continue
        print(f"  check {ex}: {score:g}/{top:g}", flush=True)
        if score < top:
            short.append(f"{ex}: {score:g}/{top:g}")
    return short


def nbval(course: Path, env: dict[str, str], notebooks: list[str], label: str) -> int:
    nbs = sorted(
        str(p.relative_to(course))
        for p in (course / "notebooks").glob("*.ipynb")
        if not notebooks or p.name[:2] in notebooks
    )
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        *nbs,
        "--nbval-lax",
        "--nbval-sanitize-with",
        "tests/nbval_sanitize.cfg",
        "-p",
        "no:cacheprovider",
        "-q",
        "--rootdir",
        str(course),
    ]
    res = subprocess.run(cmd, cwd=course, env=env, capture_output=True, text=True)
    summary = (res.stdout.strip().splitlines() or ["(no output)"])[-1]
    print(f"[{label}] nbval over {len(nbs)} notebooks: {summary}", flush=True)
    if res.returncode:
        print(res.stdout[-6000:], flush=True)
    return res.returncode


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--phase", choices=("solved", "restored", "both"), default="both")
    ap.add_argument("--notebooks", nargs="*", default=[], help="two-digit prefixes (all)")
    args = ap.parse_args()
    failed = 0
    with tempfile.TemporaryDirectory(prefix="shipshape-succeeded-") as tmp:
        course = Path(tmp) / "course"
        shutil.copytree(ROOT, course, ignore=COPY_IGNORE)
        shutil.copytree(course / "exercises", course / ".starters")
        env = dict(os.environ, PYTHONPATH=str(course))
        if args.phase in ("solved", "both"):
            print(f"solved: {', '.join(solve_all(course))}", flush=True)
            short = check_all(course, env)
            if short:
                print(f"[solved] checks below their maximum: {short}", flush=True)
                failed += 1
            failed += bool(nbval(course, env, args.notebooks, "solved"))
        if args.phase in ("restored", "both"):
            shutil.rmtree(course / "exercises")
            shutil.copytree(course / ".starters", course / "exercises")
            failed += bool(nbval(course, env, args.notebooks, "restored"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
