"""Exercise 03: a ``.dockerignore`` that keeps the build context lean (practice problem 3).

The check copies the learner's folder to a temporary place, adds the clutter a lived-in
project holds (``data/``, ``.git``, caches, a ``.env`` secret; see
:func:`helpers.context.add_clutter`), measures the context docker-py sends with and without
the learner's ``.dockerignore``, builds both ways, runs the image and lists the files inside it.

Rubric: the context is small (3, partial 1 for halving it); the app still runs from the image
(3); the ``.env`` secret is not in the image (3); no ``.git``, data or caches in the image (2,
partial per kind); the Dockerfile and the app are the starter's (2). Build times with and
without are evidence, not pass/fail.

The exercise is the ignore file, so the ignore file is what is judged: a ``Dockerfile`` that
was changed (say ``COPY etl/ etl/``, which hides the clutter without any ignore file) fails
"kept", and the context and image are judged with the shipped Dockerfile put back in the
private copy. Besides the clutter :func:`helpers.context.add_clutter` writes, the copy gets a
cache folder two levels down (``DEEP_CACHE``): "every cache folder, at any depth" is judged
at a depth a pattern written per level does not reach by accident.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from .. import containers, context, images
from ..findings import Report
from . import intact
from .requirements import Requirement
from .rubric import Facts, Rubric, Verdict

EXERCISE = "03"
SLUG = "03_dockerignore"
TITLE = "A .dockerignore that keeps the build context lean"
EXPECTED = "etl ok: 6 orders across 3 regions"
DATA_MB = 32
#: The smallest correct ignore file: the threshold is measured from the context it leaves.
REFERENCE_PATTERNS = [".git", ".env", "data", "**/__pycache__", ".pytest_cache"]
SLACK_BYTES = 64 * 1024
APP_DIR = "etl"

ITEM_SIZE = "the build context is small"
ITEM_RUNS = "the app still runs from the image"
ITEM_SECRET = "the secret in .env is not in the image"
ITEM_CLUTTER = "no .git, data or caches in the image"
ITEM_KEPT = "the Dockerfile and the app are unchanged"

#: the shipped Dockerfile, put back in the private copy when the learner changed it
SHIPPED = Path(__file__).resolve().parent / "data" / SLUG
#: a cache two folders down, beside the reference data (``add_clutter`` writes depths 0 and 1)
DEEP_CACHE = "etl/reference/__pycache__/regions_loader.cpython-311.pyc"

KIND_WORDS = {"data": "data/", "git": ".git", "cache": "caches"}


def app_files(folder: Path) -> list[str]:
    """The files the app needs: everything under ``etl/`` that is not a cache."""
    root = folder / APP_DIR
    if not root.is_dir():
        return []
    return sorted(
        rel
        for p in root.rglob("*")
        if p.is_file() and context.clutter_kind(rel := p.relative_to(folder).as_posix()) is None
    )


def threshold_bytes(reference_tar_bytes: int) -> int:
    """The most a lean context may weigh: twice the code's own context, plus 64 KiB."""
    return 2 * reference_tar_bytes + SLACK_BYTES


RUBRIC = Rubric(EXERCISE, SLUG, TITLE)


@RUBRIC.fact
def project(f: Facts) -> Path:
    """A private copy of the folder with a lived-in project's clutter added."""
    proj = f.workdir("project") / "project"
    shutil.copytree(f.path, proj, symlinks=True)
    context.add_clutter(proj, DATA_MB)
    deep = proj / DEEP_CACHE
    if deep.parent.parent.is_dir():
        deep.parent.mkdir(exist_ok=True)
        deep.write_bytes(b"\xa7\r\r\n" + bytes(2000))
    if intact.changed(f.path, SLUG, ["Dockerfile"]):  # judge the ignore file, not a new Dockerfile
        (proj / "Dockerfile").unlink(missing_ok=True)
        shutil.copy(SHIPPED / "Dockerfile", proj / "Dockerfile")
    return proj


@RUBRIC.fact
def contexts(f: Facts) -> dict[str, Any]:
    """The build context measured with the learner's patterns, without, and with the reference."""
    patterns = context.read_patterns(f.project)
    return {
        "patterns": patterns,
        "with": context.measure(f.project, patterns),
        "without": context.measure(f.project, None),
        "ref": context.measure(f.project, REFERENCE_PATTERNS),
    }


@RUBRIC.fact
def image(f: Facts) -> images.BuildResult:
    return images.build(f.project, f.tag("image"), on_event=None, timeout_s=300, exercise=EXERCISE)


