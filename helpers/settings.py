"""Course settings read from the environment, in one place.

Every setting is an environment variable so that notebooks, the CLI, CI and a JupyterHub
spawner can all set it the same way. Nothing here touches the engine.

Example:
    >>> from helpers import settings
    >>> settings.cache_dir().name
    'shipshape'
"""

from __future__ import annotations

import os
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


#: Resource ceilings for every container the helpers start, e.g. ``memory=1g,cpus=1,pids=256``.
#: The grader sets it for untrusted submissions; unset (the default) changes nothing.
LIMITS_ENV = "SHIPSHAPE_LIMITS"

_UNITS = {"k": 1024, "m": 1024**2, "g": 1024**3}


def container_limits() -> dict[str, int]:
    """The ceilings named by ``$SHIPSHAPE_LIMITS`` as docker-py arguments ({} when unset).

    Example:
        >>> import os; os.environ["SHIPSHAPE_LIMITS"] = "memory=512m,cpus=1.5,pids=128"
        >>> container_limits()
        {'mem_limit': 536870912, 'nano_cpus': 1500000000, 'pids_limit': 128}
        >>> del os.environ["SHIPSHAPE_LIMITS"]; container_limits()
        {}
    """
    out: dict[str, int] = {}
    for part in os.environ.get(LIMITS_ENV, "").split(","):
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


def log_size_ceiling() -> str | None:
    """``logs=10m`` in ``$SHIPSHAPE_LIMITS``: the most log a container may keep (json-file).

    >>> import os; os.environ["SHIPSHAPE_LIMITS"] = "pids=64,logs=10m"; log_size_ceiling()
    '10m'
    >>> del os.environ["SHIPSHAPE_LIMITS"]
    """
    for part in os.environ.get(LIMITS_ENV, "").split(","):
        key, _, value = part.partition("=")
        if key.strip().lower() == "logs" and value.strip():
            return value.strip().lower()
    return None
