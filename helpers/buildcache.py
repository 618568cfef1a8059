"""Layer reuse across checks: what a check's removed image leaves behind on purpose.

With the classic builder the layer cache *is* the chain of intermediate images under a
built image: remove the image and the next build starts from nothing. :func:`keep_as_cache`
keeps that chain alive with a one-LABEL child image tagged ``shipshape-cache/ex<NN>:<id>``
(kind=cache), so temp tags still go and the intermediates stay hidden (untagged images with
children are not listed). The cache is content-addressed exactly like ``docker build``: a
changed Dockerfile line or file misses from that step on. Bounded per exercise
(``SHIPSHAPE_BUILD_CACHE_KEEP``) and in total (``SHIPSHAPE_BUILD_CACHE_MAX_GB``); oldest go
first. ``clean`` keeps it, ``clean --all`` removes it.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import time
from typing import Any

from . import engine, settings, stages
from .stages import STAGE_REPO

CACHE_GROUP_LABEL = f"{engine.LABEL_PREFIX}.cache.group"
CACHE_ROLE_LABEL = f"{engine.LABEL_PREFIX}.cache.role"
CACHE_AT_LABEL = f"{engine.LABEL_PREFIX}.cache.at"
#: A cached build used again after this many seconds gets a fresh timestamp (eviction is LRU).
REFRESH_S = 60.0


def _stage_ids_of(image_id: str) -> list[tuple[str, str]]:
    """(stage tag, image id) of the tagged earlier stages of the build of ``image_id``.

    A build in this process recorded them (:data:`helpers.stages.TAGGED`): no listing. Else
    the stage images are listed (every image on the engine is scanned: slow on a big store).
    """
    short = image_id.split(":")[-1][:12]
    if short in stages.TAGGED:
        return list(stages.TAGGED[short])
    out = []
    for im in engine.image_rows():
        for t in engine._tags(im):
            if t.startswith(f"{STAGE_REPO}/") and t.split(":")[0].endswith(f"-{short}"):
                out.append((t, im["Id"]))
    return out


#: The build's per-process label steps: the engine adds one LABEL step per label, sorted by
#: key, and these two come last. Another process never reuses them, so a cache entry is keyed
#: by the image below them (:func:`group_of`): one entry per content, whoever built it.
_PER_PROCESS_STEPS = (f"LABEL {engine.OWNER_LABEL}=", f"LABEL {engine.RUN_LABEL}=")


def group_of(image_id: str) -> str:
    """The cache group of a built image: the short id of its newest ancestor (or itself)
    that is not one of the per-process label steps, i.e. the build's content.

    Two processes that build the same files differ only in those steps, so their results
    share one group and the later one's cache entry replaces the earlier one's: the layer
    cache holds one entry per content, not one per process (fewer images, and every image
    list scans them all). One history call; an image without history is its own group.
    """
    with contextlib.suppress(Exception):
        for h in engine.client().api.history(image_id):  # newest first
            created = h.get("CreatedBy") or ""
            hid = h.get("Id") or ""
            if any(step in created for step in _PER_PROCESS_STEPS):
                continue
            if hid.startswith("sha256:"):
                return hid.split(":")[-1][:12]
            break
    return image_id.split(":")[-1][:12]


def _owner_may_use(image_id: str) -> bool:
    """Whether the process that built ``image_id`` may still build on it: alive, or on
    another host (unknowable). Only its own builds can match its per-process label steps."""
    import socket

    from .ownership import _dead_owner

    try:
        labels = (engine.client().api.inspect_image(image_id).get("Config") or {}).get("Labels")
    except Exception:
        return False  # gone already
    if not (labels or {}).get(engine.OWNER_LABEL):
        return False  # not a result with per-process steps (a stage image): shared content
    return not _dead_owner(labels, socket.gethostname())


def _cache_child(parent_id: str, exercise: str, group: str, role: str) -> str:
    """Build ``FROM <parent>`` + LABEL (classic builder: the child's Parent is ``parent_id``)."""
    lab = engine.labels(kind=engine.KIND_CACHE, exercise=exercise)
    lab.update(
        {CACHE_GROUP_LABEL: group, CACHE_ROLE_LABEL: role, CACHE_AT_LABEL: f"{time.time():.6f}"}
    )
    text = f"FROM {parent_id}\nLABEL " + " ".join(f'"{k}"="{v}"' for k, v in lab.items()) + "\n"
    tag = _cache_tag(exercise, group, role)
    api = engine.client().api
    new_id = None
    for chunk in api.build(
        fileobj=io.BytesIO(text.encode()), tag=tag, rm=True, forcerm=True, decode=True, timeout=120
    ):
        if "error" in chunk:
            raise RuntimeError(f"cache image: {chunk['error']}")
        if isinstance(chunk.get("aux"), dict) and "ID" in chunk["aux"]:
            new_id = chunk["aux"]["ID"]
    if not new_id:
        raise RuntimeError("cache image build returned no id")
    return new_id


def _cache_tag(exercise: str, group: str, role: str) -> str:
    """``shipshape-cache/ex<NN>:...`` for an exercise, ``shipshape-cache/lesson<NN>:...`` for
    a lesson's builds.

    >>> _cache_tag("09", "abc", "final"), _cache_tag("lesson13", "abc", "final")
    ('shipshape-cache/ex09:abc-final', 'shipshape-cache/lesson13:abc-final')
    """
    name = f"ex{exercise}" if exercise.isdigit() else exercise
    return f"{engine.CACHE_REPO}/{name}:{group}-{role}"


def _children(exercise: str, group: str, roles: list[str]) -> dict[str, tuple[str, float, str]]:
    """role -> (id, kept at, parent) of the cache children this content already has, asked
    by tag (an inspect costs the same on any store; a list by label scans every image)."""
    import docker

    api, out = engine.client().api, {}
    for role in roles:
        with contextlib.suppress(docker.errors.NotFound):
            im = api.inspect_image(_cache_tag(exercise, group, role))
            labels = (im.get("Config") or {}).get("Labels") or {}
            at = float(labels.get(CACHE_AT_LABEL, "0") or 0)
            out[role] = (im["Id"], at, im.get("Parent") or "")
    return out


def keep_as_cache(image_id: str, exercise: str) -> list[str]:
    """Keep ``image_id`` (and its build's earlier stages) as layer cache for ``exercise``.

    One entry per content (:func:`group_of`): a build of the same files by another process
    replaces the entry rather than adding one, once the process that made the entry has ended
    (while it lives it may be building on its result; the newer result then just goes).
    Returns the cache tags made (empty when this very build is kept already). The stage tags
    of the build are moved under the cache, so removing the result leaves no stage leftovers.
    """
    import docker

    c = engine.client()
    group = group_of(image_id)
    made: list[str] = []
    stage_ids = _stage_ids_of(image_id)
    jobs = [("final", image_id)] + [(f"stage{n}", sid) for n, (_, sid) in enumerate(stage_ids)]
    have = _children(exercise, group, [role for role, _ in jobs])
    newest = max((at for _, at, _ in have.values()), default=0.0)
    fresh = time.time() - newest < REFRESH_S
    for role, parent in jobs:
        same = role in have and have[role][2] == parent  # this very image is kept already
        if role in have and not same and _owner_may_use(have[role][2]):
            # another live process's result: its next build may be reusing it right now
            # (its own label steps); pruning it then would pull layers from under that build
            continue
        if not (fresh and same):
            _cache_child(parent, exercise, group, role)
            made.append(_cache_tag(exercise, group, role))
    for stage_tag, _ in stage_ids:
        with contextlib.suppress(docker.errors.APIError):
            c.images.remove(stage_tag)  # untag: the cache child keeps the stage's layers
    stages.TAGGED[image_id.split(":")[-1][:12]] = []  # none left to remove
    for role, (old_id, _, _) in have.items():  # replaced: the older child lost its tag
        if _cache_tag(exercise, group, role) in made:
            with contextlib.suppress(docker.errors.APIError):
                if not engine.client().api.inspect_image(old_id).get("RepoTags"):
                    # pruned: an older process's result (its own label steps) goes with it,
                    # down to the content the new entry shares; an image still tagged or
                    # used by a container stops the pruning there
                    c.images.remove(old_id)
    # nothing new: the bounds hold as they did. Eviction lists the cache, and a list scans
    # every image on the engine (about half a second of its CPU on a store of thousands):
    # a burst of checks (a grader, the suite) goes over the bounds by one interval's builds.
    if made and settings.due("evict", settings.build_cache_evict_every_s()):
        evict_cache(exercise)
    return made


def cache_entries() -> list[dict[str, Any]]:
    """The layer cache, one row per kept build, newest first: exercise, group, tags, at, ids."""
    groups: dict[str, dict[str, Any]] = {}
    for im in engine.client().api.images(
        filters={
            "label": [f"{engine.MANAGED_LABEL}=true", f"{engine.KIND_LABEL}={engine.KIND_CACHE}"]
        }
    ):
        labels = im.get("Labels") or {}
        tags = [t for t in im.get("RepoTags") or [] if t != "<none>:<none>"]
        g = labels.get(CACHE_GROUP_LABEL, im["Id"].split(":")[-1][:12])
        row = groups.setdefault(
            g,
            {
                "exercise": labels.get(engine.EXERCISE_LABEL, "?"),
                "group": g,
                "tags": [],
                "ids": [],
                "at": 0.0,
            },
        )
        row["tags"] += tags
        row["ids"].append(im["Id"])
        row["at"] = max(row["at"], float(labels.get(CACHE_AT_LABEL, "0") or 0))
    return sorted(groups.values(), key=lambda r: r["at"], reverse=True)


_HISTORY: dict[str, list[tuple[str, int, bool]]] = {}
_HISTORY_LOADED = False
#: Entries of the on-disk history memo kept (newest last); a few KB per cached build.
HISTORY_MEMO_MAX = 4000


def _history_file():
    return settings.cache_dir() / "image-history.json"


def _load_history() -> None:
    global _HISTORY_LOADED
    if _HISTORY_LOADED:
        return
    _HISTORY_LOADED = True
    with contextlib.suppress(OSError, ValueError, TypeError):
        for k, rows in json.loads(_history_file().read_text()).items():
            _HISTORY.setdefault(k, [(str(a), int(b), bool(c)) for a, b, c in rows])


def _save_history() -> None:
    """Write the memo atomically (a best effort: another process may write it at once)."""
    items = list(_HISTORY.items())[-HISTORY_MEMO_MAX:]
    target = _history_file()
    with contextlib.suppress(OSError):
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(dict(items)))
        os.replace(tmp, target)


