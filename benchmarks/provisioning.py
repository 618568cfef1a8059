"""Provisioning: how long the course takes to get ready, cold and warm, and replica sizes.

    python benchmarks/provisioning.py            # warm: everything already present
    python benchmarks/provisioning.py --cold     # removes the course's replicas first (slow)

Prints one table from one run: cold and warm times (and their ratio), and each base image's
measured size beside its documented size. Results also go to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from helpers import baseimages, engine  # noqa: E402
from helpers.display import human_bytes  # noqa: E402


def timed(cmd: list[str]) -> float:
    t0 = time.monotonic()
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True)
    return time.monotonic() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cold", action="store_true", help="remove replicas and rebuild them first")
    args = ap.parse_args()
    rows = []
    engine_s = timed(["bash", "scripts/install-engine.sh"])
    rows.append(("engine script (engine already running)", engine_s))
    cold_s = None
    if args.cold:
        engine.clean(include_base=True)
        cold_s = timed([sys.executable, "-m", "helpers", "images", "--quiet"])
        rows.append(("base images, cold (replicas built)", cold_s))
    warm_s = timed([sys.executable, "-m", "helpers", "images", "--quiet"])
    rows.append(("base images, warm (all present)", warm_s))
    print(f"{'step':<42} {'seconds':>8}")
    for name, s in rows:
        print(f"{name:<42} {s:>8.1f}")
    if cold_s:
        print(f"cold / warm provisioning: {cold_s / warm_s:.0f}x")
    print()
    statuses = baseimages.ensure_all()
    print(f"{'image':<22} {'route':<12} {'measured':>10} {'documented':>11} {'ratio':>6}")
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "provisioning.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["image", "route", "measured_bytes", "documented_bytes", "documented_by"])
        for s in statuses:
            ratio = (
                f"{s.size_bytes / s.documented_bytes:.2f}"
                if s.size_bytes and s.documented_bytes
                else "-"
            )
            print(
                f"{s.name:<22} {s.route:<12} {human_bytes(s.size_bytes):>10} "
                f"{human_bytes(s.documented_bytes):>11} {ratio:>6}"
            )
            w.writerow([s.name, s.route, s.size_bytes, s.documented_bytes, s.documented_source])
        for name, secs in rows:
            w.writerow([name, "", "", "", f"{secs:.1f}s"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
