"""Exercise 04: split a compile-in-place image into a builder stage and a runtime stage.

Rubric (10 points), measured on the engine:

- the image builds (1)
- at least two stages, and the final one takes files from an earlier one (1): the
  Dockerfile, read with a real parser; ``COPY --from=<stage>`` and ``RUN --mount=...,from=<stage>``
  (a bind or cache mount of the builder, built with BuildKit) both count
- the app and its pin are kept (1): ``app.py`` and ``requirements.txt`` match the starter, and
  the image runs ``python app.py`` with the shipped app and ``psycopg2==2.9.10`` installed (not
  a variant such as ``psycopg2-binary``, whose bundled libpq needs no compiler at all)
- no compiler and no build headers in the final image (2): a container runs ``gcc`` and
  ``cc`` (they must be *not found*) and looks for libpq's and libc's headers
- the runtime library is there and the app works (2): the app's own output proves the
  compiled psycopg2 imports, is linked to libpq, and libpq dials a server
- the final image is smaller than the starter by a measured margin (2): against the pristine
  starter the check builds itself; full credit at <= ``FULL_RATIO`` of its size; only for
  an image that keeps the app and its pin
- the builder stage, built alone with ``target=``, is larger than the final image (1)

Measured (``python benchmarks/image_size.py``): starter ~343 MB, reference solution
~134 MB (0.39x), its builder stage ~343 MB.
"""

from __future__ import annotations

from pathlib import Path

from .. import containers, images
from ..dockerfile import Dockerfile
from ..findings import Report
from . import _pinned
from . import _size_common as sc
from .requirements import Requirement
from .rubric import Facts, Rubric, Verdict, build_verdict

EXERCISE = "04"
SLUG = "04_multi_stage"
TITLE = "Multi-stage: compile in a builder, ship only the runtime"

FULL_RATIO = 0.60
PSYCOPG2 = "psycopg2 2.9.10"

N_BUILD = "the image builds"
N_STAGES = "at least two stages"
N_COMPILER = "no compiler and no build headers in the final image"
N_APP = "the runtime library is there and the app works"
N_KEPT = "the app and its pinned psycopg2 are kept"
N_SIZE = "smaller than the single-stage starter"
N_BUILDER = "the builder stage alone is larger than the final image"

HEADERS = ("/usr/include/postgresql/libpq-fe.h", "/usr/include/stdio.h")
PROBE = (
    'for c in gcc cc; do echo "run $c: $($c --version 2>&1 | head -n1)"; done; '
    "for c in gcc cc c++ g++ x86_64-linux-gnu-gcc-12 aarch64-linux-gnu-gcc-12 cc1; do "
    'p=$(command -v $c) && echo "compiler $p"; done; '
    'for f in /usr/lib/gcc/*/*/cc1; do [ -e "$f" ] && echo "compiler $f"; done; '
    + "".join(f'[ -e {h} ] && echo "header {h}"; ' for h in HEADERS)
    + "true"
)


def _stages(path: Path) -> tuple[Dockerfile | None, str]:
    try:
        return Dockerfile.from_path(path), ""
    except Exception as exc:
        return None, str(exc)


def _builder_stage(df: Dockerfile) -> str | None:
    """The stage the final stage takes files from (COPY --from or RUN --mount from=), else
    the first named earlier stage."""
    for ref in df.takes_from(df.final):
        st = df.stage_ref(ref, df.final.index)
        if st is not None and st.alias:
            return st.alias
    named = [s.alias for s in df.stages[:-1] if s.alias]
    return named[0] if named else None


#: the shipped pin (the check's own copy of requirements.txt)
PINS = _pinned.pins((sc.DATA / SLUG / "requirements.txt").read_text())


RUBRIC = Rubric(EXERCISE, SLUG, TITLE)


@RUBRIC.fact
def image(f: Facts) -> images.BuildResult:
    return images.build(f.path, f.tag("image"), on_event=None, timeout_s=900, exercise=EXERCISE)


@RUBRIC.item("builds", N_BUILD, 1)
def builds(f: Facts) -> Verdict:
    return build_verdict(f)


