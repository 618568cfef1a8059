"""dive in CI mode: image efficiency with pass/fail rules."""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from typing import Any

from .common import _last_error, _run, require

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class DiveResult:
    """dive in CI mode: efficiency, wasted bytes, and each rule's PASS/FAIL/SKIP."""

    image: str
    efficiency: float
    wasted_bytes: int
    user_wasted_percent: float
    rules: dict[str, str]
    passed: bool
    seconds: float
    inefficient_files: list[dict[str, Any]] = field(default_factory=list)
    output: str = field(default="", repr=False)


def parse_dive_ci(text: str) -> dict[str, Any]:
    """Pull the figures and rule verdicts out of ``dive --ci`` output.

    >>> out = parse_dive_ci("  efficiency: 97.5 %\\n  wastedBytes: 5517204 bytes (5.5 MB)\\n"
    ...     "  userWastedPercent: 10.0 %\\n  PASS: lowestEfficiency\\n"
    ...     "  FAIL: highestUserWastedPercent: too many bytes\\n"
    ...     "Result:FAIL [Total:2] [Passed:1] [Failed:1]")
    >>> out["efficiency"], out["wasted_bytes"], out["rules"]["highestUserWastedPercent"]
    (0.975, 5517204, 'FAIL')
    """
    t = ANSI.sub("", text)
    eff = re.search(r"efficiency:\s*([\d.]+)\s*%", t)
    wasted = re.search(r"wastedBytes:\s*(\d+)\s*bytes", t)
    uwp = re.search(r"userWastedPercent:\s*([\d.]+)\s*%", t)
    rules = {
        m.group(2): m.group(1) for m in re.finditer(r"^\s*(PASS|FAIL|SKIP|WARN):\s*(\w+)", t, re.M)
    }
    files = []
    block = re.search(r"Inefficient Files:\n(.*?)\n(?:Results:|\Z)", t, re.S)
    if block:
        for ln in block.group(1).splitlines()[1:]:
            m = re.match(r"\s*(\d+)\s+([\d.]+ \w?B)\s+(.*)$", ln)
            if m:
                files.append({"count": int(m.group(1)), "wasted": m.group(2), "path": m.group(3)})
    result = re.search(r"Result:\s*(PASS|FAIL)", t)
    return {
        "efficiency": float(eff.group(1)) / 100 if eff else float("nan"),
        "wasted_bytes": int(wasted.group(1)) if wasted else -1,
        "user_wasted_percent": float(uwp.group(1)) / 100 if uwp else float("nan"),
        "rules": rules,
        "passed": bool(result and result.group(1) == "PASS"),
        "inefficient_files": files,
    }


def dive_ci(
    image: str,
    lowest_efficiency: float = 0.9,
    highest_wasted_bytes: str = "disabled",
    highest_user_wasted_percent: str = "disabled",
    timeout_s: float = 300,
) -> DiveResult:
    """Run ``dive --ci`` on a local image with explicit rules (no ``.dive-ci`` file read)."""
    t0 = time.monotonic()
    out = _run(
        [
            require("dive"),
            "--ci",
            "--source",
            "docker",
            "--ci-config",
            os.devnull,
            "--lowestEfficiency",
            str(lowest_efficiency),
            "--highestWastedBytes",
            str(highest_wasted_bytes),
            "--highestUserWastedPercent",
            str(highest_user_wasted_percent),
            image,
        ],
        timeout_s,
        env={"CI": "true"},
    )
    secs = time.monotonic() - t0
    text = out.stdout + out.stderr
    p = parse_dive_ci(text)
    if not p["rules"]:
        raise RuntimeError(f"dive could not analyse {image}: {_last_error(ANSI.sub('', text))}")
    return DiveResult(image=image, seconds=secs, output=ANSI.sub("", text), **p)
