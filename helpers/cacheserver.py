"""The package cache's servers: devpi-server (PyPI) and apt-cacher-ng (Debian), run in the
background; ``start``, ``stop``, ``status``, ``warm``, ``export`` and ``import_`` behind
``python -m helpers cache``. How builds find and use the cache is :mod:`helpers.pkgcache`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

from . import settings, waiting
from .pkgcache import (
    APT_PORT,
    ENV,
    PIP_PORT,
    START_TIMEOUT_S,
    PackageCacheError,
    _answers,
    config,
    preflight,
    state_dir,
)


def _devpi_bin(name: str) -> Path:
    """devpi-server's own venv (kept apart from the course's: its pins are its own)."""
    venv = settings.cache_dir() / "package-cache-venv"
    exe = venv / "bin" / name
    if exe.is_file():
        return exe
    found = shutil.which(name)
    if found:
        return Path(found)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    r = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "devpi-server>=6.10"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if r.returncode != 0 or not exe.is_file():
        raise PackageCacheError(
            "Could not install devpi-server (the PyPI cache) from PyPI: "
            f"{(r.stderr or r.stdout).strip()[-400:]}"
        )
    return exe


def _acng_bin() -> str:
    found = shutil.which("apt-cacher-ng") or (
        "/usr/sbin/apt-cacher-ng" if Path("/usr/sbin/apt-cacher-ng").is_file() else None
    )
    if not found:
        raise PackageCacheError(
            "apt-cacher-ng (the Debian package cache) is not installed: "
            "`sudo apt-get install apt-cacher-ng` (Debian/Ubuntu), then rerun."
        )
    return found


def _pidfile(name: str) -> Path:
    return state_dir() / f"{name}.pid"


def _group(pgid: int) -> list[int]:
    """Live (non-zombie) processes of process group ``pgid`` that belong to our state dir.

    Each server starts in its own session, so its process group is its first pid; a server
    that forks (apt-cacher-ng can) keeps its children in that group.
    """
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid and str(state_dir()) in cmd:
            out.append(int(d.name))
    return out


def _alive(name: str) -> int | None:
    """The process group of our server ``name`` if any of it runs."""
    pf = _pidfile(name)
    if not pf.is_file():
        return None
    try:
        pgid = int(pf.read_text().strip())
    except ValueError:
        return None
    return pgid if _group(pgid) else None


def _spawn(name: str, args: list[str], env: dict[str, str]) -> int:
    log = open(state_dir() / f"{name}.log", "ab")  # noqa: SIM115 - the child owns it
    proc = subprocess.Popen(
        args, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
    )
    _pidfile(name).write_text(str(proc.pid))
    return proc.pid


def _reap(name: str) -> str:
    """Collect a dead child's exit status (so it is no zombie); describe it."""
    try:
        pid = int(_pidfile(name).read_text().strip())
        _, status = os.waitpid(pid, os.WNOHANG)
    except (OSError, ValueError, ChildProcessError):
        return f"{name}: exit status unknown"
    return f"{name}: exit status {os.waitstatus_to_exitcode(status)}" if status else f"{name}: gone"


def _socket_path(root: Path) -> Path:
    """apt-cacher-ng's control socket: short (unix sockets allow ~100 bytes), one per state dir."""
    import tempfile

    digest = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"shipshape-acng-{digest}.sock"


def _log_tail(name: str, n: int = 6) -> str:
    p = state_dir() / f"{name}.log"
    return "\n".join(p.read_text(errors="replace").splitlines()[-n:]) if p.is_file() else ""


