"""Files an exercise says must not change, compared with the starter as shipped.

"Keep the app and its pinned requirements", "solve it with the ignore file only": a check
that never looks lets a submission rewrite the app to dodge the lesson. The digests of the
shipped files live in ``checks/data/fixed/<slug>.json`` (``{path: sha256}``), written by
``python -m helpers.checks.intact --add <slug> <path>...`` (or ``--update`` for all) from
``exercises/`` and kept honest by a unit test that recomputes them from the checkout. Text is compared with line endings and trailing
whitespace normalised: an editor that saves CRLF has not changed the app.

Example:
    >>> digest(b"print('hi')\\r\\n") == digest(b"print('hi')\\n")
    True
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from .. import settings

FIXED = Path(__file__).parent / "data" / "fixed"


def digest(data: bytes) -> str:
    """sha256 of the content, text normalised (CRLF, trailing spaces, final newlines)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return hashlib.sha256(data).hexdigest()
    lines = [ln.rstrip() for ln in text.replace("\r\n", "\n").split("\n")]
    return hashlib.sha256("\n".join(lines).rstrip("\n").encode()).hexdigest()


def shipped(slug: str) -> dict[str, str]:
    """``{relative path: digest}`` of the files exercise ``slug`` says must not change."""
    f = FIXED / f"{slug}.json"
    return json.loads(f.read_text()) if f.is_file() else {}


def changed(folder: Path, slug: str, paths: list[str] | None = None) -> dict[str, str]:
    """``{path: "changed" | "missing"}`` for fixed files that differ from the shipped ones."""
    want = shipped(slug)
    out: dict[str, str] = {}
    for rel in paths if paths is not None else sorted(want):
        p = Path(folder) / rel
        if not p.is_file():
            out[rel] = "missing"
        elif digest(p.read_bytes()) != want[rel]:
            out[rel] = "changed"
    return out


def compute(slug: str, paths: list[str]) -> dict[str, str]:
    """Digests of ``paths`` in the course's ``exercises/slug`` (the shipped starter)."""
    base = settings.repo_root() / "exercises" / slug
    return {rel: digest((base / rel).read_bytes()) for rel in sorted(paths)}


def write(slug: str, paths: list[str]) -> None:
    """Record the shipped digests of ``paths`` for ``slug`` (adds to what is recorded)."""
    FIXED.mkdir(parents=True, exist_ok=True)
    table = compute(slug, sorted(set(shipped(slug)) | set(paths)))
    (FIXED / f"{slug}.json").write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")


def update() -> None:
    """Recompute every recorded digest from the checkout's ``exercises/``."""
    for f in sorted(FIXED.glob("*.json")):
        write(f.stem, list(shipped(f.stem)))


if __name__ == "__main__":  # python -m helpers.checks.intact --add SLUG PATH... | --update
    args = sys.argv[1:]
    if args == ["--update"]:
        update()
    elif len(args) >= 3 and args[0] == "--add":
        write(args[1], args[2:])
    else:
        sys.exit("usage: python -m helpers.checks.intact --add SLUG PATH... | --update")
