"""Exercise 00 (warm-up): build, run, and pin a slim base image.

Rubric: the image builds (2); it prints the greeting (2): the output is exactly the
greeting, and it comes from ``greet.py`` (a second container of the image gets a greet.py
of the check's own, which must then speak); its base is a specific slim tag (1): the final
stage's base after ``ARG`` values and stage names are resolved, with a version (``3.11``)
or a release name (``bookworm``) and the slim (or alpine) variant.
"""

from __future__ import annotations

import io
import posixpath
import re
import uuid
from pathlib import Path

from .. import containers, images, inside
from ..dockerfile import Dockerfile, image_tag
from ..findings import Report
from .requirements import Requirement
from .rubric import Facts, Rubric, Verdict

EXERCISE = "00"
SLUG = "00_warmup"
TITLE = "Warm-up: your first checked image"
EXPECTED = "hello from shipshape"
#: Release names that pin a base as firmly as a version number does.
CODENAMES = ("bookworm", "bullseye", "buster", "trixie", "focal", "jammy", "noble")

REQUIREMENTS = (
    Requirement("the image builds", ("builds",)),
    Requirement("docker run of the image prints exactly hello from shipshape", ("greets",)),
    Requirement("the script does that: the image just has to run it", ("greets",)),
    Requirement("the base image is a specific, slim tag", ("slim_base",)),
)
README_NOT_RULES: dict[str, str] = {}


def final_base(text: str) -> str:
    """The external image the final stage builds on: ``ARG`` defaults substituted and
    stage names (``FROM base``) followed back to their own ``FROM``.

    >>> final_base("ARG PY=3.11\\nFROM python:${PY}-slim AS base\\nFROM base\\nCMD x\\n")
    'python:3.11-slim'
    """
    from dockerfile_parse import DockerfileParser

    stages = Dockerfile.from_text(text).stages
    parser = DockerfileParser(fileobj=io.BytesIO(text.encode()))
    resolved = list(parser.parent_images)
    if len(resolved) != len(stages):  # the parser disagreed: keep the text as written
        resolved = [s.base for s in stages]
    aliases = {s.alias: i for i, s in enumerate(stages) if s.alias}
    i, seen = len(stages) - 1, set()
    while resolved[i] in aliases and aliases[resolved[i]] < i and i not in seen:
        seen.add(i)
        i = aliases[resolved[i]]
    return resolved[i]


def specific_slim(ref: str) -> tuple[bool, bool]:
    """(the reference is specific, it names the slim variant).

    >>> [specific_slim(r) for r in ("python:3.11-slim", "python:slim", "python:3-slim", "python")]
    [(True, True), (False, True), (False, True), (False, False)]
    >>> specific_slim("python:3.11.9-slim-bookworm"), specific_slim("debian:bookworm-slim")
    ((True, True), (True, True))
    """
    tag = image_tag(ref) or ""
    parts = tag.lower().split("-") if tag and tag != "latest" else []
    specific = any(re.match(r"^\d+\.\d+", p) or p in CODENAMES for p in parts)
    slim = any(p == "slim" or p.startswith("alpine") for p in parts)
    return specific or (bool(parts) and "@sha256:" in ref), slim


RUBRIC = Rubric(EXERCISE, SLUG, TITLE)


@RUBRIC.fact
def image(f: Facts) -> images.BuildResult:
    return images.build(f.path, f.tag("image"), on_event=None, timeout_s=300, exercise=EXERCISE)


@RUBRIC.item("builds", "the image builds", 2)
def builds(f: Facts) -> Verdict:
    r, failed = f.outcome("image")
    if failed:
        return Verdict(False, failed.reason, failed.hint, failed.evidence)
    return Verdict(
        True,
        f"built in {r.seconds:.1f} s",
        evidence={"seconds": round(r.seconds, 2), "image": r.image_id[:19]},
    )


