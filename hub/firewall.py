"""Host firewall: a hub's sandboxes reach the hub's API port and nothing else on the host.

The rule, per hub instance (every sandbox bridge of one hub is named ``shb<inst>...``)::

    iptables -N SHIPSHAPE-HUB-<inst>
    iptables -A SHIPSHAPE-HUB-<inst> -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
    iptables -A SHIPSHAPE-HUB-<inst> -p tcp --dport <hub API port> -j ACCEPT
    iptables -A SHIPSHAPE-HUB-<inst> -j REJECT --reject-with icmp-port-unreachable
    iptables -I INPUT 1 -i shb<inst>+ -j SHIPSHAPE-HUB-<inst>

INPUT is every packet addressed to the host itself (any of its addresses: the bridge gateways,
docker0, the LAN address), so a sandbox cannot reach the host's sshd, its other services or a
TCP-exposed engine API. Replies to connections the host opened (the proxy to JupyterLab) pass
as ESTABLISHED. Traffic *through* the host to other Docker networks is already dropped by the
engine's own isolation chains; traffic to the internet (pip, apt) stays allowed.

Only this chain and this one jump are touched: other users of the engine keep their rules.
"""

from __future__ import annotations

import shutil
import subprocess

from . import sandbox


def chain(instance: str) -> str:
    return f"SHIPSHAPE-HUB-{instance[:4]}"


def rules(instance: str, hub_api_port: int) -> list[list[str]]:
    """The iptables commands that apply the rule (also printed by ``python -m hub up``).

    >>> rules("ab12", 8081)[-1]
    ['-I', 'INPUT', '1', '-i', 'shbab12+', '-j', 'SHIPSHAPE-HUB-ab12']
    """
    ch = chain(instance)
    return [
        ["-N", ch],
        ["-A", ch, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"],
        ["-A", ch, "-p", "tcp", "--dport", str(hub_api_port), "-j", "ACCEPT"],
        ["-A", ch, "-j", "REJECT", "--reject-with", "icmp-port-unreachable"],
        ["-I", "INPUT", "1", "-i", sandbox.bridge_prefix(instance) + "+", "-j", ch],
    ]


def available() -> str | None:
    """None when iptables can be used here, else the reason."""
    if shutil.which("iptables") is None:
        return "iptables is not installed"
    r = subprocess.run(["iptables", "-S", "INPUT"], capture_output=True, text=True)
    if r.returncode != 0:
        return f"iptables cannot be used ({r.stderr.strip()[:120]}); run as root"
    return None


def _ipt(args: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["iptables", "-w", "10", *args], capture_output=True, text=True, check=check
    )


def apply(instance: str, hub_api_port: int) -> None:
    """Install the rule (idempotent: an earlier copy for this instance is replaced)."""
    remove(instance)
    for args in rules(instance, hub_api_port):
        _ipt(args)


def remove(instance: str) -> None:
    """Remove this instance's jump and chain; nothing else."""
    ch = chain(instance)
    jump = ["INPUT", "-i", sandbox.bridge_prefix(instance) + "+", "-j", ch]
    while _ipt(["-D", *jump], check=False).returncode == 0:
        pass
    _ipt(["-F", ch], check=False)
    _ipt(["-X", ch], check=False)


def present(instance: str) -> bool:
    return _ipt(["-S", chain(instance)], check=False).returncode == 0
