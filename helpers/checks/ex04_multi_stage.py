"""Exercise 04: split a compile-in-place image into a builder stage and a runtime stage.

Rubric (9 points), measured on the engine:

- the image builds (1)
- at least two stages, and the final one copies from an earlier one (1): the Dockerfile,
  read with a real parser
- no compiler and no build headers in the final image (2): a container runs ``gcc`` and
  ``cc`` (they must be *not found*) and looks for libpq's and libc's headers
- the runtime library is there and the app works (2): the app's own output proves the
  compiled psycopg2 imports, is linked to libpq, and libpq dials a server
- the final image is smaller than the starter by a measured margin (2): against the pristine
  starter the check builds itself; full credit at <= ``FULL_RATIO`` of its size
- the builder stage, built alone with ``target=``, is larger than the final image (1)

Measured (``python benchmarks/image_size.py``): starter ~343 MB, reference solution
~134 MB (0.39x), its builder stage ~343 MB.
"""

from __future__ import annotations

from pathlib import Path

from .. import containers, images
from ..dockerfile import Dockerfile
from ..findings import Report
from . import _size_common as sc
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
    """The stage the final stage copies from (by name), else the first named stage."""
    final = df.final
    for ins in final.find("COPY"):
        for word in ins.value.split():
            if word.startswith("--from="):
                src = word.split("=", 1)[1]
                if any(s.alias == src for s in df.stages[:-1]):
                    return src
    named = [s.alias for s in df.stages[:-1] if s.alias]
    return named[0] if named else None


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
    copies = [i.value for i in df.final.find("COPY") if "--from=" in i.value]
    ok = n >= 2 and bool(copies)
    if n < 2:
        hint = (
            "Everything happens in one stage, so gcc ships. Start a builder with "
            "`FROM python:3.11-slim AS builder`, compile there, then a second `FROM "
            "python:3.11-slim` that takes only the result: `COPY --from=builder ...`."
        )
    else:
        hint = "The final stage takes nothing from the builder: add `COPY --from=builder /install /usr/local`."
    return Verdict(
        ok,
        f"{n} stage(s): "
        + ", ".join(f"{s.base}{' AS ' + s.alias if s.alias else ''}" for s in df.stages)
        + (f"; final stage copies {copies}" if copies else "; final stage copies from none"),
        hint=hint,
        evidence={"stages": [s.base for s in df.stages], "copy_from": copies},
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


@RUBRIC.item("size", N_SIZE, 2, needs=("image",))
def size(f: Facts) -> Verdict:
    tag = f.image.tag
    base = sc.baseline_size(SLUG, EXERCISE)
    mine = images.image_size_bytes(tag)
    ratio = mine / base.size_bytes
    earned = round(2 * max(0.0, min(1.0, (1 - ratio) / (1 - FULL_RATIO))), 1)
    return Verdict(
        ratio <= FULL_RATIO,
        f"{sc.mb(mine)} MB vs the starter's {sc.mb(base.size_bytes)} MB: {ratio:.2f}x "
        f"(full credit at <= {FULL_RATIO:.2f}x)",
        hint="gcc, binutils and the headers are ~200 MB. They must not be in ANY layer of "
        "the final image: removing them in a later RUN leaves them in the earlier layer. "
        "Only a separate stage leaves them behind.",
        evidence={
            "image_bytes": mine,
            "starter_bytes": base.size_bytes,
            "ratio": round(ratio, 3),
            "full_credit_ratio": FULL_RATIO,
        },
        earned=earned,
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
