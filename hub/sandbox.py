"""What one participant's sandbox container is allowed, named and labelled: pure data.

Every option here is the *minimum* measured to let a rootless Docker engine run inside a
container started without ``--privileged`` (see hub/README.md, "Security options"):

* ``/dev/net/tun``: slirp4netns gives the inner engine its network through a tap device.
* ``CAP_SYS_ADMIN`` in the bounding set: the setuid ``newuidmap``/``newgidmap`` must write
  ``uid_map`` for the new user namespace; without it the kernel answers EPERM. The participant
  runs as uid 1000 with no effective capabilities; only those two setuid binaries remain.
* seccomp: a profile of our own (``hub/seccomp-sandbox.json``) instead of ``unconfined``: it
  allows the namespace syscalls (clone/unshare/setns/mount/pivot_root) and denies the ones
  that act on the whole kernel (modules, kexec, keyring, bpf, perf, clock, swap, reboot ...).
* masked/read-only ``/proc`` paths off (``MaskedPaths=[]``, ``ReadonlyPaths=[]``, what
  ``--security-opt systempaths=unconfined`` sends): the kernel refuses to mount a fresh
  ``proc`` for inner containers while parts of ``/proc`` are over-mounted.
* AppArmor ``unconfined`` only on hosts that run AppArmor (docker-default forbids mount).

Example:
    >>> opts = security_options(seccomp_profile='{"defaultAction": "SCMP_ACT_ALLOW"}', apparmor=False)
    >>> opts["cap_add"], opts["devices"]
    (['SYS_ADMIN'], ['/dev/net/tun:/dev/net/tun:rwm'])
    >>> network_name("ab12", "alice"), bridge_name("ab12", "alice")
    ('shipshape-hub-ab12-alice', 'shbab122bd806c9')
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

LABEL_PREFIX = "io.shipshape"
MANAGED = f"{LABEL_PREFIX}.managed"
KIND = f"{LABEL_PREFIX}.kind"
RUN = f"{LABEL_PREFIX}.run"
HUB = f"{LABEL_PREFIX}.hub"
USER = f"{LABEL_PREFIX}.hub.user"
KIND_SANDBOX = "hub-sandbox"
KIND_HUB = "hub"

SECCOMP_PROFILE = Path(__file__).resolve().parent / "seccomp-sandbox.json"


def labels(instance: str, user: str | None = None, kind: str = KIND_SANDBOX) -> dict[str, str]:
    """Labels on every object the hub makes: managed, kind, run (= the hub instance), user.

    >>> labels("ab12", "bob")["io.shipshape.run"]
    'hub-ab12'
    """
    out = {MANAGED: "true", KIND: kind, RUN: f"hub-{instance}", HUB: instance}
    if user is not None:
        out[USER] = user
    return out


def safe_name(user: str) -> str:
    """A Docker-name-safe form of a hub username (``Alice.B`` -> ``alice-b``), unique by hash.

    >>> safe_name("alice"), safe_name("Alice.B@x")
    ('alice', 'alice-b-x-ce5e70')
    """
    clean = re.sub(r"[^a-z0-9_-]+", "-", user.lower()).strip("-")[:40] or "user"
    if clean == user:
        return clean
    return f"{clean}-{hashlib.sha256(user.encode()).hexdigest()[:6]}"


def network_name(instance: str, user: str) -> str:
    return f"shipshape-hub-{instance}-{safe_name(user)}"


def bridge_prefix(instance: str) -> str:
    """Host interface prefix of every sandbox bridge of one hub (iptables ``-i PREFIX+``)."""
    return f"shb{instance[:4]}"


def bridge_name(instance: str, user: str) -> str:
    """Linux bridge name for a participant's network (15 characters at most)."""
    return bridge_prefix(instance) + hashlib.sha256(user.encode()).hexdigest()[:8]


def volume_names(instance: str, user: str) -> dict[str, str]:
    """The participant's named volumes: home folder and the inner engine's data-root."""
    base = f"shipshape-hub-{instance}-{safe_name(user)}"
    return {"home": f"{base}-home", "data": f"{base}-docker"}


def apparmor_enabled() -> bool:
    try:
        return Path("/sys/module/apparmor/parameters/enabled").read_text().strip() == "Y"
    except OSError:
        return False


def security_options(
    seccomp_profile: str | None = None, apparmor: bool | None = None
) -> dict[str, Any]:
    """``create_host_config`` keyword arguments that let a rootless engine run, and no more.

    Args:
        seccomp_profile: JSON text of the seccomp profile (default: ``hub/seccomp-sandbox.json``);
            ``"unconfined"`` to switch seccomp off (what the first manual trial used).
        apparmor: add ``apparmor=unconfined`` (default: only when the host runs AppArmor).
    """
    profile = seccomp_profile if seccomp_profile is not None else SECCOMP_PROFILE.read_text()
    sec = [f"seccomp={profile}"]
    if apparmor if apparmor is not None else apparmor_enabled():
        sec.append("apparmor=unconfined")
    return {
        "devices": ["/dev/net/tun:/dev/net/tun:rwm"],
        "cap_add": ["SYS_ADMIN"],
        "security_opt": sec,
    }


#: Raw HostConfig keys docker-py has no keyword for (``systempaths=unconfined``).
UNMASKED_PROC = {"MaskedPaths": [], "ReadonlyPaths": []}


def limits(mem: str = "2G", cpus: float = 1.0, pids: int = 1024) -> dict[str, Any]:
    """The sandbox's limits, enforced by the *host* engine on the whole sandbox.

    >>> limits("1G", 0.5, 256)["pids_limit"]
    256
    """
    return {"mem_limit": mem, "memswap_limit": mem, "cpu_limit": cpus, "pids_limit": pids}
