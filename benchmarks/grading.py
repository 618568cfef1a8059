"""Grading throughput on a synthetic class, measured: submissions per minute and seconds each.

    python benchmarks/grading.py                    # the full class (>= 30 submissions), jobs 1 and 2
    python benchmarks/grading.py --class small      # the test suite's class of eight
    python benchmarks/grading.py --jobs 2 --exercises 00 03

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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--class", dest="size", choices=["small", "full"], default="full")
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--timeout", type=int, default=60, help="per exercise (the hanging build)")
    ap.add_argument("--exercises", nargs="+")
    args = ap.parse_args()
    plan = synthetic.small_class_plan() if args.size == "small" else synthetic.full_class_plan()
    if args.exercises:
        plan = [p for p in plan if p.exercise in args.exercises]
    n = len(plan)
    rows = []
    per_exercise: dict[str, list[float]] = defaultdict(list)
    with tempfile.TemporaryDirectory(prefix="shipshape-bench-grading-") as tmp:
        subs = synthetic.make_class(Path(tmp) / "submitted", plan)
        for jobs in args.jobs:
            for phase in ("cold", "warm"):
                out = Path(tmp) / f"gradebook-{jobs}-{phase}"
                seconds = grade(subs, out, jobs, args.timeout, args.exercises)
                wrong = verify(out, plan)
                if wrong:
                    raise SystemExit("wrong verdicts:\n  " + "\n  ".join(wrong))
                results = [r for r in Gradebook(out).results() if r["status"] != "missing"]
                static = [r for r in results if r["exercise"] in STATIC_AND_SIZE]
                static_s = sum(r.get("seconds") or 0 for r in static)
                rows.append((jobs, phase, seconds, len(results), len(static), static_s))
                if phase == "warm" and jobs == args.jobs[0]:
                    for r in results:
                        per_exercise[r["exercise"]].append(r.get("seconds") or 0)
    print(f"class: {n} planned submissions ({args.size}), every verdict as planned\n")
    print(
        f"{'jobs':>4} {'pass':>5} {'wall s':>8} {'graded':>7} {'per min':>8}  static+size per min"
    )
    rate = {}
    for jobs, phase, s, graded, static, static_s in rows:
        rate[(jobs, phase)] = graded / s * 60
        srate = (
            f"{static / static_s * 60 * jobs:.1f} (from {static} results' own seconds)"
            if static_s
            else "-"
        )
        print(f"{jobs:>4} {phase:>5} {s:8.1f} {graded:7d} {rate[(jobs, phase)]:8.1f}  {srate}")
    if (1, "warm") in rate and (2, "warm") in rate:
        print(f"\nwarm throughput, jobs 2 / jobs 1: {rate[(2, 'warm')] / rate[(1, 'warm')]:.2f}x")
    print("\nmedian seconds per submission, warm, by exercise:")
    for ex, secs in sorted(per_exercise.items()):
        print(f"  {ex}: {statistics.median(secs):6.1f} s  (n={len(secs)})")


if __name__ == "__main__":
    main()
