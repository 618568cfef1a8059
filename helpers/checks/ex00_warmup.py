"""Exercise 00 (warm-up): build, run, and pin a slim base image.

Rubric: the image builds (2); it prints the greeting (2); its base is a specific slim tag (1).
"""

from __future__ import annotations

from pathlib import Path

from .. import containers, images
from ..dockerfile import Dockerfile, image_tag
from ..findings import Report
from .rubric import Facts, Rubric, Verdict

EXERCISE = "00"
SLUG = "00_warmup"
TITLE = "Warm-up: your first checked image"
EXPECTED = "hello from shipshape"

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


@RUBRIC.item("greets", "it prints the greeting", 2, needs=("image",))
def greets(f: Facts) -> Verdict:
    with containers.running(f.image.image_id) as ctr:
        info = containers.wait_for_exit(ctr, timeout_s=60)
        out = ctr.logs().decode("utf-8", "replace").strip()
    ok = info.exit_code == 0 and out == EXPECTED
    cmd_hint = (
        "The container ran the base image's default command. Add "
        'CMD ["python", "greet.py"] so it runs your script.'
        if "python" in out.lower() or not out
        else f"Expected exactly {EXPECTED!r}."
    )
    return Verdict(
        ok,
        f"exit code {info.exit_code}, output {out[:120]!r}",
        hint="" if ok else cmd_hint,
        evidence={"exit_code": info.exit_code, "output": out[:500]},
    )


@RUBRIC.item("slim_base", "the base image is a specific slim tag", 1)
def slim_base(f: Facts) -> Verdict:
    base = Dockerfile.from_path(f.path).final.base
    tag = image_tag(base)
    ok = tag is not None and tag != "latest" and ("slim" in tag or "alpine" in tag)
    hint = ""
    if tag in (None, "latest"):
        hint = (
            f"`FROM {base}` means :latest, which changes under you and is the ~1 GB full "
            "image. Pin `python:3.11-slim`. (hadolint DL3006/DL3007)"
        )
    elif not ok:
        hint = f"{base} is a full image; the slim variant has the same Python without compilers and docs."
    return Verdict(ok, f"FROM {base}", hint=hint, evidence={"base": base})


def run(path: Path) -> Report:
    return RUBRIC.run(path)
