"""A queue worker: it processes batches, buffers the results, and writes them out every 20.

Whatever is still in the buffer when the process dies is lost, and so is the record of
where to resume (the checkpoint). `flush()` writes both.
"""

import json
import os
import time
from pathlib import Path

STATE = Path(os.environ.get("STATE_DIR", "/app/state"))
STATE.mkdir(parents=True, exist_ok=True)
buffer: list[dict] = []
batch = 0


def flush() -> None:
    """Append the buffered results and record the last finished batch (atomically)."""
    with open(STATE / "results.jsonl", "a") as f:
        for row in buffer:
            f.write(json.dumps(row) + "\n")
    buffer.clear()
    tmp = STATE / "checkpoint.json.tmp"
    tmp.write_text(json.dumps({"last_batch": batch}))
    tmp.replace(STATE / "checkpoint.json")  # rename is atomic: never a half-written checkpoint


# TODO 1: handle SIGTERM (what `docker stop` sends) and SIGINT (Ctrl-C): let the current
#         batch finish, then flush(), print a line containing "shutdown complete", and
#         exit with code 0.

print("worker: started", flush=True)
while True:
    batch += 1
    time.sleep(0.2)  # the work
    buffer.append({"batch": batch, "rows": 1000})
    print(f"worker: batch {batch} done", flush=True)
    if batch % 20 == 0:
        flush()