def _history(image_id: str) -> list[tuple[str, int, bool]]:
    """(id, size, is a course-independent tagged ancestor) of each layer under ``image_id``.

    An image id is the hash of its content, so its history never changes: it is asked of
    the engine once and remembered on disk (:func:`_save_history`), because eviction runs
    after every new cached build, over every entry, and each check is often its own process
    (the grader, the CLI): asking again cost about 12 ms per cached build, seconds per check.
    Tags of the course's own repositories (``shipshape-*``: temp, stage, cache) never make a
    layer a base: they come and go while the cache is made.
    """
    _load_history()
    if image_id not in _HISTORY:
        rows = []
        for h in engine.client().api.history(image_id):
            tags = [t for t in (h.get("Tags") or []) if not engine._is_course_tag(t)]
            hid = h.get("Id") or ""
            rows.append((hid, int(h.get("Size", 0)), bool(tags) and hid != image_id))
        _HISTORY[image_id] = rows
    return _HISTORY[image_id]


def _own_bytes(image_id: str, seen: set[str]) -> int:
    """Bytes of the layers above the last course-independent tagged ancestor (deduplicated)."""
    total = 0
    for hid, size, is_base in _history(image_id):
        if is_base:
            break  # a base image (python:3.11-slim...): not the cache's bytes
        if hid and hid != "<missing>":
            if hid in seen:
                continue
            seen.add(hid)
        total += size
    return total


