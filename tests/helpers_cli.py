"""Run ``python -m helpers ...`` as a user would, from the repository root."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT


def run_helpers(
    *args: str, timeout: float = 300, env_extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The finished process (exit code, stdout, stderr as text) of ``python -m helpers ARGS``."""
    return subprocess.run(
        [sys.executable, "-m", "helpers", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env_extra or {})},
    )
