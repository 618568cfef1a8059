"""Thin layers the course puts over a present base image, re-tagged under the same name.

- the trust layer: ``PIP_CERT`` pointing at the extra CA bundle ``$SHIPSHAPE_EXTRA_CA_CERTS``
  names (a TLS-inspecting proxy), so pip in every course build trusts it;
- the package-cache layer: pip's index and apt's proxy pointing at the local package cache
  ``$SHIPSHAPE_PACKAGE_CACHE`` names, taken off again when it is unset.

Course Dockerfiles stay unchanged: ``FROM python:3.11-slim`` gets the layers through the tag.
"""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
from pathlib import Path
from typing import Any

from . import engine

CA_LABEL = f"{engine.LABEL_PREFIX}.extra-ca"
PKG_CACHE_LABEL = f"{engine.LABEL_PREFIX}.package-cache"
PKG_CACHE_PARENT_LABEL = f"{PKG_CACHE_LABEL}.parent"
APT_CONF = "/etc/apt/apt.conf.d/00shipshape-package-cache"


def _get(name: str) -> Any | None:
    import docker

    try:
        return engine.client().images.get(name)
    except docker.errors.ImageNotFound:
        return None


def _ca_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def apply_extra_ca(name: str, ca_file: Path) -> bool:
    """Give ``name`` a trust layer for ``ca_file`` (PIP_CERT), re-tagged under the same name.

    Idempotent: an image that already trusts this exact bundle is left alone. Returns True
    when a layer was added.
    """
    from . import images

    im = _get(name)
    if im is None:
        return False
    digest = _ca_digest(ca_file)
    if im.labels.get(CA_LABEL) == digest:
        return False
    with tempfile.TemporaryDirectory(prefix="shipshape-ca-") as tmp:
        Path(tmp, "extra-ca.pem").write_bytes(ca_file.read_bytes())
        Path(tmp, "Dockerfile").write_text(
            f"FROM {im.id}\n"
            "COPY extra-ca.pem /usr/local/share/shipshape/extra-ca.pem\n"
            "ENV PIP_CERT=/usr/local/share/shipshape/extra-ca.pem\n"
        )
        lab = {CA_LABEL: digest, f"{CA_LABEL}.parent": im.id}
        # keep the replica labels (inherited), but this layer is not a temp image
        images.build(
            tmp,
            tag=name,
            labels=lab,
            on_event=None,
            kind=im.labels.get(engine.KIND_LABEL, "base-extra-ca"),
        )
    return True


#: The run and owner labels of a package-cache layer on a base that has none of its own.
BASE_LAYER_RUN = "base-layer"


def apply_package_cache(name: str, cfg: Any) -> bool:
    """Give ``name`` a thin layer that points pip and apt at the package cache ``cfg``.

    pip: ``PIP_INDEX_URL`` / ``PIP_TRUSTED_HOST`` (plus a short timeout and two retries, so
    a cache that went away fails a build in about a minute, not ten); apt: an ``Acquire::http::Proxy``
    file. Idempotent; a layer for another cache address replaces the old one (never stacks).
    Returns True when a layer was added.
    """
    from . import images

    im = _get(name)
    if im is None:
        return False
    if im.labels.get(PKG_CACHE_LABEL) == cfg.digest:
        return False
    remove_package_cache(name)
    im = _get(name)
    # The layer made for this address in an earlier run may still exist (untagged: the layer
    # cache's images are built on it). Tag it again rather than build a new one, so those
    # cached builds stay valid: a new layer would have a new id and every build would miss.
    earlier = _earlier_layer(im.id, cfg)
    if earlier:
        repo, _, tag = name.partition(":")
        engine.client().api.tag(earlier, repo, tag=tag or "latest")
        return True
    with tempfile.TemporaryDirectory(prefix="shipshape-pkgcache-") as tmp:
        Path(tmp, "apt.conf").write_text(
            f'Acquire::http::Proxy "{cfg.apt_proxy}";\n'
            'Acquire::Retries "2";\nAcquire::http::Timeout "30";\n'
        )
        Path(tmp, "Dockerfile").write_text(
            f"FROM {im.id}\n"
            f"COPY apt.conf {APT_CONF}\n"
            f"ENV PIP_INDEX_URL={cfg.pip_index_url} PIP_TRUSTED_HOST={cfg.host} "
            "PIP_DEFAULT_TIMEOUT=30 PIP_RETRIES=2\n"
        )
        # The parent's run and owner, not this process's: the same cache address then gives
        # the same layer, byte for byte, in every run (the builder reuses it), so the check
        # builds' layer cache on top of it stays valid from one CI run to the next.
        # A parent without them (a plain replica) gives fixed ones, never the applying
        # process's: its steps stay behind as cache when the layer comes off, and a test
        # run's label on them made the suite's leak check count them (rehearsal 33).
        stable = {
            k: im.labels.get(k, BASE_LAYER_RUN) for k in (engine.RUN_LABEL, engine.OWNER_LABEL)
        }
        images.build(
            tmp,
            tag=name,
            labels={**stable, PKG_CACHE_LABEL: cfg.digest, PKG_CACHE_PARENT_LABEL: im.id},
            on_event=None,
            kind=im.labels.get(engine.KIND_LABEL, "base-package-cache"),
            check_package_cache=False,
        )
    return True


