"""A package cache for builds: PyPI through devpi-server, Debian through apt-cacher-ng.

Thirty laptops pulling the same wheels and .debs over one access point is what breaks a
workshop first. ``python -m helpers cache start`` runs two real caching servers in the
background on this machine: devpi-server (a PyPI mirror that keeps every file it served, with
an offline mode) and apt-cacher-ng (Debian's package cache). Builds use them without any
Dockerfile edit: when ``$SHIPSHAPE_PACKAGE_CACHE`` is set, :mod:`helpers.baseimages` gives each
course base image a thin layer pointing pip (index URL, trusted host) and apt (proxy) at the
cache, exactly like the extra-CA trust layer. When it is not set, nothing changes (and a layer
applied earlier is taken off again by ``python -m helpers images``).

``$SHIPSHAPE_PACKAGE_CACHE``: ``auto`` (this machine, as the engine's containers reach it: the
default bridge's gateway), or ``HOST`` / ``HOST:PIPPORT:APTPORT`` (a room's cache server).

``warm`` runs every starter's and solution's installs once through the cache; ``export``
writes the cached files to one archive (beside the base-image bundle); ``import`` unpacks it on
another machine, where ``cache start --offline`` serves it with no internet at all.

Example:
    >>> parse("10.0.0.5").pip_index_url
    'http://10.0.0.5:3141/root/pypi/+simple/'
    >>> parse("10.0.0.5:4000:4001").apt_proxy
    'http://10.0.0.5:4001'
"""

from __future__ import annotations

import hashlib
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from . import settings

ENV = "SHIPSHAPE_PACKAGE_CACHE"
PIP_PORT = 3141
APT_PORT = 3142
#: Where ``cache start`` keeps its servers' data, logs and pid files.
STATE_ENV = "SHIPSHAPE_PACKAGE_CACHE_DIR"
START_TIMEOUT_S = 120.0


class PackageCacheError(RuntimeError):
    """The package cache cannot start, or is configured and does not answer. Says the fix."""


@dataclass(frozen=True)
class CacheConfig:
    """Where builds find the cache."""

    host: str
    pip_port: int = PIP_PORT
    apt_port: int = APT_PORT

    @property
    def pip_index_url(self) -> str:
        return f"http://{self.host}:{self.pip_port}/root/pypi/+simple/"

    @property
    def apt_proxy(self) -> str:
        return f"http://{self.host}:{self.apt_port}"

    @property
    def digest(self) -> str:
        layer = f"v2 {self.pip_index_url} {self.apt_proxy}"  # v2: bump when the layer changes
        return hashlib.sha256(layer.encode()).hexdigest()[:16]


def parse(value: str) -> CacheConfig:
    """``HOST`` or ``HOST:PIPPORT:APTPORT`` as a :class:`CacheConfig`.

    Ports stay below 32768: apt-cacher-ng 3.7 cannot bind above that.
    """
    parts = value.strip().split(":")
    if len(parts) == 1 and parts[0]:
        return CacheConfig(parts[0])
    if len(parts) == 3 and parts[0] and parts[1].isdigit() and parts[2].isdigit():
        return CacheConfig(parts[0], int(parts[1]), int(parts[2]))
    raise PackageCacheError(
        f"{ENV}={value!r} is not understood: use `auto`, a host (`10.0.0.5`) or "
        "`HOST:PIPPORT:APTPORT`."
    )


def bridge_gateway() -> str:
    """The address this machine has on the engine's default bridge (what builds reach)."""
    from . import engine

    try:
        net = engine.client().networks.get("bridge")
        for cfg in net.attrs.get("IPAM", {}).get("Config") or []:
            if cfg.get("Gateway"):
                return str(cfg["Gateway"])
    except Exception:
        pass
    return "172.17.0.1"


def config() -> CacheConfig | None:
    """The configured cache, or None when ``$SHIPSHAPE_PACKAGE_CACHE`` is unset/empty/off."""
    value = os.environ.get(ENV, "").strip()
    if not value or value.lower() in ("0", "off", "no", "none"):
        return None
    if value.lower() == "auto":
        return CacheConfig(bridge_gateway())
    return parse(value)


def state_dir() -> Path:
    return Path(os.environ.get(STATE_ENV, settings.cache_dir() / "package-cache"))


def _answers(host: str, port: int, timeout_s: float = 2.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def preflight(cfg: CacheConfig | None = None) -> None:
    """Raise :class:`PackageCacheError` (with the fix) if the configured cache does not answer.

    Called before every helper build, so a stopped cache is one clear message, never a build
    that waits on pip's retries.
    """
    cfg = cfg or config()
    if cfg is None:
        return
    down = [
        f"{what} at {host}:{port}"
        for what, host, port in (
            ("PyPI cache", cfg.host, cfg.pip_port),
            ("Debian cache", cfg.host, cfg.apt_port),
        )
        if not _answers(host, port)
    ]
    if down:
        raise PackageCacheError(
            f"The package cache is configured ({ENV}={os.environ.get(ENV, '')}) but the "
            f"{' and the '.join(down)} does not answer. Fix: start it with "
            "`python -m helpers cache start`, or build without it: unset "
            f"{ENV} and run `python -m helpers images` (takes the cache layer off the base images)."
        )


# -- the servers ---------------------------------------------------------------------------
