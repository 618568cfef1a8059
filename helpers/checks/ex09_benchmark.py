"""Exercise 09: benchmark the optimisations. The check runs the harness on the learner's config.

Rubric (14 points), judged on the table :func:`helpers.benchmark.run` measured here:

- every row is measured (3): the eight rows of the lesson's comparisons, each with at least
  two reps, a positive time and a positive size; partial credit per row;
- slim is smaller than full (1): median sizes, ``Dockerfile.slim`` starts from
  ``python:3.11-slim``, and its image runs the same app (see "kept");
- multi-stage is smaller than single-stage (2): median sizes, and the multi-stage Dockerfile
  really has a final stage that is not the build stage and takes files from it
  (``COPY --from=`` or ``RUN --mount=...,from=``), and its image runs the same app;
- the ``.dockerignore`` shrinks the build context (2): bytes of the tar the engine received,
  and (as the README asks) it keeps each kind of clutter out: a private copy of the folder
  with the course's clutter added (``data/``, ``.git``, caches at two depths, ``.env``) is
  measured with the learner's patterns (no engine needed);
- cold builds ran without the layer cache (2): every cold rep has 0 cached steps (read from
  the build log) and was built with ``nocache=True``;
- warm rebuilds are faster than the cold builds (2): every warm rep hit the cache, and the
  median warm time is below the median time of the genuinely cold reps.
- the app is the same in every variant (2): ``app.py``, ``requirements.txt`` and
  ``Dockerfile.full`` match the starter, and the slim and multi-stage images, built once more
  from the folder, run ``python app.py`` with the shipped ``app.py`` and exactly
  ``humanize==4.9.0`` (a probe inside a network-less container of each image). A variant that
  skips the install is smaller and proves nothing.

Sizes and context bytes are exact; of times only what physics guarantees is asked (a rebuild
from cache skips the ``pip install`` a cold build runs), so noise cannot flip a verdict.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import benchmark, context, images
from ..dockerfile import Dockerfile
from ..findings import Report
from . import _pinned
from .requirements import Requirement
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
N_KEPT = "the same app in every variant"

#: the shipped pin (tests prove it is the starter's requirements.txt)
PINS = {"humanize": "4.9.0"}
APP = "app.py"
#: the rows whose images must run the same app as ``full`` (the optimised ones)
PROBED = ("slim", "multi-stage")
SLIM_BASE = "python:3.11-slim"


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
        # the warm variants' layers stay as layer cache: the next check's unmeasured first
        # build of each is fast; the measured reps are the same, and cold ones stay cold
        df = benchmark.run(f.path, vs, reps=reps, cache_as=EXERCISE)
    except FileNotFoundError as exc:
        raise NotJudged(str(exc), "Write the Dockerfile the variant names.") from None
    return {"df": df, "summary": benchmark.summary(df)}


@RUBRIC.fact
def kept(f: Facts) -> dict[str, Any]:
    """Folder files vs the starter, and what the slim and multi-stage images run."""
    out: dict[str, Any] = {"folder": _pinned.folder_changes(f.path, SLUG), "images": {}}
    vs, _ = f.variants
    for name in PROBED:
        v = next((v for v in vs if v.name == name), None)
        if v is None or not (f.path / v.dockerfile).is_file():
            continue
        tag = f.tag(f"probe-{name}")
        images.build(
            f.path, tag, dockerfile=v.dockerfile, on_event=None, timeout_s=600, exercise=EXERCISE
        )
        k = _pinned.kept(f.path, SLUG, tag, APP, PINS, imports=("humanize",))
        out["images"][name] = {"dockerfile": v.dockerfile, "problems": k.image + k.command}
    return out


def _kept_problems(f: Facts, row: str) -> list[str]:
    k, failed = f.outcome("kept")
    if failed:
        return [failed.reason]
    return k["images"].get(row, {}).get("problems", [])


@RUBRIC.fact
def ignored(f: Facts) -> dict[str, int]:
    """Bytes of each clutter kind the learner's .dockerignore still lets into the context."""
    import shutil

    proj = f.workdir("ignore") / "project"
    shutil.copytree(f.path, proj, symlinks=True, ignore=shutil.ignore_patterns("results"))
    context.add_clutter(proj, data_mb=1)
    deep = proj / "lib" / "sub" / "__pycache__" / "m.cpython-311.pyc"
    deep.parent.mkdir(parents=True, exist_ok=True)
    deep.write_bytes(b"\xa7\r\r\n" + bytes(500))
    kinds = context.measure(proj).by_clutter_kind()
    return {k: n for k, n in kinds.items() if k != "app" and n}


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


def _same_app(f: Facts, res: Verdict, variant: str, hint: str) -> Verdict:
    """``res``, the size comparison, unless the ``variant`` image is not the same app."""
    problems = _kept_problems(f, variant)
    if not problems:
        return res
    return Verdict(
        False,
        f"{res.message}, but the {variant} image is not the same app: {'; '.join(problems)}",
        hint=hint,
        evidence=res.evidence,
    )


