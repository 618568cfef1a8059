"""The hub's pure logic: names, labels, security options, firewall rules, the seccomp profile,
the JupyterHub configuration, and the capability message. No engine, no hub."""

from __future__ import annotations

import doctest
import json
import runpy

import pytest

from tests.conftest import ROOT


@pytest.mark.parametrize("module", ["hub.sandbox", "hub.firewall", "helpers.capabilities"])
def test_doctests(module):
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0


def test_security_options_are_the_documented_minimum():
    from hub import sandbox

    opts = sandbox.security_options(apparmor=False)
    assert opts["cap_add"] == ["SYS_ADMIN"]
    assert opts["devices"] == ["/dev/net/tun:/dev/net/tun:rwm"]
    (sec,) = opts["security_opt"]
    profile = json.loads(sec.removeprefix("seccomp="))
    assert profile["defaultAction"] == "SCMP_ACT_ALLOW"
    denied = {n for rule in profile["syscalls"] for n in rule["names"]}
    # what a rootless engine needs stays allowed ...
    assert not denied & {"clone", "clone3", "unshare", "setns", "mount", "umount2", "pivot_root"}
    # ... what acts on the whole kernel is denied
    assert {
        "kexec_load",
        "init_module",
        "finit_module",
        "bpf",
        "keyctl",
        "reboot",
        "swapon",
    } <= denied
    assert "privileged" not in opts and sandbox.UNMASKED_PROC == {
        "MaskedPaths": [],
        "ReadonlyPaths": [],
    }
    assert sandbox.security_options(apparmor=True)["security_opt"][-1] == "apparmor=unconfined"


def test_names_fit_linux_and_docker_limits():
    from hub import sandbox

    long_user = "A.Very.Long.Participant.Name@example.org"
    assert len(sandbox.bridge_name("zz99", long_user)) <= 15
    assert sandbox.bridge_name("zz99", long_user).startswith(sandbox.bridge_prefix("zz99"))
    assert sandbox.safe_name("alice") != sandbox.safe_name("Alice")
    vols = sandbox.volume_names("zz99", "bob")
    assert set(vols) == {"home", "data"} and all(
        v.startswith("shipshape-hub-zz99-bob-") for v in vols.values()
    )


def test_firewall_rules_only_touch_their_own_chain():
    from hub import firewall

    rules = firewall.rules("ab12", 18081)
    chain = firewall.chain("ab12")
    assert rules[0] == ["-N", chain]
    assert ["-A", chain, "-p", "tcp", "--dport", "18081", "-j", "ACCEPT"] in rules
    assert rules[-2][-4:-2] == ["-j", "REJECT"]
    jumps = [r for r in rules if r[0] == "-I"]
    assert jumps == [["-I", "INPUT", "1", "-i", "shbab12+", "-j", chain]]
    assert all(r[1] == chain for r in rules if r[0] == "-A")


def test_jupyterhub_config_wires_the_sandbox(monkeypatch, tmp_path):
    from traitlets.config import Config

    monkeypatch.setenv("SHIPSHAPE_HUB_STATE", str(tmp_path))
    monkeypatch.setenv("SHIPSHAPE_HUB_INSTANCE", "cfg1")
    monkeypatch.setenv("SHIPSHAPE_HUB_PASSWORD", "room-password")
    monkeypatch.setenv("SHIPSHAPE_HUB_MEM", "1G")
    monkeypatch.setenv("SHIPSHAPE_HUB_PIDS", "256")
    monkeypatch.setenv("SHIPSHAPE_HUB_BUNDLE_VOLUME", "bundle-vol")
    c = Config()
    runpy.run_path(str(ROOT / "hub" / "jupyterhub_config.py"), init_globals={"c": c})
    s = c.SandboxSpawner
    assert c.JupyterHub.authenticator_class == "shared-password"
    assert c.SharedPasswordAuthenticator.user_password == "room-password"
    assert c.JupyterHub.spawner_class == "hub.spawner.SandboxSpawner"
    assert s.mem_limit == "1G" and s.cpu_limit == 1.0 and s.remove is True
    assert s.extra_host_config["pids_limit"] == 256 and s.extra_host_config["memswap_limit"] == "1G"
    assert "privileged" not in s.extra_host_config
    assert s.read_only_volumes == {"bundle-vol": "/bundle"}
    assert c.JupyterHub.services[0]["name"] == "idle-culler"
    assert s.instance == "cfg1" and s.pull_policy == "never"


def test_limits_message_says_what_to_do():
    from helpers import capabilities

    cap = capabilities.LimitsCapability(False, True, True, "1", "asked 32 MiB, saw no limit")
    assert cap.message().startswith("this engine does not enforce memory limits")
    assert "cgroup v2" in capabilities.WHAT_TO_DO
