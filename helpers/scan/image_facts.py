"""Facts read inside an image with no database: pending security updates, OS and Python packages."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

_UPDATES_SCRIPT = r"""
command -v apt-get >/dev/null 2>&1 || { echo "SHIPSHAPE-NOAPT"; exit 3; }
. /etc/os-release
echo "SHIPSHAPE-OS $PRETTY_NAME"
apt-get update -qq >/tmp/update.log 2>&1 || { echo "SHIPSHAPE-NOUPDATE"; tail -3 /tmp/update.log; exit 4; }
apt list --upgradable 2>/dev/null
"""
_DPKG_SCRIPT = (
    "command -v dpkg-query >/dev/null || exit 3; "
    "dpkg-query -W -f '${Package}\\t${Version}\\t${Installed-Size}\\n'"
)
_PIP_SCRIPT = (
    "for p in python3 python; do command -v $p >/dev/null && exec $p -m pip list "
    "--format json --disable-pip-version-check 2>/dev/null; done; exit 3"
)


@dataclass
class PackageFacts:
    """Facts read inside a throwaway container: ``status`` ``ok`` or ``unavailable``."""

    image: str
    status: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    reason: str = ""
    seconds: float = 0.0

    def table(self) -> Any:
        import pandas as pd

        return pd.DataFrame(self.rows)


def _in_container(image: str, script: str, timeout_s: float) -> tuple[int, str, float]:
    """``script`` run by ``sh -c`` as root in a throwaway container of ``image``: its exit
    code, its stdout and the seconds it all took."""
    from .. import containers

    t0 = time.monotonic()
    with containers.running(image, [script], entrypoint=["sh", "-c"], user="0", detach=True) as ctr:
        info = containers.wait_for_exit(ctr, timeout_s=timeout_s)
        out = ctr.logs(stdout=True, stderr=False).decode("utf-8", "replace")
    return info.exit_code, out, time.monotonic() - t0


def parse_apt_upgradable(text: str) -> list[dict[str, str]]:
    """Rows from ``apt list --upgradable``: package, suite, installed, candidate.

    >>> parse_apt_upgradable("libssl3/bookworm-security 3.0.15-1~deb12u1 amd64 "
    ...     "[upgradable from: 3.0.14-1~deb12u2]")[0]["suite"]
    'bookworm-security'
    """
    rows = []
    for ln in text.splitlines():
        m = re.match(r"^(\S+?)/(\S+)\s+(\S+)\s+\S+\s+\[upgradable from: ([^\]]+)\]", ln.strip())
        if m:
            rows.append(
                {
                    "package": m.group(1),
                    "suite": m.group(2).split(",")[0],
                    "installed": m.group(4),
                    "candidate": m.group(3),
                    "security": "-security" in m.group(2),
                }
            )
    return rows


def pending_security_updates(image: str, timeout_s: float = 180) -> PackageFacts:
    """OS packages in ``image`` whose newer version waits in the security suite.

    Runs ``apt-get update`` and ``apt list --upgradable`` as root in a throwaway container
    from the image (the image itself is not changed). Needs the distribution's package
    mirror, not Trivy's database. ``rows`` holds only updates from a ``-security`` suite.
    """
    code, out, secs = _in_container(image, _UPDATES_SCRIPT, timeout_s)
    if "SHIPSHAPE-NOAPT" in out:
        return PackageFacts(image, "unavailable", reason="the image has no apt", seconds=secs)
    if code != 0:
        tail = out.strip().splitlines()[-1:] or ["(no output)"]
        return PackageFacts(
            image,
            "unavailable",
            reason=f"apt-get update failed inside the container (no mirror?): {tail[0][:200]}",
            seconds=secs,
        )
    rows = [r for r in parse_apt_upgradable(out) if r["security"]]
    osname = re.search(r"SHIPSHAPE-OS (.*)", out)
    return PackageFacts(image, "ok", rows, reason=osname.group(1) if osname else "", seconds=secs)


def os_packages(image: str, timeout_s: float = 60) -> PackageFacts:
    """Every dpkg package installed in the image: package, version, installed size (KiB)."""
    code, out, secs = _in_container(image, _DPKG_SCRIPT, timeout_s)
    if code != 0:
        return PackageFacts(image, "unavailable", reason="no dpkg in the image")
    rows = []
    for ln in out.splitlines():
        parts = ln.split("\t")
        if len(parts) == 3:
            rows.append({"package": parts[0], "version": parts[1], "kib": int(parts[2] or 0)})
    return PackageFacts(image, "ok", rows, seconds=secs)


def python_packages(image: str, timeout_s: float = 60) -> PackageFacts:
    """``pip list --format json`` inside the image: the Python packages and their versions."""
    code, out, secs = _in_container(image, _PIP_SCRIPT, timeout_s)
    if code != 0:
        return PackageFacts(
            image, "unavailable", reason="no python with pip in the image", seconds=secs
        )
    try:
        rows = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return PackageFacts(image, "unavailable", reason=f"unreadable pip output: {out[:200]}")
    return PackageFacts(image, "ok", rows, seconds=secs)
