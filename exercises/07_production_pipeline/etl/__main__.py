"""Load trips.csv into Postgres, then stay up serving /health until told to stop.

Settings (environment):
  DB_HOST, DB_PORT, DB_USER, DB_NAME     where to load (defaults: db, 5432, postgres, postgres)
  DB_PASSWORD_FILE                       file holding the password (preferred: a Compose secret)
  DB_PASSWORD                            the password itself (works, but leaks into `docker inspect`)
  HEALTH_PORT                            port of the /health endpoint (8000)
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

import psycopg2


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "timestamp": self.formatTime(record),
            "level": record.levelname,
            "message": record.getMessage(),
            "module": record.module,
            "function": record.funcName,
        }
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out)


handler = logging.StreamHandler(sys.stdout)
handler.setFormatter(JsonFormatter())
logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"), handlers=[handler])
log = logging.getLogger("etl")
stop = threading.Event()
state = {"db_ok": False, "rows": 0}


def password() -> str:
    path = os.environ.get("DB_PASSWORD_FILE")
    if path:
        return Path(path).read_text().strip()
    return os.environ.get("DB_PASSWORD", "")


def connect(deadline_s: float = 90.0):
    """Connect, retrying while the database starts; give up at the deadline."""
    end = time.monotonic() + deadline_s
    while True:
        try:
            return psycopg2.connect(
                host=os.environ.get("DB_HOST", "db"),
                port=int(os.environ.get("DB_PORT", "5432")),
                user=os.environ.get("DB_USER", "postgres"),
                dbname=os.environ.get("DB_NAME", "postgres"),
                password=password(),
                connect_timeout=3,
            )
        except psycopg2.OperationalError as exc:
            if stop.is_set():
                return None  # asked to stop while waiting for the database
            if time.monotonic() > end:
                raise
            log.info("database not ready yet: %s", str(exc).strip().splitlines()[0])
            stop.wait(1.0)


def extract() -> list[dict[str, str]]:
    with open(Path(__file__).with_name("trips.csv"), newline="") as fh:
        return list(csv.DictReader(fh))


def transform(rows: list[dict[str, str]]) -> list[tuple[int, str, float, float]]:
    out = []
    for r in rows:
        km, minutes = float(r["km"]), float(r["minutes"])
        out.append((int(r["trip_id"]), r["city"].strip().title(), km, round(km / (minutes / 60), 2)))
    return out


def load(conn, rows: list[tuple[int, str, float, float]]) -> int:
    with conn, conn.cursor() as cur:
        cur.execute(
            "CREATE TABLE IF NOT EXISTS trips (trip_id int PRIMARY KEY, city text, km numeric, kmh numeric)"
        )
        cur.execute("TRUNCATE trips")
        cur.executemany("INSERT INTO trips VALUES (%s, %s, %s, %s)", rows)
        cur.execute("SELECT count(*) FROM trips")
        return cur.fetchone()[0]


class Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        ok = self.path == "/health" and state["db_ok"]
        self.send_response(200 if ok else 503)
        self.end_headers()
        self.wfile.write(json.dumps({"ok": ok, **state}).encode())

    def log_message(self, *args) -> None:  # keep probes out of the logs
        pass


def main() -> int:
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server = ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("HEALTH_PORT", "8000"))), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    conn = connect()
    if conn is None:
        server.shutdown()
        log.info("shutdown complete (before the database answered)")
        return 0
    state["rows"] = load(conn, transform(extract()))
    state["db_ok"] = True
    log.info("loaded %d rows into trips", state["rows"])
    while not stop.wait(5.0):  # stay up; re-check the database for /health
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT 1")
            state["db_ok"] = True
        except psycopg2.Error:
            state["db_ok"] = False
            log.warning("database check failed")
    log.info("shutdown requested: closing the database connection")
    server.shutdown()
    conn.close()
    log.info("shutdown complete")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
