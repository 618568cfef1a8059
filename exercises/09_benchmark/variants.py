"""The benchmark's configuration: which builds to measure. The harness runs them for you.

Each Variant names a row of the comparison table:
    Variant(name, dockerfile, dockerignore=True, nocache=False)
- dockerignore=False builds as if the folder had no .dockerignore;
- nocache=True is a COLD build (no layer cache); nocache=False is a WARM rebuild
  (the harness builds once first, then measures the rebuilds).
"""

from helpers.benchmark import Variant

#: measured builds per variant (keep it at least 2: one number is not a measurement)
REPS = 2


def variants() -> list[Variant]:
    return [
        Variant("full", "Dockerfile.full"),
        # TODO: "slim"                              (Dockerfile.slim)
        # TODO: "single-stage" and "multi-stage"   (Dockerfile.full vs Dockerfile.multistage)
        # TODO: "no-dockerignore" and "dockerignore" (same Dockerfile, dockerignore=False/True)
        # TODO: "cold" and "warm"                   (same Dockerfile, nocache=True/False)
    ]