def start(
    *,
    bind: str = "0.0.0.0",
    pip_port: int = PIP_PORT,
    apt_port: int = APT_PORT,
    offline: bool = False,
    upstream_proxy: str | None = None,
    timeout_s: float = START_TIMEOUT_S,
) -> dict[str, Any]:
    """Start both servers in the background (idempotent) and wait until they answer.

    Args:
        bind: address to listen on (all by default: the engine's containers and a room's laptops
            must reach it).
        offline: serve only what is cached (devpi ``--offline-mode``, apt-cacher-ng Offlinemode).
        upstream_proxy: send every upstream request through this proxy (e.g. a loopback port where
            nothing listens, to prove builds need nothing but the cache).
        timeout_s: deadline for both to answer; past it they are stopped and the log shown.
    """
    root = state_dir()
    root.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    ca = settings.extra_ca_file()
    if ca is not None:  # a TLS-inspecting proxy in front of PyPI: the server must trust it too
        env.update(SSL_CERT_FILE=str(ca), REQUESTS_CA_BUNDLE=str(ca))
    if upstream_proxy:
        env.update(HTTP_PROXY=upstream_proxy, HTTPS_PROXY=upstream_proxy, NO_PROXY="")
        env.update(http_proxy=upstream_proxy, https_proxy=upstream_proxy, no_proxy="")
    started = []
    if _alive("devpi") is None:
        server = _devpi_bin("devpi-server")
        data = root / "devpi"
        if not (data / ".serverversion").is_file():
            r = subprocess.run(
                [str(server.parent / "devpi-init"), "--serverdir", str(data)],
                capture_output=True,
                text=True,
                timeout=120,
                env=env,
            )
            if r.returncode != 0:
                raise PackageCacheError(f"devpi-init failed: {(r.stderr or r.stdout)[-400:]}")
        secret = root / "devpi-secret"
        if not secret.is_file():
            secret.write_text(os.urandom(32).hex())
            secret.chmod(0o600)
        args = [str(server), "--serverdir", str(data), "--host", bind, "--port", str(pip_port)]
        args += ["--secretfile", str(secret), "--request-timeout", "20"]
        args += ["--offline-mode"] if offline else []
        _spawn("devpi", args, env)
        started.append("devpi")
    if _alive("apt-cacher-ng") is None:
        conf = root / "acng-conf"
        conf.mkdir(exist_ok=True)
        (root / "apt").mkdir(exist_ok=True)
        (root / "apt-log").mkdir(exist_ok=True)
        lines = [
            f"CacheDir: {root / 'apt'}",
            f"LogDir: {root / 'apt-log'}",
            "SupportDir: /usr/lib/apt-cacher-ng",
            f"Port: {apt_port}",
            f"BindAddress: {bind}",
            "ReportPage: acng-report.html",
            "ExThreshold: 4",
            "NetworkTimeout: 20",
            f"SocketPath: {_socket_path(root)}",  # one per instance (default is system-wide)
        ]
        if offline:
            lines.append("Offlinemode: 1")
        if upstream_proxy:
            lines.append(f"Proxy: {upstream_proxy}")
        (conf / "acng.conf").write_text("\n".join(lines) + "\n")
        acng = [_acng_bin(), "-c", str(conf), "ForeGround=1", f"PidFile={root / 'acng.pid2'}"]
        _spawn("apt-cacher-ng", acng, env)
        started.append("apt-cacher-ng")
    probe = "127.0.0.1" if bind in ("0.0.0.0", "") else bind
    retries = [2]
    codes: dict[str, None] = {}

    def answering() -> bool:
        if _answers(probe, pip_port, 1) and _answers(probe, apt_port, 1):
            return True
        dead = [n for n in ("devpi", "apt-cacher-ng") if _alive(n) is None]
        if dead == ["apt-cacher-ng"] and retries[0] and "apt-cacher-ng" in started:
            # apt-cacher-ng 3.7 now and then exits at once on a fresh cache folder: once more
            retries[0] -= 1
            codes[_reap("apt-cacher-ng")] = None
            with contextlib.suppress(ProcessLookupError):
                os.killpg(int(_pidfile("apt-cacher-ng").read_text()), signal.SIGKILL)
            _spawn("apt-cacher-ng", acng, env)
            return False
        if dead:
            codes.update({_reap(n): None for n in dead})
            tails = {n: _log_tail(n) for n in dead}
            stop()
            raise PackageCacheError(
                f"{', '.join(dead)} exited while starting ({', '.join(codes)}): {tails}"
            )
        return False

    try:
        waiting.until(answering, timeout_s, interval_s=0.3, what="the package cache answering")
    except waiting.Timeout:
        tails = {n: _log_tail(n) for n in ("devpi", "apt-cacher-ng")}
        stop()
        raise PackageCacheError(
            f"The package cache did not answer within {timeout_s:.0f}s and was stopped: {tails}"
        ) from None
    (root / "mode.json").write_text(
        json.dumps({"offline": offline, "upstream_proxy": upstream_proxy, "bind": bind})
    )
    return {**status(), "started": started}


def stop(timeout_s: float = 20.0) -> list[str]:
    """Stop both servers (by their pid files; never anything else). Returns the ones stopped."""
    stopped = []
    for name in ("devpi", "apt-cacher-ng"):
        pid = _alive(name)
        if pid is None:
            _pidfile(name).unlink(missing_ok=True)
            continue
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)  # the whole group: forked helpers too

        def gone(pid: int = pid, name: str = name) -> bool:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)  # reap it if it is our child
            return _alive(name) is None

        if not waiting.holds(gone, timeout_s, interval_s=0.1):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        _pidfile(name).unlink(missing_ok=True)
        stopped.append(name)
    _socket_path(state_dir()).unlink(missing_ok=True)  # apt-cacher-ng leaves its socket behind
    return stopped


