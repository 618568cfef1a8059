"""Wall time of each scanner on a slim and a full image, and the ratio full / slim.

    SHIPSHAPE_EXTRA_CA_CERTS=... .venv/bin/python benchmarks/scan_times.py [--reps 2]

Prints one line per (scan, image): median seconds of the reps, then the full/slim ratio.
The images are python:3.11-slim and python:3.11 with a tiny app on top (built here, removed
at the end). Vulnerability scanning is timed only when a Trivy database is present.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from helpers import engine, gate, images, scan


def _build(base: str, tmp: Path) -> str:
    d = tmp / base.replace(":", "-")
    d.mkdir()
    (d / "app.py").write_text("print('hi')\n")
    (d / "Dockerfile").write_text(
        f'FROM {base}\nCOPY app.py /app/\nCMD ["python", "/app/app.py"]\n'
    )
    tag = images.temp_tag("bench-scan", d)
    images.build(d, tag, on_event=None, timeout_s=300, lesson="bench")
    return tag


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reps", type=int, default=2)
    args = ap.parse_args()
    tags: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="shipshape-scan-times-") as tmp:
        try:
            for label, base in (("slim", "python:3.11-slim"), ("full", "python:3.11")):
                tags[label] = _build(base, Path(tmp))
            (Path(tmp) / "Dockerfile").write_text("FROM python:3.11\nCMD python app.py\n")
            scans = {
                "hadolint (Dockerfile)": lambda _t: scan.hadolint(Path(tmp) / "Dockerfile"),
                "trivy config (Dockerfile)": lambda _t: scan.trivy_config(Path(tmp) / "Dockerfile"),
                "trivy image secret+misconfig": lambda t: scan.trivy_image(t),
                "dive --ci": lambda t: scan.dive_ci(t),
                "python packages (container)": lambda t: scan.python_packages(t),
                "security updates (container)": lambda t: scan.pending_security_updates(t),
                "gate (all gates)": lambda t: gate.evaluate(t, allow_incomplete=True),
            }
            if scan.vuln_db().available:
                scans["trivy vuln"] = lambda t: scan.trivy_vulns(t)
            else:
                print("trivy vuln: NOT TIMED - no Trivy database on this machine")
            print(f"{'scan':<32} {'slim s':>8} {'full s':>8} {'full/slim':>10}")
            for name, fn in scans.items():
                med = {}
                for label, tag in tags.items():
                    secs = []
                    for _ in range(args.reps):
                        t0 = time.monotonic()
                        fn(tag)
                        secs.append(time.monotonic() - t0)
                    med[label] = statistics.median(secs)
                ratio = med["full"] / med["slim"] if med["slim"] > 0 else float("nan")
                print(f"{name:<32} {med['slim']:>8.2f} {med['full']:>8.2f} {ratio:>10.2f}")
        finally:
            for tag in tags.values():
                images.remove(tag)
    left = engine.leftovers(run=engine.RUN_ID)
    assert not any(left.values()), left


if __name__ == "__main__":
    main()
