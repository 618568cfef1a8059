"""Exercise 01: optimise a bloated pandas ETL image without breaking it.

Rubric (15 points), every item measured on the engine:

- the image builds (1)
- the ETL still prints the reference report (2): run with its default command, stdout
  compared line by line with ``data/01_optimize_image.expected.csv``
- the app, its data, its pins and its CMD are kept (2): ``etl.py``, ``data/orders.csv`` and
  ``requirements.txt`` match the shipped starter, and the image itself runs
  ``python etl.py`` with the shipped files and exactly the pinned distributions (read by a
  probe inside a network-less container of the image)
- curl is still there (1): the ops team's requirement, ``curl --version`` exits 0
- it is much smaller than the starter (3): measured against the *pristine* starter (built by
  the check from the Dockerfile and requirements kept in ``checks/data/01_optimize_image``); full credit at <= ``FULL_RATIO`` of
  its size, partial credit in proportion to the drop; not earned by an image that does not
  run the shipped app with its pins (a smaller image of another app proves nothing)
- no apt lists and no pip cache in the final filesystem (2): read from the image's layers
- no bytes wasted on files a later layer deletes or overwrites (2): dive-style wasted bytes
  in the Dockerfile's own layers, full credit <= ``WASTE_OK``, none from ``WASTE_ZERO``
- the dependency layer stays cached when only the code changes (2): the check copies the
  folder, builds, edits ``etl.py``, rebuilds, and reads which steps came from cache

Thresholds come from measurement (``python benchmarks/image_size.py``): the reference
solution is ~0.25 of the starter (292 MB vs 1177 MB) and wastes ~0.3 MB of its own; a
slim base with the cleanup in a later layer wastes ~20 MB.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

from .. import containers, images
from ..dockerfile import Dockerfile
from ..findings import Report
from . import _pinned
from . import _size_common as sc
from .requirements import Requirement
from .rubric import Facts, Rubric, Verdict, build_verdict

EXERCISE = "01"
SLUG = "01_optimize_image"
TITLE = "Optimise a bloated ETL image"

APP = "etl.py"
EXPECTED = sc.DATA / f"{SLUG}.expected.csv"
#: full credit when the image is at most this fraction of the starter's size
FULL_RATIO = 0.40
#: own wasted bytes that still earn full credit (apt's bookkeeping files, .pyc rewrites)
WASTE_OK = 3 * sc.MB
#: own wasted bytes that earn nothing
WASTE_ZERO = 15 * sc.MB

N_BUILD = "the image builds"
N_OUTPUT = "the ETL still prints the reference report"
N_KEPT = "etl.py, data/, the pins and the CMD are kept"
N_CURL = "curl is still installed"
N_SIZE = "much smaller than the starter image"
N_JUNK = "no apt lists and no pip cache in the image"
N_WASTE = "no bytes wasted on files deleted in a later layer"
N_CACHE = "dependency layer cached on a code-only change"


def _base_of(path: Path) -> str | None:
    try:
        df = Dockerfile.from_path(path)
    except Exception:
        return None
    aliases = {s.alias for s in df.stages if s.alias}
    stage = df.final
    while stage.base in aliases:
        stage = next(s for s in df.stages if s.alias == stage.base)
    return stage.base


#: the shipped pins (the check's own copy of requirements.txt)
PINS = _pinned.pins((sc.DATA / SLUG / "requirements.txt").read_text())

RUBRIC = Rubric(EXERCISE, SLUG, TITLE)


@RUBRIC.fact
def image(f: Facts) -> images.BuildResult:
    return images.build(f.path, f.tag("image"), on_event=None, timeout_s=900, exercise=EXERCISE)


@RUBRIC.fact
def layers(f: Facts) -> sc.LayerFacts:
    """The image's layers read once: final filesystem and the Dockerfile's own waste."""
    return sc.layer_facts(f.image.tag, _base_of(f.path))


@RUBRIC.item("builds", N_BUILD, 1)
def builds(f: Facts) -> Verdict:
    return build_verdict(f)


@RUBRIC.item("output", N_OUTPUT, 2, needs=("image",))
def output(f: Facts) -> Verdict:
    tag = f.image.tag
    want = EXPECTED.read_text().strip().splitlines()
    with containers.running(tag) as ctr:
        info = containers.wait_for_exit(ctr, timeout_s=120)
        out = ctr.logs(stdout=True, stderr=False).decode("utf-8", "replace")
        err = ctr.logs(stdout=False, stderr=True).decode("utf-8", "replace")
    got = [line.rstrip() for line in out.strip().splitlines()]
    ok = info.exit_code == 0 and got == want
    diff = next(
        (
            {"line": i + 1, "expected": w, "got": g}
            for i, (w, g) in enumerate(zip(want, got, strict=False))
            if w != g
        ),
        None,
    )
    if ok:
        msg, hint = f"exit 0, {len(got)} lines identical to the reference report", ""
    elif info.exit_code != 0:
        msg = f"exit code {info.exit_code}: {err.strip().splitlines()[-1:] or ['(no stderr)']}"
        hint = (
            "The ETL crashed. A missing module means a dependency did not make it into "
            "the image (install requirements.txt); a missing file means a COPY left out "
            f"{APP} or data/. The CMD must stay `python etl.py`."
        )
    else:
        msg = f"{len(got)} lines, expected {len(want)}; first difference: {diff}"
        hint = "Keep etl.py, data/orders.csv and the pinned versions as they were: the exercise changes the image, not the report."
    return Verdict(
        ok,
        msg,
        hint=hint,
        evidence={
            "exit_code": info.exit_code,
            "stdout_head": out[:600],
            "stderr_tail": err[-600:],
            "first_difference": diff,
        },
    )


@RUBRIC.fact
def kept(f: Facts) -> _pinned.Kept:
    """The folder's fixed files, and what the image runs, against the shipped starter."""
    return _pinned.kept(f.path, SLUG, f.image.tag, APP, PINS, data_files=("data/orders.csv",))


