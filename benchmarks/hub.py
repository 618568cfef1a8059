"""The workshop hub, measured: login to a ready JupyterLab with a working engine, and memory.

    sudo .venv/bin/python benchmarks/hub.py                  # 3 participants
    sudo .venv/bin/python benchmarks/hub.py --participants 5

Starts ``python -m hub up`` exactly as the README says (on free ports, its own instance id,
``--keep-volumes`` so a restart is warm), then for each participant measures:

- cold: login -> server ready -> a kernel in it runs ``docker run --rm debian:bookworm-slim
  true`` against the participant's own engine (fresh volumes: the engine starts on an empty
  data-root and loads the workshop bundle);
- warm: the same participant's server stopped and started again (volumes kept: the bundle is
  already loaded);
- idle memory per participant: each sandbox's memory cgroup (usage, and rss without page
  cache) on the host engine, and the host's MemAvailable drop, after the participants idle.

Everything the hub made is removed at the end (``hub down`` for its instance).
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from helpers import baseimages, engine  # noqa: E402
from hub import cli, image, sandbox  # noqa: E402
from hub.client import Participant  # noqa: E402

WORKING_ENGINE = (
    "docker run --rm debian:bookworm-slim true && docker info --format '{{.ServerVersion}}'"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        return s.getsockname()[1]


def _mem_available() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return 0


def login_to_working_engine(p: Participant) -> float:
    t0 = time.monotonic()
    p.login()
    p.start_server(timeout_s=300)
    rc, out = p.sh(WORKING_ENGINE, 120)
    if rc != 0:
        raise SystemExit(f"{p.name}'s engine does not work:\n{out}")
    return time.monotonic() - t0


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--participants", type=int, default=3)
    ap.add_argument("--mem", default="2G")
    ap.add_argument("--settle", type=float, default=20.0, help="seconds idle before memory is read")
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: the hub applies an iptables rule")
    c = engine.client()
    t0 = time.monotonic()
    image.build(image.DEFAULT_TAG)
    build_s = time.monotonic() - t0
    tmp = Path(tempfile.mkdtemp(prefix="shipshape-hub-bench-"))
    bundle = tmp / "base-images.tar"
    saved = baseimages.bundle_save(bundle, ["python:3.11-slim", "debian:bookworm-slim"])
    instance = "b" + secrets.token_hex(2)
    port = _free_port()
    pw = "bench-" + secrets.token_hex(6)
    env = {
        **os.environ,
        "SHIPSHAPE_HUB_PASSWORD": pw,
        "SHIPSHAPE_HUB_ADMIN_PASSWORD": secrets.token_hex(20),
    }
    env["PATH"] = os.pathsep.join([str(Path(cli.proxy_command()).parent), env.get("PATH", "")])
    env["SHIPSHAPE_CACHE"] = str(tmp / "cache")  # the hub's state (db, passwords) goes with tmp
    mem_before = _mem_available()
    with open(tmp / "hub.log", "wb") as log:  # Popen keeps its own copy of the descriptor
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hub",
                "up",
                "--instance",
                instance,
                "--port",
                str(port),
                "--api-port",
                str(_free_port()),
                "--proxy-api-port",
                str(_free_port()),
                "--bundle",
                str(bundle),
                "--mem",
                args.mem,
                "--cull-idle",
                "0",
                "--keep-volumes",
                "--quiet",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    import requests

    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            if proc.poll() is not None:
                raise SystemExit(
                    f"hub exited {proc.returncode}:\n"
                    + "\n".join((tmp / "hub.log").read_text(errors="replace").splitlines()[-30:])
                )
            try:
                if requests.get(f"{url}/hub/api/", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("hub did not answer within 300s")
            time.sleep(0.5)
        people = [Participant(url, f"p{i}", pw) for i in range(args.participants)]
        cold = [login_to_working_engine(p) for p in people]
        time.sleep(args.settle)  # idle on purpose: this is what is measured, not a wait for state
        usage, rss = [], []
        for p in people:
            (ctr,) = c.containers.list(
                filters={"label": [f"{sandbox.HUB}={instance}", f"{sandbox.USER}={p.name}"]}
            )
            ms = ctr.stats(stream=False)["memory_stats"]
            usage.append(ms.get("usage", 0))
            rss.append(ms.get("stats", {}).get("total_rss", ms.get("stats", {}).get("anon", 0)))
        host_drop = (mem_before - _mem_available()) / args.participants
        pids = []
        for p in people:
            (ctr,) = c.containers.list(
                filters={"label": [f"{sandbox.HUB}={instance}", f"{sandbox.USER}={p.name}"]}
            )
            f = Path(f"/sys/fs/cgroup/pids/docker/{ctr.id}/pids.current")
            if f.is_file():  # cgroup v1, cgroupfs driver (this host); elsewhere left out
                pids.append(int(f.read_text()))
        vols = {
            v["Name"]: v["UsageData"]["Size"]
            for v in c.df()["Volumes"]
            if v["Name"].startswith(f"shipshape-hub-{instance}-")
        }
        disk = statistics.median(
            sum(
                size
                for name, size in vols.items()
                if name.startswith(f"shipshape-hub-{instance}-{p.name}-")
            )
            for p in people
        )
        # a course check inside a sandbox: one participant alone, then every participant at once
        check = "cd ~/shipshape && python -m helpers check 00 --path solutions/00_warmup >/dev/null"
        t0 = time.monotonic()
        assert people[0].sh(check, 600)[0] == 0
        alone = time.monotonic() - t0

        def timed(p: Participant) -> float:
            t = time.monotonic()
            assert p.sh(check, 600)[0] == 0
            return time.monotonic() - t

        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(len(people)) as pool:
            together = list(pool.map(timed, people))
        warm = []
        for p in people[:2]:
            p.stop_server()
            warm.append(login_to_working_engine(p))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=180)
        except subprocess.TimeoutExpired:
            proc.kill()
        cli.sweep(instance)
        shutil.rmtree(tmp, ignore_errors=True)
    mib = 1024**2
    print(
        f"sandbox image build (cached layers): {build_s:.1f} s; bundle {saved['bytes'] / 1e6:.0f} MB ({', '.join(saved['images'])})"
    )
    print(
        f"login -> JupyterLab ready -> inner `docker run` OK, cold (fresh volumes, bundle loaded): "
        f"median {statistics.median(cold):.1f} s  (each: {', '.join(f'{x:.1f}' for x in cold)})"
    )
    print(
        f"same, warm (server restarted, volumes kept): median {statistics.median(warm):.1f} s  "
        f"(each: {', '.join(f'{x:.1f}' for x in warm)}); cold/warm = {statistics.median(cold) / statistics.median(warm):.1f}x"
    )
    print(
        f"idle participant memory (sandbox cgroup, {args.settle:.0f} s idle): usage median "
        f"{statistics.median(usage) / mib:.0f} MiB, rss median {statistics.median(rss) / mib:.0f} MiB; "
        f"host MemAvailable drop per participant {host_drop / mib:.0f} MiB"
    )
    if pids:
        print(
            f"idle tasks per sandbox (pids.current): median {statistics.median(pids):.0f} of the --pids limit"
        )
    print(
        f"disk per participant (home + engine volumes, bundle loaded): median {disk / 1e6:.0f} MB"
    )
    print(
        f"exercise 00 check inside a sandbox: alone {alone:.1f} s; {len(people)} at once: median "
        f"{statistics.median(together):.1f} s (slowdown {statistics.median(together) / alone:.1f}x on {os.cpu_count()} CPUs)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
