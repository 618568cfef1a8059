"""Build the same app several ways and measure time and size: the lesson's optimisations in numbers.

A *variant* names a Dockerfile in the project folder, whether the project's ``.dockerignore``
is used, and whether the build may use the layer cache. :func:`run` builds each variant
``reps`` times on the real engine and returns one row per build; :func:`summary` gives the
median and the spread (max - min) per variant; :func:`chart` draws them; :func:`save_csv`
writes the raw rows.

Cache semantics, measured not assumed:

- ``nocache=True`` is a **cold** build: every step runs (``cached_steps`` is 0);
- otherwise the variant is built once, unmeasured, and then each measured rep is a **warm**
  rebuild of unchanged files (the steps come from the cache).

The project is copied to a temporary folder and filled with the clutter a real project has
(:func:`helpers.context.add_clutter`: a data folder, ``.git``, caches, a ``.env``), so the
``.dockerignore`` has something to keep out. Every image built is removed at the end (by its
tag: no image list), also on errors and Ctrl-C. With ``cache_as``, the warm variants' layers
stay behind as layer cache (:func:`helpers.images.remove`), so the next run's unmeasured first
build is fast; a cold build's fresh layers never become cache.

Example:
    >>> v = Variant("slim", "Dockerfile.slim")
    >>> (v.name, v.dockerignore, v.nocache)
    ('slim', True, False)
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import buildlock, context, engine, images

#: The rows the lesson compares, as (comparison, baseline row, optimised row).
COMPARISONS = [
    ("base image", "full", "slim"),
    ("build stages", "single-stage", "multi-stage"),
    ("build context", "no-dockerignore", "dockerignore"),
    ("layer cache", "cold", "warm"),
]
REQUIRED_ROWS = [r for _, a, b in COMPARISONS for r in (a, b)]
COLUMNS = [
    "variant",
    "rep",
    "dockerfile",
    "dockerignore",
    "nocache",
    "seconds",
    "size_bytes",
    "context_bytes",
    "steps",
    "cached_steps",
]


@dataclass
class Variant:
    """One way to build the app.

    Args:
        name: the row's label, e.g. ``"slim"`` or ``"cold"``.
        dockerfile: a Dockerfile name in the project folder.
        dockerignore: build with the project's ``.dockerignore`` (False: as if it were absent).
        nocache: a cold build without the layer cache (True) or a warm rebuild (False).
    """

    name: str
    dockerfile: str
    dockerignore: bool = True
    nocache: bool = False


def _prepare(project: Path, tmp: Path, clutter_mb: int) -> dict[bool, Path]:
    """Two build contexts with the same files: with and without the ``.dockerignore``."""
    with_ignore = tmp / "with-ignore"
    shutil.copytree(
        project,
        with_ignore,
        ignore=shutil.ignore_patterns("__pycache__", "results", "*.csv"),
    )
    context.add_clutter(with_ignore, data_mb=clutter_mb)
    without = tmp / "without-ignore"
    shutil.copytree(with_ignore, without)
    (without / ".dockerignore").unlink(missing_ok=True)
    return {True: with_ignore, False: without}


def run(
    project: str | Path,
    variants: list[Variant],
    reps: int = 2,
    clutter_mb: int = 16,
    timeout_s: float = 600,
    on_progress: Callable[[str], None] | None = None,
    cache_as: str | None = None,
) -> Any:
    """Build every variant ``reps`` times; one row per build (a pandas DataFrame).

    ``cache_as`` (an exercise number, or ``lesson<NN>``) keeps the warm variants' layers as
    that key's layer cache when their images are removed. The measured reps do not change: a
    warm rep follows an unmeasured build in this run anyway, and a cold one ignores the cache.

    Columns: variant, rep, dockerfile, dockerignore, nocache, seconds (wall time of the build,
    context upload included), size_bytes, context_bytes (the tar the engine received),
    steps and cached_steps (from the build log).

    Raises:
        FileNotFoundError: the project or a variant's Dockerfile is missing.
        ValueError: no variants, duplicate names, or fewer than one rep.
        helpers.images.BuildError: a build failed (its log is attached).
    """
    import pandas as pd

    project = Path(project)
    if not variants:
        raise ValueError("no variants to build: list at least one Variant")
    names = [v.name for v in variants]
    if len(set(names)) != len(names):
        raise ValueError(f"variant names must be unique: {names}")
    if reps < 1:
        raise ValueError("reps must be at least 1")
    for v in variants:
        if not (project / v.dockerfile).is_file():
            raise FileNotFoundError(f"variant {v.name!r}: no {v.dockerfile} in {project}")
    say = on_progress or (lambda _m: None)
    run_label = uuid.uuid4().hex[:10]
    rows: list[dict[str, Any]] = []
    built: list[tuple[str, str, bool]] = []  # (tag, image id, warm: may stay as cache)
    cache_label = _cache_label(cache_as)
    try:
        with tempfile.TemporaryDirectory(prefix="shipshape-bench-") as tmp:
            ctx = _prepare(project, Path(tmp), clutter_mb)
            ctx_bytes = {
                (ig, v.dockerfile): context.measure(ctx[ig], dockerfile=v.dockerfile).tar_bytes
                for v in variants
                for ig in (v.dockerignore,)
            }
            for v in variants:
                folder = ctx[v.dockerignore]
                tag = f"shipshape-bench/{_safe(v.name)}:{run_label}"

                def build(v: Variant = v, folder: Path = folder, tag: str = tag) -> Any:
                    # no per-run label: it would be a LABEL step of its own, and the layer
                    # cache could never match a later run's build of the same files
                    r = images.build(
                        folder,
                        tag,
                        dockerfile=v.dockerfile,
                        nocache=v.nocache,
                        timeout_s=timeout_s,
                        on_event=None,
                        **(cache_label if not v.nocache else {}),
                    )
                    # a cold rep is a new image each time: the tag moves, the last one's stays
                    built.append((tag, r.image_id, not v.nocache))
                    return r

                if not v.nocache:
                    say(f"{v.name}: priming the cache")
                    build()
                for rep in range(1, reps + 1):
                    if v.nocache:
                        # measured, then removed before any other build may start: a cold
                        # build's steps would become the ones every later build matches
                        # (helpers.buildlock)
                        with buildlock.exclusive(timeout_s):
                            r = build()
                            size = images.image_size_bytes(r.image_id)
                            remove_built([built.pop()])
                    else:
                        r = build()
                        size = images.image_size_bytes(r.image_id)
                    say(f"{v.name} rep {rep}: {r.seconds:.2f} s, {size / 1e6:.0f} MB")
                    rows.append(
                        {
                            "variant": v.name,
                            "rep": rep,
                            "dockerfile": v.dockerfile,
                            "dockerignore": v.dockerignore,
                            "nocache": v.nocache,
                            "seconds": round(r.seconds, 3),
                            "size_bytes": size,
                            "context_bytes": ctx_bytes[(v.dockerignore, v.dockerfile)],
                            "steps": r.steps,
                            "cached_steps": r.cached_steps,
                        }
                    )
    finally:
        remove_built(built)
    return pd.DataFrame(rows, columns=COLUMNS)


def _cache_label(cache_as: str | None) -> dict[str, str]:
    """The label :func:`helpers.images.remove` keeps layer cache by: exercise or lesson.

    >>> _cache_label("09"), _cache_label("lesson13"), _cache_label(None)
    ({'exercise': '09'}, {'lesson': '13'}, {})
    """
    if not cache_as:
        return {}
    if cache_as.startswith("lesson"):
        return {"lesson": cache_as.removeprefix("lesson")}
    return {"exercise": cache_as}


def _safe(name: str) -> str:
    import re

    return re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("-.") or "variant"


def remove_built(built: list[tuple[str, str, bool]]) -> int:
    """Remove the images one :func:`run` built (newest first; their earlier stages too): by
    tag and id, no image list. A warm variant's image leaves its layers as cache when it
    carries a cache label (:func:`helpers.images.remove`); a cold rep's image goes whole, and
    so does an image whose tag a later rep took. How many were removed."""
    import docker

    c = engine.client()
    removed = 0
    for tag, image_id in dict.fromkeys((t, i) for t, i, _ in reversed(built)):
        warm = any(w for t, i, w in built if (t, i) == (tag, image_id))
        with contextlib.suppress(docker.errors.APIError, PermissionError):
            try:
                tags = c.api.inspect_image(image_id).get("RepoTags") or []
            except docker.errors.NotFound:
                continue
            if tag in tags and warm:
                removed += images.remove(tag)  # its layers stay as cache (a cache label)
                continue
            if tag in tags:
                c.images.remove(tag)  # a cold rep's own tag: the image goes with it
            elif not tags:
                c.images.remove(image_id)  # a rep whose tag a later rep took
            else:
                continue  # another tag still holds it
            removed += 1
            images.remove_stage_images(image_id)
    return removed


def summary(df: Any) -> Any:
    """Median and spread (max - min) of time and size per variant, in the variants' order."""
    order = list(dict.fromkeys(df["variant"]))
    g = df.groupby("variant", sort=False)
    out = g.agg(
        reps=("rep", "count"),
        seconds_median=("seconds", "median"),
        seconds_spread=("seconds", lambda s: s.max() - s.min()),
        size_mb=("size_bytes", lambda s: round(s.median() / 1e6, 1)),
        size_spread_mb=("size_bytes", lambda s: round((s.max() - s.min()) / 1e6, 1)),
        context_mb=("context_bytes", lambda s: round(s.median() / 1e6, 2)),
        cached_steps=("cached_steps", "median"),
        steps=("steps", "median"),
        nocache=("nocache", "first"),
    )
    out = out.reindex(order)
    out["seconds_median"] = out["seconds_median"].round(2)
    out["seconds_spread"] = out["seconds_spread"].round(2)
    return out


