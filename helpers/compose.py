"""The real Compose CLI, project-scoped, with the course's labels on everything it creates.

Each :class:`Project` gets its own project name and an override file that adds the
project's labels to every service container, network and named volume, so
:func:`helpers.engine.clean` can remove them by label and ``down`` removes them by project.

Example:
    >>> with Project("exercises/02_healthcheck") as p:        # doctest: +SKIP
    ...     p.up(wait=True, timeout_s=120)
    ...     p.ps()
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml

from . import engine

COMPOSE_FILES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


class ComposeError(RuntimeError):
    """A Compose command failed; ``output`` holds what it printed."""

    def __init__(self, message: str, output: str = ""):
        super().__init__(message)
        self.output = output


def find_compose_file(folder: str | Path) -> Path:
    """The compose file in ``folder`` (compose.yaml first, as Compose itself looks)."""
    for name in COMPOSE_FILES:
        p = Path(folder) / name
        if p.is_file():
            return p
    raise FileNotFoundError(f"No compose file ({', '.join(COMPOSE_FILES)}) in {folder}.")


def project_name(folder: str | Path, suffix: str = "") -> str:
    """A Compose project name for ``folder``, unique to this process's run id."""
    slug = re.sub(r"[^a-z0-9]+", "-", Path(folder).resolve().name.lower()).strip("-")[:30]
    run = hashlib.sha256(engine.RUN_ID.encode()).hexdigest()[:6]  # short, and distinct per run
    return f"{engine.TAG_PREFIX}{slug}-{run}{suffix}"


def _text(out: str | bytes | None) -> str:
    """Output of a timed-out command: ``TimeoutExpired`` holds bytes even in text mode.

    >>> _text(b"half a line"), _text(None), _text("ok")
    ('half a line', '', 'ok')
    """
    if isinstance(out, bytes):
        return out.decode("utf-8", "replace")
    return out or ""


