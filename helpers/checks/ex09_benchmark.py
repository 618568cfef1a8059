"""Exercise 09: benchmark the optimisations. The check runs the harness on the learner's config.

Rubric (12 points), judged on the table :func:`helpers.benchmark.run` measured here:

- every row is measured (3): the eight rows of the lesson's comparisons, each with at least
  two reps, a positive time and a positive size; partial credit per row;
- slim is smaller than full (1): median sizes;
- multi-stage is smaller than single-stage (2): median sizes, and the multi-stage Dockerfile
  really has a second stage whose base differs from its build stage;
- the ``.dockerignore`` shrinks the build context (2): bytes of the tar the engine received;
- cold builds ran without the layer cache (2): every cold rep has 0 cached steps (read from
  the build log) and was built with ``nocache=True``;
- warm rebuilds are faster than the cold builds (2): every warm rep hit the cache, and the
  median warm time is below the median time of the genuinely cold reps.

Sizes and context bytes are exact; of times only what physics guarantees is asked (a rebuild
from cache skips the ``pip install`` a cold build runs), so noise cannot flip a verdict.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import benchmark
from ..dockerfile import Dockerfile
from ..findings import Report
from .rubric import Facts, NotJudged, Rubric, Verdict

EXERCISE = "09"
SLUG = "09_benchmark"
TITLE = "Benchmark your optimisations"
MIN_REPS = 2

N_ROWS = "every row is measured"
N_BASE = "slim is smaller than full"
N_STAGES = "multi-stage is smaller than single-stage"
N_CONTEXT = "the .dockerignore shrinks the build context"
N_COLD = "cold builds ran without the layer cache"
N_WARM = "warm rebuilds are faster than the cold builds"


def _missing(name: str, points: float, rows: list[str]) -> Verdict:
    return Verdict(
        False,
        f"not measured: no {' / '.join(repr(r) for r in rows)} row",
        hint=f"Add {' and '.join(repr(r) for r in rows)} to variants() in variants.py.",
    )


RUBRIC = Rubric(EXERCISE, SLUG, TITLE)


@RUBRIC.fact
def variants(f: Facts) -> tuple[list[benchmark.Variant], int]:
    """The learner's ``variants()`` and ``REPS`` (a variants.py that does not load is theirs to fix)."""
    try:
        return benchmark.load_variants(f.path)
    except FileNotFoundError as exc:
        raise NotJudged(
            str(exc), "Keep variants.py from the starter; fill in variants()."
        ) from None
    except Exception as exc:
        raise NotJudged(
            f"variants.py does not load: {type(exc).__name__}: {exc}",
            "variants() must return a list of Variant(name, dockerfile, ...).",
        ) from None


@RUBRIC.fact
def table(f: Facts) -> dict[str, Any]:
    """Every variant built ``REPS`` times: the raw table and its per-row summary."""
    vs, reps = f.variants
    try:
        df = benchmark.run(f.path, vs, reps=reps)
    except FileNotFoundError as exc:
        raise NotJudged(str(exc), "Write the Dockerfile the variant names.") from None
    return {"df": df, "summary": benchmark.summary(df)}


@RUBRIC.item("rows", N_ROWS, 3, needs=("table",))
def rows(f: Facts) -> Verdict:
    df = f.table["df"]
    good, problems = [], []
    for r in benchmark.REQUIRED_ROWS:
        sub = df[df["variant"] == r]
        if sub.empty:
            problems.append(f"{r}: missing")
        elif len(sub) < MIN_REPS:
            problems.append(f"{r}: {len(sub)} rep (need {MIN_REPS})")
        elif not ((sub["seconds"] > 0).all() and (sub["size_bytes"] > 0).all()):
            problems.append(f"{r}: a rep without time or size")
        else:
            good.append(r)
    n = len(benchmark.REQUIRED_ROWS)
    return Verdict(
        not problems,
        f"{len(good)}/{n} rows measured" + (f"; {'; '.join(problems)}" if problems else ""),
        hint=""
        if not problems
        else f"variants() needs the rows {', '.join(benchmark.REQUIRED_ROWS)}, and REPS >= {MIN_REPS}.",
        evidence={"summary": f.table["summary"].reset_index().to_dict("records")},
        earned=3 * len(good) / n,
    )


def smaller(f: Facts, name: str, pts: float, big: str, small: str, hint: str) -> Verdict:
    s = f.table["summary"]
    if s is None or big not in s.index or small not in s.index:
        return _missing(name, pts, [r for r in (big, small) if s is None or r not in s.index])
    a, b = s.loc[big, "size_mb"], s.loc[small, "size_mb"]
    ok = b < a
    return Verdict(
        ok,
        f"{small} {b:.0f} MB vs {big} {a:.0f} MB ({b / a:.2f}x)",
        hint="" if ok else hint,
        evidence={f"{big}_mb": a, f"{small}_mb": b},
    )


