"""orders-api: a tiny HTTP service for the health-check exercise (standard library only).

Endpoints
  GET /        the service's real work: a JSON summary of orders
  GET /health  200 when the service can do its work, 503 when it cannot
  GET /break   simulates a fault (the database connection is lost): from now on /health
               answers 503 while the process keeps running and / still answers. This is
               the kind of failure a container's *running* state never shows.

The service needs a few seconds to warm up (APP_WARMUP_S, default 3): until then /health
answers 503 "warming up", like a real API loading a model or opening a connection pool.
You do not need to change this file.
"""

import json
import os
import signal
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WARMUP_S = float(os.environ.get("APP_WARMUP_S", "3"))
PORT = int(os.environ.get("APP_PORT", "8000"))
STARTED = time.monotonic()
STATE = {"db_connected": True}


class Handler(BaseHTTPRequestHandler):
    def _send(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/health":
            if not STATE["db_connected"]:
                self._send(503, {"status": "fail", "reason": "database connection lost"})
            elif time.monotonic() - STARTED < WARMUP_S:
                self._send(503, {"status": "starting", "reason": "warming up"})
            else:
                self._send(200, {"status": "ok"})
        elif self.path == "/break":
            STATE["db_connected"] = False
            print("fault injected: database connection lost", flush=True)
            self._send(200, {"db_connected": False})
        elif self.path == "/":
            self._send(200, {"service": "orders-api", "orders_today": 42})
        else:
            self._send(404, {"error": "not found"})

    def log_message(self, fmt: str, *args) -> None:  # keep probes out of the logs
        if "/health" not in (args[0] if args else ""):
            sys.stdout.write("%s %s\n" % (self.address_string(), fmt % args))
            sys.stdout.flush()


if __name__ == "__main__":
    # `docker stop` sends SIGTERM; as PID 1 Python would ignore it, so exit cleanly (lesson 07).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"orders-api listening on :{PORT} (warm-up {WARMUP_S:.0f}s)", flush=True)
    ThreadingHTTPServer(("0.0.0.0", PORT), Handler).serve_forever()
