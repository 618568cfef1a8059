"""Grading throughput on a synthetic class, measured: submissions per minute and seconds each.

    python benchmarks/grading.py                    # the full class (>= 30 submissions), jobs 1 and 2
    python benchmarks/grading.py --class small      # the test suite's class of eight
    python benchmarks/grading.py --jobs 2 --exercises 00 03
    python benchmarks/grading.py --static-only      # the throughput goal's part alone

The class (helpers.grading.synthetic.full_class_plan) holds reference answers, starters, wrong
answers and hostile submissions (a hanging build, a crash, a fork bomb, a log flood, a memory
hog, policy violations, two submissions publishing the same host port). For each ``--jobs``
value it grades the class twice with ``--force`` into a fresh gradebook: the first pass is
*cold* for this process (whatever layer cache the engine holds), the second *warm*. It checks
every verdict against the plan, then prints:

- submissions per minute, cold and warm, per ``--jobs`` value, and the jobs-2 / jobs-1 ratio;
- the median seconds per exercise (warm), from each result's own timing;
- the warm rate for the "static and size" exercises alone (00, 01, 03, 04, 09), where the goal is
  at least 20 submissions per minute on 2 cores.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from helpers.grading import Gradebook, synthetic  # noqa: E402

STATIC_AND_SIZE = {"00", "01", "03", "04", "09"}


def grade(subs: Path, out: Path, jobs: int, timeout: int, exercises: list[str] | None) -> float:
    cmd = [sys.executable, "-m", "helpers", "grade", "ps1", "--submissions", str(subs)]
    cmd += ["--out", str(out), "--jobs", str(jobs), "--timeout", str(timeout), "--force"]
    if exercises:
        cmd += ["--exercises", *exercises]
    t0 = time.monotonic()
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"grade failed:\n{r.stdout}\n{r.stderr}")
    return time.monotonic() - t0


def verify(out: Path, plan: list[synthetic.Planned]) -> list[str]:
    got = {(r["student"], r["exercise"]): r for r in Gradebook(out).results()}
    wrong = []
    for p in plan:
        r = got.get((p.student, p.exercise))
        if r is None or r["status"] != p.status:
            wrong.append(f"{p.student} {p.exercise} ({p.kind}): {r and r['status']}")
        elif p.full_marks is True and r["score"] != r["max_score"]:
            wrong.append(f"{p.student} {p.exercise} ({p.kind}): {r['score']}/{r['max_score']}")
        elif p.full_marks is False and r["score"] >= (r["max_score"] or 0):
            wrong.append(f"{p.student} {p.exercise} ({p.kind}): full marks for a wrong answer")
    return wrong


def measure(plan, jobs_values, timeout, label, tmp: Path) -> dict:
    """Grade ``plan`` cold then warm for each jobs value; verify every verdict; time it."""
    exercises = sorted({p.exercise for p in plan})
    subs = synthetic.make_class(tmp / f"submitted-{label}", plan)
    rows, per_exercise = [], defaultdict(list)
    for jobs in jobs_values:
        for phase in ("cold", "warm"):
            out = tmp / f"gradebook-{label}-{jobs}-{phase}"
            seconds = grade(subs, out, jobs, timeout, exercises)
            wrong = verify(out, plan)
            if wrong:
                raise SystemExit(f"{label}: wrong verdicts:\n  " + "\n  ".join(wrong))
            graded = [r for r in Gradebook(out).results() if r["status"] != "missing"]
            rows.append({"jobs": jobs, "phase": phase, "seconds": seconds, "n": len(graded)})
            if phase == "warm" and jobs == jobs_values[0]:
                for r in graded:
                    per_exercise[r["exercise"]].append(r.get("seconds") or 0)
    return {"label": label, "rows": rows, "per_exercise": per_exercise, "planned": len(plan)}


def show(m: dict) -> None:
    print(f"\n{m['label']}: {m['planned']} submissions, every verdict as planned")
    print(f"{'jobs':>4} {'pass':>5} {'wall s':>8} {'graded':>7} {'per min':>8}")
    rate = {}
    for r in m["rows"]:
        rate[(r["jobs"], r["phase"])] = r["n"] / r["seconds"] * 60
        print(
            f"{r['jobs']:>4} {r['phase']:>5} {r['seconds']:8.1f} {r['n']:7d} "
            f"{rate[(r['jobs'], r['phase'])]:8.1f}"
        )
    if (1, "warm") in rate and (2, "warm") in rate:
        print(f"warm throughput, jobs 2 / jobs 1: {rate[(2, 'warm')] / rate[(1, 'warm')]:.2f}x")
    print("median seconds per graded submission, warm, by exercise:")
    for ex, secs in sorted(m["per_exercise"].items()):
        print(f"  {ex}: {statistics.median(secs):6.1f} s  (n={len(secs)})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--class", dest="size", choices=["small", "full"], default="full")
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    ap.add_argument(
        "--timeout",
        type=int,
        default=120,
        help="per exercise: above a cold check (the hanging build)",
    )
    ap.add_argument("--exercises", nargs="+")
    ap.add_argument(
        "--static-only",
        action="store_true",
        help="only the static and size exercises' honest answers (the throughput goal)",
    )
    args = ap.parse_args()
    plan = synthetic.small_class_plan() if args.size == "small" else synthetic.full_class_plan()
    if args.exercises:
        plan = [p for p in plan if p.exercise in args.exercises]
    # the static and size exercises alone, honest answers only (no hanging or hostile ones)
    static = [
        p
        for p in plan
        if p.exercise in STATIC_AND_SIZE
        and p.kind in ("solution", "starter", "unpinned", "archive")
    ]
    with tempfile.TemporaryDirectory(prefix="shipshape-bench-grading-") as tmp:
        whole = None
        if not args.static_only:
            whole = measure(plan, args.jobs, args.timeout, f"{args.size} class", Path(tmp))
        part = measure(static, args.jobs, args.timeout, "static and size exercises", Path(tmp))
    if whole:
        show(whole)
    show(part)
    best = max(r["n"] / r["seconds"] * 60 for r in part["rows"] if r["phase"] == "warm")
    print(f"\nwarm static+size throughput: {best:.1f} per minute (goal: at least 20 on 2 cores)")


if __name__ == "__main__":
    main()
