"""Image size of exercises 01 and 04: starter vs solution, and the checks' wall time.

    python benchmarks/image_size.py

Prints, for each exercise, the starter's and the reference solution's measured size and
their ratio, then the wall time of ``check()`` on the solution when its image is already
built (the second of two runs, so every build step comes from the layer cache). Every image
it builds is removed at the end.
"""

from __future__ import annotations

import time

from helpers import check, engine, images, settings
from helpers.checks import _size_common as sc
from helpers.checks import materialized

EXERCISES = (("01", "01_optimize_image"), ("04", "04_multi_stage"))


def measure(path, tag: str) -> tuple[int, float]:
    """Build ``path`` as ``tag``; return (size bytes, build seconds)."""
    r = images.build(path, tag, on_event=None, timeout_s=900, benchmark="image_size")
    return images.image_size_bytes(tag), r.seconds


def main() -> None:
    root = settings.repo_root()
    rows = []
    tags = []
    try:
        for ex, slug in EXERCISES:
            t_start, t_sol = f"shipshape-bench/ex{ex}:starter", f"shipshape-bench/ex{ex}:solution"
            tags += [t_start, t_sol]
            s_bytes, _ = measure(sc.pristine(slug), t_start)
            with materialized(root / "solutions" / slug) as sol:  # overlay on the starter
                f_bytes, _ = measure(sol, t_sol)
            check(ex, path=root / "solutions" / slug)  # warm: builds every step once
            t0 = time.monotonic()
            rep = check(ex, path=root / "solutions" / slug)
            warm = time.monotonic() - t0
            rows.append((ex, s_bytes, f_bytes, warm, rep.score, rep.max_score))
    finally:
        for t in tags:
            sc.remove_tag(t)
        engine.clean(run=engine.RUN_ID)
    print(
        f"{'exercise':<9}{'starter MB':>11}{'solution MB':>13}{'ratio':>7}{'smaller by':>11}"
        f"{'check, built (s)':>18}{'score':>8}"
    )
    for ex, s, f, warm, score, max_score in rows:
        print(
            f"{ex:<9}{s / 1e6:>11.1f}{f / 1e6:>13.1f}{f / s:>7.2f}{s / f:>10.1f}x"
            f"{warm:>18.1f}{score:>5g}/{max_score:g}"
        )


if __name__ == "__main__":
    main()