def _earlier_layer(parent_id: str, cfg: Any) -> str | None:
    """The id of a package-cache layer built on ``parent_id`` for ``cfg`` earlier, if any.

    Labels are inherited, so every image built on the layer carries its labels too. Above
    ``parent_id`` the layer's own history is its COPY, its ENV, then one LABEL step per
    label; an image built on it has more steps above ``parent_id``: the layer is the
    matching image with the fewest.
    """
    api = engine.client().api
    flt = {"label": [f"{PKG_CACHE_LABEL}={cfg.digest}", f"{PKG_CACHE_PARENT_LABEL}={parent_id}"]}
    best: tuple[int, int, str] | None = None  # (steps, -created, id): fewest steps, newest
    for row in api.images(all=True, filters=flt):
        try:
            hist = api.history(row["Id"])  # newest first
        except Exception:
            continue  # removed meanwhile
        ids = [h.get("Id") for h in hist]
        if parent_id not in ids:
            continue
        mine = [h.get("CreatedBy") or "" for h in hist[: ids.index(parent_id)]]
        if is_package_cache_layer(mine, cfg.pip_index_url):
            key = (len(mine), -int(row.get("Created") or 0), str(row["Id"]))
            best = key if best is None or key < best else best
    return best[2] if best else None


def is_package_cache_layer(steps: list[str], pip_index_url: str) -> bool:
    """Whether ``steps`` (newest first, those above the parent) are exactly our layer's.

    Our layer is a COPY of the apt proxy file, the pip ENV, then one LABEL step per label;
    an image built on it has other steps on top.

    >>> ours = ["LABEL a=1", "LABEL b=2", "ENV PIP_INDEX_URL=http://h:1/ x", f"COPY f in {APT_CONF}"]
    >>> is_package_cache_layer(ours, "http://h:1/")
    True
    >>> is_package_cache_layer(["CMD python app.py", *ours], "http://h:1/")  # built on it
    False
    >>> is_package_cache_layer(ours, "http://other:1/")  # another cache address
    False
    """
    return (
        len(steps) >= 3
        and APT_CONF in steps[-1]
        and f"PIP_INDEX_URL={pip_index_url}" in steps[-2]
        and all("LABEL" in c for c in steps[:-2])
    )


def _is_own_layer(image_id: str, parent_id: str) -> bool:
    """Whether ``image_id`` is the package-cache layer itself, right on ``parent_id``: its
    steps above the parent are the layer's COPY, ENV and LABELs, whatever the cache address."""
    try:
        hist = engine.client().api.history(image_id)  # newest first
    except Exception:
        return False
    ids = [h.get("Id") for h in hist]
    if parent_id not in ids:
        return False
    steps = [h.get("CreatedBy") or "" for h in hist[: ids.index(parent_id)]]
    return (
        len(steps) >= 3
        and APT_CONF in steps[-1]
        and "PIP_INDEX_URL=" in steps[-2]
        and all("LABEL" in c for c in steps[:-2])
    )


def remove_package_cache(name: str) -> bool:
    """Take the package-cache layer off ``name``: the tag goes back to the image below it."""
    import docker

    im = _get(name)
    if im is None or not im.labels.get(PKG_CACHE_LABEL):
        return False
    parent = im.labels.get(PKG_CACHE_PARENT_LABEL, "")
    if _get(parent) is None:
        return False  # the plain image is gone: keep the layer rather than lose the tag
    if not _is_own_layer(im.id, parent):
        # the labels are inherited: ``name`` was built FROM an image that had the layer (a
        # replica built while the cache was on). Moving its tag to that parent would swap
        # the image for another one; it is not ours to take apart.
        return False
    repo, _, tag = name.partition(":")
    engine.client().api.tag(parent, repo, tag=tag or "latest")
    # The layer image only, now untagged (a container or image still using it keeps it).
    # noprune: its steps below stay, untagged, so the next time the cache is switched on the
    # builder takes them from the cache and the layer's files are the same layers again
    # (a rebuilt COPY makes a new layer: directory times differ). BuildKit keys a base image
    # by its layers, so the sandbox image's build stays cached across CI runs; pruning them
    # (tried in session 8) rebuilt it every run, 87 s.
    with contextlib.suppress(docker.errors.APIError):
        engine.client().images.remove(im.id, noprune=True)
    return True
