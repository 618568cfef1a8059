# JupyterHub configuration for a Shipshape workshop on one machine.
# Started by `python -m hub up`, which sets the SHIPSHAPE_HUB_* variables read below
# (every one has a default; see hub/README.md for the table).
# ruff: noqa: F821  (`c` is injected by JupyterHub)
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hub import sandbox

env = os.environ.get
instance = env("SHIPSHAPE_HUB_INSTANCE", "local")
state = Path(env("SHIPSHAPE_HUB_STATE", str(Path.home() / ".cache/shipshape/hub" / instance)))
state.mkdir(parents=True, exist_ok=True)

# --- the hub and its proxy -------------------------------------------------------------------
c.JupyterHub.ip = env("SHIPSHAPE_HUB_IP", "0.0.0.0")
c.JupyterHub.port = int(env("SHIPSHAPE_HUB_PORT", "8000"))
c.JupyterHub.hub_ip = "0.0.0.0"  # sandboxes reach it through their bridge's gateway
c.JupyterHub.hub_port = int(env("SHIPSHAPE_HUB_API_PORT", "8081"))
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{env('SHIPSHAPE_HUB_PROXY_API_PORT', '8001')}"
c.ConfigurableHTTPProxy.command = [env("SHIPSHAPE_HUB_CHP", "configurable-http-proxy")]
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(state / "jupyterhub.pid")
c.JupyterHub.cleanup_servers = True  # stopping the hub stops (and removes) every sandbox

# --- a room: one attendee password, one admin password ------------------------------------
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = env("SHIPSHAPE_HUB_PASSWORD", "")
c.SharedPasswordAuthenticator.admin_password = env("SHIPSHAPE_HUB_ADMIN_PASSWORD", "")
c.Authenticator.admin_users = set(
    filter(None, env("SHIPSHAPE_HUB_ADMINS", "instructor").split(","))
)
c.Authenticator.allow_all = True  # anyone with the room's password picks a name

# --- the sandboxes -------------------------------------------------------------------------
c.JupyterHub.spawner_class = "hub.spawner.SandboxSpawner"
S = c.SandboxSpawner
S.instance = instance
S.hub_api_port = c.JupyterHub.hub_port
S.image = env("SHIPSHAPE_HUB_IMAGE", "shipshape-hub/sandbox:latest")
S.pull_policy = "never"  # built here, offline
S.remove = True
S.keep_volumes = env("SHIPSHAPE_HUB_KEEP_VOLUMES", "0") == "1"
S.name_template = f"shipshape-hub-{instance}-{{username}}"
S.notebook_dir = "/home/participant/shipshape"
S.default_url = "/lab/tree/notebooks/00_setup.ipynb"
lim = sandbox.limits(
    env("SHIPSHAPE_HUB_MEM", "2G"),
    float(env("SHIPSHAPE_HUB_CPUS", "1")),
    int(env("SHIPSHAPE_HUB_PIDS", "1024")),
)
S.mem_limit = lim["mem_limit"]
S.cpu_limit = lim["cpu_limit"]
seccomp = env(
    "SHIPSHAPE_HUB_SECCOMP", ""
)  # "" -> hub/seccomp-sandbox.json; "unconfined"; or a path
seccomp_text = (
    None
    if not seccomp
    else ("unconfined" if seccomp == "unconfined" else Path(seccomp).read_text())
)
S.extra_host_config = {
    **sandbox.security_options(seccomp_text),
    "pids_limit": lim["pids_limit"],
    "memswap_limit": lim["memswap_limit"],
}
bundle_volume = env("SHIPSHAPE_HUB_BUNDLE_VOLUME", "")
if bundle_volume:
    S.read_only_volumes = {bundle_volume: "/bundle"}
S.environment = {"SHIPSHAPE_ENGINE_DEADLINE": env("SHIPSHAPE_HUB_ENGINE_DEADLINE", "90")}
S.start_timeout = int(env("SHIPSHAPE_HUB_START_TIMEOUT", "300"))
S.http_timeout = int(env("SHIPSHAPE_HUB_HTTP_TIMEOUT", "180"))

# --- idle culling: servers idle this long are stopped (and, by default, removed) -------------
cull_after = int(env("SHIPSHAPE_HUB_CULL_IDLE_S", "3600"))
if cull_after > 0:
    c.JupyterHub.services = [
        {
            "name": "idle-culler",
            "command": [
                sys.executable,
                "-m",
                "jupyterhub_idle_culler",
                f"--timeout={cull_after}",
                f"--cull-every={max(30, cull_after // 6)}",
            ],
        }
    ]
    c.JupyterHub.load_roles = [
        {
            "name": "idle-culler",
            "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
            "services": ["idle-culler"],
        }
    ]
c.JupyterHub.log_level = env("SHIPSHAPE_HUB_LOG_LEVEL", "INFO")
print(json.dumps({"hub": instance, "image": S.image, "limits": lim}), file=sys.stderr)
