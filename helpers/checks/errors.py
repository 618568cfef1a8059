"""What an error during a check means, decided in one place.

- :class:`NotJudged`: an item cannot be judged because something the learner can fix failed;
- :func:`explain`: the learner-facing reason and hint for an expected failure (a build
  error, a container that exited, a Compose or YAML error, a timeout, a missing or unreadable
  file, the engine refusing a bad ``CMD``), or None when the error is not expected;
- :func:`could_not_run`: the reason the whole check cannot run (no engine, no folder).

Anything these do not recognise is a bug in the check (:mod:`helpers.checks.rubric` reports
it as an internal error, with its traceback in the JSON).

Example:
    >>> explain(FileNotFoundError("no such file: app.py")).reason
    'no such file: app.py'
    >>> explain(KeyError("x")) is None
    True
"""

from __future__ import annotations

import subprocess
from typing import Any

from .base import CheckCannotRun


class NotJudged(Exception):
    """An item cannot be judged: a fact it needs failed for a reason the learner can fix."""

    def __init__(self, reason: str, hint: str = "", evidence: dict[str, Any] | None = None):
        super().__init__(reason)
        self.reason = reason
        self.hint = hint or "Fix the error above, then run the check again."
        self.evidence = evidence or {}


def _first_line(text: str, limit: int = 300) -> str:
    lines = [ln for ln in str(text).strip().splitlines() if ln.strip()]
    return (lines[0] if lines else str(text))[:limit]


def explain(exc: BaseException) -> NotJudged | None:
    """The learner-facing reason for an expected failure, or None when it is not expected."""
    import docker
    import yaml

    from .. import compose, containers, images

    if isinstance(exc, NotJudged):
        return exc
    if isinstance(exc, images.BuildError):
        text = str(exc)
        message, _, hint = text.partition("\nHint: ")
        return NotJudged(
            f"the image did not build: {_first_line(message)}",
            hint.strip() or "Read the build log in the evidence.",
            {"log_tail": exc.log[-2000:]},
        )
    if isinstance(exc, containers.WaitError):
        return NotJudged(
            _first_line(str(exc)),
            "The container did not do what was expected in time: read its exit code and "
            "last logs in the evidence (a program that crashes at start exits at once).",
            {**exc.evidence, "detail": str(exc)[-1500:]},
        )
    if isinstance(exc, compose.ComposeError):
        return NotJudged(
            _first_line(str(exc)),
            "Fix what Compose reports (in the evidence): `docker compose config` shows the "
            "same error.",
            {"compose_output": (exc.output or str(exc))[-1500:]},
        )
    if isinstance(exc, yaml.YAMLError):
        return NotJudged(
            f"the YAML does not parse: {_first_line(str(exc), 200)}",
            "Fix the YAML: indent with spaces, `key: value`, list entries with `- `.",
            {"error": str(exc)[-800:]},
        )
    if isinstance(exc, (TimeoutError, subprocess.TimeoutExpired)):
        return NotJudged(
            f"it did not finish in time: {_first_line(str(exc))}",
            "Something waited forever (a prompt, a sleep, a hung download): read the evidence.",
        )
    if isinstance(exc, (FileNotFoundError, IsADirectoryError, NotADirectoryError)):
        return NotJudged(_first_line(str(exc)), "Put the file back (see the exercise README).")
    if isinstance(exc, (PermissionError, UnicodeDecodeError)):
        return NotJudged(
            f"a file cannot be read: {_first_line(str(exc))}",
            "Make every file in the folder readable text (`chmod a+r FILE`); the check "
            "reads it as the engine's builder would.",
        )
    if isinstance(exc, ValueError) and type(exc).__module__.endswith("dockerfile"):
        return NotJudged(f"the Dockerfile cannot be read: {exc}", "Fix the Dockerfile.")
    if isinstance(exc, docker.errors.APIError) and not _engine_gone(exc):
        why = str(getattr(exc, "explanation", "") or exc)
        hint = "The engine refused the request: read the reason in the evidence."
        if "executable file not found" in why or "no such file or directory" in why:
            hint = (
                "The container could not start its command: CMD/ENTRYPOINT names a program "
                "the image does not have. Check the spelling (`python`, not `pyhton`) and "
                'use the exec form, e.g. CMD ["python", "app.py"].'
            )
        return NotJudged(f"the engine refused: {_first_line(why)}", hint, {"error": why[-800:]})
    return None


def _engine_gone(exc: BaseException) -> bool:
    import requests

    return isinstance(exc, requests.exceptions.ConnectionError) or (
        "connection" in str(exc).lower() and "refused" in str(exc).lower()
    )


def could_not_run(exc: BaseException) -> str | None:
    """The reason the whole check cannot run (no engine, no folder), else None."""
    import requests

    from .. import engine

    if isinstance(exc, (CheckCannotRun, engine.EngineUnavailable)):
        return str(exc)
    if isinstance(exc, requests.exceptions.ConnectionError):
        return f"The Docker engine stopped answering during the check. {engine.START_HINT}"
    return None