@RUBRIC.item("slim", N_BASE, 1, needs=("table",))
def base(f: Facts) -> Verdict:
    return smaller(
        f, N_BASE, 1, "full", "slim", "Dockerfile.slim must start FROM python:3.11-slim."
    )


@RUBRIC.item("stages", N_STAGES, 2, needs=("table",))
def stages(f: Facts) -> Verdict:
    res = smaller(
        f,
        N_STAGES,
        2,
        "single-stage",
        "multi-stage",
        "The final stage must start FROM python:3.11-slim and COPY --from the build stage "
        "only the installed packages, not start FROM the build stage.",
    )
    if not res.passed:
        return res
    v = next(v for v in f.variants[0] if v.name == "multi-stage")
    df = Dockerfile.from_path(f.path / v.dockerfile)
    aliases = {s.alias for s in df.stages if s.alias}
    if len(df.stages) < 2 or df.final.base in aliases:
        return Verdict(
            False,
            f"{v.dockerfile} has {len(df.stages)} stage(s); final FROM {df.final.base}",
            hint="A multi-stage build has a build stage and a final stage on a small base "
            "that copies only the results: COPY --from=build /install /usr/local.",
            evidence=res.evidence,
        )
    return res


@RUBRIC.item("context", N_CONTEXT, 2, needs=("table",))
def ctx(f: Facts) -> Verdict:
    s = f.table["summary"]
    pair = ("no-dockerignore", "dockerignore")
    if s is None or any(r not in s.index for r in pair):
        return _missing(N_CONTEXT, 2, [r for r in pair if s is None or r not in s.index])
    a, b = s.loc[pair[0], "context_mb"], s.loc[pair[1], "context_mb"]
    wrong_flags = [
        v.name
        for v in f.variants[0]
        if v.name in pair and v.dockerignore != (v.name == "dockerignore")
    ]
    ok = b < a and not wrong_flags
    hint = ""
    if wrong_flags:
        hint = "The 'no-dockerignore' row needs dockerignore=False and 'dockerignore' True."
    elif not ok:
        hint = "Write .dockerignore: data/, .git/, **/__pycache__/, .pytest_cache/, .env."
    return Verdict(
        ok,
        f"context {b:.2f} MB with the ignore file vs {a:.2f} MB without",
        hint=hint,
        evidence={"context_mb_without": a, "context_mb_with": b},
    )


@RUBRIC.item("cold", N_COLD, 2, needs=("table",))
def cold(f: Facts) -> Verdict:
    df = f.table["df"]
    if df is None or "cold" not in set(df["variant"]):
        return _missing(N_COLD, 2, ["cold"])
    sub = df[df["variant"] == "cold"]
    cached = [int(x) for x in sub["cached_steps"]]
    ok = all(c == 0 for c in cached) and bool(sub["nocache"].all())
    return Verdict(
        ok,
        f"cached steps per cold rep: {cached}",
        hint=""
        if ok
        else "A build that reuses cached layers is not cold: give the 'cold' Variant nocache=True.",
        evidence={"cached_steps": cached, "seconds": [float(x) for x in sub["seconds"]]},
    )


@RUBRIC.item("warm", N_WARM, 2, needs=("table",))
def warm(f: Facts) -> Verdict:
    df = f.table["df"]
    if df is None or not {"cold", "warm"} <= set(df["variant"]):
        return _missing(
            N_WARM,
            2,
            [r for r in ("cold", "warm") if df is None or r not in set(df["variant"])],
        )
    c = df[(df["variant"] == "cold") & (df["cached_steps"] == 0)]
    w = df[df["variant"] == "warm"]
    if c.empty:
        return Verdict(
            False,
            "no genuinely cold rep to compare with (every 'cold' rep used the cache)",
            hint="Fix the cold row first (nocache=True); then warm and cold can be compared.",
        )
    warm_hit = bool((w["cached_steps"] > 0).all()) and not bool(w["nocache"].any())
    cm, wm = float(c["seconds"].median()), float(w["seconds"].median())
    ok = warm_hit and wm < cm
    return Verdict(
        ok,
        f"warm median {wm:.2f} s vs cold median {cm:.2f} s"
        + ("" if warm_hit else "; the warm reps did not use the cache"),
        hint=""
        if ok
        else "The 'warm' Variant must keep nocache=False so its rebuilds come from the cache.",
        evidence={"warm_s": wm, "cold_s": cm, "warm_cached_steps": list(w["cached_steps"])},
    )


def run(path: Path) -> Report:
    return RUBRIC.run(path)
