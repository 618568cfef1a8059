"""Re-check time with layer reuse across checks: exercises 01, 04 and 07.

    python benchmarks/recheck.py            # with the "before" rows (cache off), ~15 min
    python benchmarks/recheck.py --no-before

For each exercise, on a learner-shaped copy of its reference solution:

- ``before``: layer cache off (``SHIPSHAPE_BUILD_CACHE=0``, the exercise's cache cleared
  first): a check, then a re-check after a one-line code change. This is how checks behaved
  before the cache: every check rebuilt from nothing.
- ``after``: layer cache on and cleared first: a check (cold), the same check again unchanged,
  and again after a one-line code change (a comment appended to the app's main module).

Prints each check's wall time, score and the build item's "N of M steps from cache", then the
ratios re-check / first check. Goal: a re-check after a code-only change <= 15 s for 01, 04.
Every image it builds is removed (the layer cache of the three exercises stays, as after checks).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path

from helpers import buildcache, check, engine, settings
from helpers.checks import materialized

#: exercise, solution folder, file that gets the one-line code change
EXERCISES = (
    ("01", "01_optimize_image", "etl.py"),
    ("04", "04_multi_stage", "app.py"),
    ("07", "07_production_pipeline", "etl/__main__.py"),
)


CHANGED = "after a 1-line code change"


def _build_note(rep) -> str:
    for r in rep.results:
        if r.name.lower().startswith(("builds", "image builds", "the image builds")) or (
            "steps from cache" in r.message
        ):
            return r.message
    return ""


def _timed(ex: str, path: Path) -> tuple[float, str, str]:
    t0 = time.monotonic()
    rep = check(ex, path=path)
    secs = time.monotonic() - t0
    if rep.error:
        raise SystemExit(f"check {ex} could not run: {rep.error}")
    failed = "; ".join(f"FAILED {r.name}: {r.message[:120]}" for r in rep.failed())
    return (
        secs,
        f"{rep.score:g}/{rep.max_score:g}",
        _build_note(rep) + (f"  {failed}" if failed else ""),
    )


def _edit(path: Path) -> None:
    path.write_text(path.read_text() + f"\n# a one-line code change {uuid.uuid4().hex[:8]}\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-before", action="store_true", help="skip the cache-off rows")
    ap.add_argument("--exercises", default="01,04,07")
    args = ap.parse_args()
    wanted = args.exercises.split(",")
    root = settings.repo_root()
    rows: list[tuple[str, str, str, float, str, str]] = []
    work = Path(tempfile.mkdtemp(prefix="shipshape-recheck-"))
    try:
        for ex, slug, app in EXERCISES:
            if ex not in wanted:
                continue
            modes = ([("before", "0")] if not args.no_before else []) + [("after", "1")]
            for mode, flag in modes:
                folder = work / f"{mode}-{slug}"
                with materialized(root / "solutions" / slug) as src:
                    shutil.copytree(src, folder)
                os.environ[settings.BUILD_CACHE_ENV] = flag
                buildcache.clear_cache(exercise=ex)
                steps = [("first check", False)]
                if mode == "after":
                    steps.append(("again, unchanged", False))
                steps.append((CHANGED, True))
                for label, edit in steps:
                    if edit:
                        _edit(folder / app)
                    secs, score, note = _timed(ex, folder)
                    rows.append((ex, mode, label, secs, score, note))
                    print(
                        f"  {ex} {mode:<7}{label:<28}{secs:7.1f} s  {score:>7}  {note}", flush=True
                    )
    finally:
        os.environ.pop(settings.BUILD_CACHE_ENV, None)
        shutil.rmtree(work, ignore_errors=True)
        engine.clean(run=engine.RUN_ID)
    print()
    print(f"{'ex':<4}{'mode':<8}{'check':<30}{'seconds':>8}{'vs first':>9}{'score':>9}")
    first: dict[tuple[str, str], float] = {}
    for ex, mode, label, secs, score, _ in rows:
        base = first.setdefault((ex, mode), secs)
        print(f"{ex:<4}{mode:<8}{label:<30}{secs:>8.1f}{secs / base:>9.2f}{score:>9}")
    print()
    for ex, *_ in EXERCISES:
        b = [r for r in rows if r[0] == ex and r[1] == "before" and r[2] == CHANGED]
        a = [r for r in rows if r[0] == ex and r[1] == "after" and r[2] == CHANGED]
        if a:
            goal = " (goal <= 15 s)" if ex in ("01", "04") else ""
            vs = f", before {b[0][3]:.1f} s: {b[0][3] / a[0][3]:.1f}x faster" if b else ""
            print(f"exercise {ex}: re-check after a code-only change {a[0][3]:.1f} s{goal}{vs}")


if __name__ == "__main__":
    main()