def comparisons(df: Any) -> Any:
    """One line per lesson comparison: baseline vs optimised, as ratios (present rows only)."""
    import pandas as pd

    s = summary(df)
    rows = []
    for what, a, b in COMPARISONS:
        if a in s.index and b in s.index:
            rows.append(
                {
                    "comparison": what,
                    "baseline": a,
                    "optimised": b,
                    "time ratio": round(s.loc[b, "seconds_median"] / s.loc[a, "seconds_median"], 2),
                    "size ratio": round(s.loc[b, "size_mb"] / s.loc[a, "size_mb"], 2),
                    "context ratio": round(s.loc[b, "context_mb"] / s.loc[a, "context_mb"], 3),
                }
            )
    return pd.DataFrame(rows)


def chart(df: Any) -> Any:
    """Two panels: median build time (spread as error bars) and median size, per variant."""
    import matplotlib.pyplot as plt

    s = summary(df)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.8))
    ax1.bar(s.index, s["seconds_median"], yerr=s["seconds_spread"] / 2, capsize=4, color="#4c72b0")
    ax1.set_ylabel("build time, s (median; bar = spread)")
    ax2.bar(s.index, s["size_mb"], color="#dd8452")
    ax2.set_ylabel("image size, MB")
    for ax in (ax1, ax2):
        ax.tick_params(axis="x", rotation=40)
        for lab in ax.get_xticklabels():
            lab.set_horizontalalignment("right")
    fig.tight_layout()
    return fig


