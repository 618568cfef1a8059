"""Run one ``run:`` step of a learner's workflow the way a runner would, but inside a sandbox.

A learner's workflow is untrusted: its script never runs on the host and never sees the
host's environment or the Docker socket. It runs under ``bash -e -o pipefail`` (as GitHub's
runners do) in a labelled container with a memory, CPU and process limit, no network, and a
deadline. The ``docker`` it calls is a stand-in that answers only the read-only questions a
size gate asks (``docker image inspect --format '{{.Size}}' REF``, ``docker images``), from
sizes the check measured on the real engine beforehand.

Example:
    >>> print(_human(1_234_567_890))
    1.23GB
"""

from __future__ import annotations

import json
from typing import Any

from . import containers
from .workflow import Step, step_env, substitute

RUNNER_IMAGE = "python:3.11-slim"
LIMITS: dict[str, Any] = {
    "mem_limit": "256m",
    "nano_cpus": 1_000_000_000,
    "pids_limit": 128,
    "network_disabled": True,
    "cap_drop": ["ALL"],
    "security_opt": ["no-new-privileges"],
}

#: The ``docker`` the step sees: answers from $SHIPSHAPE_IMAGES ({ref: size in bytes}).
DOCKER_STANDIN = r"""#!/usr/bin/env python3
import json, os, sys
sizes = json.loads(os.environ.get("SHIPSHAPE_IMAGES", "{}"))
args = sys.argv[1:]
def human(n):
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.3g}{unit}"
        n /= 1000
def fmt_of(a):
    for i, w in enumerate(a):
        if w in ("-f", "--format") and i + 1 < len(a):
            return a[i + 1], a[:i] + a[i + 2:]
        if w.startswith("--format="):
            return w.split("=", 1)[1], a[:i] + a[i + 1:]
    return None, a
if args[:2] == ["image", "inspect"] or args[:1] == ["inspect"]:
    fmt, rest = fmt_of(args[2:] if args[0] == "image" else args[1:])
    refs = [w for w in rest if not w.startswith("-")]
    for ref in refs:
        if ref not in sizes:
            print(f"Error: No such image: {ref}", file=sys.stderr)
            sys.exit(1)
        size = sizes[ref]
        if fmt and ".Size" in fmt:
            print(size)
        else:
            print(json.dumps([{"RepoTags": [ref], "Size": size}], indent=4))
    sys.exit(0)
if args[:1] == ["images"] or args[:2] == ["image", "ls"]:
    fmt, rest = fmt_of(args[1:] if args[0] == "images" else args[2:])
    refs = [w for w in rest if not w.startswith("-")]
    for ref, size in sizes.items():
        if refs and not any(ref == r or ref.startswith(r + ":") for r in refs):
            continue
        print(human(size) if fmt and ".Size" in fmt else f"{ref} {human(size)}")
    sys.exit(0)
print(f"docker {' '.join(args[:2])}: not available where the course runs your step "
      "(only `docker image inspect` and `docker images` are)", file=sys.stderr)
sys.exit(127)
"""

_WRAPPER = (
    'mkdir -p /tmp/bin && printf "%s" "$SHIPSHAPE_DOCKER" > /tmp/bin/docker '
    "&& chmod +x /tmp/bin/docker && export PATH=/tmp/bin:$PATH "
    "&& unset SHIPSHAPE_DOCKER "
    '&& exec bash --noprofile --norc -e -o pipefail -c "$SHIPSHAPE_STEP"'
)


def _human(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.3g}{unit}"
        n /= 1000
    return f"{n:.3g}TB"


def run_step(
    doc: dict[str, Any],
    step: Step,
    image_repo: str,
    sha: str,
    sizes: dict[str, int],
    timeout_s: float = 60,
) -> dict[str, Any]:
    """Run ``step``'s script with ``IMAGE=image_repo`` in the sandbox; exit code and output.

    Args:
        doc: the parsed workflow (for its ``env:`` at workflow and job level).
        step: a step with ``run:``.
        image_repo: what ``$IMAGE`` is for this run.
        sha: what ``${{ github.sha }}`` is.
        sizes: the images the stand-in ``docker`` knows, ``{ref: bytes}``.
        timeout_s: the step is killed after this.
    """
    env = step_env(doc, step, {"IMAGE": image_repo}, sha)
    ctx = {"github.sha": sha, **{f"env.{k}": v for k, v in env.items()}}
    ctx.update({"github.repository": env["GITHUB_REPOSITORY"], "github.event_name": "push"})
    unknown: list[str] = []
    script = substitute(step.run, ctx, unknown)
    environment = {
        **env,
        "SHIPSHAPE_STEP": script,
        "SHIPSHAPE_DOCKER": DOCKER_STANDIN,
        "SHIPSHAPE_IMAGES": json.dumps(sizes),
    }
    with containers.running(
        RUNNER_IMAGE, ["bash", "-c", _WRAPPER], environment=environment, **LIMITS
    ) as ctr:
        try:
            info = containers.wait_for_exit(ctr, timeout_s=timeout_s)
            code: int | None = info.exit_code
        except containers.WaitError:
            code = None
        out = ctr.logs(stdout=True, stderr=True).decode("utf-8", "replace")
    return {
        "exit_code": code if code is not None else 124,
        "output": out[-800:] + ("" if code is not None else f"\n(killed after {timeout_s:.0f} s)"),
        "unknown_expressions": sorted(set(unknown)),
    }
