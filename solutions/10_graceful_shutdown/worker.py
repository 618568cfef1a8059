"""A queue worker: it processes batches, buffers the results, and writes them out every 20.

Whatever is still in the buffer when the process dies is lost, and so is the record of
where to resume (the checkpoint). `flush()` writes both. On SIGTERM or SIGINT the worker
finishes the batch in hand, flushes, and exits 0.
"""

import json
import os
import signal
import sys
import time
from pathlib import Path

STATE = Path(os.environ.get("STATE_DIR", "/app/state"))
STATE.mkdir(parents=True, exist_ok=True)
buffer: list[dict] = []
batch = 0
running = True


def flush() -> None:
    """Append the buffered results and record the last finished batch (atomically)."""
    with open(STATE / "results.jsonl", "a") as f:
        for row in buffer:
            f.write(json.dumps(row) + "\n")
    buffer.clear()
    tmp = STATE / "checkpoint.json.tmp"
    tmp.write_text(json.dumps({"last_batch": batch}))
    tmp.replace(STATE / "checkpoint.json")  # rename is atomic: never a half-written checkpoint


def request_stop(signum: int, frame: object) -> None:
    """Only note the request: the loop finishes its batch and stops at a clean point."""
    global running
    print(f"worker: got {signal.Signals(signum).name}, finishing batch {batch}", flush=True)
    running = False


signal.signal(signal.SIGTERM, request_stop)
signal.signal(signal.SIGINT, request_stop)

print("worker: started", flush=True)
while running:
    batch += 1
    time.sleep(0.2)  # the work
    buffer.append({"batch": batch, "rows": 1000})
    print(f"worker: batch {batch} done", flush=True)
    if batch % 20 == 0:
        flush()

flush()
print(f"worker: shutdown complete, checkpoint at batch {batch}", flush=True)
sys.exit(0)
