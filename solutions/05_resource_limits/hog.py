"""The ETL on a bad day: it keeps loading partitions into one pandas DataFrame, never letting go.

Each step adds about STEP_MB of float64 columns (written, so the memory is really used) and
prints how much it holds. It stops by itself at HOG_MAX_MB, so even without a limit it is
bounded; under a smaller memory limit the kernel's OOM killer ends it first (exit 137).
"""

import os
import time

import numpy as np
import pandas as pd

STEP_MB = int(os.environ.get("HOG_STEP_MB", "128"))
MAX_MB = int(os.environ.get("HOG_MAX_MB", "3072"))
PAUSE_S = float(os.environ.get("HOG_PAUSE_S", "0.05"))  # a little time per partition

rows = STEP_MB * 1024 * 1024 // 8 // 2  # two float64 columns per partition
parts = []
held = 0
while held < MAX_MB:
    part = pd.DataFrame({"a": np.full(rows, 1.5), "b": np.arange(rows, dtype="float64")})
    parts.append(part)
    held += STEP_MB
    print(f"hog: holding {held} MB in {len(parts)} partitions", flush=True)
    time.sleep(PAUSE_S)
print(f"hog: survived holding {held} MB: no limit stopped it", flush=True)