@RUBRIC.item("slim", N_BASE, 1, needs=("table",))
def base(f: Facts) -> Verdict:
    res = smaller(f, N_BASE, 1, "full", "slim", "Dockerfile.slim must start FROM python:3.11-slim.")
    if not res.passed:
        return res
    v = next(v for v in f.variants[0] if v.name == "slim")
    bases = Dockerfile.from_path(f.path / v.dockerfile).external_bases()
    if not bases or not bases[-1].startswith(SLIM_BASE):
        return Verdict(
            False,
            f"{v.dockerfile} starts FROM {bases[-1] if bases else '?'}",
            hint=f"The comparison is the base image: {v.dockerfile} must start FROM {SLIM_BASE}.",
            evidence=res.evidence,
        )
    return _same_app(
        f,
        res,
        "slim",
        f"{v.dockerfile} must build the same app as Dockerfile.full (install "
        "requirements.txt, copy app.py): a smaller image of less proves nothing.",
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
    if len(df.stages) < 2 or df.final.parent_stage or not df.takes_from(df.final):
        return Verdict(
            False,
            f"{v.dockerfile} has {len(df.stages)} stage(s); final FROM {df.final.base}"
            + ("" if df.takes_from(df.final) else ", taking nothing from an earlier stage"),
            hint="A multi-stage build has a build stage and a final stage on a small base "
            "that takes only the results from it: COPY --from=build /install /usr/local "
            "(or a RUN --mount=type=bind,from=build,... that installs them).",
            evidence=res.evidence,
        )
    return _same_app(
        f,
        res,
        "multi-stage",
        f"{v.dockerfile}'s final stage must hold the installed requirements and "
        "app.py: copy the prefix the build stage installed into /usr/local.",
    )


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
    left = f.ignored
    ok = b < a and not wrong_flags and not left
    hint = ""
    if wrong_flags:
        hint = "The 'no-dockerignore' row needs dockerignore=False and 'dockerignore' True."
    elif not ok:
        hint = "Write .dockerignore: data/, .git/, **/__pycache__/, .pytest_cache/, .env."
        if left:
            hint = (
                "Your .dockerignore still lets in: "
                + ", ".join(f"{k} ({n} bytes)" for k, n in left.items())
                + ". "
                + hint
            )
    return Verdict(
        ok,
        f"context {b:.2f} MB with the ignore file vs {a:.2f} MB without"
        + (f"; still sent: {', '.join(left)}" if left else ""),
        hint=hint,
        evidence={"context_mb_without": a, "context_mb_with": b, "clutter_left": left},
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


@RUBRIC.item("kept", N_KEPT, 2, needs=("variants",))
def kept_item(f: Facts) -> Verdict:
    k = f.kept
    bad = {n: d["problems"] for n, d in k["images"].items() if d["problems"]}
    ok = not k["folder"] and not bad
    hint = []
    if k["folder"]:
        names = ", ".join(p.split(" is ")[0] for p in k["folder"])
        hint.append(
            f"Restore {names} from the starter (exercises/{SLUG} as shipped): the benchmark "
            "compares ways of building the same app."
        )
    for n in bad:
        hint.append(
            f"The {n!r} image must run the shipped app.py with humanize==4.9.0 installed "
            f"from requirements.txt ({k['images'][n]['dockerfile']})."
        )
    probed = ", ".join(f"{n} ({d['dockerfile']})" for n, d in k["images"].items())
    return Verdict(
        ok,
        (
            f"the shipped app and pin in {probed}"
            if probed
            else "app.py, requirements.txt and Dockerfile.full as shipped (no slim or "
            "multi-stage variant to probe yet)"
        )
        if ok
        else "; ".join(k["folder"] + [f"{n}: {'; '.join(p)}" for n, p in bad.items()]),
        hint=" ".join(hint),
        evidence=k,
    )


def run(path: Path) -> Report:
    return RUBRIC.run(path)


REQUIREMENTS = (
    Requirement(
        "Dockerfile.slim: the same app as Dockerfile.full, on python:3.11-slim", ("slim", "kept")
    ),
    Requirement(
        "that installs the requirements into a prefix, and a python:3.11-slim final stage "
        "that takes only that prefix and the app from it",
        ("stages", "kept"),
    ),
    Requirement(
        ".dockerignore: keep the data folder, .git, caches and .env out of the build context",
        ("context",),
    ),
    Requirement("variants.py: one Variant per row above", ("rows",)),
    Requirement("A cold build is nocache=True", ("cold",)),
    Requirement("warm is nocache=False", ("warm",)),
    Requirement(
        "Keep app.py, the pinned requirements.txt and Dockerfile.full unchanged", ("kept",)
    ),
    Requirement("every variant must build the same app", ("kept", "slim", "stages")),
)

README_NOT_RULES = {
    "Size and context comparisons are exact": "describes how the measured table is judged "
    "(the relations themselves are the items)",
}