def save_csv(df: Any, path: str | Path) -> Path:
    """Write the raw rows (one per build) as CSV; returns the path."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(p, index=False)
    return p


#: Runs inside the sandbox container: a stand-in ``helpers.benchmark.Variant``, then the
#: learner's ``variants.py``; prints its REPS and variants as JSON on the last line.
_LOADER = r"""
import dataclasses, json, sys, types
@dataclasses.dataclass
class Variant:
    name: str
    dockerfile: str
    dockerignore: bool = True
    nocache: bool = False
pkg, mod = types.ModuleType("helpers"), types.ModuleType("helpers.benchmark")
mod.Variant, pkg.benchmark = Variant, mod
sys.modules.update({"helpers": pkg, "helpers.benchmark": mod})
sys.path.insert(0, "/work")
import variants as v
vs = v.variants()
ok = isinstance(vs, list) and all(isinstance(x, Variant) for x in vs)
print(json.dumps({"ok": ok, "reps": getattr(v, "REPS", 2),
                  "variants": [dataclasses.asdict(x) for x in vs] if ok else repr(vs)[:300]}))
"""


def load_variants(folder: str | Path, timeout_s: float = 60.0) -> tuple[list[Variant], int]:
    """Read ``variants.py`` from an exercise folder: its ``variants()`` and ``REPS``.

    The file is a learner's Python, so it runs in a throwaway container (no network, no
    capabilities, read-only, 256 MB, 64 processes, a deadline), never in this process.

    Raises:
        FileNotFoundError: no variants.py.
        ValueError: it does not run, or ``variants()`` did not return a list of Variant.
    """
    import json

    from . import containers

    p = Path(folder) / "variants.py"
    if not p.is_file():
        raise FileNotFoundError(f"no variants.py in {folder}")
    with containers.running(
        "python:3.11-slim",
        ["python", "-c", _LOADER],
        volumes={str(Path(folder).resolve()): {"bind": "/work", "mode": "ro"}},
        network_disabled=True,
        read_only=True,
        cap_drop=["ALL"],
        mem_limit=256 * 1024 * 1024,
        pids_limit=64,
        environment={"PYTHONDONTWRITEBYTECODE": "1"},
    ) as ctr:
        info = containers.wait_for_exit(ctr, timeout_s=timeout_s)
        out = ctr.logs(stdout=True, stderr=False).decode("utf-8", "replace").strip()
        err = ctr.logs(stdout=False, stderr=True).decode("utf-8", "replace").strip()
    if info.exit_code != 0 or not out:
        last = err.splitlines()[-1] if err else f"exit code {info.exit_code}"
        raise ValueError(last[:300])
    data = json.loads(out.splitlines()[-1])
    if not data["ok"]:
        raise ValueError(
            f"variants() must return a list of helpers.benchmark.Variant, not {data['variants']}"
        )
    return [Variant(**v) for v in data["variants"]], int(data["reps"] or 2)
