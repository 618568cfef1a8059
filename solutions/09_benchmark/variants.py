"""The benchmark's configuration: one Variant per row of the comparison table."""

from helpers.benchmark import Variant

REPS = 2


def variants() -> list[Variant]:
    return [
        Variant("full", "Dockerfile.full"),
        Variant("slim", "Dockerfile.slim"),
        Variant("single-stage", "Dockerfile.full"),
        Variant("multi-stage", "Dockerfile.multistage"),
        Variant("no-dockerignore", "Dockerfile.slim", dockerignore=False),
        Variant("dockerignore", "Dockerfile.slim", dockerignore=True),
        Variant("cold", "Dockerfile.slim", nocache=True),
        Variant("warm", "Dockerfile.slim", nocache=False),
    ]