@RUBRIC.item("kept", N_KEPT, 2, needs=("kept",))
def kept_item(f: Facts) -> Verdict:
    k = f.kept
    return _pinned.kept_verdict(
        k,
        SLUG,
        APP,
        ok_message="the shipped etl.py, data/orders.csv and pins run with CMD python etl.py",
        install="`pip install --no-cache-dir -r requirements.txt` as shipped",
        installed={n: k.seen.dists.get(n) for n in PINS} if k.seen else {},
    )


@RUBRIC.item("curl", N_CURL, 1, needs=("image",))
def curl(f: Facts) -> Verdict:
    tag = f.image.tag
    with containers.running(tag, ["sh", "-c", "curl --version 2>&1 | head -n1"]) as ctr:
        info = containers.wait_for_exit(ctr, timeout_s=60)
        out = ctr.logs().decode("utf-8", "replace").strip()
    ok = info.exit_code == 0 and out.startswith("curl ")
    return Verdict(
        ok,
        out[:120] or f"exit code {info.exit_code}",
        hint="The ops team needs curl in the image: keep installing it, just do it in one "
        "RUN with `--no-install-recommends` and remove /var/lib/apt/lists/* in that same RUN.",
        evidence={"exit_code": info.exit_code, "output": out[:300]},
    )


def _largest_layers(tag: str, base: sc.Baseline) -> dict[str, Any]:
    layers = [x for x in images.layers(tag) if not x["empty"]][-6:]
    return {
        "starter_measured_now": base.measured_now,
        "largest_own_layers": [
            {"MB": sc.mb(x["size_bytes"]), "step": x["created_by"][:100]}
            for x in sorted(layers, key=lambda x: -x["size_bytes"])
        ],
    }


@RUBRIC.item("size", N_SIZE, 3, needs=("image",))
def size(f: Facts) -> Verdict:
    return sc.size_verdict(
        f,
        SLUG,
        EXERCISE,
        FULL_RATIO,
        same_app="the shipped etl.py with its pinned dependencies",
        keep_hint="Keep the app and its pins (see the item above); then shrink the image "
        "around them: a slim base, one RUN per cleanup, no caches.",
        hint="The base image is most of the weight: python:3.11 carries compilers, headers "
        "and docs (~1 GB); python:3.11-slim has the same Python in ~130 MB. Then look at "
        "the largest layers in the evidence.",
        more_evidence=_largest_layers,
    )


@RUBRIC.item("no_junk", N_JUNK, 2, needs=("image",))
def no_junk(f: Facts) -> Verdict:
    found = sc.junk(f.layers.final)
    kinds = sorted(found)
    earned = 2 - sum(1 for k in kinds if k.startswith("apt")) - ("pip cache" in kinds)
    hints = []
    if any(k.startswith("apt") for k in kinds):
        hints.append(
            "`apt-get clean` does not remove the package lists: end the RUN that calls "
            "`apt-get update` with `&& rm -rf /var/lib/apt/lists/*`."
        )
    if "pip cache" in kinds:
        hints.append(
            "pip keeps the wheels it downloads and builds in /root/.cache/pip: "
            "`pip install --no-cache-dir -r requirements.txt`."
        )
    return Verdict(
        not kinds,
        "none found"
        if not kinds
        else "; ".join(
            f"{k}: {v['files']} files, {sc.mb(v['bytes'])} MB (e.g. {v['examples'][0]})"
            for k, v in found.items()
        ),
        hint=" ".join(hints),
        evidence={"found": found},
        earned=max(0, earned),
    )