def _dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.is_dir() else 0


def status() -> dict[str, Any]:
    """Which servers run, where builds reach them, how much is cached."""
    root = state_dir()
    mode = json.loads((root / "mode.json").read_text()) if (root / "mode.json").is_file() else {}
    cfg = None
    with contextlib.suppress(PackageCacheError):
        cfg = config()
    return {
        "devpi": _alive("devpi") is not None,
        "apt-cacher-ng": _alive("apt-cacher-ng") is not None,
        "mode": mode,
        "configured": bool(cfg),
        "pip_index_url": cfg.pip_index_url if cfg else None,
        "apt_proxy": cfg.apt_proxy if cfg else None,
        "pip_cached_bytes": _dir_bytes(root / "devpi" / "+files"),
        "apt_cached_bytes": _dir_bytes(root / "apt"),
        "state_dir": str(root),
    }


def warm(on_line: Any = None) -> list[dict[str, Any]]:
    """Build every starter and solution once (cold) through the cache; images are removed.

    Needs ``$SHIPSHAPE_PACKAGE_CACHE`` and base images that carry the cache layer
    (``python -m helpers images``).
    """
    from . import engine, images
    from .checks import materialized

    if config() is None:
        raise PackageCacheError(
            f"Set {ENV} (e.g. `auto`) and run `python -m helpers images` first."
        )
    preflight()
    root = settings.repo_root()
    out = []
    folders = sorted(p for p in (root / "exercises").iterdir() if p.is_dir())
    folders += sorted(p for p in (root / "solutions").iterdir() if p.is_dir())
    for folder in folders:
        with materialized(folder) as real:
            for df in sorted(real.rglob("Dockerfile*")):
                if not df.is_file() or ".ipynb_checkpoints" in df.parts:
                    continue
                tag = f"{engine.TAG_PREFIX}warm/{folder.name.lower()}:{df.name.lower()}"
                row: dict[str, Any] = {
                    "folder": str(folder.relative_to(root)),
                    "dockerfile": df.name,
                    "starter": folder.parent.name == "exercises",  # may not build: it is a task
                }
                try:
                    r = images.build(
                        df.parent, tag, dockerfile=df.name, nocache=True, on_event=None
                    )
                    row.update(ok=True, seconds=round(r.seconds, 1))
                except (images.BuildError, FileNotFoundError) as exc:
                    row.update(ok=False, error=str(exc).splitlines()[0][:200])
                finally:
                    images.remove(tag)
                out.append(row)
                if on_line:
                    on_line(json.dumps(row))
    return out


def default_archive() -> Path:
    """``package-cache.tar.gz`` beside the base-image bundle."""
    from . import baseimages

    return baseimages.bundle_path().parent / "package-cache.tar.gz"


def export(path: str | Path | None = None) -> dict[str, Any]:
    """Write the cached PyPI and Debian files into one archive (servers paused meanwhile)."""
    target = Path(path) if path else default_archive()
    root = state_dir()
    if not (root / "devpi").is_dir():
        raise PackageCacheError("Nothing cached yet: `python -m helpers cache start`, then `warm`.")
    was = json.loads((root / "mode.json").read_text()) if (root / "mode.json").is_file() else {}
    running = _alive("devpi") is not None or _alive("apt-cacher-ng") is not None
    stop()  # a consistent copy of devpi's database
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".part")
    try:
        with tarfile.open(tmp, "w:gz") as tf:
            for part in ("devpi", "apt"):
                if (root / part).is_dir():
                    tf.add(root / part, arcname=part)
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
        if running:
            start(**{k: v for k, v in was.items() if k in ("offline", "upstream_proxy", "bind")})
    return {"path": str(target), "bytes": target.stat().st_size}


def import_(path: str | Path | None = None) -> dict[str, Any]:
    """Unpack an archive written by :func:`export` (replacing this machine's cached files)."""
    source = Path(path) if path else default_archive()
    if not source.is_file():
        raise FileNotFoundError(
            f"No package cache archive at {source}: copy package-cache.tar.gz here or pass its path."
        )
    root = state_dir()
    root.mkdir(parents=True, exist_ok=True)
    stop()
    with tarfile.open(source, "r:gz") as tf:
        names = {m.name.split("/")[0] for m in tf.getmembers()}
        if not names <= {"devpi", "apt"}:
            raise PackageCacheError(
                f"{source} is not a package cache archive (has {sorted(names)})."
            )
        for part in names:
            shutil.rmtree(root / part, ignore_errors=True)
        tf.extractall(root, filter="data")
    return {"path": str(source), "parts": sorted(names), **status()}
