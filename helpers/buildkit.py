"""Builds the classic builder cannot do (``RUN --mount=...`` and other BuildKit-only flags).

DESIGN: builds go through docker-py's API; where a Dockerfile needs BuildKit, the docker CLI's
BuildKit (``docker build`` with ``DOCKER_BUILDKIT=1``, buildx) builds it into the same engine,
with the same labels, and :func:`helpers.images.build` returns the same ``BuildResult``. A
multi-stage answer that installs from the builder through ``RUN --mount=type=bind,from=builder``
is as correct as one that uses ``COPY --from``, so the checks must be able to build it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

from .buildresult import BuildError, BuildEvent, BuildResult, _explain_build_error

BK_STEP_RE = re.compile(r"^#(\d+) \[(?!internal\])([^\]]*)\] (.*)$")
BK_CACHED_RE = re.compile(r"^#(\d+) CACHED\s*$")
BK_ERROR_RE = re.compile(r"^(ERROR: .*|#\d+ ERROR: .*)$")


def needs_buildkit(dockerfile: Path) -> bool:
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


def build(
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
