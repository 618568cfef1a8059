"""Cold builds with and without the package cache: time and bytes fetched from upstream.

    python benchmarks/package_cache.py             # ~10 min
    python benchmarks/package_cache.py --offline-proof

It switches the course base images between "plain" and "with the package-cache layer", so run
it on an engine that is yours alone (a laptop, CI, or a second dockerd via ``DOCKER_HOST``).

For the heaviest builds (exercise 01's starter and solution, 04's and 07's solutions), every
build cold (``nocache=True``), in three modes:

- ``no cache``: plain base images, pip and apt talk to PyPI and Debian directly;
- ``cold cache``: a fresh, empty cache (its own folder and ports): it fetches everything once;
- ``warm cache``: the same builds again: the cache serves them.

Bytes from upstream: without the cache, the bytes the build containers received on the engine's
bridge (``/sys/class/net/<bridge>/statistics/tx_bytes``, exact on an engine of your own);
with the cache, how much the cache's stored files grew (what it fetched upstream). The bytes the
builds received are printed for every mode. ``--offline-proof`` then restarts the cache with its
upstream pointed at a loopback port where nothing listens and runs every solution's check.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from helpers import baseimages, cacheserver, check, engine, images, pkgcache, settings
from helpers.checks import materialized

ROOT = settings.repo_root()
BUILDS = (
    ("01 starter", ROOT / "exercises" / "01_optimize_image"),
    ("01 solution", ROOT / "solutions" / "01_optimize_image"),
    ("04 solution", ROOT / "solutions" / "04_multi_stage"),
    ("07 solution", ROOT / "solutions" / "07_production_pipeline"),
)
PIP_PORT, APT_PORT = 3151, 3152
DEAD_UPSTREAM = "http://127.0.0.1:9"  # nothing listens on the discard port


def bridge_iface() -> str:
    net = engine.client().networks.get("bridge")
    return net.attrs.get("Options", {}).get("com.docker.network.bridge.name", "docker0")


def tx_bytes(iface: str) -> int:
    return int(Path(f"/sys/class/net/{iface}/statistics/tx_bytes").read_text())


def cache_bytes() -> int:
    s = cacheserver.status()
    return int(s["pip_cached_bytes"]) + int(s["apt_cached_bytes"])


def set_mode(cache_on: bool) -> None:
    if cache_on:
        os.environ[pkgcache.ENV] = f"{pkgcache.bridge_gateway()}:{PIP_PORT}:{APT_PORT}"
    else:
        os.environ.pop(pkgcache.ENV, None)
    for name in baseimages.REQUIRED:  # layer on (or off) every base image
        baseimages.ensure(name)


def run_builds(mode: str, iface: str, rows: list[tuple]) -> None:
    for label, folder in BUILDS:
        with materialized(folder) as ctx:
            tag = f"shipshape-bench/pkgcache:{label.replace(' ', '-')}"
            b0, c0 = tx_bytes(iface), cache_bytes() if mode != "no cache" else 0
            try:
                r = images.build(ctx, tag, nocache=True, on_event=None, timeout_s=1200)
            except images.BuildError as exc:
                print(exc.log[-2500:], flush=True)
                raise
            delivered = tx_bytes(iface) - b0
            upstream = delivered if mode == "no cache" else cache_bytes() - c0
            images.remove(tag)
        rows.append((label, mode, r.seconds, upstream, delivered))
        print(
            f"  {label:<12}{mode:<12}{r.seconds:7.1f} s  upstream {upstream / 1e6:7.1f} MB"
            f"  to builds {delivered / 1e6:7.1f} MB",
            flush=True,
        )


def offline_proof() -> list[tuple[str, str, bool]]:
    """Every solution checked with the cache's upstream at a dead loopback port."""
    cacheserver.stop()
    cacheserver.start(pip_port=PIP_PORT, apt_port=APT_PORT, upstream_proxy=DEAD_UPSTREAM)
    out = []
    for folder in sorted(p for p in (ROOT / "solutions").iterdir() if p.is_dir()):
        ex = folder.name[:2]
        t0 = time.monotonic()
        rep = check(ex, path=folder)
        ok = not rep.error and rep.passed
        out.append((folder.name, f"{rep.score:g}/{rep.max_score:g}", ok))
        print(
            f"  offline: {folder.name:<26}{rep.score:>5g}/{rep.max_score:<4g}"
            f"{'PASS' if ok else 'FAIL'}  {time.monotonic() - t0:6.1f} s"
            + (f"  {rep.error}" if rep.error else "")
            + ("" if ok else "  " + "; ".join(r.name for r in rep.failed())),
            flush=True,
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--offline-proof", action="store_true", help="then check every solution offline"
    )
    ap.add_argument(
        "--proof-only", action="store_true", help="only warm + the offline proof (use with --keep)"
    )
    ap.add_argument("--keep", help="keep the warmed cache in this folder (default: a temp folder)")
    args = ap.parse_args()
    state = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="shipshape-pkgcache-"))
    saved = {k: os.environ.get(k) for k in (pkgcache.ENV, pkgcache.STATE_ENV)}
    os.environ[pkgcache.STATE_ENV] = str(state)
    iface = bridge_iface()
    rows: list[tuple] = []
    proof: list[tuple[str, str, bool]] = []
    try:
        if not args.proof_only:
            set_mode(False)
            run_builds("no cache", iface, rows)
        cacheserver.start(pip_port=PIP_PORT, apt_port=APT_PORT)
        set_mode(True)
        if not args.proof_only:
            run_builds("cold cache", iface, rows)
            run_builds("warm cache", iface, rows)
        if args.offline_proof or args.proof_only:
            t0 = time.monotonic()
            warmed = cacheserver.warm()  # every starter's and solution's installs, once
            bad = [r for r in warmed if not r["ok"] and r["folder"].startswith("solutions")]
            print(
                f"  warm: {len(warmed)} builds in {time.monotonic() - t0:.0f} s; solutions failed: {bad}"
            )
            proof = offline_proof()
        size = cacheserver.export(state.parent / f"{state.name}.tar.gz")
        print(f"\nexported cache: {size['bytes'] / 1e6:.1f} MB ({size['path']})")
        Path(size["path"]).unlink()
    finally:
        cacheserver.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        for name in baseimages.REQUIRED:  # base images back to what the environment asks
            baseimages.ensure(name)
        engine.clean(run=engine.RUN_ID)
        if not args.keep:
            shutil.rmtree(state, ignore_errors=True)
    print(f"\nbridge {iface}; every build cold (nocache=True)")
    print(
        f"{'build':<13}{'mode':<12}{'seconds':>8}{'upstream MB':>13}{'to builds MB':>14}{'time':>7}"
    )
    base = {r[0]: r[2] for r in rows if r[1] == "no cache"}
    for label, mode, secs, up, got in rows:
        print(
            f"{label:<13}{mode:<12}{secs:>8.1f}{up / 1e6:>13.1f}{got / 1e6:>14.1f}{secs / base[label]:>7.2f}"
        )
    if proof:
        passed = sum(ok for *_, ok in proof)
        print(f"\noffline proof (upstream {DEAD_UPSTREAM}): {passed}/{len(proof)} solutions pass")


if __name__ == "__main__":
    main()
