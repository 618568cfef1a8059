"""The build context: what ``docker build`` sends to the engine, measured the way docker-py sends it.

docker-py builds the context tar on the client with ``docker.utils.build.tar`` and the
``.dockerignore`` patterns it read from the folder; the engine receives exactly that tar. This
module builds the same tar (same parsing, same matcher, same "always keep the Dockerfile"
rule) so a lesson can count its files and bytes with and without the ignore file, and explain
which pattern excluded a path.

It also generates the clutter a real project folder accumulates (a data folder, ``.git``,
bytecode caches, a ``.env`` with a secret) so exercises and lessons never commit large data.

Example:
    >>> parse_patterns("# comment\\n\\n  data/  \\n.env\\n!data/README.md\\n")
    ['data/', '.env', '!data/README.md']
    >>> excluded_by("data/raw/a.csv", ["data"])
    'data'
    >>> excluded_by("etl/__pycache__/x.pyc", ["__pycache__"]) is None   # top level only
    True
    >>> excluded_by("etl/__pycache__/x.pyc", ["**/__pycache__"])
    '**/__pycache__'
    >>> excluded_by("data/README.md", ["data", "!data/README.md"]) is None  # last match wins
    True
"""

from __future__ import annotations

import contextlib
import os
import random
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import images
from .findings import human_bytes

if TYPE_CHECKING:
    from docker.models.containers import Container

IGNORE_FILE = ".dockerignore"

#: What a lesson calls each kind of clutter, in the order tables show them.
CLUTTER_KINDS = ("data", "git", "cache", "secret")


def parse_patterns(text: str) -> list[str]:
    """Parse ``.dockerignore`` text exactly as docker-py does before it builds the tar.

    Each line is stripped; blank lines and lines starting with ``#`` are dropped.
    """
    return [ln for ln in (line.strip() for line in text.splitlines()) if ln and ln[0] != "#"]


def read_patterns(folder: str | Path) -> list[str] | None:
    """The folder's ``.dockerignore`` patterns, or None when it has no ignore file."""
    p = Path(folder) / IGNORE_FILE
    if not p.is_file():
        return None
    return parse_patterns(p.read_text(encoding="utf-8", errors="replace"))


def _matcher_patterns(patterns: Iterable[str], dockerfile: str) -> list[str]:
    # exclude_paths() appends "!<dockerfile>" and the matcher appends "!.dockerignore":
    # both always reach the engine, whatever the patterns say.
    return [*patterns, f"!{dockerfile}", "!.dockerignore"]


def excluded_by(path: str, patterns: Iterable[str], dockerfile: str = "Dockerfile") -> str | None:
    """The pattern that keeps ``path`` out of the context, or None if the path is sent.

    Follows docker-py's own walk (a port of the engine's matcher): a pattern also matches
    everything below a matching folder, ``*`` never crosses ``/``, ``**`` does, and the
    last matching line decides (``!`` lines put paths back). A folder that is excluded is
    not even entered unless some ``!`` line points inside it.

    Args:
        path: a path relative to the context root, with ``/`` separators.
        patterns: parsed ``.dockerignore`` lines (see :func:`parse_patterns`).
        dockerfile: the Dockerfile's name; it is always sent.
    """
    from docker.utils.build import Pattern, split_path

    pats = [p for p in (Pattern(raw) for raw in _matcher_patterns(patterns, dockerfile)) if p.dirs]
    raws = [raw for raw in _matcher_patterns(patterns, dockerfile) if Pattern(raw).dirs]
    parts = split_path(path)
    for depth in range(1, len(parts) + 1):
        rel = "/".join(parts[:depth])
        decided = _last_match(rel, pats, raws)
        if decided is None:
            continue
        if depth == len(parts):
            return decided
        # an excluded folder: the walk skips it unless a `!` line reaches inside
        if not any(p.exclusion and p.cleaned_pattern.startswith(rel) for p in pats):
            return decided
    return None


def _last_match(rel: str, pats: list[Any], raws: list[str]) -> str | None:
    """docker-py's ``PatternMatcher.matches`` for one path, naming the deciding pattern."""
    from docker.utils.build import split_path

    parent_dirs = split_path(os.path.dirname(rel))
    decided: str | None = None
    for pat, raw in zip(pats, raws, strict=True):
        hit = pat.match(rel)
        if not hit and parent_dirs and len(pat.dirs) <= len(parent_dirs):
            hit = pat.match("/".join(parent_dirs[: len(pat.dirs)]))
        if hit:
            decided = None if pat.exclusion else raw
    return decided


def is_excluded(path: str, patterns: Iterable[str], dockerfile: str = "Dockerfile") -> bool:
    """True when ``path`` stays out of the build context.

    >>> is_excluded("Dockerfile", ["*"])   # the Dockerfile is always sent
    False
    >>> is_excluded("notes.md", ["*.md"]), is_excluded("docs/notes.md", ["*.md"])
    (True, False)
    """
    return excluded_by(path, patterns, dockerfile) is not None