def _script_paths(attrs: dict) -> list[str]:
    """Where the image's command would find greet.py: paths in its command, then WORKDIR."""
    cfg = attrs.get("Config") or {}
    workdir = cfg.get("WorkingDir") or "/"
    words = [*(cfg.get("Entrypoint") or []), *(cfg.get("Cmd") or [])]
    named = [w for arg in words for w in arg.split() if w.endswith("greet.py")]
    out = [posixpath.normpath(posixpath.join(workdir, w)) for w in named]
    return list(dict.fromkeys([*out, posixpath.join(workdir, "greet.py"), "/app/greet.py"]))


def speaks_through_greet_py(image_id: str) -> tuple[bool | None, dict]:
    """Run the image once more with greet.py replaced by one that prints a token.

    True: the token came out, so the image runs greet.py; False: it printed something else;
    None: no greet.py where the image's command or WORKDIR would find it.
    """
    from .. import engine

    attrs = engine.client().images.get(image_id).attrs
    token = f"probe-{uuid.uuid4().hex[:12]}"
    with inside.created(image_id) as ctr:
        where = next((p for p in _script_paths(attrs) if inside.read_file(ctr, p)), None)
        if where is None:
            return None, {"looked_in": _script_paths(attrs)}
        inside.put_file(ctr, where, f"print({token!r})\n".encode())
        ctr.start()
        containers.wait_for_exit(ctr, timeout_s=60)
        out = ctr.logs().decode("utf-8", "replace").strip()
    return token in out, {"replaced": where, "output_with_probe": out[:200]}


@RUBRIC.item("greets", "it prints the greeting", 2, needs=("image",))
def greets(f: Facts) -> Verdict:
    with containers.running(f.image.image_id) as ctr:
        info = containers.wait_for_exit(ctr, timeout_s=60)
        out = ctr.logs().decode("utf-8", "replace").strip()
    ok = info.exit_code == 0 and out == EXPECTED
    ev = {"exit_code": info.exit_code, "output": out[:500]}
    if not ok:
        cmd_hint = (
            "The container ran the base image's default command. Add "
            'CMD ["python", "greet.py"] so it runs your script.'
            if "python" in out.lower() or not out
            else f"Expected exactly {EXPECTED!r}."
        )
        return Verdict(False, f"exit code {info.exit_code}, output {out[:120]!r}", cmd_hint, ev)
    runs_script, probe = speaks_through_greet_py(f.image.image_id)
    ev.update(probe)
    if runs_script:
        return Verdict(True, f"exit code 0, output {out!r}, printed by greet.py", evidence=ev)
    return Verdict(
        False,
        f"the greeting is right, but it does not come from greet.py (with greet.py replaced, "
        f"the image still printed {probe.get('output_with_probe', '')[:80]!r})"
        if runs_script is False
        else "the greeting is right, but the image has no greet.py where its command or "
        "WORKDIR would find it",
        hint="The task is to run the script, not to print its text another way: "
        'COPY greet.py into the image and run it, CMD ["python", "greet.py"].',
        evidence=ev,
    )


@RUBRIC.item("slim_base", "the base image is a specific slim tag", 1)
def slim_base(f: Facts) -> Verdict:
    base = final_base((Path(f.path) / "Dockerfile").read_text())
    tag = image_tag(base)
    specific, slim = specific_slim(base)
    ok = specific and slim
    hint = ""
    if tag in (None, "latest"):
        hint = (
            f"`FROM {base}` means :latest, which changes under you and is the ~1 GB full "
            "image. Pin `python:3.11-slim`. (hadolint DL3006/DL3007)"
        )
    elif not specific:
        hint = (
            f"`{base}` is a floating tag: it moves to the next Python release without "
            "warning. Name the version: `python:3.11-slim`."
        )
    elif not slim:
        hint = f"{base} is a full image; the slim variant has the same Python without compilers and docs."
    return Verdict(ok, f"FROM {base}", hint=hint, evidence={"base": base})


def run(path: Path) -> Report:
    return RUBRIC.run(path)
