"""A participant, scripted: log in through the hub's REST API, start a server, run code in it.

Used by the hub test and benchmarks/hub.py. Only the hub's public endpoints are used
(``/hub/login``, ``/hub/api/users/...``, the single-user server's ``/api/kernels``).

Example (a running hub):
    >>> p = Participant("http://127.0.0.1:8000", "alice", "room-password")   # doctest: +SKIP
    >>> p.login(); p.start_server(); p.run("print(1 + 1)").stdout             # doctest: +SKIP
    '2\\n'
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import requests

from helpers import waiting


class HubError(RuntimeError):
    """The hub answered something unexpected; the message carries its answer."""


@dataclass
class Execution:
    stdout: str = ""
    stderr: str = ""
    error: str = ""
    seconds: float = 0.0
    result: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.error


class Participant:
    def __init__(self, base_url: str, name: str, password: str) -> None:
        self.base = base_url.rstrip("/")
        self.name = name
        self.password = password
        self.http = requests.Session()
        self.token: str | None = None

    # ---- the hub ------------------------------------------------------------------------
    def _xsrf(self) -> dict[str, str]:
        tok = self.http.cookies.get("_xsrf")
        return {"X-XSRFToken": tok} if tok else {}

    def login(self) -> None:
        """POST /hub/login with the room's password; raises HubError when refused."""
        self.http.get(f"{self.base}/hub/login", timeout=30).raise_for_status()
        r = self.http.post(
            f"{self.base}/hub/login",
            data={
                "username": self.name,
                "password": self.password,
                "_xsrf": self.http.cookies.get("_xsrf", ""),
            },
            allow_redirects=False,
            timeout=30,
        )
        if r.status_code != 302:
            raise HubError(f"login as {self.name} refused: HTTP {r.status_code}")
        r = self.http.post(
            f"{self.base}/hub/api/users/{self.name}/tokens",
            json={"note": "shipshape client", "expires_in": 3600},
            headers=self._xsrf(),
            timeout=30,
        )
        if r.status_code not in (200, 201):
            raise HubError(f"token for {self.name}: HTTP {r.status_code} {r.text[:200]}")
        self.token = r.json()["token"]

    def api(self, method: str, path: str, **kw: Any) -> requests.Response:
        headers = {"Authorization": f"token {self.token}"} if self.token else self._xsrf()
        return self.http.request(
            method, f"{self.base}/hub/api{path}", headers=headers, timeout=60, **kw
        )

    def server(self) -> dict[str, Any] | None:
        r = self.api("GET", f"/users/{self.name}")
        r.raise_for_status()
        return r.json().get("servers", {}).get("")

    def start_server(self, timeout_s: float = 300) -> float:
        """Ask for the server and wait until the hub says it is ready; returns seconds."""
        t0 = time.monotonic()
        r = self.api("POST", f"/users/{self.name}/server")
        if r.status_code not in (201, 202, 400):  # 400: already running
            raise HubError(f"start {self.name}: HTTP {r.status_code} {r.text[:300]}")

        def ready() -> bool:
            s = self.server()
            if s is None and time.monotonic() - t0 > 5:
                raise HubError(f"{self.name}'s server failed to start (see the hub's log)")
            return bool(s and s.get("ready"))

        try:
            waiting.until(ready, timeout_s, interval_s=0.25)
        except waiting.Timeout:
            raise HubError(f"{self.name}'s server was not ready within {timeout_s:.0f}s") from None
        return time.monotonic() - t0

    def stop_server(self, timeout_s: float = 120) -> float:
        t0 = time.monotonic()
        r = self.api("DELETE", f"/users/{self.name}/server")
        if r.status_code not in (202, 204):
            raise HubError(f"stop {self.name}: HTTP {r.status_code} {r.text[:300]}")
        if not waiting.holds(lambda: self.server() is None, timeout_s, interval_s=0.25):
            raise HubError(f"{self.name}'s server did not stop within {timeout_s:.0f}s")
        return time.monotonic() - t0

    # ---- the participant's JupyterLab ---------------------------------------------------
    @property
    def server_url(self) -> str:
        return f"{self.base}/user/{self.name}"

    def run(self, code: str, timeout_s: float = 300) -> Execution:
        """Run ``code`` in a fresh kernel of the participant's server (then shut it down)."""
        import websocket

        hdr = {"Authorization": f"token {self.token}"}
        r = self.http.post(
            f"{self.server_url}/api/kernels", headers=hdr, json={"name": "python3"}, timeout=60
        )
        if r.status_code != 201:
            raise HubError(f"kernel for {self.name}: HTTP {r.status_code} {r.text[:200]}")
        kid = r.json()["id"]
        ws_url = self.server_url.replace("http", "ws", 1) + f"/api/kernels/{kid}/channels"
        out = Execution()
        t0 = time.monotonic()
        ws = websocket.create_connection(
            ws_url, header=[f"Authorization: token {self.token}"], timeout=timeout_s
        )
        try:
            msg_id = uuid.uuid4().hex
            ws.send(
                json.dumps(
                    {
                        "header": {
                            "msg_id": msg_id,
                            "username": self.name,
                            "session": uuid.uuid4().hex,
                            "msg_type": "execute_request",
                            "version": "5.3",
                        },
                        "parent_header": {},
                        "metadata": {},
                        "channel": "shell",
                        "buffers": [],
                        "content": {
                            "code": code,
                            "silent": False,
                            "store_history": False,
                            "user_expressions": {},
                            "allow_stdin": False,
                            "stop_on_error": True,
                        },
                    }
                )
            )
            replied = idle = False
            while not (replied and idle):
                if time.monotonic() - t0 > timeout_s:
                    raise HubError(
                        f"code in {self.name}'s kernel did not finish within {timeout_s:.0f}s"
                    )
                msg = json.loads(ws.recv())
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind, content = msg["msg_type"], msg["content"]
                if kind == "stream":
                    if content["name"] == "stdout":
                        out.stdout += content["text"]
                    else:
                        out.stderr += content["text"]
                elif kind == "error":
                    out.error = f"{content['ename']}: {content['evalue']}"
                elif kind == "execute_reply":
                    replied = True
                    out.result = content
                elif kind == "status" and content.get("execution_state") == "idle":
                    idle = True
        finally:
            ws.close()
            self.http.delete(f"{self.server_url}/api/kernels/{kid}", headers=hdr, timeout=60)
        out.seconds = time.monotonic() - t0
        return out

    def sh(self, command: str, timeout_s: float = 300) -> tuple[int, str]:
        """Run a shell command in the sandbox (through the kernel); returns (exit code, output)."""
        code = (
            "import subprocess, json\n"
            f"r = subprocess.run({command!r}, shell=True, capture_output=True, text=True, timeout={timeout_s})\n"
            "print(json.dumps([r.returncode, r.stdout + r.stderr]))\n"
        )
        ex = self.run(code, timeout_s=timeout_s + 30)
        if not ex.ok:
            raise HubError(f"{command!r} in {self.name}'s sandbox: {ex.error}\n{ex.stderr[-500:]}")
        rc, text = json.loads(ex.stdout.strip().splitlines()[-1])
        return int(rc), str(text)
