"""Earlier build stages the classic builder leaves behind, tagged so they can be removed.

Multi-stage builds leave one untagged image per earlier stage (the stage's last step). They are
not in the result's parent chain, so removing the result keeps them, and they carry the base
image's labels, not ours: the helpers tag them ``shipshape-stage/<run>-<result>:stageN``.
"""

from __future__ import annotations

import re

from . import engine

STAGE_REPO = f"{engine.TAG_PREFIX}stage"
STEP_IMAGE_RE = re.compile(r"^ ---> ([0-9a-f]{12})\s*$", re.M)
#: short result id -> (stage tag, stage image id) of the builds this process tagged, read
#: (once) when the result is kept as layer cache, so no list of every image is needed there.
TAGGED: dict[str, list[tuple[str, str]]] = {}


def _ancestry(image_id: str) -> set[str]:
    """Short ids of ``image_id`` and every image below it: one history call (was an inspect
    per layer, thousands per suite run)."""
    api = engine.client().api
    try:
        ids = [h.get("Id") or "" for h in api.history(image_id)]
    except Exception:
        ids = []
    return {i.split(":")[-1][:12] for i in [image_id, *ids] if i.startswith("sha256:")}


def _tag_stage_leftovers(image_id: str, log: str) -> list[str]:
    """Tag the last image of every earlier build stage, so removing the result removes them.

    Multi-stage builds with the classic builder leave one untagged image per earlier stage
    (the stage's last step). They are not in the result's parent chain, so ``docker rmi`` of
    the result keeps them, and they carry the base image's labels, not ours.
    """
    ids = STEP_IMAGE_RE.findall(log)
    keep = _ancestry(image_id)
    side = [i for i in dict.fromkeys(ids) if i not in keep]
    record = TAGGED.setdefault(image_id.split(":")[-1][:12], [])
    record.clear()
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
            found = api.inspect_image(short)
            repo = _stage_repo(image_id)
            ours = [t for t in found.get("RepoTags") or [] if t.startswith(f"{repo}:")]
            if ours:  # the same build again (same result): its stage is tagged already
                tags += ours
                record += [(t, found["Id"]) for t in ours]
                continue
            if found.get("RepoTags"):
                continue  # tagged by someone: not ours to track
            api.tag(short, repo, tag=f"stage{n}")
            tags.append(f"{repo}:stage{n}")
            record.append((f"{repo}:stage{n}", found["Id"]))
        except Exception:
            continue
    return tags


def _stage_repo(image_id: str) -> str:
    """``shipshape-stage/<run id>-<result id>``: findable by run (clean) and by result (remove)."""
    return f"{STAGE_REPO}/{engine.RUN_ID.lower()}-{image_id.split(':')[-1][:12]}"


def remove_stage_images(image_id: str) -> None:
    """Remove the tagged earlier-stage images of the build that produced ``image_id``.

    A build in this process recorded them (:data:`TAGGED`): removed by tag, no listing. Else
    the stage images are listed (every image on the engine is scanned: slow on a big store).
    """
    c = engine.client()
    short = image_id.split(":")[-1][:12]
    if short in TAGGED:
        for tag, _ in TAGGED.pop(short):
            try:
                c.images.remove(tag, force=True)
            except Exception:
                continue
        return
    for row in engine.image_rows():
        if not any(
            t.startswith(f"{STAGE_REPO}/") and t.split(":")[0].endswith(f"-{short}")
            for t in engine._tags(row)
        ):
            continue
        try:
            c.images.remove(row["Id"], force=True)
        except Exception:
            continue
