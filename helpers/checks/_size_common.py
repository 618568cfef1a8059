"""Measurements shared by the image-size checks (exercises 01 and 04).

- :func:`baseline_size`: the size of a *pristine* starter image (its Dockerfile and
  requirements kept in ``checks/data/``),
  built by the check itself, so a learner editing ``exercises/`` cannot move the baseline.
  The measurement is cached on disk, keyed by the pristine files and the base images' ids.
- :func:`step_cache`: which build steps the classic builder took from its layer cache.
- :func:`final_files` / :func:`junk`: the image's final filesystem, read from its layers,
  and the apt package lists / pip cache files left in it.
- :func:`own_waste`: dive-style wasted bytes in the layers the Dockerfile added (the base
  image's own waste is not the learner's doing).
- :func:`size_verdict`: the size item both exercises score, against the pristine starter.

Example:
    >>> step_cache("Step 1/2 : FROM x\\n ---> abc\\nStep 2/2 : RUN pip install a\\n ---> Using cache\\n")
    [('FROM x', False), ('RUN pip install a', True)]
    >>> sorted(final_files([{"a": 5, "b/c": 3}, {"b": -1}]))
    ['a']
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import engine, images, ownership, settings
from ..dockerfile import Dockerfile
from .rubric import Facts, Verdict

DATA = Path(__file__).resolve().parent / "data"
MB = 1000 * 1000

STEP_LINE = re.compile(r"^Step \d+/\d+ : (.*)$", re.M)


def pristine(slug: str, dest: Path | None = None) -> Path:
    """The starter as shipped, for the size baseline: a fresh folder in the cache.

    The files that decide the baseline's size (``Dockerfile``, ``requirements.txt``) come from
    the check's own untouched copies in ``checks/data/``, so a learner editing ``exercises/``
    cannot move the baseline; the app code and sample data come from the course's
    ``exercises/<slug>`` (one copy of the app, and its few kB do not move the figure). A
    ``.dockerignore`` the learner added is left out: the shipped starter has none.
    """
    if dest is None:
        root = settings.cache_dir() / "pristine"
        if root.is_dir():  # copies of processes that are gone (one per process, never shared)
            for old in root.iterdir():
                if old.name.isdigit() and not ownership.alive(int(old.name)):
                    shutil.rmtree(old, ignore_errors=True)
        dest = root / str(os.getpid()) / slug
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(
        settings.repo_root() / "exercises" / slug,
        dest,
        ignore=shutil.ignore_patterns("__pycache__", ".dockerignore"),
    )
    shutil.copytree(DATA / slug, dest, dirs_exist_ok=True)
    return dest


def _digest_files(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(folder)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:16]


def external_bases(folder: Path) -> list[str]:
    """The images the Dockerfile in ``folder`` starts ``FROM`` (stage names resolved away)."""
    df = Dockerfile.from_path(folder)
    aliases = {s.alias for s in df.stages if s.alias}
    return sorted({s.base for s in df.stages if s.base not in aliases})


@dataclass
class Baseline:
    """The measured starter image."""

    size_bytes: int
    key: str
    measured_now: bool
    build_seconds: float


def baseline_size(slug: str, exercise: str) -> Baseline:
    """Size of the pristine starter of ``slug``, built here once and remembered.

    The cache key is the pristine files plus the ids of their base images: rebuild a base
    image (or change the starter) and the baseline is measured again.
    """
    with tempfile.TemporaryDirectory(prefix="shipshape-baseline-") as tmp:
        return _baseline_size(pristine(slug, Path(tmp) / slug), slug, exercise)


def _baseline_size(src: Path, slug: str, exercise: str) -> Baseline:
    c = engine.client()
    ids = [c.images.get(b).id for b in external_bases(src)]
    key = hashlib.sha256((_digest_files(src) + "".join(ids)).encode()).hexdigest()[:16]
    store = settings.cache_dir() / "baselines" / f"{slug}-{key}.json"
    if store.is_file():
        data = json.loads(store.read_text())
        return Baseline(int(data["size_bytes"]), key, False, float(data["build_seconds"]))
    tag = images.temp_tag(f"ex{exercise}-baseline", src)
    try:
        r = images.build(src, tag, on_event=None, timeout_s=900, exercise=exercise)
        size = images.image_size_bytes(tag)
    finally:
        remove_tag(tag)
    store.parent.mkdir(parents=True, exist_ok=True)
    tmp = store.with_suffix(".part")
    tmp.write_text(json.dumps({"size_bytes": size, "build_seconds": round(r.seconds, 1)}))
    tmp.replace(store)
    return Baseline(size, key, True, r.seconds)


def remove_tag(tag: str) -> bool:
    """Remove one helper-made tag (and the image, with its stage images, if no tag is left).

    Kept as a name for this module's callers; :func:`helpers.images.remove` does the work.
    """
    return images.remove(tag)


def step_cache(log: str) -> list[tuple[str, bool]]:
    """(instruction, taken from cache) for each step of a build log, in order (the classic
    builder's ``Step n/m`` lines, or BuildKit's plain progress when the build needed it)."""
    out: list[tuple[str, bool]] = []
    if not STEP_LINE.search(log) and "\n#" in "\n" + log:
        from ..buildkit import buildkit_steps

        return buildkit_steps(log)
    for line in log.splitlines():
        m = STEP_LINE.match(line.strip())
        if m:
            out.append((m.group(1).strip(), False))
        elif out and "Using cache" in line:
            out[-1] = (out[-1][0], True)
    return out


#: The image's final filesystem (one function for the course: :func:`helpers.images.final_files`).
final_files = images.final_files


APT_LISTS = "var/lib/apt/lists/"
APT_ARCHIVES = "var/cache/apt/archives/"
PIP_CACHE = re.compile(r"(^|/)\.cache/pip/(?!selfcheck/)")


def junk(final: dict[str, int]) -> dict[str, dict[str, Any]]:
    """apt package lists, downloaded .debs and pip cache files present in ``final``."""
    groups: dict[str, dict[str, Any]] = {}

    def add(kind: str, path: str, size: int) -> None:
        g = groups.setdefault(kind, {"files": 0, "bytes": 0, "examples": []})
        g["files"] += 1
        g["bytes"] += size
        if len(g["examples"]) < 3:
            g["examples"].append("/" + path)

    for path, size in final.items():
        name = path.rsplit("/", 1)[-1]
        if path.startswith(APT_LISTS) and name != "lock" and "/partial/" not in "/" + path:
            add("apt lists", path, size)
        elif path.startswith(APT_ARCHIVES) and name.endswith(".deb"):
            add("apt .deb files", path, size)
        elif PIP_CACHE.search(path):
            add("pip cache", path, size)
    return groups


def common_prefix(a: list[str], b: list[str]) -> int:
    """How many leading items two lists share."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


