"""The policy a submission must pass before the grader's engine runs any of it.

A learner's compose file and Dockerfile are infrastructure fed to the instructor's engine:
``privileged: true`` or a ``/:/host`` bind mount is root on the grading machine. Every rule
here names the line to change. The policy judges the raw YAML (so a file outside the
submission is never even read by ``docker compose config``) and then the resolved model.

Example:
    >>> v = compose_violations({"services": {"app": {"privileged": True}}}, Path("/sub"))
    >>> v[0].rule, v[0].where
    ('privileged', 'services.app.privileged')
    >>> rewrite_published_ports({"services": {"w": {"ports": ["8080:80", "9000"]}}})
    (['services.w.ports: 8080:80 -> 80'], {'services': {'w': {'ports': ['80', '9000']}}})
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

#: Namespace modes that join the host's (or a foreign container's) namespace.
_NAMESPACE_KEYS = ("network_mode", "pid", "ipc", "userns_mode", "uts", "cgroup")
#: security_opt values that switch a protection off.
_UNCONFINED = re.compile(r"(unconfined|label[:=]disable|systempaths)", re.I)
#: Service keys that have no place in a graded submission, with the reason.
_FORBIDDEN_SERVICE_KEYS = {
    "privileged": "runs the container with every capability and every host device",
    "devices": "passes host devices into the container",
    "device_cgroup_rules": "lets the container use host devices",
    "cap_add": "adds Linux capabilities beyond Docker's default set",
    "cgroup_parent": "places the container in a host cgroup of its choosing",
    "runtime": "selects another container runtime on the grading machine",
    "oom_kill_disable": "stops the kernel from killing a runaway container",
    "container_name": "a fixed name collides with other submissions graded at the same time",
    "gpus": "asks for the grading machine's GPUs",
}


@dataclass(frozen=True)
class Violation:
    """One policy breach: which rule, where in the file, and what to change."""

    rule: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def _inside(path: str, folder: Path) -> bool:
    """True when ``path`` (relative to ``folder`` or absolute) stays inside ``folder``."""
    p = PurePosixPath(path)
    if p.is_absolute():
        try:
            Path(path).resolve().relative_to(folder.resolve())
        except ValueError:
            return False
        return True
    depth = 0
    for part in p.parts:
        depth += -1 if part == ".." else (0 if part == "." else 1)
        if depth < 0:
            return False
    return True


def _is_socket(path: str) -> bool:
    return "docker.sock" in path or path.rstrip("/").endswith((".sock", "/run/docker", "/var/run"))


def _volume_source(vol: Any) -> tuple[str | None, str]:
    """(source, type) of a short (``a:b:ro``) or long (mapping) volume entry."""
    if isinstance(vol, str):
        parts = vol.split(":")
        if len(parts) == 1:
            return None, "volume"  # anonymous volume
        src = parts[0]
        kind = "bind" if src.startswith(("/", ".", "~")) else "volume"
        return src, kind
    if isinstance(vol, dict):
        return vol.get("source"), str(vol.get("type", "volume"))
    return None, "volume"


def _files_of(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(key, path) of every file a service makes Compose read from the host."""
    out: list[tuple[str, str]] = []
    env_file = service.get("env_file")
    for e in env_file if isinstance(env_file, list) else [env_file] if env_file else []:
        out.append(("env_file", e["path"] if isinstance(e, dict) else str(e)))
    ext = service.get("extends")
    if isinstance(ext, dict) and ext.get("file"):
        out.append(("extends.file", str(ext["file"])))
    build = service.get("build")
    if isinstance(build, str):
        out.append(("build", build))
    elif isinstance(build, dict):
        if build.get("context"):
            out.append(("build.context", str(build["context"])))
        if build.get("dockerfile") and not str(build["dockerfile"]).startswith("/"):
            pass  # relative to the context, which is judged above
        elif build.get("dockerfile"):
            out.append(("build.dockerfile", str(build["dockerfile"])))
        for name, ctx in (build.get("additional_contexts") or {}).items():
            out.append((f"build.additional_contexts.{name}", str(ctx)))
    return out