@RUBRIC.fact
def build_raw_s(f: Facts) -> float | None:
    """Seconds to build once more with the ignore file set aside (None when that fails)."""
    if not f.contexts["patterns"]:  # no patterns: the build above already was "without"
        built, _ = f.outcome("image")
        return built.seconds if built else None
    ignore = f.project / context.IGNORE_FILE
    aside = f.project.parent / "dockerignore.aside"
    ignore.rename(aside)
    try:
        return images.build(
            f.project, f.tag("noignore"), on_event=None, timeout_s=300, exercise=EXERCISE
        ).seconds
    except images.BuildError:
        return None
    finally:
        aside.rename(ignore)


@RUBRIC.fact
def ran(f: Facts) -> dict[str, Any]:
    """The image run to completion, and the files it holds (read before anything ran)."""
    st: dict[str, Any] = {}
    with containers.running(f.image.image_id) as ctr:
        try:
            st["exit"] = containers.wait_for_exit(ctr, timeout_s=60)
        except containers.WaitError as exc:  # still running: judged as not working
            st["run_error"] = str(exc).splitlines()[0]
            ctr.kill()
        st["output"] = ctr.logs().decode("utf-8", "replace").strip()
    # the image as built: a container that never ran, so nothing wrote caches yet
    st["workdir"], st["image_files"] = context.image_files(f.image.image_id)
    return st


