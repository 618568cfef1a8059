"""Build the sandbox image offline from the course's own Debian base.

``docker buildx build`` (BuildKit: bind-mounted .debs, cache mounts, an optional secret) with
two contexts: the course checkout and ``debs`` = the Engine 26 packages that
``scripts/install-engine.sh`` fetched. Layers are cached by the engine's BuildKit; the order
(apt, then pip from pyproject.toml, then the course files) keeps a course edit to seconds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from . import sandbox

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "hub" / "image" / "Dockerfile"
DEFAULT_TAG = "shipshape-hub/sandbox:latest"
DEFAULT_BASE = "debian:bookworm"
DEBS_ENV = "SHIPSHAPE_ENGINE_DEBS"


def debs_dir() -> Path:
    """Where the engine's .debs are (``$SHIPSHAPE_ENGINE_DEBS``, else install-engine.sh's cache)."""
    state = os.environ.get("SHIPSHAPE_ENGINE_STATE", "/var/cache/shipshape-engine")
    return Path(os.environ.get(DEBS_ENV, Path(state) / "debs"))


def missing_prerequisites(base: str = DEFAULT_BASE) -> list[str]:
    """What stops a build here (empty when it can run), each with what to do."""
    out = []
    if shutil.which("docker") is None:
        out.append("no docker CLI")
        return out
    if subprocess.run(["docker", "buildx", "version"], capture_output=True).returncode != 0:
        out.append("docker buildx (BuildKit) is missing: install docker-buildx")
    d = debs_dir()
    if not list(d.glob("docker.io_*.deb")):
        out.append(
            f"no Engine .debs in {d}: run `sudo bash scripts/install-engine.sh` on a host without an engine, or set {DEBS_ENV}"
        )
    if subprocess.run(["docker", "image", "inspect", base], capture_output=True).returncode != 0:
        out.append(f"base image {base} is not on the engine: run `python -m helpers images {base}`")
    return out


def build(
    tag: str = DEFAULT_TAG,
    base: str = DEFAULT_BASE,
    instance: str = "build",
    on_line: Callable[[str], None] | None = None,
    timeout_s: float = 1800,
) -> float:
    """Build the image; returns seconds. Raises RuntimeError with the log's tail on failure."""
    problems = missing_prerequisites(base)
    if problems:
        raise RuntimeError("cannot build the sandbox image: " + "; ".join(problems))
    cmd = [
        "docker",
        "buildx",
        "build",
        "--progress=plain",
        "--load",
        "-f",
        str(DOCKERFILE),
        "-t",
        tag,
        "--build-arg",
        f"BASE_IMAGE={base}",
        "--build-context",
        f"debs={debs_dir()}",
    ]
    for k, v in sandbox.labels(instance, kind="hub-image").items():
        if k != sandbox.RUN:  # the image outlives any one hub: it is kept like a base image
            cmd += ["--label", f"{k}={v}"]
    ca = os.environ.get("SHIPSHAPE_EXTRA_CA_CERTS", "").strip()
    if ca:
        if not Path(ca).is_file():
            raise RuntimeError(f"SHIPSHAPE_EXTRA_CA_CERTS={ca} but no such file")
        cmd += ["--secret", f"id=extra_ca,src={ca}"]
    cmd.append(str(ROOT))
    before = _image_id(tag)
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    tail: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        tail = [*tail[-39:], line.rstrip()]
        if on_line:
            on_line(line.rstrip())
        if time.monotonic() - t0 > timeout_s:
            proc.kill()
            raise RuntimeError(f"sandbox image build passed its {timeout_s:.0f}s deadline")
    if proc.wait() != 0:
        raise RuntimeError("sandbox image build failed:\n" + "\n".join(tail[-25:]))
    took = time.monotonic() - t0
    if before and before != _image_id(tag):
        # the tag moved (BuildKit stamps each image with its build time, so even a fully
        # cached rebuild is a new image): the old one is untagged and nobody's, unless a
        # sandbox still runs from it (then the engine refuses, and it stays for that sandbox)
        subprocess.run(["docker", "image", "rm", before], capture_output=True)
    return took


def _image_id(tag: str) -> str:
    """The id ``tag`` names now ("" when there is none)."""
    out = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{.Id}}", tag], capture_output=True, text=True
    )
    return out.stdout.strip() if out.returncode == 0 else ""