@dataclass
class LayerFacts:
    """What reading an image's layers tells: final files, own waste, base layer count."""

    final: dict[str, int]
    wasted_bytes: int
    base_wasted_bytes: int
    own_wasted_bytes: int
    base_layers: int
    layers: int
    top_waste: list[tuple[str, int, int, bool]]


def layer_facts(image: str, base: str | None) -> LayerFacts:
    """Read ``image``'s layers once (streams ``docker save``) and derive what the checks need.

    Waste counted against the learner is the waste of the whole image minus the waste the
    base image (``base``) already had: deleting or overwriting a file in a later layer
    leaves the bytes in the earlier one.
    """
    c = engine.client()
    per_layer = images.layer_files(image)
    n_base = 0
    if base:
        try:
            mine = c.images.get(image).attrs["RootFS"]["Layers"]
            theirs = c.images.get(base).attrs["RootFS"]["Layers"]
            n_base = common_prefix(mine, theirs)
        except Exception:
            n_base = 0
    whole = images.efficiency_from_layers(per_layer, top=200)
    base_eff = images.efficiency_from_layers(per_layer[:n_base], top=1)
    own_paths = {p for layer in per_layer[n_base:] for p in layer}
    own_top = [t for t in whole.top_waste if t[0] in own_paths][:8]
    return LayerFacts(
        final=final_files(per_layer),
        wasted_bytes=whole.wasted_bytes,
        base_wasted_bytes=base_eff.wasted_bytes,
        own_wasted_bytes=max(0, whole.wasted_bytes - base_eff.wasted_bytes),
        base_layers=n_base,
        layers=len(per_layer),
        top_waste=own_top,
    )


def copy_context(src: Path) -> Path:
    """A private copy of a build context in a temp folder (the caller removes it)."""
    tmp = Path(tempfile.mkdtemp(prefix="shipshape-ctx-"))
    dst = tmp / "ctx"
    shutil.copytree(src, dst, symlinks=True, ignore=shutil.ignore_patterns(".git"))
    return dst


def mb(n: float | None) -> float | None:
    """Bytes to decimal MB, one decimal (as ``docker images`` shows)."""
    return None if n is None else round(n / MB, 1)


def size_verdict(
    f: Facts,
    slug: str,
    exercise: str,
    full_ratio: float,
    *,
    same_app: str,
    keep_hint: str,
    hint: str,
    more_evidence: Callable[[str, Baseline], dict[str, Any]] | None = None,
) -> Verdict:
    """The size item: the image against the pristine starter: full credit at <= ``full_ratio``,
    partial credit in proportion to the drop, and nothing for an image that does not run
    ``same_app`` (the kept fact: a smaller image of another app proves nothing).
    ``more_evidence(tag, baseline)`` adds an exercise's own figures."""
    tag = f.image.tag
    k, failed = f.outcome("kept")
    if failed or not k.ok:
        return Verdict(
            False,
            f"not earned: the image does not run {same_app}, so its size says nothing about "
            f"the same app ({failed.reason if failed else k.summary()})",
            hint=keep_hint,
        )
    base = baseline_size(slug, exercise)
    mine = images.image_size_bytes(tag)
    ratio = mine / base.size_bytes
    earned = round(f.points("size") * max(0.0, min(1.0, (1 - ratio) / (1 - full_ratio))), 1)
    return Verdict(
        ratio <= full_ratio,
        f"{mb(mine)} MB vs the starter's {mb(base.size_bytes)} MB: {ratio:.2f}x "
        f"(full credit at <= {full_ratio:.2f}x)",
        hint=hint,
        evidence={
            "image_bytes": mine,
            "starter_bytes": base.size_bytes,
            "ratio": round(ratio, 3),
            "full_credit_ratio": full_ratio,
            **(more_evidence(tag, base) if more_evidence else {}),
        },
        earned=earned,
    )
