"""Checklist lines the Dockerfile and ``.dockerignore`` settle: base, stages, user, tags,
pip and apt hygiene. Each names the hadolint rule id where one exists.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .audit_project import _services
from .auditmodel import FAIL, PASS, AuditItem
from .dockerfile import Dockerfile, Stage, image_tag


def _runs(stage: Stage) -> list[str]:
    return [i.value for i in stage.find("RUN")]


def _commands(run: str) -> list[str]:
    """Split a RUN line into its shell commands (on &&, ;, ||)."""
    return [c.strip() for c in re.split(r"&&|\|\||;", run) if c.strip()]


def item_base_slim(df: Dockerfile) -> AuditItem:
    base = df.final.base
    tag = image_tag(base) or "latest"
    ok = (
        base == "scratch"
        or any(w in tag for w in ("slim", "alpine", "distroless"))
        or "distroless" in base
    )
    return AuditItem(
        "base_slim",
        "slim or alpine base image",
        PASS if ok else FAIL,
        f"final stage FROM {base}",
        "Use python:3.11-slim (or another -slim tag) for the final stage: same Python, no compilers or docs.",
    )


def item_multi_stage(df: Dockerfile) -> AuditItem:
    n = len(df.stages)
    # an earlier stage's output taken by COPY --from, or used through a RUN --mount from= it
    # (never copied into a layer) is as good; --from= an outside image is not a build stage
    taken = df.takes_from(df.final)
    copies = [f"COPY {i.value}"[:90] for i in df.final.find("COPY") if "--from=" in i.value]
    mounts = [
        f"RUN {i.value}"[:90]
        for i in df.final.find("RUN")
        if any(m.get("from") for m in i.mounts())
    ]
    ok = n >= 2 and bool(taken)
    how = (
        "COPY --from" if copies and ok else "RUN --mount=...,from=" if mounts and ok else "nothing"
    )
    return AuditItem(
        "multi_stage",
        "multi-stage build (build tools not in the final image)",
        PASS if ok else FAIL,
        f"{n} stage(s); the final stage takes from a build stage through: {how}",
        "Build wheels in a `FROM ... AS builder` stage with gcc, then take only the wheels into "
        "the final stage: COPY --from=builder /wheels /wheels, or "
        "RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels pip install ...",
        evidence={
            "stages": [s.alias or s.base for s in df.stages],
            "takes_from": taken,
            "uses": copies + mounts,
        },
    )


def item_dockerignore(folder: Path) -> AuditItem:
    from docker.utils.build import PatternMatcher

    p = folder / ".dockerignore"
    must = {".git/HEAD": ".git", ".env": ".env", "pkg/__pycache__/m.pyc": "**/__pycache__"}
    if not p.is_file():
        return AuditItem(
            "dockerignore",
            ".dockerignore excludes unnecessary files",
            FAIL,
            "no .dockerignore: the whole folder (.git, .env, data) is sent as build context",
            "Add a .dockerignore listing at least .git, .env, __pycache__, data/ and virtualenvs.",
        )
    patterns = [
        ln.strip() for ln in p.read_text().splitlines() if ln.strip() and not ln.startswith("#")
    ]
    pm = PatternMatcher(patterns)
    missing = [label for path, label in must.items() if not pm.matches(path)]
    return AuditItem(
        "dockerignore",
        ".dockerignore excludes unnecessary files",
        FAIL if missing else PASS,
        f"{len(patterns)} patterns"
        + (f"; does not exclude {', '.join(missing)}" if missing else ""),
        f"Add {', '.join(missing)} to .dockerignore (patterns are anchored at the context root; use **/ for any depth).",
        evidence={"patterns": patterns},
    )


def is_root_user(user: str | None) -> bool:
    """``""``/None (the default), ``root``, ``0``, ``root:grp``, ``0:0`` are root."""
    return str(user or "").strip().split(":")[0] in ("", "root", "0")


def item_non_root(df: Dockerfile, compose: dict[str, Any] | None = None) -> AuditItem:
    """The final stage's last USER, overridden by Compose's ``user:`` where a built service sets one."""
    users = df.final.find("USER")
    last = users[-1].value.strip() if users else None
    ok = last is not None and not is_root_user(last)
    detail = f"last USER: {last}" if last else "no USER in the final stage: runs as root"
    overrides = {
        name: str(svc["user"])
        for name, svc in _services(compose).items()
        if svc.get("build") is not None and svc.get("user") is not None
    }
    if overrides:  # what Compose runs is what counts
        root = [n for n, u in overrides.items() if is_root_user(u)]
        built = [n for n, s in _services(compose).items() if s.get("build") is not None]
        # a root override fails; non-root overrides on every built service pass; else USER decides
        ok = not root and (ok or len(overrides) == len(built))
        detail += "; compose user: " + ", ".join(f"{n}={u}" for n, u in overrides.items())
        if root:
            detail += " (Compose runs it as root)"
    return AuditItem(
        "non_root",
        "runs as a non-root user",
        PASS if ok else FAIL,
        detail,
        "Create a user (useradd --create-home app) and end the final stage with USER app; "
        "do not set `user: root` (or 0) in compose.yaml.",
        rule="DL3002",
        evidence={"dockerfile_user": last, "compose_user": overrides},
    )


def item_version_tags(df: Dockerfile, compose: dict[str, Any] | None) -> AuditItem:
    bad = [b for b in df.external_bases() if b != "scratch" and image_tag(b) in (None, "latest")]
    for name, svc in _services(compose).items():
        img = svc.get("image")
        if img and image_tag(img) in (None, "latest"):
            bad.append(f"{img} (compose {name})")
    return AuditItem(
        "version_tags",
        "specific version tags (not latest)",
        FAIL if bad else PASS,
        f"unpinned: {', '.join(bad)}" if bad else "every base and service image has a specific tag",
        "Pin tags such as python:3.11-slim and postgres:15-bookworm; latest changes under you.",
        rule="DL3006/DL3007",
    )


def item_pip_no_cache(df: Dockerfile) -> AuditItem:
    env_off = any("PIP_NO_CACHE_DIR" in i.value for st in df.stages for i in st.find("ENV"))
    bad = []
    for st in df.stages:
        for run in _runs(st):
            for cmd in _commands(run):
                if re.search(r"\bpip3? install\b", cmd) and "--no-cache-dir" not in cmd:
                    bad.append(cmd[:80])
    ok = not bad or env_off
    return AuditItem(
        "pip_no_cache",
        "pip install --no-cache-dir used",
        PASS if ok else FAIL,
        "no pip cache kept" if ok else f"pip cache kept by: {bad[0]}",
        "Add --no-cache-dir to every pip install (the cache is never reused inside an image).",
        rule="DL3042",
    )


def item_apt_clean(df: Dockerfile) -> AuditItem:
    bad = []
    for st in df.stages:
        for run in _runs(st):
            if re.search(r"apt-get (-\S+ )*install", run):
                if "rm -rf /var/lib/apt/lists" not in run:
                    bad.append(("DL3009", run[:70]))
                if "--no-install-recommends" not in run:
                    bad.append(("DL3015", run[:70]))
    rules = sorted({r for r, _ in bad})
    return AuditItem(
        "apt_clean",
        "apt-get cache cleaned (same RUN) and no recommends",
        FAIL if bad else PASS,
        "; ".join(f"{r}: {t}" for r, t in bad)
        if bad
        else "every apt-get install cleans up in its own RUN",
        "In the same RUN: apt-get install --no-install-recommends ... && rm -rf /var/lib/apt/lists/*",
        rule="DL3009/DL3015",
        evidence={"rules": rules},
    )