def compose_violations(model: dict[str, Any], folder: Path) -> list[Violation]:
    """Every policy breach in a compose model (raw YAML or ``compose config`` output).

    Args:
        model: the parsed compose file.
        folder: the submission's folder; host paths must stay inside it.
    """
    out: list[Violation] = []
    if not isinstance(model, dict):
        return [Violation("format", "compose file", "is not a mapping of `services:`.")]
    for inc in model.get("include") or []:
        paths = inc if isinstance(inc, str) else (inc or {}).get("path", [])
        for p in [paths] if isinstance(paths, str) else paths:
            if not _inside(str(p), folder):
                out.append(
                    Violation("host-file", "include", f"`{p}` is outside the submission folder.")
                )
    services = model.get("services") or {}
    if not isinstance(services, dict):
        return [*out, Violation("format", "services", "must be a mapping of service names.")]
    for name, svc in services.items():
        if not isinstance(svc, dict):
            continue
        at = f"services.{name}"
        for key, why in _FORBIDDEN_SERVICE_KEYS.items():
            val = svc.get(key)
            if val not in (None, False, [], {}, ""):
                out.append(Violation(key, f"{at}.{key}", f"remove it: it {why}."))
        for key in _NAMESPACE_KEYS:
            val = str(svc.get(key) or "")
            if val == "host" or val.startswith("container:"):
                out.append(
                    Violation(
                        f"{key}-host",
                        f"{at}.{key}",
                        f"`{val}` joins a namespace outside the project; remove the line.",
                    )
                )
        for opt in svc.get("security_opt") or []:
            if _UNCONFINED.search(str(opt)):
                out.append(
                    Violation(
                        "security-opt",
                        f"{at}.security_opt",
                        f"`{opt}` switches a protection off; keep only `no-new-privileges:true`.",
                    )
                )
        for vol in svc.get("volumes") or []:
            src, kind = _volume_source(vol)
            if src and _is_socket(src):
                out.append(
                    Violation(
                        "docker-socket",
                        f"{at}.volumes",
                        f"`{src}` hands the engine's control socket to the container.",
                    )
                )
            elif src and kind == "bind" and not _inside(src, folder):
                out.append(
                    Violation(
                        "host-bind",
                        f"{at}.volumes",
                        f"`{src}` mounts a host path outside the submission; use a named volume.",
                    )
                )
        for key, path in _files_of(svc):
            if re.match(r"^[a-z]+://|^git@", path):
                out.append(
                    Violation(
                        "remote-context",
                        f"{at}.{key}",
                        f"`{path}` fetches from the network; build from the submission folder.",
                    )
                )
            elif not _inside(path, folder):
                out.append(
                    Violation(
                        "host-file",
                        f"{at}.{key}",
                        f"`{path}` is outside the submission folder.",
                    )
                )
        build = svc.get("build")
        if isinstance(build, dict):
            if str(build.get("network", "")) == "host":
                out.append(
                    Violation("network_mode-host", f"{at}.build.network", "remove `network: host`.")
                )
            if build.get("ssh") or build.get("entitlements") or build.get("privileged"):
                out.append(
                    Violation(
                        "build-privilege",
                        f"{at}.build",
                        "ssh forwarding, entitlements and privileged builds are not graded.",
                    )
                )
    for kind in ("volumes", "networks", "secrets", "configs"):
        for name, spec in (model.get(kind) or {}).items():
            if not isinstance(spec, dict):
                continue
            at = f"{kind}.{name}"
            if spec.get("external"):
                out.append(
                    Violation(
                        "external",
                        f"{at}.external",
                        "an external object belongs to someone else; let Compose create it.",
                    )
                )
            opts = spec.get("driver_opts") or {}
            if kind == "volumes" and (opts.get("device") or "bind" in str(opts.get("o", ""))):
                out.append(
                    Violation(
                        "host-bind",
                        f"{at}.driver_opts",
                        "a volume bound to a host device or path; drop `driver_opts`.",
                    )
                )
            if (
                kind in ("secrets", "configs")
                and spec.get("file")
                and not _inside(str(spec["file"]), folder)
            ):
                out.append(
                    Violation(
                        "host-file",
                        f"{at}.file",
                        f"`{spec['file']}` is outside the submission folder.",
                    )
                )
            if kind in ("secrets", "configs") and spec.get("environment"):
                out.append(
                    Violation(
                        "host-env",
                        f"{at}.environment",
                        "reads the grader's environment; use `file:` inside the submission.",
                    )
                )
    return out