@RUBRIC.item("small", ITEM_SIZE, 3, needs=("contexts",))
def small_context(f: Facts) -> Verdict:
    st = f.contexts
    w, wo, ref = st["with"], st["without"], st["ref"]
    limit = threshold_bytes(ref.tar_bytes)
    ok = w.tar_bytes <= limit
    halved = w.tar_bytes * 2 <= wo.tar_bytes
    ratio = wo.tar_bytes / max(w.tar_bytes, 1)
    built, _ = f.outcome("image")
    b_with = built.seconds if built else None
    b_raw = f.build_raw_s
    timing = (
        f"; build {b_with:.1f} s with it vs {b_raw:.1f} s without"
        if b_with is not None and b_raw is not None
        else ""
    )
    msg = (
        f"context {context.fmt_bytes(w.tar_bytes)} in {w.files} files with your .dockerignore, "
        f"{context.fmt_bytes(wo.tar_bytes)} in {wo.files} files without ({ratio:.0f}x smaller); "
        f"limit {context.fmt_bytes(limit)}{timing}"
    )
    big = {top: n for top, n in w.by_top_level().items() if n > SLACK_BYTES // 4 and top != APP_DIR}
    if ok:
        hint = ""
    elif not st["patterns"]:
        hint = (
            "Your .dockerignore has no patterns yet (comments only), so every file in the "
            "folder is sent to the engine and copied by `COPY . .`. The biggest: "
            + ", ".join(f"{k} ({context.fmt_bytes(v)})" for k, v in list(big.items())[:4])
            + ". List them in .dockerignore."
        )
    else:
        hint = (
            "Still sent to the engine: "
            + ", ".join(f"{k} ({context.fmt_bytes(v)})" for k, v in list(big.items())[:4])
            + ". Add patterns for them (a folder name excludes everything below it)."
        )
    return Verdict(
        ok,
        msg,
        hint=hint,
        evidence={
            "context_bytes_with": w.tar_bytes,
            "context_bytes_without": wo.tar_bytes,
            "files_with": w.files,
            "files_without": wo.files,
            "limit_bytes": limit,
            "reference_bytes": ref.tar_bytes,
            "ratio": round(ratio, 1),
            "tar_seconds_with": round(w.seconds, 3),
            "tar_seconds_without": round(wo.seconds, 3),
            "build_seconds_with": round(b_with, 2) if b_with is not None else None,
            "build_seconds_without": round(b_raw, 2) if b_raw is not None else None,
            "still_sent": big,
            "patterns": st["patterns"],
        },
        earned=3 if ok else (1 if halved else 0),
    )


@RUBRIC.item("runs", ITEM_RUNS, 3, needs=("ran",))
def app_runs(f: Facts) -> Verdict:
    st = {**f.ran, "patterns": f.contexts["patterns"], "needed": app_files(f.path)}
    out = st.get("output", "")
    code = st["exit"].exit_code if "exit" in st else None
    files = st.get("image_files", {})
    missing = [rel for rel in st["needed"] if rel not in files]
    ok = code == 0 and out == EXPECTED and not missing
    hint = ""
    if missing:
        pats = st["patterns"] or []
        why = []
        for rel in missing[:4]:
            pat = context.excluded_by(rel, pats)
            why.append(f"{rel} (excluded by `{pat}`)" if pat else rel)
        pats_hit = {context.excluded_by(rel, pats) for rel in missing}
        fix = (
            f"An allow-list that starts with `*` must let the app back in: add `!{APP_DIR}` "
            "after it."
            if "*" in pats_hit
            else "Narrow that pattern to what you mean to drop (`data/` rather than every "
            "CSV), or put the file back with a `!path` line after it: the last matching "
            "line wins."
        )
        hint = "The app needs files your .dockerignore keeps out: " + "; ".join(why) + ". " + fix
    elif "run_error" in st:
        hint = "The container did not finish within 60 s: the app should print one line and exit."
    elif not ok:
        hint = (
            f"The app should print exactly {EXPECTED!r}. Do not change the Dockerfile or "
            "the etl package: the exercise is the .dockerignore."
        )
    return Verdict(
        ok,
        f"exit code {code}, output {out[-160:]!r}"
        + (f"; missing from the image: {', '.join(missing[:4])}" if missing else ""),
        hint=hint,
        evidence={"exit_code": code, "output": out[-1000:], "missing": missing},
    )


def _found(st: dict[str, Any], kind: str) -> list[str]:
    return [rel for rel in st.get("image_files", {}) if context.clutter_kind(rel) == kind]


@RUBRIC.item("secret", ITEM_SECRET, 3, needs=("ran",))
def no_secret(f: Facts) -> Verdict:
    st = f.ran
    found = _found(st, "secret")
    where = [f"{st['workdir'].rstrip('/')}/{rel}" for rel in found]
    return Verdict(
        not found,
        f"found in the image: {', '.join(where)}" if found else "no .env file in the image",
        hint=(
            f"{', '.join(where)} is inside the image: anyone who can pull it can read "
            f"{context.SECRET_NAME}. Add `.env` (and `.env.*` for its variants) to "
            ".dockerignore, and give secrets to the container at run time instead."
            if found
            else ""
        ),
        evidence={"found": where},
    )


@RUBRIC.item("clutter", ITEM_CLUTTER, 2, needs=("ran",))
def no_clutter(f: Facts) -> Verdict:
    st = {**f.ran, "patterns": f.contexts["patterns"]}
    found = {k: _found(st, k) for k in ("git", "data", "cache")}
    bad = {k: v for k, v in found.items() if v}
    earned = 2 * (3 - len(bad)) / 3
    hints = []
    if "git" in bad:
        hints.append("`.git` (the whole history) is in the image: add `.git`")
    if "data" in bad:
        hints.append("`data/` is in the image: add `data/`")
    if "cache" in bad:
        nested = [p for p in bad["cache"] if p.split("__pycache__")[0] not in ("", p)]
        per_level = [p for p in st["patterns"] or [] if "__pycache__" in p and "**" not in p]
        if nested and per_level:
            hints.append(
                f"{nested[0]} is still in: `{per_level[0]}` matches at one depth only (a "
                "bare `__pycache__` only at the top of the context); write `**/__pycache__` "
                "to match it at any depth"
            )
        else:
            hints.append(
                f"caches are in the image ({bad['cache'][0]}, ...): add `**/__pycache__` "
                "and `.pytest_cache`"
            )
    return Verdict(
        not bad,
        (
            "in the image: "
            + "; ".join(f"{KIND_WORDS[k]} ({len(v)} files)" for k, v in bad.items())
            if bad
            else "no .git, data or cache files in the image"
        ),
        hint=". ".join(hints) + ("." if hints else ""),
        evidence={k: v[:5] for k, v in found.items()},
        earned=earned,
    )


@RUBRIC.item("kept", ITEM_KEPT, 2)
def kept(f: Facts) -> Verdict:
    changed = intact.changed(f.path, SLUG)
    names = ", ".join(changed)
    return Verdict(
        not changed,
        "Dockerfile and etl/ as shipped"
        if not changed
        else "; ".join(f"{rel} is {how}" for rel, how in changed.items())
        + (
            " (the other items were judged with the shipped Dockerfile put back)"
            if "Dockerfile" in changed
            else ""
        ),
        hint=f"Restore {names} from the starter (exercises/{SLUG} as shipped): the exercise "
        "is the .dockerignore alone, so the check judges it against the shipped `COPY . .`."
        if changed
        else "",
        evidence={"changed": changed},
    )


def run(path: Path) -> Report:
    return RUBRIC.run(path)


REQUIREMENTS = (
    Requirement("the build context is small: close to the size of the code itself", ("small",)),
    Requirement(".env never reaches the image", ("secret",)),
    Requirement(".git, data/ and every cache folder (at any depth!) stay out too", ("clutter",)),
    Requirement("the app still works: python -m etl prints", ("runs",)),
    Requirement("It needs the whole etl/ package, including etl/reference/regions.csv", ("runs",)),
    Requirement("Do not change the Dockerfile or the app (etl/)", ("kept",)),
    Requirement(
        "judges your ignore file with the shipped Dockerfile put back if it was changed",
        ("small", "secret", "clutter", "runs"),
    ),
)

README_NOT_RULES = {
    "Without a .dockerignore, docker build sends all of it to the engine": "background: "
    "why the ignore file matters",
    "Write .dockerignore (it has only comments now) so that": "introduces the numbered "
    "rules, each listed in REQUIREMENTS",
    "The check copies your folder to a temporary place": "describes how the check measures",
}
