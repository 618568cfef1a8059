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
import io
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import engine, settings
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

STEP_RE = re.compile(r"^Step (\d+)/(\d+) : (.*)")
STEP_IMAGE_RE = re.compile(r"^ ---> ([0-9a-f]{12})\s*$", re.M)
#: The classic builder keeps each earlier stage's last image, untagged and carrying its base
#: image's labels. Builds tag those under this repository so they can be found and removed.
STAGE_REPO = f"{engine.TAG_PREFIX}stage"


class BuildError(RuntimeError):
    """A build failed. ``log`` holds the build output; the message names the failing step."""

    def __init__(self, message: str, log: str = "", step: str | None = None):
        super().__init__(message)
        self.log = log
        self.step = step


@dataclass
class BuildEvent:
    """One line of build progress: ``step``/``total`` when the builder announced a step."""

    text: str
    step: int | None = None
    total: int | None = None
    error: bool = False


@dataclass
class BuildResult:
    """A finished build."""

    image_id: str
    tag: str | None
    seconds: float
    log: str
    cached_steps: int = 0
    steps: int = 0
    context_bytes: int | None = None
    events: list[BuildEvent] = field(default_factory=list, repr=False)
    stage_images: list[str] = field(default_factory=list)


def _plain_progress(ev: BuildEvent) -> None:
    import sys

    if ev.text.strip():
        print(ev.text.rstrip(), file=sys.stderr)


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

    Raises:
        FileNotFoundError: no such context folder or Dockerfile.
        BuildError: the Dockerfile is invalid, a step failed, or the deadline passed.
    """
    import docker

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
    start = time.monotonic()
    log: list[str] = []
    events: list[BuildEvent] = []
    image_id: str | None = None
    cached = steps = 0
    current_step: str | None = None
    try:  # docker-py reads the context (and .dockerignore) here, before any line streams
        stream = api.build(
            path=str(ctx),
            dockerfile=df,
            tag=tag,
            target=target,
            buildargs=buildargs,
            labels=all_labels,
            nocache=nocache,
            timeout=int(deadline) + 5,  # socket read timeout: a silent, hung step ends here
            rm=True,
            forcerm=True,
            decode=True,
        )
    except (OSError, UnicodeDecodeError) as exc:
        raise BuildError(
            f"The build context {ctx} cannot be read: {exc}\n"
            "Hint: Every file in the folder (and .dockerignore) must be readable: "
            "`chmod a+r FILE`, and .dockerignore must be a text file."
        ) from None
    except docker.errors.APIError as exc:
        raise BuildError(_explain_build_error(str(exc.explanation or exc), None)) from None
    try:
        for chunk in stream:
            if time.monotonic() - start > deadline:
                raise BuildError(
                    f"Build of {ctx} passed its {deadline:.0f}s deadline at {current_step!r} "
                    "and was cancelled. A step that waits forever (a prompt, `sleep`, a "
                    "download that hangs) is the usual cause.",
                    "".join(log),
                    current_step,
                )
            if "error" in chunk:
                msg = chunk.get("error", "").strip()
                log.append(msg + "\n")
                ev = BuildEvent(msg, error=True)
                events.append(ev)
                if on_event:
                    on_event(ev)
                raise BuildError(
                    _explain_build_error(msg, current_step), "".join(log), current_step
                )
            if "aux" in chunk and isinstance(chunk["aux"], dict) and "ID" in chunk["aux"]:
                image_id = chunk["aux"]["ID"]
            text = chunk.get("stream") or chunk.get("status") or ""
            if not text:
                continue
            log.append(text)
            m = STEP_RE.match(text.strip())
            ev = BuildEvent(text)
            if m:
                steps += 1
                current_step = m.group(3)
                ev = BuildEvent(text, int(m.group(1)), int(m.group(2)))
            elif "Using cache" in text:
                cached += 1
            events.append(ev)
            if on_event:
                on_event(ev)
    except docker.errors.APIError as exc:
        raise BuildError(
            _explain_build_error(str(exc.explanation or exc), None), "".join(log)
        ) from None
    except (KeyboardInterrupt, Exception) as exc:
        if isinstance(exc, BuildError):
            raise
        if isinstance(exc, KeyboardInterrupt):
            raise
        # read timeouts from a silent, hanging step land here
        raise BuildError(
            f"Build of {ctx} stopped answering ({type(exc).__name__}) at {current_step!r}; "
            f"it was cancelled after {time.monotonic() - start:.0f}s.",
            "".join(log),
            current_step,
        ) from None
    finally:
        close = getattr(stream, "close", None)
        if close:  # closing the response makes the engine cancel an unfinished build
            close()
    if image_id is None:
        raise BuildError(f"Build of {ctx} ended without an image id.", "".join(log), current_step)
    stages = _tag_stage_leftovers(image_id, "".join(log))
    return BuildResult(
        stage_images=stages,
        image_id=image_id,
        tag=tag,
        seconds=time.monotonic() - start,
        log="".join(log),
        cached_steps=cached,
        steps=steps,
        events=events,
    )


def _ancestry(image_id: str) -> set[str]:
    api = engine.client().api
    seen: set[str] = set()
    cur = image_id
    while cur and cur not in seen:
        seen.add(cur)
        try:
            cur = api.inspect_image(cur).get("Parent") or ""
        except Exception:
            break
    return {i.split(":")[-1][:12] for i in seen}


def _tag_stage_leftovers(image_id: str, log: str) -> list[str]:
    """Tag the last image of every earlier build stage, so removing the result removes them.

    Multi-stage builds with the classic builder leave one untagged image per earlier stage
    (the stage's last step). They are not in the result's parent chain, so ``docker rmi`` of
    the result keeps them, and they carry the base image's labels, not ours.
    """
    ids = STEP_IMAGE_RE.findall(log)
    keep = _ancestry(image_id)
    side = [i for i in dict.fromkeys(ids) if i not in keep]
    if not side:
        return []
    api = engine.client().api
    parents = set()
    for i in side:
        try:
            parents.add((api.inspect_image(i).get("Parent") or "").split(":")[-1][:12])
        except Exception:
            continue
    leaves = [i for i in side if i not in parents]
    tags = []
    for n, short in enumerate(leaves):
        try:
            if api.inspect_image(short).get("RepoTags"):
                continue  # tagged by someone: not ours to track
            repo = _stage_repo(image_id)
            api.tag(short, repo, tag=f"stage{n}")
            tags.append(f"{repo}:stage{n}")
        except Exception:
            continue
    return tags


def _stage_repo(image_id: str) -> str:
    """``shipshape-stage/<run id>-<result id>``: findable by run (clean) and by result (remove)."""
    return f"{STAGE_REPO}/{engine.RUN_ID.lower()}-{image_id.split(':')[-1][:12]}"


def remove_stage_images(image_id: str) -> None:
    """Remove the tagged earlier-stage images of the build that produced ``image_id``."""
    c = engine.client()
    short = image_id.split(":")[-1][:12]
    for im in c.images.list(name=f"{STAGE_REPO}/*"):
        if not any(t.split(":")[0].endswith(f"-{short}") for t in im.tags):
            continue
        try:
            c.images.remove(im.id, force=True)
        except Exception:
            continue


def _explain_build_error(msg: str, step: str | None) -> str:
    low = msg.lower()
    if "dockerfile parse error" in low or "unknown instruction" in low:
        hint = "The Dockerfile itself is invalid: fix the line named above (instruction spelling, line continuations)."
    elif (
        "pull access denied" in low
        or "manifest unknown" in low
        or "not found: manifest" in low
        or "failed to resolve" in low
        or "no such host" in low
    ):
        hint = (
            "The base image is not on this machine and no registry answers: run "
            "`python -m helpers images` (makes the course's base images present offline) "
            "or pick a base image the course provides."
        )
    elif "returned a non-zero code" in low:
        hint = (
            "A RUN step failed: read the last lines of the log above for the command's own error."
        )
    elif "copy failed" in low or "no such file or directory" in low:
        hint = "A COPY/ADD source is missing from the build context (or excluded by .dockerignore)."
    else:
        hint = "Read the build log above."
    where = f" at step {step!r}" if step else ""
    return f"Build failed{where}: {msg}\nHint: {hint}"


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
    (:func:`keep_as_cache`), so the next check of the same exercise rebuilds only what changed.
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
    if settings.build_cache_enabled() and im.labels.get(engine.EXERCISE_LABEL):
        # the cache is an optimisation: the removal below must happen whatever it does
        try:
            keep_as_cache(im.id, im.labels[engine.EXERCISE_LABEL])
        except Exception:  # half-made cache: drop it, so the plain removal leaves nothing
            group = im.id.split(":")[-1][:12]
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
    try:
        c.images.get(im.id)
    except docker.errors.ImageNotFound:  # the image itself is gone: its stage images go too
        remove_stage_images(im.id)
    return True


# -- layer reuse across checks ---------------------------------------------------------
#
# With the classic builder the layer cache *is* the chain of intermediate images under a
# built image: remove the image and the next build starts from nothing. keep_as_cache()
# keeps that chain alive with a one-LABEL child image tagged ``shipshape-cache/ex<NN>:<id>``
# (kind=cache), so temp tags still go and the intermediates stay hidden (untagged images with
# children are not listed). The cache is content-addressed exactly like ``docker build``:
# a changed Dockerfile line or file misses from that step on. Bounded per exercise
# (SHIPSHAPE_BUILD_CACHE_KEEP) and in total (SHIPSHAPE_BUILD_CACHE_MAX_GB); oldest go first.
# ``clean`` keeps it, ``clean --all`` removes it.

CACHE_GROUP_LABEL = f"{engine.LABEL_PREFIX}.cache.group"
CACHE_ROLE_LABEL = f"{engine.LABEL_PREFIX}.cache.role"
CACHE_AT_LABEL = f"{engine.LABEL_PREFIX}.cache.at"
#: A cached build used again after this many seconds gets a fresh timestamp (eviction is LRU).
REFRESH_S = 60.0


def _stage_ids_of(image_id: str) -> list[tuple[str, str]]:
    """(stage tag, image id) of the tagged earlier stages of the build of ``image_id``."""
    short = image_id.split(":")[-1][:12]
    out = []
    for im in engine.client().images.list(name=f"{STAGE_REPO}/*"):
        for t in im.tags:
            if t.split(":")[0].endswith(f"-{short}"):
                out.append((t, im.id))
    return out


def _cache_child(parent_id: str, exercise: str, group: str, role: str) -> str:
    """Build ``FROM <parent>`` + LABEL (classic builder: the child's Parent is ``parent_id``)."""
    lab = engine.labels(kind=engine.KIND_CACHE, exercise=exercise)
    lab.update(
        {CACHE_GROUP_LABEL: group, CACHE_ROLE_LABEL: role, CACHE_AT_LABEL: f"{time.time():.6f}"}
    )
    text = f"FROM {parent_id}\nLABEL " + " ".join(f'"{k}"="{v}"' for k, v in lab.items()) + "\n"
    tag = f"{engine.CACHE_REPO}/ex{exercise}:{group}-{role}"
    api = engine.client().api
    new_id = None
    for chunk in api.build(
        fileobj=io.BytesIO(text.encode()), tag=tag, rm=True, forcerm=True, decode=True, timeout=120
    ):
        if "error" in chunk:
            raise BuildError(chunk["error"])
        if isinstance(chunk.get("aux"), dict) and "ID" in chunk["aux"]:
            new_id = chunk["aux"]["ID"]
    if not new_id:
        raise BuildError("cache image build returned no id")
    return new_id


def keep_as_cache(image_id: str, exercise: str) -> list[str]:
    """Keep ``image_id`` (and its build's earlier stages) as layer cache for ``exercise``.

    Returns the cache tags made (empty when this build is cached already). The stage tags
    of the build are moved under the cache, so removing the result leaves no stage leftovers.
    """
    import docker

    c = engine.client()
    group = image_id.split(":")[-1][:12]
    made: list[str] = []
    have = c.images.list(filters={"label": [f"{CACHE_GROUP_LABEL}={group}"]})
    newest = max((float(im.labels.get(CACHE_AT_LABEL, "0") or 0) for im in have), default=0.0)
    fresh = time.time() - newest < REFRESH_S
    roles = {im.labels.get(CACHE_ROLE_LABEL) for im in have} if fresh else set()
    jobs = [("final", image_id)] + [
        (f"stage{n}", sid) for n, (_, sid) in enumerate(_stage_ids_of(image_id))
    ]
    for role, parent in jobs:
        if role not in roles:
            _cache_child(parent, exercise, group, role)
            made.append(f"{engine.CACHE_REPO}/ex{exercise}:{group}-{role}")
    for stage_tag, _ in _stage_ids_of(image_id):
        with contextlib.suppress(docker.errors.APIError):
            c.images.remove(stage_tag)  # untag: the cache child keeps the stage's layers
    if made and have:  # refreshed: the group's older children (now untagged) go, layers stay
        for im in c.images.list(filters={"label": [f"{CACHE_GROUP_LABEL}={group}"]}):
            if not im.tags:
                with contextlib.suppress(docker.errors.APIError):
                    c.images.remove(im.id, noprune=True)
    evict_cache(exercise)
    return made


def cache_entries() -> list[dict[str, Any]]:
    """The layer cache, one row per kept build, newest first: exercise, group, tags, at, ids."""
    groups: dict[str, dict[str, Any]] = {}
    for im in engine.client().images.list(
        filters={
            "label": [f"{engine.MANAGED_LABEL}=true", f"{engine.KIND_LABEL}={engine.KIND_CACHE}"]
        }
    ):
        g = im.labels.get(CACHE_GROUP_LABEL, im.short_id)
        row = groups.setdefault(
            g,
            {
                "exercise": im.labels.get(engine.EXERCISE_LABEL, "?"),
                "group": g,
                "tags": [],
                "ids": [],
                "at": 0.0,
            },
        )
        row["tags"] += im.tags
        row["ids"].append(im.id)
        row["at"] = max(row["at"], float(im.labels.get(CACHE_AT_LABEL, "0") or 0))
    return sorted(groups.values(), key=lambda r: r["at"], reverse=True)


def _own_bytes(image_id: str, seen: set[str]) -> int:
    """Bytes of the layers above the last course-independent tagged ancestor (deduplicated)."""
    total = 0
    for h in engine.client().api.history(image_id):
        tags = [t for t in (h.get("Tags") or []) if not t.startswith(engine.CACHE_REPO + "/")]
        if tags and h.get("Id") != image_id:
            break  # a base image (python:3.11-slim...): not the cache's bytes
        hid = h.get("Id") or ""
        if hid and hid != "<missing>":
            if hid in seen:
                continue
            seen.add(hid)
        total += int(h.get("Size", 0))
    return total


def cache_bytes(entries: list[dict[str, Any]] | None = None) -> int:
    """Approximate disk bytes the layer cache holds (its own layers, bases not counted)."""
    seen: set[str] = set()
    return sum(_own_bytes(i, seen) for e in (entries or cache_entries()) for i in e["ids"])


def _drop_entry(entry: dict[str, Any]) -> None:
    import docker

    c = engine.client()
    for i in entry["ids"]:
        with contextlib.suppress(docker.errors.APIError):
            # untagging the child deletes its untagged parents no other image needs
            c.images.remove(i, force=True)


def evict_cache(exercise: str | None = None) -> list[str]:
    """Drop the oldest cached builds beyond the bounds. Returns the dropped groups."""
    entries = cache_entries()
    keep = settings.build_cache_keep()
    dropped = []
    per: dict[str, int] = {}
    kept = []
    for e in entries:  # newest first
        per[e["exercise"]] = per.get(e["exercise"], 0) + 1
        if per[e["exercise"]] > keep and (exercise is None or e["exercise"] == exercise):
            _drop_entry(e)
            dropped.append(e["group"])
        else:
            kept.append(e)
    limit = settings.build_cache_max_bytes()
    while len(kept) > 1 and cache_bytes(kept) > limit:
        e = kept.pop()  # the oldest
        _drop_entry(e)
        dropped.append(e["group"])
    return dropped


def clear_cache(exercise: str | None = None) -> int:
    """Remove the layer cache (of one exercise, or all). Returns how many builds were dropped."""
    entries = [e for e in cache_entries() if exercise is None or e["exercise"] == exercise]
    for e in entries:
        _drop_entry(e)
    return len(entries)