_RUN_FLAGS = re.compile(r"--(security=insecure|network=host|mount=[^\s]*type=ssh)")


def dockerfile_violations(text: str, where: str = "Dockerfile") -> list[Violation]:
    """Breaches in a Dockerfile: build steps that ask the builder for host powers."""
    out: list[Violation] = []
    for n, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s.upper().startswith("RUN"):
            continue
        for m in _RUN_FLAGS.finditer(s):
            out.append(
                Violation(
                    "build-privilege",
                    f"{where}:{n}",
                    f"`RUN --{m.group(1)}` needs powers the grader does not grant; remove it.",
                )
            )
    return out


def _rewrite_port(entry: Any) -> Any:
    if isinstance(entry, dict):
        new = {k: v for k, v in entry.items() if k not in ("published", "host_ip")}
        return new
    text = str(entry)
    proto = ""
    if "/" in text:
        text, proto = text.rsplit("/", 1)
        proto = "/" + proto
    target = text.rsplit(":", 1)[-1]
    return target + proto


def rewrite_published_ports(model: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """Publish every port on an ephemeral host port, so parallel submissions never collide.

    Returns the list of changes and a new model; the input is not modified.
    """
    new = copy.deepcopy(model)
    changes: list[str] = []
    for name, svc in (new.get("services") or {}).items():
        if not isinstance(svc, dict) or not svc.get("ports"):
            continue
        ports = []
        for entry in svc["ports"]:
            rewritten = _rewrite_port(entry)
            if rewritten != entry:
                changes.append(f"services.{name}.ports: {entry} -> {rewritten}")
            ports.append(rewritten)
        svc["ports"] = ports
    return changes, new


COMPOSE_FILES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")


def vet(folder: Path) -> tuple[list[Violation], list[str]]:
    """The policy step: (violations, port rewrites applied to the copy)."""
    violations: list[Violation] = []
    for p in sorted(folder.rglob("Dockerfile*"))[:20]:
        if p.is_file():
            text = p.read_text(errors="replace")
            violations += dockerfile_violations(text, str(p.relative_to(folder)))
    rewrites: list[str] = []
    for name in COMPOSE_FILES:
        f = folder / name
        if not f.is_file():
            continue
        try:
            raw = yaml.safe_load(f.read_text(errors="replace"))
        except yaml.YAMLError:
            continue  # not a policy matter: the check reports the broken file
        if not isinstance(raw, dict):
            continue
        found = compose_violations(raw, folder)
        violations += [Violation(v.rule, f"{name}: {v.where}", v.message) for v in found]
        if not found:
            changes, new = rewrite_published_ports(raw)
            if changes:
                f.write_text(yaml.safe_dump(new, sort_keys=False))
                rewrites += changes
    return violations, rewrites


def resolved_violations(folder: Path, env: dict[str, str]) -> list[Violation]:
    """Judge the model Compose itself resolves (extends, anchors, interpolation)."""
    from .. import engine

    cmd = engine.compose_command()
    if not cmd or not any((folder / n).is_file() for n in COMPOSE_FILES):
        return []
    try:
        r = subprocess.run(
            [*cmd, "--project-directory", str(folder), "config", "--format", "json"],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    except subprocess.TimeoutExpired:
        return []
    if r.returncode != 0:
        return []  # the check reports the broken file with its own hint
    try:
        model = json.loads(r.stdout)
    except ValueError:
        return []
    return [
        Violation(v.rule, f"resolved: {v.where}", v.message)
        for v in compose_violations(model, folder)
    ]