def included_files(
    folder: str | Path, patterns: Iterable[str] | None, dockerfile: str = "Dockerfile"
) -> dict[str, int]:
    """Files docker-py would put in the context: relative path -> bytes (folders left out)."""
    from docker.utils.build import exclude_paths

    root = Path(folder).resolve()
    out: dict[str, int] = {}
    for rel in exclude_paths(str(root), list(patterns or []), dockerfile=dockerfile):
        p = root / rel
        if p.is_file() and not p.is_symlink():
            out[rel.replace(os.sep, "/")] = p.stat().st_size
    return dict(sorted(out.items()))


@dataclass
class ContextSize:
    """One measured build context."""

    folder: str
    patterns: list[str] | None
    files: int
    file_bytes: int
    tar_bytes: int
    seconds: float
    sizes: dict[str, int] = field(default_factory=dict, repr=False)

    def by_top_level(self) -> dict[str, int]:
        """Bytes per top-level entry (``data``, ``.git``, ``etl`` ...), largest first."""
        agg: dict[str, int] = {}
        for rel, n in self.sizes.items():
            top = rel.split("/", 1)[0]
            agg[top] = agg.get(top, 0) + n
        return dict(sorted(agg.items(), key=lambda kv: kv[1], reverse=True))

    def by_clutter_kind(self) -> dict[str, int]:
        """Bytes per clutter kind (data, git, cache, secret) plus ``app`` for the rest."""
        agg = {k: 0 for k in (*CLUTTER_KINDS, "app")}
        for rel, n in self.sizes.items():
            agg[clutter_kind(rel) or "app"] += n
        return agg


def measure(
    folder: str | Path,
    patterns: Iterable[str] | str | None = "auto",
    dockerfile: str = "Dockerfile",
) -> ContextSize:
    """Build the context tar the way docker-py's ``build()`` does and measure it.

    Args:
        folder: the build context folder.
        patterns: ``"auto"`` reads the folder's ``.dockerignore`` (what a real build does);
            None or ``[]`` means no ignore file; a list uses those patterns.
        dockerfile: the Dockerfile's name inside the context.

    Returns:
        files, summed file bytes, the tar's bytes (what goes over the socket) and the
        seconds it took to build the tar.
    """
    from docker.utils.build import tar

    root = Path(folder).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder: pass the build context folder.")
    pats = read_patterns(root) if patterns == "auto" else patterns
    pat_list = None if pats is None else list(pats)
    sizes = included_files(root, pat_list, dockerfile)
    with tempfile.TemporaryFile() as fh:
        t0 = time.perf_counter()
        tar(str(root), exclude=list(pat_list or []), dockerfile=(dockerfile, None), fileobj=fh)
        secs = time.perf_counter() - t0
        tar_bytes = fh.seek(0, os.SEEK_END)
    return ContextSize(
        folder=str(root),
        patterns=pat_list,
        files=len(sizes),
        file_bytes=sum(sizes.values()),
        tar_bytes=tar_bytes,
        seconds=secs,
        sizes=sizes,
    )


def clutter_kind(rel: str) -> str | None:
    """Which kind of clutter a context path is, or None for project files.

    >>> [clutter_kind(p) for p in ["data/raw/a.csv", ".git/HEAD", "etl/__pycache__/m.pyc",
    ...                            ".pytest_cache/README.md", ".env", "etl/main.py"]]
    ['data', 'git', 'cache', 'cache', 'secret', None]
    """
    parts = [p for p in rel.replace("\\", "/").split("/") if p]
    if not parts:
        return None
    if parts[0] == "data":
        return "data"
    if parts[0] == ".git":
        return "git"
    if any(p in ("__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache") for p in parts):
        return "cache"
    if parts[-1].endswith((".pyc", ".pyo")):
        return "cache"
    if parts[-1] == ".env" or parts[-1].startswith(".env."):
        return "secret"
    return None


# --------------------------------------------------------------------------------------------
# Generated clutter. exercises/03_dockerignore/make_clutter.py is a standalone copy of this
# generator for learners; tests/unit/test_context.py proves both write the same files.

SECRET_NAME = "WAREHOUSE_PASSWORD"


def secret_value(seed: int = 0) -> str:
    """The fake password :func:`add_clutter` writes into ``.env`` (deterministic per seed)."""
    return "pw-" + random.Random(f"secret-{seed}").randbytes(12).hex()