@RUBRIC.item("stages", N_STAGES, 1)
def stages(f: Facts) -> Verdict:
    df, err = _stages(f.path)
    if df is None:
        return Verdict(False, f"could not parse: {err}", hint="Fix the Dockerfile.")
    n = len(df.stages)
    sources = df.takes_from(df.final)
    copies = [
        i.value
        for i in df.final.instructions
        if (i.name in ("COPY", "ADD") and any(k == "from" for k, _ in i.flags()))
        or (i.name == "RUN" and any(m.get("from") for m in i.mounts()))
    ]
    ok = n >= 2 and bool(sources)
    if n < 2:
        hint = (
            "Everything happens in one stage, so gcc ships. Start a builder with "
            "`FROM python:3.11-slim AS builder`, compile there, then a second `FROM "
            "python:3.11-slim` that takes only the result: `COPY --from=builder ...`."
        )
    elif df.final.parent_stage:
        hint = (
            f"The final stage starts FROM {df.final.parent_stage}, so it IS the builder with "
            "its compiler. Start it from python:3.11-slim and take only the result: "
            "`COPY --from=builder /install /usr/local`."
        )
    else:
        hint = (
            "The final stage takes nothing from the builder: add `COPY --from=builder "
            "/install /usr/local` (or install from a `RUN --mount=type=bind,from=builder,...`)."
        )
    return Verdict(
        ok,
        f"{n} stage(s): "
        + ", ".join(f"{s.base}{' AS ' + s.alias if s.alias else ''}" for s in df.stages)
        + (
            f"; final stage takes from {sources}: {[c[:80] for c in copies]}"
            if sources
            else "; final stage takes from no earlier stage"
        ),
        hint="" if ok else hint,
        evidence={"stages": [s.base for s in df.stages], "takes_from": sources, "steps": copies},
    )


@RUBRIC.item("no_compiler", N_COMPILER, 2, needs=("image",))
def no_compiler(f: Facts) -> Verdict:
    tag = f.image.tag
    with containers.running(tag, ["sh", "-c", PROBE]) as ctr:
        containers.wait_for_exit(ctr, timeout_s=60)
        out = ctr.logs().decode("utf-8", "replace")
    lines = out.strip().splitlines()
    compilers = [x.split(" ", 1)[1] for x in lines if x.startswith("compiler ")]
    headers = [x.split(" ", 1)[1] for x in lines if x.startswith("header ")]
    runs = [x for x in lines if x.startswith("run ")]
    earned = 2 - (1 if compilers else 0) - (1 if headers else 0)
    hint = []
    if compilers:
        hint.append(
            "A compiler is in the final image. Install gcc only in the builder stage; the "
            "final stage must not install it, start FROM the builder, or COPY /usr from it."
        )
    if headers:
        hint.append(
            "Build headers are in the final image: the runtime needs the shared library "
            "(`libpq5`), not the development package (`libpq-dev`, which pulls libc6-dev)."
        )
    return Verdict(
        not compilers and not headers,
        "; ".join(runs)
        + (f"; compilers: {compilers}" if compilers else "")
        + (f"; headers: {headers}" if headers else ""),
        hint=" ".join(hint),
        evidence={"compilers": compilers, "headers": headers, "probe_output": out[-1500:]},
        earned=earned,
    )


@RUBRIC.item("app_works", N_APP, 2, needs=("image",))
def app_works(f: Facts) -> Verdict:
    tag = f.image.tag
    with containers.running(tag) as ctr:
        info = containers.wait_for_exit(ctr, timeout_s=60)
        out = ctr.logs().decode("utf-8", "replace").strip()
    ok = info.exit_code == 0 and PSYCOPG2 in out and "libpq answered:" in out
    if ok:
        hint = ""
    elif "libpq.so" in out:
        hint = (
            "The compiled extension is there but the shared library it links to is not. "
            "Install the runtime package in the final stage: `apt-get install -y "
            "--no-install-recommends libpq5` (then remove the apt lists)."
        )
    elif "No module named" in out:
        hint = (
            "psycopg2 did not reach the final image. Install it in the builder with "
            "`pip install --prefix=/install ...` and `COPY --from=builder /install /usr/local` "
            "(or build wheels with `pip wheel` and install those)."
        )
    else:
        hint = 'Keep app.py and `CMD ["python", "app.py"]`; read the output in the evidence.'
    return Verdict(
        ok,
        f"exit code {info.exit_code}: " + " | ".join(out.splitlines()[-3:])[:300],
        hint=hint,
        evidence={"exit_code": info.exit_code, "output": out[-1500:]},
    )


