"""Seed sensor readings into Postgres, then serve them over HTTP until told to stop.

GET /health  200 while the database answers, 503 otherwise (what the HEALTHCHECK probes)
GET /stats   per-sensor count and mean temperature, as JSON

Settings (environment): DB_HOST, DB_PORT, DB_USER, DB_NAME, DB_PASSWORD_FILE, PORT (8000).
The database driver is pg8000, pure Python: no compiler needed, unlike psycopg2.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pg8000.dbapi

logging.basicConfig(
    level=logging.INFO,
    stream=sys.stdout,
    format='{"time": "%(asctime)s", "level": "%(levelname)s", "message": "%(message)s"}',
)
log = logging.getLogger("readings")
stop = threading.Event()
lock = threading.Lock()
state: dict = {"conn": None}


def connect(deadline_s: float = 90.0):
    """Connect, retrying while the database starts; None if asked to stop meanwhile."""
    secret = Path(os.environ.get("DB_PASSWORD_FILE", "/run/secrets/db_password"))
    end = time.monotonic() + deadline_s
    while not stop.is_set():
        try:
            return pg8000.dbapi.connect(
                host=os.environ.get("DB_HOST", "db"),
                port=int(os.environ.get("DB_PORT", "5432")),
                user=os.environ.get("DB_USER", "postgres"),
                database=os.environ.get("DB_NAME", "postgres"),
                password=secret.read_text().strip() if secret.is_file() else "",
                timeout=3,
            )
        except (OSError, pg8000.dbapi.Error) as exc:
            if time.monotonic() > end:
                raise
            log.info("database not ready yet: %s", type(exc).__name__)
            stop.wait(1.0)
    return None


def seed(conn) -> int:
    with open(Path(__file__).with_name("readings.csv"), newline="") as fh:
        rows = [(int(r["reading_id"]), r["sensor"], float(r["celsius"])) for r in csv.DictReader(fh)]
    cur = conn.cursor()
    cur.execute("CREATE TABLE IF NOT EXISTS readings (reading_id int PRIMARY KEY, sensor text, celsius real)")
    cur.execute("TRUNCATE readings")
    cur.executemany("INSERT INTO readings VALUES (%s, %s, %s)", rows)
    conn.commit()
    return len(rows)


def query(sql: str) -> list:
    with lock:
        cur = state["conn"].cursor()
        cur.execute(sql)
        return cur.fetchall()


class Api(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        try:
            if self.path == "/health":
                query("SELECT 1")
                body: object = {"ok": True}
            elif self.path == "/stats":
                body = {
                    s: {"readings": n, "mean_celsius": round(float(m), 2)}
                    for s, n, m in query(
                        "SELECT sensor, count(*), avg(celsius) FROM readings GROUP BY sensor ORDER BY sensor"
                    )
                }
            else:
                self.send_error(404)
                return
            code = 200
        except Exception as exc:  # the database is gone: say so, and /health fails
            code, body = 503, {"ok": False, "error": type(exc).__name__}
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps(body).encode())

    def log_message(self, *args) -> None:  # keep health probes out of the logs
        pass


def main() -> int:
    # SIGTERM (docker stop) and SIGINT end the loop below: the process is PID 1 (exec-form CMD)
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    state["conn"] = connect()
    if state["conn"] is None:
        log.info("shutdown complete (before the database answered)")
        return 0
    log.info("seeded %d readings", seed(state["conn"]))
    server = ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT", "8000"))), Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    log.info("serving on port %d", server.server_port)
    stop.wait()
    log.info("shutdown requested: closing the server and the database connection")
    server.shutdown()
    state["conn"].close()
    log.info("shutdown complete")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
