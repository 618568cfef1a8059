"""Capstone figures from one run: naive vs production image size, time to a healthy stack,
and the checklist audit's wall time (static, and with the image).

    python benchmarks/production.py
"""

from __future__ import annotations

import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from helpers import audit, compose, engine, images  # noqa: E402
from helpers.checks import materialized  # noqa: E402

STARTER = ROOT / "exercises" / "07_production_pipeline"
SOLUTION = ROOT / "solutions" / "07_production_pipeline"


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="shipshape-bench-prod-"))
    tags = {"naive": "shipshape-bench/naive:1", "production": "shipshape-bench/production:1"}
    try:
        for label, folder in (("naive", STARTER), ("production", SOLUTION)):
            with materialized(folder) as src:
                shutil.copytree(src, work / label)
            images.build(
                work / label,
                tags[label],
                on_event=None,
                timeout_s=900,
                target="production" if label == "production" else None,
            )
        naive, prod = (images.image_size_bytes(tags[k]) for k in ("naive", "production"))
        t0 = time.monotonic()
        audit.audit_static(work / "production")
        static_s = time.monotonic() - t0
        t0 = time.monotonic()
        audit.audit(work / "production", image=tags["production"])
        image_s = time.monotonic() - t0
        (work / "production" / "secrets" / "db_password.txt").write_text(secrets.token_hex(8))
        with compose.Project(work / "production", name=compose.project_name(work, "-bench")) as p:
            p.run("build", timeout_s=900)
            t0 = time.monotonic()
            p.up(wait=True, timeout_s=300)
            up_s = time.monotonic() - t0
        print(f"{'naive image':<34} {naive / 1e6:>8.0f} MB")
        print(f"{'production image':<34} {prod / 1e6:>8.0f} MB")
        print(f"{'production / naive size':<34} {prod / naive:>8.2f}")
        print(f"{'stack up -> healthy (warm images)':<34} {up_s:>8.1f} s")
        print(f"{'audit, static':<34} {static_s * 1000:>8.0f} ms")
        print(f"{'audit, with image':<34} {image_s:>8.1f} s")
        print(f"{'audit with image / static':<34} {image_s / static_s:>8.0f}x")
    finally:
        for t in tags.values():
            images.remove(t)
        shutil.rmtree(work, ignore_errors=True)
        engine.clean(run=engine.RUN_ID)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