def add_clutter(folder: str | Path, data_mb: int = 32, seed: int = 0) -> dict[str, int]:
    """Fill a project folder with what real ones accumulate; return bytes written per kind.

    Writes ``data/`` (CSV extracts and a binary export, ``data_mb`` MB in all), ``.git/``
    (a pack file of about an eighth of that, at least 1 MB), ``__pycache__`` beside every
    ``.py`` file plus ``.pytest_cache/``, and ``.env`` holding a fake secret. Deterministic
    for a given seed; rerunning overwrites the same files.
    """
    root = Path(folder)
    rng = random.Random(seed)
    written = {k: 0 for k in CLUTTER_KINDS}

    def put(rel: str, data: bytes, kind: str) -> None:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        written[kind] += len(data)

    py_files = sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*.py")
        if clutter_kind(p.relative_to(root).as_posix()) is None
    )
    # data/: three monthly CSV extracts and a binary export
    total = data_mb * 1024 * 1024
    header = b"event_id,ts,user_id,amount_eur,country\n"
    rows = b"".join(
        f"{i},2024-05-{1 + i % 28:02d}T{i % 24:02d}:00:00Z,u{rng.randrange(10**6)},"
        f"{rng.randrange(1, 50000) / 100:.2f},{rng.choice(['DE', 'FR', 'NL', 'PL'])}\n".encode()
        for i in range(4000)
    )
    csv_share = total * 3 // 4 // 3
    for month in ("2024-03", "2024-04", "2024-05"):
        body = header + rows * (csv_share // len(rows) + 1)
        put(f"data/raw/events_{month}.csv", body[:csv_share], "data")
    put("data/processed/events.parquet", rng.randbytes(total - 3 * csv_share), "data")
    # .git: the history of the project, as a pack file and a few refs
    put(".git/HEAD", b"ref: refs/heads/main\n", "git")
    put(".git/config", b"[core]\n\trepositoryformatversion = 0\n\tbare = false\n", "git")
    put(".git/refs/heads/main", rng.randbytes(20).hex().encode() + b"\n", "git")
    pack = rng.randbytes(20).hex()
    put(f".git/objects/pack/pack-{pack}.pack", rng.randbytes(max(1 << 20, total // 8)), "git")
    put(f".git/objects/pack/pack-{pack}.idx", rng.randbytes(4096), "git")
    # caches: bytecode beside every module, and pytest's cache
    for rel in py_files:
        d, name = os.path.split(rel)
        pyc = f"{d + '/' if d else ''}__pycache__/{name[:-3]}.cpython-311.pyc"
        put(pyc, b"\xa7\r\r\n" + rng.randbytes(2000), "cache")
    put(".pytest_cache/v/cache/lastfailed", b"{}\n", "cache")
    put(".pytest_cache/README.md", b"# pytest cache directory #\n", "cache")
    # .env: a secret that must never ship in an image
    put(
        ".env",
        f"{SECRET_NAME}={secret_value(seed)}\nWAREHOUSE_HOST=warehouse.internal\n".encode(),
        "secret",
    )
    return written


# --------------------------------------------------------------------------------------------
# What landed in the image


@contextlib.contextmanager
def created(image: str) -> Iterator[Container]:
    """A container created from ``image`` but never started, removed on leaving the block.

    Its filesystem is exactly the image's: nothing has run yet to write caches or logs.
    Carries the project's labels, so :func:`helpers.engine.clean` finds it if we are killed.
    """
    import uuid

    from . import containers, engine

    lab = engine.labels()
    handle = uuid.uuid4().hex
    lab[containers.HANDLE_LABEL] = handle
    c = engine.client()
    ctr = None
    try:
        ctr = c.containers.create(image, labels=lab)
        yield ctr
    finally:
        if ctr is not None:
            containers.remove_quietly(ctr)
        else:  # interrupted between the engine creating it and us holding it
            for orphan in c.containers.list(
                all=True, filters={"label": f"{containers.HANDLE_LABEL}={handle}"}
            ):
                containers.remove_quietly(orphan)


def image_files(image: str) -> tuple[str, dict[str, int]]:
    """The image's working directory and the files under it, as built (nothing run).

    Returns:
        (working directory, {path relative to it: bytes}).
    """
    with created(image) as ctr:
        workdir = ctr.attrs["Config"].get("WorkingDir") or "/"
        return workdir, files_in_container(ctr, workdir)


def files_in_container(ctr: Container, folder: str) -> dict[str, int]:
    """Files under ``folder`` in a (created, running or exited) container: path -> bytes.

    Reads ``GET /containers/{id}/archive`` as a stream, so the image is inspected as built,
    without running anything in it. Paths are relative to ``folder``.
    """
    import tarfile

    stream, _stat = ctr.get_archive(folder)
    out: dict[str, int] = {}
    with tarfile.open(fileobj=images.IterStream(stream), mode="r|") as tf:
        for m in tf:
            parts = m.name.split("/", 1)  # the archive's first component is folder's basename
            if len(parts) == 2 and (m.isfile() or m.issym()):
                out[parts[1]] = m.size
    return dict(sorted(out.items()))


#: Decimal units, like ``docker images`` (the course's one byte formatter).
fmt_bytes = human_bytes
