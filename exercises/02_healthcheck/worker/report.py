"""daily-report: a one-shot job that needs orders-api to be ready when it starts.

It asks the API once. If the API is not ready yet (connection refused, or /health is
not 200), the job fails with exit code 1: exactly what happens to real jobs that start
before the service they depend on. You do not need to change this file.
"""

import json
import sys
import urllib.error
import urllib.request

API = "http://api:8000"

try:
    with urllib.request.urlopen(f"{API}/health", timeout=3) as r:
        status = r.status
    with urllib.request.urlopen(f"{API}/", timeout=3) as r:
        summary = json.load(r)
except (urllib.error.URLError, OSError) as exc:
    print(f"report: FAILED, the API was not ready: {exc}", flush=True)
    sys.exit(1)
print(f"report: api answered {status}; orders today: {summary['orders_today']}", flush=True)