class Project:
    """One Compose project over a folder, always torn down with its volumes on exit."""

    def __init__(
        self,
        folder: str | Path,
        file: str | Path | None = None,
        name: str | None = None,
        env: dict[str, str] | None = None,
    ):
        cmd = engine.compose_command()
        if cmd is None:
            raise ComposeError("No Compose CLI found: install Compose v2 (`docker compose`).")
        self.cmd = cmd
        self.folder = Path(folder).resolve()
        self.file = Path(file).resolve() if file else find_compose_file(self.folder)
        self.name = name or project_name(self.folder)
        self.env = env
        self._tmp = tempfile.TemporaryDirectory(prefix="shipshape-compose-")
        self.override = Path(self._tmp.name) / "shipshape.override.yaml"
        try:
            self._write_override()
        except BaseException:  # a compose file Compose rejects: leave no temp folder
            self._tmp.cleanup()
            raise

    # -- plumbing -----------------------------------------------------------------
    def _base(self, with_override: bool = True) -> list[str]:
        files = ["-f", str(self.file)]
        if with_override:
            files += ["-f", str(self.override)]
        return [*self.cmd, "--project-directory", str(self.folder), "-p", self.name, *files]

    def run(
        self, *args: str, timeout_s: float = 300, check: bool = True, with_override: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run ``docker compose <args>`` for this project; raise ComposeError on failure."""
        import os

        env = {**os.environ, **(self.env or {})}
        try:
            r = subprocess.run(
                [*self._base(with_override), *args],
                capture_output=True,
                text=True,
                timeout=timeout_s,
                env=env,
            )
        except subprocess.TimeoutExpired as exc:
            raise ComposeError(
                f"`compose {' '.join(args)}` did not finish within {timeout_s:.0f}s.",
                _text(exc.stdout) + _text(exc.stderr),
            ) from None
        if check and r.returncode != 0:
            raise ComposeError(
                f"`compose {' '.join(args)}` failed (exit {r.returncode}): "
                f"{(r.stderr or r.stdout).strip()[-1500:]}",
                r.stdout + r.stderr,
            )
        return r

    def config(self) -> dict[str, Any]:
        """The resolved compose model (``compose config --format json``) without our override."""
        out = self.run("config", "--format", "json", with_override=False, timeout_s=60).stdout
        return json.loads(out)

    def _write_override(self) -> None:
        cfg = self.config()
        lab = engine.labels()
        services: dict[str, Any] = {}
        self.built_images: list[str] = []
        from . import settings

        ceilings = settings.container_limits()
        for svc, spec in (cfg.get("services") or {}).items():
            services[svc] = {"labels": lab}
            if "pids_limit" in ceilings:
                services[svc]["pids_limit"] = min(
                    ceilings["pids_limit"], int((spec or {}).get("pids_limit") or 1 << 30)
                )
            limits = ((spec or {}).get("deploy") or {}).get("resources", {}).get("limits") or {}
            if "mem_limit" in ceilings and not (spec or {}).get("mem_limit") and not limits:
                # only where the submission sets no limit: a check that judges limits sees theirs
                services[svc]["mem_limit"] = ceilings["mem_limit"]
            if "nano_cpus" in ceilings and not (spec or {}).get("cpus") and not limits:
                services[svc]["cpus"] = ceilings["nano_cpus"] / 1e9
            log_size = settings.log_size_ceiling()
            if log_size and not (spec or {}).get("logging"):
                services[svc]["logging"] = {
                    "driver": "json-file",
                    "options": {"max-size": log_size, "max-file": "1"},
                }
            if (spec or {}).get("build"):
                # images Compose builds get our labels and a shipshape- tag, so they are ours
                tag = f"{engine.TAG_PREFIX}compose/{self.name}-{svc}:{engine.RUN_ID[:8]}"
                services[svc]["image"] = tag
                services[svc]["build"] = {"labels": lab}
                self.built_images.append(tag)
        doc: dict[str, Any] = {"services": services}
        nets = {
            n: {"labels": lab}
            for n, v in (cfg.get("networks") or {}).items()
            if not (v or {}).get("external")
        }
        nets.setdefault("default", {"labels": lab})
        doc["networks"] = nets
        vols = {
            v: {"labels": lab}
            for v, spec in (cfg.get("volumes") or {}).items()
            if not (spec or {}).get("external")
        }
        if vols:
            doc["volumes"] = vols
        self.override.write_text(yaml.dump(doc, Dumper=_NoAliases, sort_keys=False))

    # -- lifecycle ----------------------------------------------------------------
    def up(
        self, *services: str, wait: bool = False, timeout_s: float = 300, build: bool = False
    ) -> subprocess.CompletedProcess[str]:
        """``up -d`` (``--wait`` waits for running/healthy, bounded by ``timeout_s``)."""
        args = ["up", "-d"]
        if build:
            args.append("--build")
        if wait:
            args += ["--wait", "--wait-timeout", str(int(timeout_s))]
        return self.run(*args, *services, timeout_s=timeout_s + 60)

    def down(self, timeout_s: float = 120) -> None:
        """``down -v --remove-orphans``: containers, networks and named volumes go."""
        self.run("down", "-v", "--remove-orphans", "-t", "5", timeout_s=timeout_s, check=False)

    def containers(self, service: str | None = None, all: bool = True) -> list[Any]:
        """docker-py Container objects of this project (optionally one service)."""
        flt = [f"com.docker.compose.project={self.name}"]
        if service:
            flt.append(f"com.docker.compose.service={service}")
        return engine.client().containers.list(all=all, filters={"label": flt})

    def ps(self) -> list[dict[str, Any]]:
        """``compose ps --format json`` as a list of dicts (one per container)."""
        out = self.run("ps", "-a", "--format", "json", timeout_s=60).stdout.strip()
        if not out:
            return []
        if out.startswith("["):
            return json.loads(out)
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def logs(self, service: str | None = None, tail: int = 50) -> str:
        args = ["logs", "--no-color", "--tail", str(tail)]
        if service:
            args.append(service)
        return self.run(*args, check=False, timeout_s=60).stdout

    def __enter__(self) -> Project:
        return self

    def remove_built_images(self) -> None:
        """Remove the images this project's ``build:`` sections produced."""
        from . import images

        for tag in self.built_images:
            with contextlib.suppress(Exception):
                images.remove(tag)

    def __exit__(self, *exc: object) -> None:
        try:
            self.down()
            self.remove_built_images()
        finally:
            self._tmp.cleanup()
