"""Build context and log rotation: what a .dockerignore and json-file limits save.

    python benchmarks/build_context.py                  # 32 MB of data, 3 builds each way
    python benchmarks/build_context.py --data-mb 128 --repeat 5

Part 1 generates a project (exercise 03's app plus data/, .git, caches, .env) in a temp
folder, measures the context docker-py sends with and without a .dockerignore (files, tar
bytes, seconds to pack) and builds it each way with nocache (best of --repeat), printing
the ratios. Part 2 floods a container with --lines lines of 100 bytes under json-file with
no limits and with max-size/max-file, and counts the lines `docker logs` still returns.
Everything it creates is removed at the end.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from docker.types import LogConfig  # noqa: E402

from helpers import containers, context, engine, images  # noqa: E402
from helpers import logs as logs_  # noqa: E402
from helpers.checks import materialized  # noqa: E402
from helpers.checks.ex03_dockerignore import REFERENCE_PATTERNS  # noqa: E402
from helpers.context import fmt_bytes  # noqa: E402

APP = ROOT / "solutions" / "03_dockerignore"
TAG = "shipshape-bench/build-context"


def context_part(data_mb: int, repeat: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="shipshape-bench-"))
    try:
        proj = work / "project"
        with materialized(APP) as src:  # the solution is an overlay on the starter
            shutil.copytree(src, proj)
        (proj / ".dockerignore").unlink()
        written = context.add_clutter(proj, data_mb=data_mb)
        print(
            f"project: {fmt_bytes(sum(written.values()))} of clutter "
            + ", ".join(f"{k} {fmt_bytes(v)}" for k, v in written.items())
        )
        without = context.measure(proj, None)
        (proj / ".dockerignore").write_text("\n".join(REFERENCE_PATTERNS) + "\n")
        with_ = context.measure(proj)
        secs: dict[str, float] = {}
        for label in ("without", "with"):
            aside = work / "ignore.aside"
            if label == "without":
                (proj / ".dockerignore").rename(aside)
            try:
                runs = [
                    images.build(
                        proj, f"{TAG}:{label}", nocache=True, on_event=None, bench="context"
                    ).seconds
                    for _ in range(repeat)
                ]
            finally:
                if aside.exists():
                    aside.rename(proj / ".dockerignore")
            secs[label] = min(runs)
        sizes = {k: images.image_size_bytes(f"{TAG}:{k}") for k in ("without", "with")}
        print()
        print(f"{'':<22} {'files':>6} {'context':>10} {'pack s':>7} {'build s':>8} {'image':>10}")
        for label, m in (("without .dockerignore", without), ("with .dockerignore", with_)):
            key = label.split()[0]
            print(
                f"{label:<22} {m.files:>6} {fmt_bytes(m.tar_bytes):>10} {m.seconds:>7.3f} "
                f"{secs[key]:>8.2f} {fmt_bytes(sizes[key]):>10}"
            )
        print(
            f"ratios (without / with): context bytes {without.tar_bytes / with_.tar_bytes:,.0f}x, "
            f"files {without.files / with_.files:.1f}x, pack time "
            f"{without.seconds / max(with_.seconds, 1e-6):.0f}x, build time "
            f"{secs['without'] / secs['with']:.1f}x (best of {repeat}), image size "
            f"{sizes['without'] / sizes['with']:.2f}x"
        )
    finally:
        for label in ("without", "with"):
            images.remove(f"{TAG}:{label}")
        shutil.rmtree(work, ignore_errors=True)


def rotation_part(lines: int, max_size: str, max_file: int) -> None:
    print()
    print(f"log rotation: {lines:,} lines of 100 B ({fmt_bytes(lines * 100)}) written to stdout")
    configs = {
        "json-file, no limits": LogConfig(type="json-file", config={}),
        f"json-file {max_size} x {max_file}": logs_.rotating_log_config(max_size, max_file),
        f"local {max_size} x {max_file}": LogConfig(
            type="local", config={"max-size": max_size, "max-file": str(max_file)}
        ),
    }
    print(f"{'driver':<26} {'produced':>9} {'kept':>9} {'kept %':>7} {'kept bytes':>11} {'s':>5}")
    for name, cfg in configs.items():
        t0 = time.monotonic()
        with containers.running(
            "python:3.11-slim", logs_.flood_command(lines, 100), log_config=cfg
        ) as ctr:
            containers.wait_for_exit(ctr, timeout_s=300)
            kept, kept_bytes = logs_.count_kept_lines(ctr)
        print(
            f"{name:<26} {lines:>9,} {kept:>9,} {100 * kept / lines:>6.1f}% "
            f"{fmt_bytes(kept_bytes):>11} {time.monotonic() - t0:>5.1f}"
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data-mb", type=int, default=32, help="size of the generated data/ folder")
    ap.add_argument("--repeat", type=int, default=3, help="builds per variant (best is kept)")
    ap.add_argument("--lines", type=int, default=200_000, help="log lines to flood")
    ap.add_argument("--max-size", default="1m")
    ap.add_argument("--max-file", type=int, default=3)
    args = ap.parse_args()
    engine.client()
    try:
        context_part(args.data_mb, args.repeat)
        rotation_part(args.lines, args.max_size, args.max_file)
    finally:
        engine.clean(run=engine.RUN_ID)
    left = {k: v for k, v in engine.leftovers(run=engine.RUN_ID).items() if v}
    if left:
        print(f"LEFT BEHIND: {left}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