@RUBRIC.item("no_waste", N_WASTE, 2, needs=("image",))
def waste(f: Facts) -> Verdict:
    lf = f.layers
    own = lf.own_wasted_bytes
    earned = round(2 * max(0.0, min(1.0, (WASTE_ZERO - own) / (WASTE_ZERO - WASTE_OK))), 1)
    return Verdict(
        own <= WASTE_OK,
        f"{sc.mb(own)} MB wasted in the Dockerfile's own layers "
        f"(full credit <= {sc.mb(WASTE_OK)} MB)",
        hint="A file written in one layer and deleted (or rewritten) in a later RUN still "
        "ships in the earlier layer. Delete caches in the SAME RUN that creates them: "
        "`apt-get update && apt-get install ... && rm -rf /var/lib/apt/lists/*`.",
        evidence={
            "own_wasted_bytes": own,
            "base_image_wasted_bytes": lf.base_wasted_bytes,
            "top_waste": [
                {"path": "/" + p, "MB": sc.mb(b), "layers": n, "deleted_at_end": d}
                for p, b, n, d in lf.top_waste
            ],
        },
        earned=earned,
    )


def _a_dependency_step_reruns(step: str | None, line: str) -> bool:
    """A ``RUN ... pip ...`` step of the rebuild has started a container: it was not cached.

    >>> _a_dependency_step_reruns("RUN pip install -r requirements.txt", " ---> Running in 3f")
    True
    >>> _a_dependency_step_reruns("RUN pip install -r requirements.txt", " ---> Using cache")
    False
    >>> _a_dependency_step_reruns("RUN echo hi", " ---> Running in 3f")
    False
    """
    return bool(step) and _is_dependency_step(step) and "Running in" in line


def _is_dependency_step(step: str) -> bool:
    return step.upper().startswith("RUN") and "pip" in step


@RUBRIC.item("dep_cache", N_CACHE, 2, needs=("image",))
def dep_cache(f: Facts) -> Verdict:
    path = f.path
    if not (path / APP).is_file():
        return Verdict(False, f"no {APP} to edit", hint=f"Keep {APP}.")
    ctx = sc.copy_context(path)
    tag_a, tag_b = f.tag("cache-a"), f.tag("cache-b")
    try:
        first = images.build(ctx, tag_a, on_event=None, timeout_s=900, exercise=EXERCISE)
        app = ctx / APP
        # unique per check: a change seen before would be served from the layer cache
        app.write_text(app.read_text() + f"\n# a code-only change ({uuid.uuid4().hex})\n")
        # the verdict is settled the moment a pip step starts running again: stop there
        # rather than install every package a second time
        second = images.build(
            ctx,
            tag_b,
            on_event=None,
            timeout_s=900,
            exercise=EXERCISE,
            stop_when=_a_dependency_step_reruns,
        )
    finally:
        sc.remove_tag(tag_b)
        sc.remove_tag(tag_a)
        shutil.rmtree(ctx.parent, ignore_errors=True)
    steps = sc.step_cache(second.log)
    deps = [(s, c) for s, c in steps if _is_dependency_step(s)]
    ok = bool(deps) and all(c for _, c in deps)
    if not deps:
        msg = "no RUN step with pip install found"
    else:
        msg = "; ".join(f"{'cached' if c else 'RE-RAN'}: {s[:70]}" for s, c in deps)
    return Verdict(
        ok,
        f"after editing {APP}: {msg}",
        hint="Copy only requirements.txt, install, THEN copy the code: "
        "`COPY requirements.txt .` / `RUN pip install ...` / `COPY etl.py .`. A COPY "
        "whose files changed re-runs every step after it.",
        evidence={
            "rebuild_steps": [{"step": s[:100], "cached": c} for s, c in steps],
            "first_build_s": round(first.seconds, 1),
            "rebuild_s": round(second.seconds, 1),
            # True: stopped at the first dependency step that re-ran (the rest never ran)
            "rebuild_stopped": second.stopped,
        },
    )


def run(path: Path) -> Report:
    return RUBRIC.run(path)


REQUIREMENTS = (
    Requirement("Make the image small", ("size",)),
    Requirement("the report must stay byte-for-byte the same", ("output",)),
    Requirement(
        'keep etl.py, data/, the pinned requirements.txt and CMD ["python", "etl.py"] unchanged',
        ("kept",),
    ),
    Requirement("exactly the pinned ones, no variants", ("kept",)),
    Requirement("curl must still be installed", ("curl",)),
    Requirement("the image must build from this folder", ("builds",)),
    Requirement(
        "no apt package lists and no pip cache may remain in the final image", ("no_junk",)
    ),
    Requirement("no layer may ship bytes that a later layer deletes or overwrites", ("no_waste",)),
    Requirement(
        "editing only etl.py must leave the dependency install step cached", ("dep_cache",)
    ),
    Requirement(
        "The size points count only for an image that runs the shipped app with its pins",
        ("size", "kept"),
    ),
)

README_NOT_RULES = {
    "The baseline is the starter as shipped": "describes how the size item measures "
    "(the check's own copy of the starter), asks nothing of the learner",
}
