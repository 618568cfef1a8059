"""The workshop hub, end to end: two participants, each with a private rootless engine.

Starts ``python -m hub up`` (the README's command) on free ports, logs ``alice`` and ``bob`` in
through the hub's REST API and proves, from inside their sandboxes:
each gets a correct check verdict; neither sees the other's containers, images or ports;
neither reaches the host engine or any host service but the hub's API (the firewall rule is
applied by the hub and removed when it stops); an inner ``--privileged -v /:/host`` container
does not see the host; a fork bomb and a memory hog in alice's sandbox stop at its limits while
bob's check passes; doctor and exercise 05 say limits are not enforced inside; stopping the
servers and the hub leaves no labelled object and no firewall chain.

Skipped, with the reason, where the hub cannot run: not root, no iptables, no /dev/net/tun, no
Engine .debs, the hub extras not installed.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = [
    pytest.mark.hub,
    pytest.mark.docker,
    pytest.mark.slow,
    pytest.mark.timeout(1200),
    pytest.mark.serial,
]

MEM = "1G"
MEM_BYTES = 1024**3
PIDS = 512
USER_PW = "room-" + secrets.token_hex(6)
ADMIN_PW = secrets.token_hex(20)


def _why_not() -> str | None:
    if os.geteuid() != 0:
        return "the hub test applies an iptables rule and needs root"
    if shutil.which("iptables") is None:
        return "iptables is not installed"
    if not Path("/dev/net/tun").exists():
        return "/dev/net/tun is missing: the sandboxes' rootless engines need it"
    try:
        import dockerspawner  # noqa: F401
        import jupyterhub  # noqa: F401
    except ImportError:
        return "the hub extras are not installed: pip install -e '.[hub]'"
    if shutil.which("configurable-http-proxy") is None and shutil.which("npm") is None:
        return "neither configurable-http-proxy nor npm is installed"
    from hub import image

    problems = [p for p in image.missing_prerequisites() if "base image" not in p]
    return "; ".join(problems) or None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        return s.getsockname()[1]


class Hub:
    def __init__(self, instance: str, port: int, api_port: int, proc: subprocess.Popen, log: Path):
        self.instance, self.port, self.api_port, self.proc, self.log = (
            instance,
            port,
            api_port,
            proc,
            log,
        )
        self.url = f"http://127.0.0.1:{port}"

    def log_tail(self, n: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])


@pytest.fixture(scope="module")
def hub(base_images, tmp_path_factory, docker_client):
    why = _why_not()
    if why:
        pytest.skip(why)
    from helpers import baseimages
    from hub import cli, firewall, image

    tmp = tmp_path_factory.mktemp("hub")
    # the sandbox image: built from the course's Debian base, layers cached by the engine
    before = image._image_id(image.DEFAULT_TAG)
    image.build(image.DEFAULT_TAG)
    if before and before != image._image_id(image.DEFAULT_TAG):
        # a rebuild moves the tag (a new build time): the old image must not stay, untagged
        # (36 had piled up on this engine by session 8, one per run)
        gone = subprocess.run(["docker", "image", "inspect", before], capture_output=True)
        assert gone.returncode != 0, f"the replaced sandbox image {before[:19]} was left behind"
    bundle = tmp / "base-images.tar"
    baseimages.bundle_save(bundle, ["python:3.11-slim", "debian:bookworm-slim"])
    instance = secrets.token_hex(2)
    port, api_port, proxy_port = _free_port(), _free_port(), _free_port()
    log = tmp / "hub.log"
    env = {
        **os.environ,
        "SHIPSHAPE_HUB_PASSWORD": USER_PW,
        "SHIPSHAPE_HUB_ADMIN_PASSWORD": ADMIN_PW,
        "SHIPSHAPE_CACHE": str(tmp / "cache"),
    }
    # npm's configurable-http-proxy, installed once into the shared cache, not per test run
    env["PATH"] = os.pathsep.join([str(Path(cli.proxy_command()).parent), env.get("PATH", "")])
    cmd = [
        sys.executable,
        "-m",
        "hub",
        "up",
        "--instance",
        instance,
        "--port",
        str(port),
        "--api-port",
        str(api_port),
        "--proxy-api-port",
        str(proxy_port),
        "--bundle",
        str(bundle),
        "--mem",
        MEM,
        "--cpus",
        "1",
        "--pids",
        str(PIDS),
        "--cull-idle",
        "0",
        "--quiet",
    ]
    with open(log, "wb") as fh:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT)
    h = Hub(instance, port, api_port, proc, log)
    import requests

    deadline = time.monotonic() + 300
    while True:
        if proc.poll() is not None:
            pytest.fail(f"`python -m hub up` exited {proc.returncode}:\n{h.log_tail()}")
        try:
            if requests.get(f"{h.url}/hub/api/", timeout=5).status_code == 200:
                break
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            proc.terminate()
            pytest.fail(f"the hub did not answer within 300s:\n{h.log_tail()}")
        time.sleep(0.5)
    try:
        yield h
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                proc.kill()
        firewall.remove(instance)  # no-op when the hub removed it, as it should
        cli.sweep(instance)


@pytest.fixture(scope="module")
def people(hub):
    from hub.client import Participant

    out = {}
    for name in ("alice", "bob"):
        p = Participant(hub.url, name, USER_PW)
        p.login()
        p.seconds_to_ready = p.start_server(timeout_s=300)
        out[name] = p
    return out


def _sandbox(docker_client, hub, user):
    from hub import sandbox

    found = docker_client.containers.list(
        filters={"label": [f"{sandbox.HUB}={hub.instance}", f"{sandbox.USER}={user}"]}
    )
    assert len(found) == 1, f"expected one sandbox for {user}, found {[c.name for c in found]}"
    return found[0]


def _check(p, exercise: str, folder: str) -> tuple[int, dict]:
    rc, out = p.sh(
        f"cd ~/shipshape && python -m helpers check {exercise} --path {folder} --json", 600
    )
    start = out.find("{")
    assert start >= 0, f"no JSON from the check in {p.name}'s sandbox (exit {rc}):\n{out[-2000:]}"
    return rc, json.loads(out[start:])


def test_wrong_password_is_refused(hub):
    from hub.client import HubError, Participant

    with pytest.raises(HubError, match="refused"):
        Participant(hub.url, "mallory", "not-the-password").login()


def test_sandbox_has_the_documented_options_and_nothing_more(people, hub, docker_client):
    ctr = _sandbox(docker_client, hub, "alice")
    ctr.reload()
    hc = ctr.attrs["HostConfig"]
    assert hc["Privileged"] is False
    assert hc["CapAdd"] == ["SYS_ADMIN"]
    assert [d["PathOnHost"] for d in hc["Devices"]] == ["/dev/net/tun"]
    assert hc["Memory"] == MEM_BYTES and hc["MemorySwap"] == MEM_BYTES
    assert hc["PidsLimit"] == PIDS and hc["CpuQuota"] == 100_000
    assert not any(opt == "seccomp=unconfined" for opt in hc["SecurityOpt"]), hc["SecurityOpt"]
    # no host path: every mount is a named volume (home, inner data-root, read-only bundle)
    mounts = ctr.attrs["Mounts"]
    assert {m["Type"] for m in mounts} == {"volume"}, mounts
    assert not any("docker.sock" in (m.get("Source") or "") for m in mounts)
    assert {m["Destination"]: m["RW"] for m in mounts} == {
        "/home/participant": True,
        "/data/docker": True,
        "/bundle": False,
    }
    nets = list(ctr.attrs["NetworkSettings"]["Networks"])
    assert nets == [f"shipshape-hub-{hub.instance}-alice"]
    assert ctr.labels["io.shipshape.managed"] == "true"
    _rc, out = people["alice"].sh("id -u; find / -xdev -perm /6000 -type f 2>/dev/null | sort")
    assert out.split() == ["1000", "/usr/bin/newgidmap", "/usr/bin/newuidmap"], out


def test_each_participant_gets_a_correct_verdict(people):
    alice, bob = people["alice"], people["bob"]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        a_sol = pool.submit(_check, alice, "00", "solutions/00_warmup")
        b_sol = pool.submit(_check, bob, "00", "solutions/00_warmup")
        (rc_a, rep_a), (rc_b, rep_b) = a_sol.result(), b_sol.result()
    assert rc_a == 0 and rep_a["passed"], rep_a
    assert rc_b == 0 and rep_b["passed"], rep_b
    rc, starter = _check(alice, "00", "exercises/00_warmup")
    assert rc == 1 and not starter["passed"], starter
    failed = {r["name"] for r in starter["results"] if not r["passed"]}
    assert "the base image is a specific slim tag" in failed


def test_participants_cannot_see_each_other(people, hub, docker_client):
    alice, bob = people["alice"], people["bob"]
    rc, out = bob.sh(
        "docker run -d --name bob-web -p 8080:8000 python:3.11-slim python -m http.server 8000"
        " && docker tag python:3.11-slim bob-private:1"
        " && curl -s -o /dev/null -w '%{http_code}' --retry-all-errors --retry 30 --retry-delay 1"
        " http://127.0.0.1:8080/"
    )
    assert rc == 0 and out.strip().endswith("200"), f"bob's own port must answer first:\n{out}"
    bob_ip = _sandbox(docker_client, hub, "bob").attrs["NetworkSettings"]["Networks"][
        f"shipshape-hub-{hub.instance}-bob"
    ]["IPAddress"]
    rc, out = alice.sh(
        "docker ps -a --format '{{.Names}}'; docker images --format '{{.Repository}}';"
        " echo ports:; curl -s -m 5 -o /dev/null -w '%{http_code}' http://127.0.0.1:8080/;"
        f" echo; curl -s -m 5 -o /dev/null -w '%{{http_code}}' http://{bob_ip}:8080/; echo"
    )
    names, _, ports = out.partition("ports:")
    assert "bob-web" not in names and "bob-private" not in names, out
    assert [ln for ln in ports.split() if ln != "000"] == [], f"alice reached bob's port: {out}"


def test_no_way_to_the_host_engine_or_host_services(people, hub, docker_client):
    alice = people["alice"]
    host_id = docker_client.info()["ID"]
    # a service on the host, reachable from the host itself (the positive control)
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", 0))
    srv.listen(5)
    host_port = srv.getsockname()[1]
    accepted: list[str] = []

    def serve() -> None:
        srv.settimeout(30)
        try:
            while True:
                conn, addr = srv.accept()
                accepted.append(addr[0])
                conn.close()
        except OSError:
            pass

    threading.Thread(target=serve, daemon=True).start()
    try:
        with socket.create_connection(("127.0.0.1", host_port), timeout=5):
            pass
        net = _sandbox(docker_client, hub, "alice").attrs["NetworkSettings"]["Networks"][
            f"shipshape-hub-{hub.instance}-alice"
        ]
        gw = net["Gateway"]
        _rc, out = alice.sh(
            "test -e /var/run/docker.sock && echo HOST-SOCKET; test -e /run/docker.sock && echo HOST-SOCKET;"
            " docker info --format 'id={{.ID}}'; echo;"
            f" curl -s -m 5 -o /dev/null -w 'svc=%{{http_code}}\\n' http://{gw}:{host_port}/;"
            " curl -s -m 5 -o /dev/null -w 'docker0=%{http_code}\\n'"
            f" http://172.17.0.1:{host_port}/;"
            " curl -s -m 5 -o /dev/null -w 'tcpapi=%{http_code}\\n' http://"
            f"{gw}:2375/version;"
            f" curl -s -m 5 -o /dev/null -w 'hubapi=%{{http_code}}\\n' http://{gw}:{hub.api_port}/hub/api/"
        )
    finally:
        srv.close()
    assert "HOST-SOCKET" not in out, out
    assert f"id={host_id}" not in out and "id=" in out, f"alice's engine must be her own:\n{out}"
    assert "svc=000" in out and "docker0=000" in out and "tcpapi=000" in out, out
    assert "hubapi=200" in out, f"the hub API must stay reachable (the allowed port):\n{out}"
    assert accepted == ["127.0.0.1"], f"the host service saw connections from {accepted}"
    from hub import firewall

    assert firewall.present(hub.instance)


def test_inner_privileged_container_does_not_see_the_host(people, tmp_path):
    marker = Path("/tmp") / f"shipshape-hub-marker-{secrets.token_hex(4)}"
    secret = secrets.token_hex(8)
    marker.write_text(secret)
    try:
        _rc, out = people["alice"].sh(
            f"docker run --rm --privileged -v /:/host python:3.11-slim cat /host{marker}; echo rc=$?"
        )
    finally:
        marker.unlink()
    assert secret not in out, f"the host's file was read from inside a sandbox:\n{out}"
    assert "rc=0" not in out, out


def test_fork_bomb_and_memory_hog_stop_at_the_sandbox_limits(people, hub, docker_client):
    alice, bob = people["alice"], people["bob"]
    ctr = _sandbox(docker_client, hub, "alice")
    since = int(time.time())
    fork_bomb = (
        "import os, time, signal, json\n"
        "pids, err = [], None\n"
        "try:\n"
        "    while len(pids) < 20000:\n"
        "        pid = os.fork()\n"
        "        if pid == 0:\n"
        "            time.sleep(300); os._exit(0)\n"
        "        pids.append(pid)\n"
        "except OSError as e:\n"
        "    err = type(e).__name__\n"
        "for p in pids: os.kill(p, signal.SIGKILL)\n"
        "for p in pids: os.waitpid(p, 0)\n"
        "print(json.dumps([len(pids), err]))\n"
    )
    hog = (
        'docker run --rm -m 64m python:3.11-slim python -c "import sys\n'
        "a = []\n"
        "while len(a) < 60:\n"
        "    a.append(bytearray(64 * 2**20)); print(len(a) * 64, flush=True)\n"
        "print('survived')\"; echo rc=$?"
    )
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        hog_f = pool.submit(alice.sh, hog, 300)
        bob_f = pool.submit(_check, bob, "00", "solutions/00_warmup")
        rc_b, rep_b = bob_f.result()
        _rc, hog_out = hog_f.result()
    bomb = alice.run(fork_bomb, timeout_s=120)
    assert bomb.ok, bomb.error
    forked, err = json.loads(bomb.stdout.strip().splitlines()[-1])
    assert err == "BlockingIOError" and 0 < forked < PIDS, (forked, err)
    # the hog: inner -m 64m is ignored (rootless on cgroup v1); the sandbox's 1 GiB stops it
    reached = [int(x) for x in hog_out.split() if x.isdigit()]
    assert "survived" not in hog_out and "rc=137" in hog_out, hog_out[-800:]
    assert max(reached) > 64 and max(reached) < MEM_BYTES // 2**20, reached
    ooms = list(
        docker_client.events(
            since=since,
            until=int(time.time()) + 1,
            decode=True,
            filters={"container": ctr.id, "event": "oom"},
        )
    )
    assert ooms, "the host engine recorded no OOM event for alice's sandbox"
    ctr.reload()
    assert ctr.status == "running"
    assert rc_b == 0 and rep_b["passed"], rep_b
    rc, out = alice.sh("docker info --format '{{.ServerVersion}}'")
    assert rc == 0, f"alice's engine did not survive her own hog:\n{out}"


def test_inside_a_sandbox_limits_are_reported_not_enforced(people):
    alice = people["alice"]
    rc, out = alice.sh("cd ~/shipshape && python -m helpers doctor")
    assert "limits enforced: this engine does not enforce memory limits" in out, out
    assert "CPU limits are not enforced either" in out, out
    rc, out = alice.sh(
        "cd ~/shipshape && python -m helpers check 05 --path solutions/05_resource_limits"
    )
    assert rc == 2, out
    assert "this engine does not enforce memory limits" in out and "Docker Desktop" in out, out
    # lesson 05's notebook stops at its first cell with the same words, before any demonstration
    first_cell = (
        "import json, os\n"
        "os.chdir(os.path.expanduser('~/shipshape/notebooks'))\n"
        "nb = json.load(open('05_resource_limits.ipynb'))\n"
        "exec(''.join(next(c for c in nb['cells'] if c['cell_type'] == 'code')['source']))\n"
    )
    ex = alice.run(first_cell, timeout_s=120)
    said = ex.stdout + ex.stderr + ex.error
    assert "could not run this lesson's demonstrations" in said, said
    assert "this engine does not enforce memory limits" in said, said


def test_stopping_leaves_no_labelled_object_and_no_firewall_rule(people, hub):
    from hub import cli, firewall

    for p in people.values():
        p.stop_server()
    left = cli.leftovers(hub.instance)
    # only the hub's own bundle volume remains while the hub runs
    assert left["containers"] == [] and left["networks"] == [], left
    assert left["volumes"] == [f"shipshape-hub-{hub.instance}-bundle"], left
    hub.proc.send_signal(signal.SIGTERM)
    assert hub.proc.wait(timeout=120) is not None
    assert cli.leftovers(hub.instance) == {"containers": [], "networks": [], "volumes": []}
    assert not firewall.present(hub.instance), "the hub left its iptables chain behind"
