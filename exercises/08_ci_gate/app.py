"""A small service a data team might ship: /health for probes, /stats for a batch of numbers."""

import json
import statistics
from http.server import BaseHTTPRequestHandler, HTTPServer


def summarize(values: list[float]) -> dict[str, float]:
    """Count, mean and median of a batch; an empty batch is an error, not a zero."""
    if not values:
        raise ValueError("empty batch")
    return {
        "count": len(values),
        "mean": statistics.fmean(values),
        "median": statistics.median(values),
    }


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/health":
            body = {"status": "ok"}
        elif self.path.startswith("/stats?values="):
            raw = self.path.split("=", 1)[1]
            body = summarize([float(v) for v in raw.split(",") if v])
        else:
            self.send_error(404)
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt: str, *args: object) -> None:
        print(json.dumps({"event": "request", "line": fmt % args}), flush=True)


if __name__ == "__main__":
    HTTPServer(("0.0.0.0", 8000), Handler).serve_forever()
