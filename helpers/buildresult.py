"""What a build returns or raises: shared by the classic builder (:mod:`helpers.images`) and
BuildKit (:mod:`helpers.buildkit`); import them from :mod:`helpers.images` as before."""

from __future__ import annotations

from dataclasses import dataclass, field


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
    #: the caller's ``stop_when`` ended the build early: ``log`` runs up to there, no image
    stopped: bool = False


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
