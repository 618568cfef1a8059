"""Build images through docker-py and measure them: size, layers, dive-style efficiency.

Builds stream their progress to a callback (``on_event``) so a notebook can show a progress
bar and a terminal plain lines; this module never prints or imports ipywidgets.

Example:
    >>> from helpers import images
    >>> result = images.build("exercises/00_warmup", tag="shipshape/demo:1")  # doctest: +SKIP
    >>> images.image_size_bytes(result.image_id) > 0                          # doctest: +SKIP
    True
"""

from __future__ import annotations

import contextlib
import functools
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import engine, settings
from .buildresult import (
    BuildError,
    BuildEvent,
    BuildResult,
)
from .classicbuild import STEP_RE  # noqa: F401 - kept importable here
from .layers import (  # noqa: F401 - layer reading lives in helpers.layers; names kept here
    Efficiency,
    IterStream,
    _layer_entries,
    efficiency,
    efficiency_from_layers,
    final_files,
    layer_files,
    layers,
)
from .stages import remove_stage_images

#: What the classic builder says when an image it took from the cache was deleted meanwhile.
ENGINE_RACE_RE = re.compile(
    r"layer does not exist|failed to get destination image|No such image: sha256:"
    r'|unable to find image "sha256:|failed to set parent sha256:[0-9a-f]+: unknown parent',
    re.I,
)


def _plain_progress(ev: BuildEvent) -> None:
    import sys

    if ev.text.strip():
        print(ev.text.rstrip(), file=sys.stderr)


def _again_after_engine_race(once: Callable[..., BuildResult]) -> Callable[..., BuildResult]:
    """Build once more, within the same deadline, when the engine lost a cached layer."""

    @functools.wraps(once)
    def build(path: str | Path, tag: str | None = None, **kw: Any) -> BuildResult:
        start = time.monotonic()
        try:
            return once(path, tag, **kw)
        except BuildError as exc:
            spent = time.monotonic() - start
            left = (kw.get("timeout_s") or settings.default_timeout_s()) - spent
            # a failed RUN quotes its own command, which could say anything: never retried
            own_step = "returned a non-zero code" in str(exc)
            if own_step or not ENGINE_RACE_RE.search(str(exc)) or left < 5:
                raise
            on_event = kw.get("on_event", _plain_progress)
            if on_event:
                on_event(
                    BuildEvent("A cached layer was removed elsewhere meanwhile: building again.\n")
                )
        return once(path, tag, **{**kw, "timeout_s": left, "check_package_cache": False})

    return build


@_again_after_engine_race
def build(
    path: str | Path,
    tag: str | None = None,
    *,
    dockerfile: str | None = None,
    target: str | None = None,
    buildargs: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
    nocache: bool = False,
    timeout_s: float | None = None,
    on_event: Callable[[BuildEvent], None] | None = _plain_progress,
    kind: str = engine.KIND_TEMP,
    check_package_cache: bool = True,
    stop_when: Callable[[str | None, str], bool] | None = None,
    **label_extra: str,
) -> BuildResult:
    """Build ``path`` with the engine's builder and return the image id and the full log.

    The image carries the project's labels so :func:`helpers.engine.clean` can remove it.

    Args:
        path: the build context folder.
        tag: ``repo:tag`` for the image.
        dockerfile: Dockerfile name relative to the context (default ``Dockerfile``).
        target: build only up to this stage.
        buildargs: ``--build-arg`` values.
        labels: extra labels (added to the project's).
        nocache: ignore the layer cache (a cold build).
        timeout_s: deadline for the whole build; the build is cancelled when it passes.
        on_event: called with each progress line; None for silence.
        kind: the ``io.shipshape.kind`` label.
        check_package_cache: first check that a configured package cache answers
            (:func:`helpers.pkgcache.preflight`).
        stop_when: called with the current step and each log line; True cancels the build
            right there (a check that has seen what it needs, e.g. a step that re-runs) and
            returns a result with ``stopped=True`` and no image. Classic builder only.

    A build that loses a cached layer to a removal elsewhere on the engine (the classic
    builder matched a cached step, then another process's cleanup or cache eviction deleted
    that image: "layer does not exist") is built once more within the same deadline: the
    engine's race, not the Dockerfile's fault.

    Raises:
        FileNotFoundError: no such context folder or Dockerfile.
        BuildError: the Dockerfile is invalid, a step failed, or the deadline passed.
    """

    ctx = Path(path)
    if not ctx.is_dir():
        raise FileNotFoundError(f"Build context {ctx} is not a folder: check the path.")
    df = dockerfile or "Dockerfile"
    if not (ctx / df).is_file():
        raise FileNotFoundError(
            f"No {df} in {ctx}: the build context must contain the Dockerfile "
            "(or pass dockerfile= relative to it)."
        )
    if check_package_cache:  # a configured package cache that went away: say so, never hang
        from . import pkgcache

        try:
            pkgcache.preflight()
        except pkgcache.PackageCacheError as exc:
            text = str(exc)
            raise BuildError(
                f"Build of {ctx} not started: {text.split(' Fix: ')[0]}\n"
                f"Hint: {text.split(' Fix: ')[-1]}"
            ) from None
    deadline = timeout_s or settings.default_timeout_s()
    api = engine.client().api
    all_labels = engine.labels(kind=kind, **label_extra)
    all_labels.update(labels or {})
    if nocache:  # never kept as layer cache: see helpers.buildlock
        all_labels[engine.COLD_LABEL] = "true"
    from . import buildkit

    if buildkit.needs_buildkit(ctx / df):  # RUN --mount & co: the classic builder cannot
        return buildkit.build(
            ctx, df, tag, target, buildargs, all_labels, nocache, deadline, on_event
        )
    from . import buildlock, classicbuild

    # a cold build runs alone; every other build waits for it (helpers.buildlock)
    why = (
        "A no-cache build runs alone: waiting for the builds already running on this engine.\n"
        if nocache
        else "Waiting for a no-cache build elsewhere on this engine to finish (it runs alone).\n"
    )

    def waiting() -> None:
        if on_event:
            on_event(BuildEvent(why))

    t0 = time.monotonic()
    with (buildlock.exclusive if nocache else buildlock.shared)(deadline, waiting):
        left = max(1.0, deadline - (time.monotonic() - t0))  # the wait is part of the deadline
        return classicbuild.build(
            api, ctx, df, tag, target, buildargs, all_labels, nocache, left, on_event, stop_when
        )


