"""Make the official base images the course uses present, with or without a registry.

Resolution order for each image: already present -> ``docker pull`` -> load from a bundle
tarball -> build an offline replica from Debian's packages (``images/replicas/``). Replicas
carry the official tag, so course Dockerfiles stay textbook-exact, and a label saying what
they are. Images that cannot be had offline (alpine, ubuntu) are reported as such.

When ``$SHIPSHAPE_EXTRA_CA_CERTS`` names a PEM bundle (a corporate TLS proxy), each image
with pip gets a thin "trust" layer that sets ``PIP_CERT`` to that bundle, so
``pip install`` inside course builds works without editing any Dockerfile.

Example:
    >>> from helpers import baseimages
    >>> [i.name for i in baseimages.CATALOG][:2]
    ['debian:bookworm-slim', 'debian:bookworm']
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from . import engine, settings
from .baselayers import (  # the thin layers over a present base image
    CA_LABEL,
    _ca_digest,
    apply_extra_ca,
    apply_package_cache,
    remove_package_cache,
)

MB = 1000 * 1000


@dataclass(frozen=True)
class BaseImage:
    """One image the course uses, with the size its documentation claims."""

    name: str
    documented_bytes: int | None  # the lesson's (or Docker Hub's) claim; None if none
    documented_source: str
    offline: bool  # can an offline replica be built here?
    has_pip: bool = False
    note: str = ""


CATALOG: tuple[BaseImage, ...] = (
    BaseImage("debian:bookworm-slim", 80 * MB, "lesson table (~80 MB)", True),
    BaseImage("debian:bookworm", 117 * MB, "official image, amd64 (~117 MB)", True),
    BaseImage("python:3.11-slim", 150 * MB, "lesson table (~150 MB)", True, has_pip=True),
    BaseImage("python:3.11", 1000 * MB, "lesson table (~1 GB)", True, has_pip=True),
    BaseImage("postgres:15-bookworm", None, "", True),
    BaseImage(
        "python:3.11-alpine",
        50 * MB,
        "lesson table (~50 MB)",
        False,
        has_pip=True,
        note="musl-based; no offline replica (Alpine's packages are not reachable here)",
    ),
    BaseImage(
        "alpine:3.19",
        7 * MB,
        "lesson table (~7 MB)",
        False,
        note="no offline replica (Alpine's packages are not reachable here)",
    ),
    BaseImage(
        "ubuntu:22.04",
        77 * MB,
        "lesson table (~77 MB)",
        False,
        note="no offline replica (Ubuntu's archive is not reachable here)",
    ),
)

#: The images every lesson needs; the optional ones are shown, never required.
REQUIRED = tuple(i.name for i in CATALOG if i.offline)

#: The package-cache layer (see :mod:`helpers.pkgcache`): its config digest, and the image below.
REPLICA_LABEL = f"{engine.LABEL_PREFIX}.replica"


def catalog_entry(name: str) -> BaseImage:
    for item in CATALOG:
        if item.name == name:
            return item
    raise KeyError(f"{name} is not one of the course's base images: {[i.name for i in CATALOG]}")


@dataclass
class ImageStatus:
    """Where one base image came from and what it measures."""

    name: str
    route: str  # local | pulled | bundle | replica | unavailable
    present: bool
    size_bytes: int | None
    documented_bytes: int | None
    documented_source: str
    replica: bool
    seconds: float
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _get(name: str) -> Any | None:
    import docker

    try:
        return engine.client().images.get(name)
    except docker.errors.ImageNotFound:
        return None


def _status(entry: BaseImage, route: str, t0: float, detail: str = "") -> ImageStatus:
    im = _get(entry.name)
    return ImageStatus(
        name=entry.name,
        route=route if im is not None else "unavailable",
        present=im is not None,
        size_bytes=int(im.attrs["Size"]) if im is not None else None,
        documented_bytes=entry.documented_bytes,
        documented_source=entry.documented_source,
        replica=bool(im is not None and im.labels.get(REPLICA_LABEL) == "true"),
        seconds=round(time.monotonic() - t0, 2),
        detail=detail or entry.note,
    )


def try_pull(name: str, timeout_s: float = 120.0) -> tuple[bool, str]:
    """``docker pull`` with a deadline. Returns (ok, reason)."""
    if os.environ.get("SHIPSHAPE_OFFLINE") == "1":
        return False, "SHIPSHAPE_OFFLINE=1: not asking a registry"
    out: dict[str, Any] = {}

    def worker() -> None:
        try:
            repo, _, tag = name.partition(":")
            engine.client().images.pull(repo, tag=tag or "latest")
            out["ok"] = True
        except Exception as exc:
            out["err"] = str(exc).splitlines()[0][:200]

    th = threading.Thread(target=worker, daemon=True)
    th.start()
    th.join(timeout_s)
    if th.is_alive():
        return False, f"pull did not finish within {timeout_s:.0f}s"
    return bool(out.get("ok")), out.get("err", "")


def bundle_path() -> Path:
    """Default bundle tarball: ``$SHIPSHAPE_BUNDLE`` or ``<cache>/base-images.tar``."""
    return Path(os.environ.get("SHIPSHAPE_BUNDLE", settings.cache_dir() / "base-images.tar"))


def bundle_save(path: str | Path | None = None, names: list[str] | None = None) -> dict[str, Any]:
    """Write every present course base image into one tarball (``docker save a b c``).

    For instructors: run once where images are available, copy the file to each laptop,
    then ``python -m helpers bundle load``.
    """
    target = Path(path) if path else bundle_path()
    present = [n for n in (names or REQUIRED) if _get(n) is not None]
    if not present:
        raise RuntimeError(
            "None of the course's base images is present; run `python -m helpers images` first."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    api = engine.client().api
    t0 = time.monotonic()
    tmp = target.with_suffix(target.suffix + ".part")
    resp = api._get(api._url("/images/get"), params={"names": present}, stream=True)
    api._raise_for_status(resp)
    with open(tmp, "wb") as fh:
        for chunk in resp.iter_content(1 << 20):
            fh.write(chunk)
    tmp.replace(target)
    return {
        "path": str(target),
        "images": present,
        "bytes": target.stat().st_size,
        "seconds": round(time.monotonic() - t0, 1),
    }


def bundle_load(path: str | Path | None = None) -> list[str]:
    """Load a bundle tarball written by :func:`bundle_save`; returns the tags loaded."""
    source = Path(path) if path else bundle_path()
    if not source.is_file():
        raise FileNotFoundError(
            f"No bundle at {source}. Ask your instructor for base-images.tar or pass its path."
        )
    with open(source, "rb") as fh:
        loaded = engine.client().images.load(fh)
    return sorted({t for im in loaded for t in im.tags})


def build_replica(
    name: str, on_line: Callable[[str], None] | None = None, timeout_s: float = 3600
) -> tuple[bool, str]:
    """Build the offline replica of ``name`` with ``images/replicas/build-replica.sh``."""
    script = settings.repo_root() / "images" / "replicas" / "build-replica.sh"
    if not script.is_file():
        return False, f"missing {script}"
    # its own process group: on the deadline the whole tree goes (the `docker build` the
    # script started too, not only bash), and the deadline is checked even when no line comes
    proc = subprocess.Popen(
        ["bash", str(script), name],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
        start_new_session=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    tail: list[str] = []
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False, f"replica build passed its {timeout_s:.0f}s deadline"
            try:
                line = lines.get(timeout=min(left, 5.0))
            except queue.Empty:
                continue
            if line is None:
                break
            tail = [*tail[-29:], line.rstrip()]
            if on_line:
                on_line(line.rstrip())
        rc = proc.wait()
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return rc == 0, "" if rc == 0 else "\n".join(tail[-8:])


def _build_replica_on_plain_bases(
    name: str, on_line: Callable[[str], None] | None
) -> tuple[bool, str]:
    """:func:`build_replica`, with the package-cache layer off every base image meanwhile.

    A replica is built FROM other course images (python:3.11-slim FROM debian:bookworm-slim).
    Built on the package-cache layer, it would inherit that layer's pip index and apt proxy
    for good (the cache's address baked into a base image) and its labels, so it could never be
    told apart from the layer. The layers go back on once the replica is built.
    """
    from . import pkgcache

    stripped = [e.name for e in CATALOG if e.offline and remove_package_cache(e.name)]
    try:
        return build_replica(name, on_line)
    finally:
        cfg = pkgcache.config()
        for other in stripped:
            if cfg is not None:
                with contextlib.suppress(Exception):
                    apply_package_cache(other, cfg)


def ensure(
    name: str, on_line: Callable[[str], None] | None = None, allow_replica: bool = True
) -> ImageStatus:
    """Make one base image present by the first route that works; report the route taken."""
    entry = catalog_entry(name)
    t0 = time.monotonic()
    say = on_line or (lambda s: None)
    route, detail = "local", ""
    if _get(name) is None:
        ok, why = try_pull(name)
        route = "pulled"
        if not ok:
            say(f"{name}: pull failed ({why})")
            detail = f"pull: {why}"
            route = ""
            bp = bundle_path()
            if bp.is_file():
                try:
                    if name in bundle_load(bp):
                        route = "bundle"
                except Exception as exc:
                    detail += f"; bundle: {exc}"
            if not route and entry.offline and allow_replica:
                say(f"{name}: building offline replica (first time only)")
                ok, why = _build_replica_on_plain_bases(name, on_line)
                route = "replica" if ok else ""
                if not ok:
                    detail += f"; replica: {why}"
            if not route:
                return _status(entry, "unavailable", t0, detail if entry.offline else entry.note)
    ca = settings.extra_ca_file()
    if ca is not None and entry.has_pip:
        cur = _get(name)
        if cur is not None and cur.labels.get(CA_LABEL) != _ca_digest(ca):
            remove_package_cache(name)  # the trust layer goes below the package-cache layer
        if apply_extra_ca(name, ca):
            say(f"{name}: added trust layer for {ca}")
    from . import pkgcache

    cfg = pkgcache.config()
    if cfg is not None and entry.offline:
        if apply_package_cache(name, cfg):
            say(f"{name}: pip and apt now use the package cache ({cfg.pip_index_url})")
    elif remove_package_cache(name):
        say(f"{name}: package-cache layer taken off ({pkgcache.ENV} is not set)")
    im = _get(name)
    if route == "local" and im is not None and im.labels.get(REPLICA_LABEL) == "true":
        route = "replica"  # built earlier by us: say so, it is not the official image
        detail = "offline replica built earlier (cached)"
    return _status(entry, route, t0, detail)


def ensure_all(
    names: list[str] | None = None,
    on_line: Callable[[str], None] | None = None,
    include_unavailable: bool = True,
) -> list[ImageStatus]:
    """:func:`ensure` each required image; list the ones that cannot be had offline too."""
    wanted = names or list(REQUIRED)
    out = [ensure(n, on_line) for n in wanted]
    if include_unavailable and names is None:
        for entry in CATALOG:
            if not entry.offline:
                t0 = time.monotonic()
                if _get(entry.name) is None:
                    ok, _why = try_pull(entry.name, timeout_s=30)
                    out.append(_status(entry, "pulled" if ok else "unavailable", t0))
                else:
                    out.append(_status(entry, "local", t0))
    return out


def missing_required() -> list[str]:
    """Required base images that are not present."""
    return [n for n in REQUIRED if _get(n) is None]
