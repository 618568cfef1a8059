"""Course settings read from the environment, in one place.

Every setting is an environment variable so that notebooks, the CLI, CI and a JupyterHub
spawner can all set it the same way. Nothing here touches the engine.

Example:
    >>> from helpers import settings
    >>> settings.cache_dir().name
    'shipshape'
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

#: Extra CA certificates (a PEM bundle) that containers must trust to reach PyPI through a
#: TLS-inspecting proxy. Read by :mod:`helpers.baseimages`, never baked into a Dockerfile.
EXTRA_CA_ENV = "SHIPSHAPE_EXTRA_CA_CERTS"


def repo_root() -> Path:
    """The course checkout (the folder holding ``helpers/``)."""
    return Path(__file__).resolve().parent.parent


def cache_dir() -> Path:
    """Where replica rootfs tarballs and sources are cached (``$SHIPSHAPE_CACHE``)."""
    return Path(os.environ.get("SHIPSHAPE_CACHE", Path.home() / ".cache" / "shipshape"))


def due(name: str, every_s: float) -> bool:
    """True when the chore ``name`` ran on this host (for this user) no sooner than
    ``every_s`` seconds ago, and notes that it runs now (a stamp file in :func:`cache_dir`).

    For housekeeping that lists every image on the engine (a scan of its whole store), which
    a burst of checks (a grader, a test suite) must not repeat for each check. ``every_s``
    of 0 or less: always due. An unwritable cache folder: always due.
    """
    if every_s <= 0:
        return True
    stamp = cache_dir() / f"{name}.stamp"
    with contextlib.suppress(OSError):
        if time.time() - stamp.stat().st_mtime < every_s:
            return False
    with contextlib.suppress(OSError):
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.touch()
    return True


def extra_ca_file() -> Path | None:
    """The PEM bundle named by ``$SHIPSHAPE_EXTRA_CA_CERTS``, or None when unset.

    Raises:
        FileNotFoundError: the variable names a file that does not exist.
    """
    value = os.environ.get(EXTRA_CA_ENV, "").strip()
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_file():
        raise FileNotFoundError(
            f"{EXTRA_CA_ENV}={value} but no such file. Point it at a PEM bundle of the CA "
            "certificates your proxy uses (pip's own setting: `pip config list` shows `cert`)."
        )
    return path


def default_timeout_s() -> float:
    """Default deadline for builds and waits, in seconds (``$SHIPSHAPE_TIMEOUT``, 600)."""
    return float(os.environ.get("SHIPSHAPE_TIMEOUT", "600"))


#: Layer reuse across checks (see :mod:`helpers.images`): ``0``/``off`` turns it off.
BUILD_CACHE_ENV = "SHIPSHAPE_BUILD_CACHE"
BUILD_CACHE_KEEP_ENV = "SHIPSHAPE_BUILD_CACHE_KEEP"
BUILD_CACHE_MAX_GB_ENV = "SHIPSHAPE_BUILD_CACHE_MAX_GB"


def build_cache_enabled() -> bool:
    """Whether a check's removed image stays behind as layer cache (``$SHIPSHAPE_BUILD_CACHE``,
    on unless ``0``/``off``)."""
    return os.environ.get(BUILD_CACHE_ENV, "1").strip().lower() not in ("0", "off", "no", "false")


def build_cache_keep() -> int:
    """How many cached builds each exercise keeps (``$SHIPSHAPE_BUILD_CACHE_KEEP``, 3)."""
    return max(1, int(os.environ.get(BUILD_CACHE_KEEP_ENV, "3")))


def build_cache_max_bytes() -> int:
    """Size bound of the whole layer cache (``$SHIPSHAPE_BUILD_CACHE_MAX_GB``, 6 GB)."""
    return int(float(os.environ.get(BUILD_CACHE_MAX_GB_ENV, "6")) * 1e9)


BUILD_CACHE_EVICT_EVERY_ENV = "SHIPSHAPE_BUILD_CACHE_EVICT_EVERY_S"


def build_cache_evict_every_s() -> float:
    """How often, at most, a check enforces the cache's bounds on this host
    (``$SHIPSHAPE_BUILD_CACHE_EVICT_EVERY_S``, 60; 0: after every new cached build)."""
    return max(0.0, float(os.environ.get(BUILD_CACHE_EVICT_EVERY_ENV, "60")))


#: Resource ceilings for every container the helpers start, e.g. ``memory=1g,cpus=1,pids=256``.
#: The grader sets it for untrusted submissions; unset (the default) changes nothing.
LIMITS_ENV = "SHIPSHAPE_LIMITS"

_UNITS = {"k": 1024, "m": 1024**2, "g": 1024**3}


def parse_limits(text: str) -> dict[str, int]:
    """Ceilings in ``$SHIPSHAPE_LIMITS`` syntax as docker-py arguments.

    >>> parse_limits("memory=512m,cpus=1.5,pids=128,logs=10m")
    {'mem_limit': 536870912, 'nano_cpus': 1500000000, 'pids_limit': 128}
    >>> parse_limits("")
    {}
    """
    out: dict[str, int] = {}
    for part in text.split(","):
        if "=" not in part:
            continue
        key, value = (s.strip().lower() for s in part.split("=", 1))
        if key == "memory":
            unit = _UNITS.get(value[-1:], 1)
            out["mem_limit"] = int(float(value.rstrip("kmgb") if unit > 1 else value) * unit)
        elif key == "cpus":
            out["nano_cpus"] = int(float(value) * 1e9)
        elif key == "pids":
            out["pids_limit"] = int(value)
    return out


def parse_log_size(text: str) -> str | None:
    """The ``logs=`` part of a ceilings text: the most log a container may keep (json-file).

    >>> parse_log_size("pids=64,logs=10m"), parse_log_size("pids=64")
    ('10m', None)
    """
    for part in text.split(","):
        key, _, value = part.partition("=")
        if key.strip().lower() == "logs" and value.strip():
            return value.strip().lower()
    return None


def container_limits() -> dict[str, int]:
    """The ceilings ``$SHIPSHAPE_LIMITS`` names ({} when unset)."""
    return parse_limits(os.environ.get(LIMITS_ENV, ""))


def log_size_ceiling() -> str | None:
    """The log-size ceiling ``$SHIPSHAPE_LIMITS`` names (None when unset)."""
    return parse_log_size(os.environ.get(LIMITS_ENV, ""))