def cache_bytes(entries: list[dict[str, Any]] | None = None) -> int:
    """Approximate disk bytes the layer cache holds (its own layers, bases not counted)."""
    seen: set[str] = set()
    known = len(_HISTORY)
    total = sum(_own_bytes(i, seen) for e in (entries or cache_entries()) for i in e["ids"])
    if len(_HISTORY) > known:
        _save_history()
    return total


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


def drop_unused_since(since: float, exercise: str | None = None) -> list[str]:
    """Drop the cached builds (of one exercise or lesson key, or all) nobody used (built or
    reused) since the epoch time ``since``: what a test suite or a class keeps after a run is
    that run's working set, nothing older. Returns the dropped groups. Reuse refreshes an
    entry's time at most once a minute (:data:`REFRESH_S`): one used within a minute before
    ``since`` may go too."""
    dropped = []
    for e in cache_entries():
        if e["at"] < since and exercise in (None, e["exercise"]):
            _drop_entry(e)
            dropped.append(e["group"])
    return dropped


def clear_cache(exercise: str | None = None) -> int:
    """Remove the layer cache (of one exercise, or all). Returns how many builds were dropped."""
    entries = [e for e in cache_entries() if exercise is None or e["exercise"] == exercise]
    for e in entries:
        _drop_entry(e)
    return len(entries)
