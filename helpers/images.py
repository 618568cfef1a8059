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

import io
import json
import re
import tarfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import engine, settings

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


def layers(image: str) -> list[dict[str, Any]]:
    """The image's layer history, oldest first: created_by, size_bytes, created, empty.

    ``empty`` layers (ENV, LABEL, CMD, ...) change metadata only and add no bytes.
    """
    hist = engine.client().images.get(image).history()
    rows = []
    for h in reversed(hist):
        created_by = (h.get("CreatedBy") or "").replace("/bin/sh -c #(nop) ", "").strip()
        created_by = re.sub(r"^/bin/sh -c ", "RUN ", created_by)
        rows.append(
            {
                "created_by": created_by,
                "size_bytes": int(h.get("Size", 0)),
                "created": h.get("Created"),
                "empty": int(h.get("Size", 0)) == 0,
            }
        )
    return rows


@dataclass
class Efficiency:
    """dive-style efficiency: bytes the final filesystem needs / bytes stored across layers."""

    needed_bytes: int
    stored_bytes: int
    wasted_bytes: int
    score: float
    #: the paths wasting most: (path, wasted bytes, layers it appears in, deleted at the end)
    top_waste: list[tuple[str, int, int, bool]]
    layer_files: list[dict[str, int]] = field(repr=False, default_factory=list)


WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"


def _layer_entries(fileobj: io.BufferedIOBase) -> dict[str, int]:
    """path -> size for one layer tar; deletions (whiteouts) as -1; opaque dirs as -2."""
    out: dict[str, int] = {}
    with tarfile.open(fileobj=fileobj, mode="r|") as tf:
        for m in tf:
            name = m.name[2:] if m.name.startswith("./") else m.name.lstrip("/")
            base = name.rsplit("/", 1)[-1]
            parent = name.rsplit("/", 1)[0] if "/" in name else ""
            if base == OPAQUE:
                out[parent + "/" if parent else ""] = -2
            elif base.startswith(WHITEOUT):
                out[(parent + "/" if parent else "") + base[len(WHITEOUT) :]] = -1
            elif m.isfile() or m.issym() or m.islnk():
                out[name] = m.size
    return out


def layer_files(image: str) -> list[dict[str, int]]:
    """Each layer's files (path -> bytes, -1 for a deletion), oldest layer first.

    Reads ``docker save`` as a stream, so memory stays small for a 1 GB image.
    """
    raw = engine.client().api.get_image(image)
    by_name: dict[str, dict[str, int]] = {}
    manifest = None
    stream = IterStream(raw)
    with tarfile.open(fileobj=stream, mode="r|") as outer:
        for m in outer:
            if not m.isfile():
                continue
            f = outer.extractfile(m)
            if f is None:
                continue
            if m.name == "manifest.json":
                manifest = json.load(f)
                continue
            if m.name.endswith((".json",)) or m.name in (
                "index.json",
                "oci-layout",
                "repositories",
            ):
                continue
            head = f.read(512)
            if len(head) < 512 or not _looks_like_tar(head):
                continue
            by_name[m.name] = _layer_entries(_Chain(head, f))
    if not manifest:
        raise RuntimeError(f"docker save of {image} had no manifest.json")
    return [by_name.get(p, {}) for p in manifest[0]["Layers"]]


def _looks_like_tar(head: bytes) -> bool:
    return head[257:262] == b"ustar" or head == b"\0" * 512


class _Chain(io.RawIOBase):
    """A file object that replays ``head`` then continues reading ``rest``."""

    def __init__(self, head: bytes, rest: Any):
        self.head, self.rest = head, rest

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        if self.head:
            n = min(len(b), len(self.head))
            b[:n] = self.head[:n]
            self.head = self.head[n:]
            return n
        data = self.rest.read(len(b))
        b[: len(data)] = data
        return len(data)


class IterStream(io.RawIOBase):
    """A readable file object over an iterator of byte chunks."""

    def __init__(self, chunks: Iterable[bytes]):
        self.it = iter(chunks)
        self.buf = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while not self.buf:
            try:
                self.buf = next(self.it)
            except StopIteration:
                return 0
        n = min(len(b), len(self.buf))
        b[:n] = self.buf[:n]
        self.buf = self.buf[n:]
        return n


def final_files(per_layer: list[dict[str, int]]) -> dict[str, int]:
    """Merge layers (oldest first) into the final filesystem: path -> bytes.

    A whiteout (-1) deletes the path and everything below it, never a mere name prefix
    (deleting ``.env`` leaves ``.env.production``); an opaque directory (-2) hides every
    earlier entry below it.

    >>> sorted(final_files([{".env": 1, ".env.production": 2, "d/x": 3}, {".env": -1, "d/": -2}]))
    ['.env.production']
    """
    final: dict[str, int] = {}
    for layer in per_layer:
        for path, size in layer.items():
            if size in (-1, -2):
                prefix = path if size == -2 else path + "/"
                for p in [p for p in final if p == path or p.startswith(prefix)]:
                    del final[p]
                continue
            final[path] = size
    return final


def efficiency_from_layers(per_layer: list[dict[str, int]], top: int = 10) -> Efficiency:
    """Compute efficiency from per-layer file maps (pure logic, unit-tested without an engine).

    A path's *needed* bytes are its size in the final filesystem (0 if a later layer deleted
    it); its *stored* bytes are the sum over every layer that wrote it. Wasted = stored -
    needed: a file overwritten or deleted in a later layer still ships in the earlier one.

    Example:
        >>> e = efficiency_from_layers([{"a": 100, "b": 50}, {"a": -1}])
        >>> (e.needed_bytes, e.stored_bytes, e.wasted_bytes)
        (50, 150, 100)
    """
    stored: dict[str, int] = {}
    count: dict[str, int] = {}
    for layer in per_layer:
        for path, size in layer.items():
            if size >= 0:
                stored[path] = stored.get(path, 0) + size
                count[path] = count.get(path, 0) + 1
    final = final_files(per_layer)
    needed = sum(final.values())
    total = sum(stored.values())
    waste = [
        (p, stored[p] - final.get(p, 0), count[p], final.get(p, 0) == 0 and stored[p] > 0)
        for p in stored
        if stored[p] - final.get(p, 0) > 0
    ]
    waste.sort(key=lambda t: t[1], reverse=True)
    return Efficiency(
        needed_bytes=needed,
        stored_bytes=total,
        wasted_bytes=total - needed,
        score=(needed / total) if total else 1.0,
        top_waste=waste[:top],
        layer_files=per_layer,
    )


def efficiency(image: str, top: int = 10) -> Efficiency:
    """dive-style efficiency of a local image (streams ``docker save``)."""
    return efficiency_from_layers(layer_files(image), top=top)


def remove(image: str) -> bool:
    """Remove an image the helpers built (checked by label). Returns False if it was absent."""
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
    # By name, not id: another tag on the same image (identical content built twice) stays.
    try:
        c.images.remove(image)
    except docker.errors.APIError:  # a stopped container still uses it
        c.images.remove(image, force=True)
    try:
        c.images.get(im.id)
    except docker.errors.ImageNotFound:  # the image itself is gone: its stage images go too
        remove_stage_images(im.id)
    return True
