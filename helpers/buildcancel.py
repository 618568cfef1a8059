"""What a build that ended early (Ctrl-C, its deadline, a check's stop) may still leave.

The classic builder finishes the step it is in after the client goes away, and it checks for
the cancel only between steps: the step's image can appear after the helpers stopped reading.
"""

from __future__ import annotations

import contextlib
import re

from . import engine


def forget_cancelled_build(settle_s: float = 20.0) -> None:
    """After a build ended early (Ctrl-C, its deadline, a stop): remove what it still made.

    When the step the engine was in is one of the LABEL steps it adds for this process's
    owner and run labels (the build's last two), it commits an image carrying the owner label
    and never tags it: an untagged image of this process that nothing else would remove. Wait
    (at most ``settle_s``) until the builder's step container of this process is gone, then
    remove this process's untagged, childless images
    (``dangling``: an image with children or a tag is never touched, so no other build's
    layers go). Best effort: never raises.
    """
    import docker

    from . import waiting

    with contextlib.suppress(Exception):
        api = engine.client().api
        mine = {"label": [f"{engine.OWNER_LABEL}={engine.owner()}"]}

        def builder_done() -> bool:
            # the builder creates its step containers from an image id and never starts a
            # LABEL step's; the helpers' own containers run a named image
            return not [
                c
                for c in api.containers(all=True, filters={**mine, "status": "created"})
                if str(c.get("Image", "")).startswith("sha256:")
            ]

        waiting.holds(builder_done, timeout_s=settle_s, interval_s=0.1)
        for row in api.images(filters={**mine, "dangling": True}):
            with contextlib.suppress(docker.errors.APIError):
                api.remove_image(row["Id"])


def drop_unfinished_layer(log: str) -> None:
    """Remove the last layer a build stopped early committed, when nothing else uses it.

    An untagged layer with no children is this build's alone (the engine refuses to remove an
    image with children, and a tagged one is never touched), so the stop leaves no dangling
    image behind.
    """
    import docker

    from . import waiting

    ids = re.findall(r"^ ---> ([0-9a-f]{12})\s*$", log, re.M)
    if not ids:
        return
    api = engine.client().api

    def removed() -> bool:
        try:
            if [t for t in api.inspect_image(ids[-1]).get("RepoTags") or [] if t]:
                return True  # tagged: not this build's alone, never removed here
            api.remove_image(ids[-1], noprune=False)
        except docker.errors.ImageNotFound:
            return True
        except docker.errors.APIError as exc:
            # the cancelled step's container still holds its parent for a moment
            busy = exc.status_code == 409 and "child images" not in str(exc)
            return not busy
        return True

    waiting.holds(removed, timeout_s=15, interval_s=0.2)
