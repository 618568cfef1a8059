"""``python -m hub build|up|down|status``: a workshop hub on this machine, one command.

    python -m hub up                      # build the sandbox image if missing, then serve
    python -m hub up --port 8000 --mem 2G --cpus 1 --pids 1024 --cull-idle 3600
    python -m hub down                    # remove what a crashed hub left (by label)

Passwords come from SHIPSHAPE_HUB_PASSWORD (attendees, >= 8 characters) and
SHIPSHAPE_HUB_ADMIN_PASSWORD (instructors, >= 32); when unset, ``up`` makes them and writes them
to the state folder (mode 600) and prints where.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import firewall, image, sandbox

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "hub" / "jupyterhub_config.py"
CHP_VERSION = "4"


def say(msg: str) -> None:
    print(f"[hub] {msg}", file=sys.stderr, flush=True)


def state_dir(instance: str) -> Path:
    base = Path(os.environ.get("SHIPSHAPE_CACHE", Path.home() / ".cache" / "shipshape"))
    return base / "hub" / instance


def proxy_command() -> str:
    """configurable-http-proxy from PATH, else from npm into the course cache (first run only)."""
    found = shutil.which("configurable-http-proxy")
    if found:
        return found
    prefix = (
        Path(os.environ.get("SHIPSHAPE_CACHE", Path.home() / ".cache" / "shipshape"))
        / "hub"
        / "chp"
    )
    local = prefix / "node_modules" / ".bin" / "configurable-http-proxy"
    if local.exists():
        return str(local)
    if shutil.which("npm") is None:
        raise RuntimeError(
            "configurable-http-proxy is missing and npm is not installed: install Node.js (apt-get install nodejs npm)"
        )
    say(f"installing configurable-http-proxy@{CHP_VERSION} from npm into {prefix}")
    prefix.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "npm",
            "install",
            "--prefix",
            str(prefix),
            "--no-audit",
            "--no-fund",
            f"configurable-http-proxy@{CHP_VERSION}",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return str(local)


def _client() -> Any:
    from helpers import engine

    return engine.client()


def _tar_stream(path: Path, arcname: str) -> Iterator[bytes]:
    """One file as a tar stream, without a temporary copy (bundles are hundreds of MB)."""
    info = tarfile.TarInfo(arcname)
    info.size = path.stat().st_size
    info.mode = 0o644
    info.mtime = int(path.stat().st_mtime)
    yield info.tobuf(format=tarfile.GNU_FORMAT)
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            yield chunk
    pad = (-info.size) % 512
    yield b"\0" * pad + b"\0" * 1024


def bundle_volume(instance: str, bundle: Path, image_tag: str) -> str:
    """A labelled named volume holding the workshop bundle, mounted read-only in each sandbox."""
    c = _client()
    name = f"shipshape-hub-{instance}-bundle"
    labels = sandbox.labels(instance, kind=sandbox.KIND_HUB)
    c.volumes.create(name, labels={**labels, f"{sandbox.LABEL_PREFIX}.hub.volume": "bundle"})
    # a container that never starts: only the target of put_archive
    filler = c.api.create_container(
        image_tag,
        command=["true"],
        user="0",
        labels=labels,
        entrypoint=["true"],
        host_config=c.api.create_host_config(binds={name: {"bind": "/bundle", "mode": "rw"}}),
    )
    try:
        t0 = time.monotonic()
        c.api.put_archive(filler["Id"], "/bundle", _tar_stream(bundle, "base-images.tar"))
        say(
            f"bundle {bundle} ({bundle.stat().st_size / 1e6:.0f} MB) copied into volume {name} in {time.monotonic() - t0:.1f}s"
        )
    finally:
        c.api.remove_container(filler["Id"], force=True)
    return name


def ensure_bundle(path: str | None, names: list[str] | None) -> Path:
    """The bundle to hand out: the given file, else ``helpers bundle save`` output (made once)."""
    from helpers import baseimages

    if path:
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(
                f"no bundle at {p}: make one with `python -m helpers bundle save {p}`"
            )
        return p
    target = baseimages.bundle_path()
    if not target.is_file():
        say(f"no workshop bundle yet: saving the course's base images into {target}")
        baseimages.bundle_save(target, names)
    return target


def sweep(instance: str, keep_volumes: bool = False) -> dict[str, int]:
    """Remove every object labelled with this hub instance (containers, networks, volumes)."""
    from helpers.engine import remove_each

    c = _client()
    flt = {"label": [f"{sandbox.MANAGED}=true", f"{sandbox.HUB}={instance}"]}

    def kept(vol: Any) -> bool:
        role = (vol.attrs.get("Labels") or {}).get(f"{sandbox.LABEL_PREFIX}.hub.volume")
        return keep_volumes and role in ("home", "data")

    return {
        "containers": remove_each(
            c.containers.list(all=True, filters=flt), lambda ctr: ctr.remove(force=True, v=True)
        ),
        "networks": remove_each(c.networks.list(filters=flt), lambda net: net.remove()),
        "volumes": remove_each(
            [v for v in c.volumes.list(filters=flt) if not kept(v)],
            lambda vol: vol.remove(force=True),
        ),
    }


def leftovers(instance: str) -> dict[str, list[str]]:
    c = _client()
    flt = {"label": [f"{sandbox.MANAGED}=true", f"{sandbox.HUB}={instance}"]}
    return {
        "containers": [x.name for x in c.containers.list(all=True, filters=flt)],
        "networks": [x.name for x in c.networks.list(filters=flt)],
        "volumes": [x.name for x in c.volumes.list(filters=flt)],
    }


def _passwords(state: Path) -> tuple[str, str]:
    user = os.environ.get("SHIPSHAPE_HUB_PASSWORD", "")
    admin = os.environ.get("SHIPSHAPE_HUB_ADMIN_PASSWORD", "")
    if user and admin:
        return user, admin
    f = state / "passwords.txt"
    if f.is_file():
        saved = dict(ln.split("=", 1) for ln in f.read_text().splitlines() if "=" in ln)
        user, admin = user or saved.get("attendee", ""), admin or saved.get("admin", "")
    user = user or secrets.token_urlsafe(9)
    admin = admin or secrets.token_urlsafe(32)
    f.write_text(f"attendee={user}\nadmin={admin}\n")
    f.chmod(0o600)
    say(f"passwords (attendee, admin) are in {f}")
    return user, admin


def cmd_build(args: argparse.Namespace) -> int:
    secs = image.build(args.image, args.base, on_line=None if args.quiet else print)
    say(f"built {args.image} from {args.base} in {secs:.1f}s")
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    instance = args.instance
    if not re.fullmatch(r"[a-z0-9]{1,12}", instance):
        raise ValueError("--instance: 1-12 lowercase letters or digits")
    state = state_dir(instance)
    state.mkdir(parents=True, exist_ok=True)
    c = _client()
    import docker

    try:
        c.images.get(args.image)
        if args.build:
            raise docker.errors.ImageNotFound("rebuild asked")
    except docker.errors.ImageNotFound:
        say(
            f"building the sandbox image {args.image} (layers are cached: later builds take seconds)"
        )
        secs = image.build(
            args.image,
            args.base,
            on_line=None if args.quiet else (lambda s: print(s, file=sys.stderr)),
        )
        say(f"built in {secs:.1f}s")
    chp = proxy_command()
    user_pw, admin_pw = _passwords(state)
    env = {
        **os.environ,
        "SHIPSHAPE_HUB_INSTANCE": instance,
        "SHIPSHAPE_HUB_IP": args.ip,
        "SHIPSHAPE_HUB_STATE": str(state),
        "SHIPSHAPE_HUB_PORT": str(args.port),
        "SHIPSHAPE_HUB_API_PORT": str(args.api_port),
        "SHIPSHAPE_HUB_PROXY_API_PORT": str(args.proxy_api_port),
        "SHIPSHAPE_HUB_CHP": chp,
        "SHIPSHAPE_HUB_IMAGE": args.image,
        "SHIPSHAPE_HUB_MEM": args.mem,
        "SHIPSHAPE_HUB_CPUS": str(args.cpus),
        "SHIPSHAPE_HUB_PIDS": str(args.pids),
        "SHIPSHAPE_HUB_CULL_IDLE_S": str(args.cull_idle),
        "SHIPSHAPE_HUB_PASSWORD": user_pw,
        "SHIPSHAPE_HUB_ADMIN_PASSWORD": admin_pw,
        "SHIPSHAPE_HUB_KEEP_VOLUMES": "1" if args.keep_volumes else "0",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    }
    proc: subprocess.Popen[bytes] | None = None
    fw = False
    try:
        if not args.no_bundle:
            bundle = ensure_bundle(args.bundle, args.bundle_image or None)
            env["SHIPSHAPE_HUB_BUNDLE_VOLUME"] = bundle_volume(instance, bundle, args.image)
        if args.no_firewall:
            say("WARNING: --no-firewall: sandboxes can reach every service on this host")
        else:
            why = firewall.available()
            if why:
                raise RuntimeError(
                    f"cannot apply the firewall rule ({why}); rerun as root or pass --no-firewall"
                )
            firewall.apply(instance, args.api_port)
            fw = True
            say(
                "firewall: sandboxes reach only the hub API: "
                + "; ".join(
                    "iptables " + " ".join(r) for r in firewall.rules(instance, args.api_port)
                )
            )
        say(
            f"JupyterHub on http://{args.ip}:{args.port}/ (instance {instance}, sandboxes {args.mem} / {args.cpus} CPU / {args.pids} pids)"
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(CONFIG)],
            cwd=state,
            env=env,
        )

        def forward(signum: int, _frame: Any) -> None:
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)

        signal.signal(signal.SIGTERM, forward)
        signal.signal(signal.SIGINT, forward)
        return proc.wait()
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=90)
            except subprocess.TimeoutExpired:
                proc.kill()
        if fw:
            firewall.remove(instance)
        removed = sweep(instance, keep_volumes=args.keep_volumes)
        say(
            "stopped; removed "
            + ", ".join(f"{v} {k}" for k, v in removed.items())
            + (" (firewall rule removed)" if fw else "")
        )


def cmd_down(args: argparse.Namespace) -> int:
    firewall.remove(args.instance)
    removed = sweep(args.instance)
    say("removed " + ", ".join(f"{v} {k}" for k, v in removed.items()))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    left = leftovers(args.instance)
    print("\n".join(f"{k}: {', '.join(v) or '-'}" for k, v in left.items()))
    print(f"firewall chain: {'present' if firewall.present(args.instance) else 'absent'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m hub",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="build the sandbox image offline")
    b.add_argument("--image", default=image.DEFAULT_TAG)
    b.add_argument("--base", default=image.DEFAULT_BASE)
    b.add_argument("--quiet", action="store_true")
    b.set_defaults(fn=cmd_build)
    u = sub.add_parser(
        "up", help="serve the workshop hub (Ctrl-C stops it and removes every sandbox)"
    )
    u.add_argument(
        "--instance", default="main", help="names, labels and the firewall chain carry it"
    )
    u.add_argument("--ip", default="0.0.0.0")
    u.add_argument("--port", type=int, default=8000, help="the room opens http://HOST:PORT/")
    u.add_argument(
        "--api-port", type=int, default=8081, help="hub API, the only host port sandboxes reach"
    )
    u.add_argument("--proxy-api-port", type=int, default=8001)
    u.add_argument("--image", default=image.DEFAULT_TAG)
    u.add_argument("--base", default=image.DEFAULT_BASE)
    u.add_argument(
        "--build", action="store_true", help="rebuild the sandbox image first (cached layers)"
    )
    u.add_argument("--bundle", help="workshop bundle (`python -m helpers bundle save` output)")
    u.add_argument(
        "--bundle-image", action="append", help="images to save when no bundle exists yet"
    )
    u.add_argument("--no-bundle", action="store_true")
    u.add_argument("--mem", default="2G", help="memory per sandbox (host-enforced)")
    u.add_argument("--cpus", type=float, default=1.0, help="CPUs per sandbox (host-enforced)")
    u.add_argument("--pids", type=int, default=1024, help="processes+threads per sandbox")
    u.add_argument(
        "--cull-idle", type=int, default=3600, help="stop servers idle this many seconds (0: never)"
    )
    u.add_argument(
        "--keep-volumes",
        action="store_true",
        help="keep participants' home and engine volumes when servers stop (warm restarts; `down` removes them)",
    )
    u.add_argument("--no-firewall", action="store_true")
    u.add_argument("--quiet", action="store_true")
    u.set_defaults(fn=cmd_up)
    d = sub.add_parser(
        "down", help="remove what a hub instance left behind (by label) and its firewall chain"
    )
    d.add_argument("--instance", default="main")
    d.set_defaults(fn=cmd_down)
    s = sub.add_parser("status", help="list a hub instance's labelled objects")
    s.add_argument("--instance", default="main")
    s.set_defaults(fn=cmd_status)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.fn(args) or 0)
    except (RuntimeError, FileNotFoundError, ValueError, subprocess.CalledProcessError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
