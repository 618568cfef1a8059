"""DockerSpawner for the workshop: one sandbox, one bridge network, two named volumes per participant.

Everything is labelled (``io.shipshape.managed=true``, kind, ``run=hub-<instance>``, user) and
removed when the participant's server stops, so a stopped hub leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import docker
from dockerspawner import DockerSpawner
from traitlets import Bool, Int, Unicode

from . import sandbox


class SandboxSpawner(DockerSpawner):
    """A participant's sandbox: rootless engine inside, host engine and other participants outside."""

    instance = Unicode("local", config=True, help="Hub instance id: names and labels carry it.")
    hub_api_port = Int(8081, config=True, help="Port of the hub's API, reachable from sandboxes.")
    keep_volumes = Bool(
        False,
        config=True,
        help="Keep the home and engine volumes when a server stops, so a restart is warm and "
        "work survives idle culling (they stay labelled; `python -m hub down` removes them).",
    )
    removal_deadline_s = Int(60, config=True, help="How long to wait for the container to go.")

    # ---- names ---------------------------------------------------------------------------
    @property
    def _labels(self) -> dict[str, str]:
        return sandbox.labels(self.instance, self.user.name)

    @property
    def _net(self) -> str:
        return sandbox.network_name(self.instance, self.user.name)

    @property
    def _vols(self) -> dict[str, str]:
        return sandbox.volume_names(self.instance, self.user.name)

    # ---- lifecycle -----------------------------------------------------------------------
    async def _ensure_network(self) -> str:
        """Create the participant's bridge (named so the hub's firewall rule matches it)."""
        try:
            net = await self.docker("inspect_network", self._net)
        except docker.errors.NotFound:
            await self.docker(
                "create_network",
                self._net,
                driver="bridge",
                options={
                    "com.docker.network.bridge.name": sandbox.bridge_name(
                        self.instance, self.user.name
                    )
                },
                labels=self._labels,
            )
            net = await self.docker("inspect_network", self._net)
        return net["IPAM"]["Config"][0]["Gateway"]

    async def _ensure_volumes(self) -> None:
        for role, name in self._vols.items():
            try:
                await self.docker("inspect_volume", name)
            except docker.errors.NotFound:
                await self.docker(
                    "create_volume",
                    name,
                    labels={**self._labels, f"{sandbox.LABEL_PREFIX}.hub.volume": role},
                )

    async def start(self) -> Any:
        gateway = await self._ensure_network()
        await self._ensure_volumes()
        self.network_name = self._net
        self.use_internal_ip = True
        # the single-user server reaches the hub's API through its own bridge's gateway
        self.hub_connect_url = f"http://{gateway}:{self.hub_api_port}"
        self.volumes = {
            **self.volumes,
            self._vols["home"]: "/home/participant",
            self._vols["data"]: "/data/docker",
        }
        self.extra_create_kwargs = {
            **self.extra_create_kwargs,
            "labels": self._labels,
            "host_config": dict(sandbox.UNMASKED_PROC),
        }
        try:
            return await super().start()
        except BaseException:
            await self._remove_owned()  # a failed start leaves no network or volume behind
            raise

    async def stop(self, now: bool = False) -> None:
        await super().stop(now=now)
        await self._remove_owned()

    async def _remove_owned(self) -> None:
        """Wait for the container to be gone, then remove its network and volumes."""
        deadline = time.monotonic() + self.removal_deadline_s
        flt = {
            "label": [
                f"{sandbox.RUN}={self._labels[sandbox.RUN]}",
                f"{sandbox.USER}={self.user.name}",
            ]
        }
        while time.monotonic() < deadline:
            left = await self.docker("containers", all=True, filters=flt)
            if not left:
                break
            for c in left:
                with contextlib.suppress(docker.errors.APIError):  # auto_remove under way
                    await self.docker("remove_container", c["Id"], force=True, v=True)
            await asyncio.sleep(0.2)
        with contextlib.suppress(docker.errors.NotFound):
            await self.docker("remove_network", self._net)
        if self.keep_volumes:
            return
        for name in self._vols.values():
            with contextlib.suppress(docker.errors.NotFound):
                await self.docker("remove_volume", name, force=True)
