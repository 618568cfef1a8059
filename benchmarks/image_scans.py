"""What an image list costs the engine, and how many a check and a test's leak check make.

    python benchmarks/image_scans.py            # about a minute on a warm engine

Whatever its filter, ``GET /images/json`` makes the engine read every image's record from
disk (moby's image store ``Map``); the layer cache keeps the intermediate images of hundreds
of builds, so on a big store one list costs the engine about half a second of CPU. This
prints:

- the store: top-level images and all images (intermediates included);
- the engine's CPU per list (dockerd's own CPU time from ``/proc``, when the engine runs on
  this machine; else the wall time of the call), with a label filter and without one;
- how many lists each operation makes now: ``engine.leftovers`` (a test's leak check, twice
  per test), ``engine.clean(run=...)`` (end of every notebook), and one check of exercise 00
  on its reference solution (the dead-run sweep and the cache eviction are each due at most
  once per interval per host, see ``settings.due``: the first check pays them, the second not).

Nothing is hard-coded: the counts come from wrapping docker-py's low-level ``images`` call.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from pathlib import Path

from helpers import check, engine, settings
from helpers.checks import SWEEP_IMAGES_EVERY_S, default_path, find_module


def _dockerd_cpu_s() -> float | None:
    """dockerd's user+system CPU seconds, when it runs on this machine."""
    try:
        pid = subprocess.run(["pgrep", "-x", "dockerd"], capture_output=True, text=True).stdout
        stat = Path(f"/proc/{int(pid.split()[0])}/stat").read_text()
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def cost_of_a_list(filters: dict | None, n: int = 5) -> tuple[float, str]:
    api = engine.client().api
    samples = []
    for _ in range(n):
        cpu0, t0 = _dockerd_cpu_s(), time.monotonic()
        api.images(filters=filters)
        cpu1, t1 = _dockerd_cpu_s(), time.monotonic()
        samples.append(cpu1 - cpu0 if cpu0 is not None and cpu1 is not None else t1 - t0)
    return statistics.median(samples), "engine CPU s" if _dockerd_cpu_s() is not None else "wall s"


class Counter:
    """Counts calls of docker-py's low-level image list while active."""

    def __init__(self) -> None:
        self.calls = 0

    def __enter__(self) -> Counter:
        api = engine.client().api
        self._orig = type(api).images

        def counted(api_self, *a, **kw):
            self.calls += 1
            return self._orig(api_self, *a, **kw)

        type(api).images = counted
        return self

    def __exit__(self, *exc: object) -> None:
        type(engine.client().api).images = self._orig


def main() -> None:
    api = engine.client().api
    top, every = len(api.images()), len(api.images(all=True))
    print(f"store: {top} top-level images, {every} with intermediates")
    for name, flt in (
        ("label filter", {"label": [f"{engine.MANAGED_LABEL}=true", f"{engine.RUN_LABEL}=none"]}),
        ("no filter", None),
    ):
        cost, unit = cost_of_a_list(flt)
        print(f"one image list, {name}: {cost:.3f} {unit} (median of 5)")
    with Counter() as c:
        engine.leftovers(run=engine.RUN_ID)
    print(f"engine.leftovers(run=...): {c.calls} image list(s)")
    with Counter() as c:
        engine.clean(run=engine.RUN_ID)
    print(f"engine.clean(run=...): {c.calls} image list(s)")
    folder = default_path(find_module("00"), "solutions")
    for chore in ("sweep-images", "evict"):  # both due for check #1, as after a quiet minute
        (settings.cache_dir() / f"{chore}.stamp").unlink(missing_ok=True)
    for n in (1, 2):
        with Counter() as c:
            t0 = time.monotonic()
            rep = check("00", path=folder)
        print(
            f"check 00 on its solution, #{n}: {c.calls} image list(s), "
            f"{time.monotonic() - t0:.1f} s, score {rep.score:g}/{rep.max_score:g}"
        )
    print(
        f"chores due at most every: dead-run image sweep {SWEEP_IMAGES_EVERY_S:.0f} s, "
        f"cache eviction {settings.build_cache_evict_every_s():.0f} s"
    )


if __name__ == "__main__":
    main()
