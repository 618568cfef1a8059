"""The classic builder's half of :func:`helpers.images.build`: docker-py's build API, its
progress stream read step by step, a deadline, and a cancelled build's leftovers dropped."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import engine
from .buildcancel import drop_unfinished_layer, forget_cancelled_build
from .buildresult import BuildError, BuildEvent, BuildResult, _explain_build_error
from .stages import _tag_stage_leftovers

#: A classic build step's progress line: "Step 3/8 : COPY . .".
STEP_RE = re.compile(r"^Step (\d+)/(\d+) : (.*)")


def build(
    api: Any,
    ctx: Path,
    df: str,
    tag: str | None,
    target: str | None,
    buildargs: dict[str, str] | None,
    all_labels: dict[str, str],
    nocache: bool,
    deadline: float,
    on_event: Callable[[BuildEvent], None] | None,
    stop_when: Callable[[str | None, str], bool] | None,
) -> BuildResult:
    """The classic builder's part of :func:`build`, through docker-py's API."""
    import docker

    start = time.monotonic()
    log: list[str] = []
    events: list[BuildEvent] = []
    image_id: str | None = None
    cached = steps = 0
    current_step: str | None = None
    stopped = False
    ended = False  # the engine ended the build itself (done, or a step failed)
    in_own_steps = False  # a step that carries this process's owner label has begun
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
                ended = True
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
                # the engine adds one LABEL step per label; owner and run sort last
                in_own_steps = m.group(1) == m.group(2) or engine.OWNER_LABEL in m.group(3)
                ev = BuildEvent(text, int(m.group(1)), int(m.group(2)))
            elif "Using cache" in text:
                cached += 1
            events.append(ev)
            if on_event:
                on_event(ev)
            if stop_when is not None and stop_when(current_step, text):
                stopped = True
                break
        else:
            ended = True
    except docker.errors.APIError as exc:
        ended = True
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
        if in_own_steps and not ended:  # Ctrl-C, a deadline, a stop in the owner/run label
            forget_cancelled_build()  # steps: the engine may still commit one, untagged
    text = "".join(log)
    if stopped:
        drop_unfinished_layer(text)
    elif image_id is None:
        raise BuildError(f"Build of {ctx} ended without an image id.", text, current_step)
    return BuildResult(
        stage_images=[] if stopped else _tag_stage_leftovers(image_id, text),
        image_id=image_id or "",
        tag=None if stopped else tag,
        seconds=time.monotonic() - start,
        log=text,
        cached_steps=cached,
        steps=steps,
        events=events,
        stopped=stopped,
    )