@RUBRIC.fact
def kept(f: Facts) -> _pinned.Kept:
    """The folder's app and pin, and what the image runs, against the shipped starter."""
    return _pinned.kept(f.path, SLUG, f.image.tag, "app.py", PINS)


@RUBRIC.item("kept", N_KEPT, 1, needs=("kept",))
def kept_item(f: Facts) -> Verdict:
    k = f.kept
    return _pinned.kept_verdict(
        k,
        SLUG,
        "app.py",
        ok_message="the shipped app.py runs with psycopg2 2.9.10 (compiled from source)",
        install="psycopg2==2.9.10 compiled in the builder from the shipped requirements.txt "
        "(psycopg2-binary skips the lesson: its wheel bundles its own libpq)",
        installed={n: v for n, v in (k.seen.dists if k.seen else {}).items() if "psycopg" in n},
    )


@RUBRIC.item("size", N_SIZE, 2, needs=("image",))
def size(f: Facts) -> Verdict:
    return sc.size_verdict(
        f,
        SLUG,
        EXERCISE,
        FULL_RATIO,
        same_app="the shipped app.py with the pinned psycopg2",
        keep_hint="Keep the app and its pin (see the item above); the lesson is leaving the "
        "compiler behind while still compiling psycopg2.",
        hint="gcc, binutils and the headers are ~200 MB. They must not be in ANY layer of "
        "the final image: removing them in a later RUN leaves them in the earlier layer. "
        "Only a separate stage leaves them behind.",
    )


@RUBRIC.item("builder_larger", N_BUILDER, 1, needs=("image",))
def builder_larger(f: Facts) -> Verdict:
    tag = f.image.tag
    df, _err = _stages(f.path)
    stage = _builder_stage(df) if df else None
    if not stage:
        return Verdict(
            False,
            "no named build stage to build on its own",
            hint="Name the build stage (`FROM python:3.11-slim AS builder`): then "
            "`docker build --target builder .` builds just that stage, for debugging the "
            "compile step.",
        )
    tag_builder = f.tag("builder")
    r = images.build(
        f.path, tag_builder, target=stage, on_event=None, timeout_s=900, exercise=EXERCISE
    )
    b, f = images.image_size_bytes(tag_builder), images.image_size_bytes(tag)
    return Verdict(
        b > f,
        f"target={stage!r}: {sc.mb(b)} MB, final image {sc.mb(f)} MB",
        hint="The builder should hold the heavy tools (compiler, headers) and the final "
        "stage only the result. If the final stage is the larger one, the tools are "
        "being installed or copied there.",
        evidence={
            "stage": stage,
            "builder_bytes": b,
            "final_bytes": f,
            "seconds": round(r.seconds, 1),
        },
    )


def run(path: Path) -> Report:
    return RUBRIC.run(path)


REQUIREMENTS = (
    Requirement("Rewrite the Dockerfile as a multi-stage build", ("stages",)),
    Requirement(
        "a named build stage (builder below; any name works) that installs the build tools "
        "and compiles psycopg2",
        ("builder_larger", "kept"),
    ),
    Requirement(
        "a final stage from python:3.11-slim that installs only the runtime library (libpq5)",
        ("no_compiler", "app_works", "size"),
    ),
    Requirement(
        "takes the result out of the builder (copy --from=builder ..., or a run "
        "--mount=type=bind,from=builder,... that installs from it: both count)",
        ("stages",),
    ),
    Requirement('and runs cmd ["python", "app.py"]', ("kept", "app_works")),
    Requirement(
        "Keep app.py and the pinned requirements.txt unchanged, and install exactly "
        "psycopg2==2.9.10",
        ("kept",),
    ),
    Requirement("psycopg2-binary does not count", ("kept",)),
    Requirement("The final image must hold no compiler and no build headers", ("no_compiler",)),
    Requirement("the app must work in it", ("app_works",)),
    Requirement(
        "it must be smaller than the single-stage starter (the size points count only for "
        "the kept app)",
        ("size",),
    ),
    Requirement("the builder stage must be larger than the final image", ("builder_larger",)),
    Requirement("The image must build from this folder", ("builds",)),
)

README_NOT_RULES = {
    "Notebook 02_multi_stage walks through both variants": "a pointer to the lesson notebook",
    "PyPI has no Linux wheel for psycopg2 (only for psycopg2-binary)": "background: why "
    "pip compiles psycopg2 (the rule it leads to is the pin, judged by 'kept')",
}
