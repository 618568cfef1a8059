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
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

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
from .stages import _tag_stage_leftovers, remove_stage_images

STEP_RE = re.compile(r"^Step (\d+)/(\d+) : (.*)")


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
    if _needs_buildkit(ctx / df):  # RUN --mount & co: the classic builder cannot build it
        return _build_with_buildkit(
            ctx, df, tag, target, buildargs, all_labels, nocache, deadline, on_event
        )
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


BK_STEP_RE = re.compile(r"^#(\d+) \[(?!internal\])([^\]]*)\] (.*)$")
BK_CACHED_RE = re.compile(r"^#(\d+) CACHED\s*$")
BK_ERROR_RE = re.compile(r"^(ERROR: .*|#\d+ ERROR: .*)$")


def _needs_buildkit(dockerfile: Path) -> bool:
    from .dockerfile import Dockerfile

    try:
        return Dockerfile.from_text(dockerfile.read_text()).needs_buildkit()
    except Exception:
        return False  # the classic builder reports what is wrong with it


def buildkit_steps(log: str) -> list[tuple[str, bool]]:
    """(instruction, from cache) per step of a BuildKit ``--progress=plain`` log, in order.

    >>> buildkit_steps("#4 [b 1/2] FROM docker.io/x\\n#4 CACHED\\n#5 [b 2/2] RUN pip i\\n#5 DONE 1s\\n")
    [('FROM docker.io/x', True), ('RUN pip i', False)]
    """
    order: dict[str, str] = {}
    cached: set[str] = set()
    for line in log.splitlines():
        m = BK_STEP_RE.match(line.strip())
        if m and m.group(1) not in order:
            order[m.group(1)] = m.group(3).strip()
        c = BK_CACHED_RE.match(line.strip())
        if c:
            cached.add(c.group(1))
    return [(text, n in cached) for n, text in order.items()]


def _build_with_buildkit(
    ctx: Path,
    df: str,
    tag: str | None,
    target: str | None,
    buildargs: dict[str, str] | None,
    labels: dict[str, str],
    nocache: bool,
    deadline: float,
    on_event: Callable[[BuildEvent], None] | None,
) -> BuildResult:
    """Build with the engine's BuildKit through the docker CLI (DESIGN: buildx when present).

    Used only for Dockerfiles that need it (``RUN --mount=...``); the image lands in the
    engine's image store with the same labels as a classic build.
    """
    import os
    import shutil
    import subprocess
    import tempfile

    docker_cli = shutil.which("docker")
    if (
        docker_cli is None
        or subprocess.run(
            [docker_cli, "buildx", "version"], capture_output=True, timeout=30
        ).returncode
    ):
        raise BuildError(
            f"Build of {ctx} not started: its Dockerfile uses a BuildKit-only flag (such as "
            "`RUN --mount=...`) and this machine has no docker buildx.\nHint: Install "
            "docker-buildx, or write the step without it (`COPY --from=<stage> ...`)."
        )
    with tempfile.TemporaryDirectory(prefix="shipshape-bk-") as tmp:
        iid = Path(tmp) / "iid"
        cmd = [docker_cli, "build", "--progress=plain", "--iidfile", str(iid), "-f", str(ctx / df)]
        cmd += ["-t", tag] if tag else []
        cmd += ["--target", target] if target else []
        cmd += ["--no-cache"] if nocache else []
        for k, v in (buildargs or {}).items():
            cmd += ["--build-arg", f"{k}={v}"]
        for k, v in labels.items():
            cmd += ["--label", f"{k}={v}"]
        cmd.append(str(ctx))
        env = {**os.environ, "DOCKER_BUILDKIT": "1"}
        start = time.monotonic()
        log: list[str] = []
        events: list[BuildEvent] = []
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
        current: str | None = None
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                log.append(line)
                m = BK_STEP_RE.match(line.strip())
                if m:
                    current = m.group(3).strip()
                ev = BuildEvent(line, error=bool(BK_ERROR_RE.match(line.strip())))
                events.append(ev)
                if on_event:
                    on_event(ev)
                if time.monotonic() - start > deadline:
                    raise BuildError(
                        f"Build of {ctx} passed its {deadline:.0f}s deadline at {current!r} "
                        "and was cancelled.",
                        "".join(log),
                        current,
                    )
            proc.wait(timeout=max(1.0, deadline - (time.monotonic() - start)))
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        text = "".join(log)
        if proc.returncode != 0 or not iid.is_file():
            errors = [ln.strip() for ln in log if BK_ERROR_RE.match(ln.strip())]
            msg = errors[-1] if errors else text.strip().splitlines()[-1:] or ["(no output)"]
            raise BuildError(
                _explain_build_error(
                    str(msg).replace(
                        "did not complete successfully: exit code", "returned a non-zero code:"
                    ),
                    current,
                ),
                text,
                current,
            )
        image_id = iid.read_text().strip()
    steps = buildkit_steps(text)
    return BuildResult(
        image_id=image_id,
        tag=tag,
        seconds=time.monotonic() - start,
        log=text,
        cached_steps=sum(1 for _, c in steps if c),
        steps=len(steps),
        events=events,
    )


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
        from .buildcache import _drop_entry, cache_entries, keep_as_cache

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
