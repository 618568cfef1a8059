"""Exercise 00 (warm-up): build, run, and pin a slim base image.

Rubric: the image builds (2); it prints the greeting (2); its base is a specific slim tag (1).
"""

from __future__ import annotations

from pathlib import Path

from .. import containers, images
from ..dockerfile import Dockerfile, image_tag
from .base import CheckResult, Report

EXERCISE = "00"
SLUG = "00_warmup"
TITLE = "Warm-up: your first checked image"
EXPECTED = "hello from shipshape"


def run(path: Path) -> Report:
    rep = Report(EXERCISE, TITLE, str(path))
    tag = images.temp_tag("ex00", path)
    built: dict[str, images.BuildResult] = {}

    def builds() -> CheckResult:
        try:
            built["r"] = images.build(path, tag, on_event=None, timeout_s=300, exercise=EXERCISE)
        except images.BuildError as exc:
            return CheckResult(
                "the image builds",
                2,
                False,
                str(exc).splitlines()[0][:300],
                hint=str(exc).split("Hint: ")[-1]
                if "Hint: " in str(exc)
                else "Read the build log in the evidence.",
                evidence={"log_tail": exc.log[-2000:]},
            )
        r = built["r"]
        return CheckResult(
            "the image builds",
            2,
            True,
            f"built in {r.seconds:.1f} s",
            evidence={"seconds": round(r.seconds, 2), "image": r.image_id[:19]},
        )

    def prints() -> CheckResult:
        name = "it prints the greeting"
        if "r" not in built:
            return CheckResult(
                name,
                2,
                False,
                "not run: the image did not build",
                hint="Make the image build first.",
            )
        with containers.running(tag) as ctr:
            info = containers.wait_for_exit(ctr, timeout_s=60)
            out = ctr.logs().decode("utf-8", "replace").strip()
        ok = info.exit_code == 0 and out == EXPECTED
        cmd_hint = (
            "The container ran the base image's default command. Add "
            'CMD ["python", "greet.py"] so it runs your script.'
            if "python" in out.lower() or not out
            else f"Expected exactly {EXPECTED!r}."
        )
        return CheckResult(
            name,
            2,
            ok,
            f"exit code {info.exit_code}, output {out[:120]!r}",
            hint="" if ok else cmd_hint,
            evidence={"exit_code": info.exit_code, "output": out[:500]},
        )

    def pinned() -> CheckResult:
        name = "the base image is a specific slim tag"
        df = Dockerfile.from_path(path)
        base = df.final.base
        tag_ = image_tag(base)
        ok = tag_ is not None and tag_ != "latest" and ("slim" in tag_ or "alpine" in tag_)
        hint = ""
        if tag_ in (None, "latest"):
            hint = f"`FROM {base}` means :latest, which changes under you and is the ~1 GB full image. Pin `python:3.11-slim`. (hadolint DL3006/DL3007)"
        elif not ok:
            hint = f"{base} is a full image; the slim variant has the same Python without compilers and docs."
        return CheckResult(name, 1, ok, f"FROM {base}", hint=hint, evidence={"base": base})

    try:
        rep.item("the image builds", 2, builds)
        rep.item("it prints the greeting", 2, prints)
        rep.item("the base image is a specific slim tag", 1, pinned)
    finally:  # also on KeyboardInterrupt: an interrupted check leaves nothing behind
        images.remove(tag)
    return rep