def temp_tag(prefix: str, path: str | Path) -> str:
    """A tag for a check's temporary image of ``path``, unique to this run.

    The run id is part of the tag: two users of one engine whose exercise folders share a
    path (every JupyterHub user has the same home layout) never share a tag.

    >>> temp_tag("ex01", "/a/b") == temp_tag("ex01", "/a/b")
    True
    >>> engine.RUN_ID.lower()[:20] in temp_tag("ex01", "/a/b")
    True
    """
    import hashlib

    digest = hashlib.sha256(str(Path(path).resolve()).encode()).hexdigest()[:10]
    run = re.sub(r"[^a-z0-9_.-]+", "-", engine.RUN_ID.lower())[:40]
    return f"shipshape-check/{prefix}:{run}-{digest}"


def image_size_bytes(image: str) -> int:
    """The image's size as ``docker images`` reports it (all its layers, uncompressed)."""
    return int(engine.client().images.get(image).attrs["Size"])


def remove(image: str) -> bool:
    """Remove an image the helpers built (checked by label). Returns False if it was absent.

    A check's image (one with an ``exercise`` label) first stays behind as layer cache
    (:func:`keep_as_cache`), so the next check of the same exercise rebuilds only what changed;
    so does a lesson's (a ``lesson`` label), under ``lesson<NN>``.
    """
    import docker

    c = engine.client()
    try:
        im = c.images.get(image)
    except docker.errors.ImageNotFound:
        return False
    if (
        im.labels.get(engine.MANAGED_LABEL) != "true"
        or im.labels.get(engine.KIND_LABEL) != engine.KIND_TEMP
    ):
        raise PermissionError(f"{image} was not built by the course helpers; not removing it.")
    cache_failed = False
    lesson = im.labels.get(engine.LESSON_LABEL)
    key = im.labels.get(engine.EXERCISE_LABEL) or (f"lesson{lesson}" if lesson else None)
    if im.labels.get(engine.COLD_LABEL):
        key = None  # a cold build's steps must not stay: helpers.buildlock says why
    if settings.build_cache_enabled() and key:
        from . import buildcache
        from .buildcache import _drop_entry, cache_entries, keep_as_cache

        # the cache is an optimisation: the removal below must happen whatever it does
        try:
            keep_as_cache(im.id, key)
        except Exception:  # half-made cache: drop it, so the plain removal leaves nothing
            cache_failed = True
            group = buildcache.group_of(im.id)
            with contextlib.suppress(Exception):
                for e in cache_entries():
                    if e["group"] == group:
                        _drop_entry(e)
    # By name, not id: another tag on the same image (identical content built twice) stays.
    try:
        c.images.remove(image)
    except docker.errors.NotFound:  # removed meanwhile (a `clean` elsewhere): nothing to do
        return False
    except docker.errors.APIError:  # a stopped container still uses it
        with contextlib.suppress(docker.errors.NotFound):
            c.images.remove(image, force=True)
    if cache_failed:  # no cache took the build's stage tags over: they are leftovers now
        remove_stage_images(im.id)
        return True
    try:
        c.images.get(im.id)
    except docker.errors.ImageNotFound:  # the image itself is gone: its stage images go too
        remove_stage_images(im.id)
    return True


def clean(run: str | None = None) -> dict[str, int]:
    """:func:`helpers.engine.clean`, after the images an exercise or a lesson built left their
    layers behind as cache (:func:`remove`): running the notebook again rebuilds only what
    changed. ``clean --all`` still removes that cache too.

    Args:
        run: only this run id (a notebook passes its own ``engine.RUN_ID``).

    Returns:
        How many of each resource :func:`helpers.engine.clean` removed.
    """
    for row in engine.removable_images(run=run):
        lab = row.get("Labels") or {}
        if lab.get(engine.KIND_LABEL) != engine.KIND_TEMP:
            continue
        if not (lab.get(engine.EXERCISE_LABEL) or lab.get(engine.LESSON_LABEL)):
            continue
        if lab.get(engine.COLD_LABEL):  # engine.clean removes it whole
            continue
        for tag in engine._tags(row):
            with contextlib.suppress(Exception):  # gone meanwhile, or in use: clean decides
                remove(tag)
    return engine.clean(run=run)
