"""What runs in a built image, compared with what the exercise pins (exercises 01, 04, 09).

"Keep the app and its pinned requirements": the files in the learner's folder can be intact
while the image runs something else (a ``RUN pip install psycopg2-binary``, a ``COPY`` of
another script, a ``CMD`` that prints a saved report). So the check asks the image itself:
one labelled, limited, network-less container from the built image runs a small Python
probe (never on the host) that lists the installed distributions (``importlib.metadata``),
digests the app files relative to the image's working directory, and tries the imports.

- :func:`pins`: ``{name: version}`` from a requirements file's ``name==version`` lines.
- :func:`probe`: the facts from inside the image (:class:`ImageFacts`).
- :func:`problems`: what differs from the pins and the shipped files, in words.
- :func:`kept_verdict`: the "kept" item of exercises 01 and 04, with what to put back.

Example:
    >>> pins("# c\\npandas==2.2.3\\nNumPy == 2.1.3  # x\\n")
    {'pandas': '2.2.3', 'numpy': '2.1.3'}
    >>> canon("Psycopg2_Binary")
    'psycopg2-binary'
    >>> problems({"psycopg2": "2.9.10"}, {"psycopg2-binary": "2.9.10"}, {}, {})
    ['psycopg2==2.9.10 is not installed (psycopg2-binary 2.9.10 is: a variant of the pinned package)']
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import containers, engine
from . import intact
from .rubric import Verdict

#: the probe: installed distributions, digests of app files, imports (argv: JSON request)
PROBE = r"""
import hashlib, importlib, importlib.metadata as m, json, os, sys
req = json.loads(sys.argv[1])
out = {"cwd": os.getcwd(), "dists": {}, "files": {}, "imports": {}}
for d in m.distributions():
    n = d.metadata["Name"]
    if n:
        out["dists"][n] = d.version
for rel in req["files"]:
    try:
        with open(rel, "rb") as fh:
            out["files"][rel] = fh.read().decode("latin-1")
    except OSError as exc:
        out["files"][rel] = None
for mod in req["imports"]:
    try:
        importlib.import_module(mod)
        out["imports"][mod] = ""
    except BaseException as exc:
        out["imports"][mod] = f"{type(exc).__name__}: {exc}"[:300]
print("SHIPSHAPE-PROBE " + json.dumps(out))
"""

PYTHONS = {"python", "python3", "python3.11", "/usr/local/bin/python", "/usr/local/bin/python3"}


def canon(name: str) -> str:
    """PEP 503 normalised distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(text: str) -> dict[str, str]:
    """``{canonical name: version}`` of the ``name==version`` lines of a requirements file."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*==\s*([^\s;]+)", line)
        if m:
            out[canon(m.group(1))] = m.group(2)
    return out


@dataclass
class ImageFacts:
    """What the probe saw inside the image."""

    cwd: str
    dists: dict[str, str]  # canonical name -> version
    files: dict[str, str | None]  # relative path -> digest (None: missing)
    imports: dict[str, str]  # module -> "" or the error
    command: list[str]  # Entrypoint + Cmd of the image
    error: str = ""
    raw: dict[str, Any] = field(default_factory=dict)


def command_of(image: str) -> list[str]:
    """The image's ``Entrypoint + Cmd`` as one list (a shell form keeps its ``sh -c``)."""
    cfg = engine.client().images.get(image).attrs.get("Config") or {}
    return list(cfg.get("Entrypoint") or []) + list(cfg.get("Cmd") or [])


def runs_python(command: list[str], script: str) -> bool:
    """True when the command is ``python <script>`` (any python on the PATH, ./ allowed)."""
    if len(command) >= 3 and command[:2] == ["/bin/sh", "-c"]:
        command = command[2].split()
    if command[:1] == ["exec"]:
        command = command[1:]
    return len(command) == 2 and command[0] in PYTHONS and command[1].rsplit("/", 1)[-1] == script


def probe(image: str, files: list[str], imports: list[str]) -> ImageFacts:
    """Run the probe in a network-less, limited container of ``image``; never on the host."""
    req = json.dumps({"files": files, "imports": imports})
    cmd = command_of(image)
    with containers.running(
        image,
        ["python", "-c", PROBE, req],
        entrypoint=[],
        network_disabled=True,
        mem_limit="256m",
        nano_cpus=1_000_000_000,
        pids_limit=64,
    ) as ctr:
        info = containers.wait_for_exit(ctr, timeout_s=60)
        out = ctr.logs(stdout=True, stderr=False).decode("utf-8", "replace")
        err = ctr.logs(stdout=False, stderr=True).decode("utf-8", "replace")
    line = next((x for x in out.splitlines() if x.startswith("SHIPSHAPE-PROBE ")), "")
    if not line:
        return ImageFacts(
            "",
            {},
            {},
            {},
            cmd,
            error=f"the probe found no python in the image "
            f"(exit {info.exit_code}: {(err or out).strip()[-200:]})",
        )
    data = json.loads(line.split(" ", 1)[1])
    return ImageFacts(
        cwd=data["cwd"],
        dists={canon(k): v for k, v in data["dists"].items()},
        files={
            k: (None if v is None else intact.digest(v.encode("latin-1")))
            for k, v in data["files"].items()
        },
        imports=data["imports"],
        command=cmd,
        raw={"cwd": data["cwd"], "exit_code": info.exit_code},
    )


def problems(
    pinned: dict[str, str],
    installed: dict[str, str],
    files: dict[str, str | None],
    shipped: dict[str, str],
) -> list[str]:
    """Pinned distributions missing, at another version, or swapped for a variant; app
    files in the image that are missing or differ from the shipped ones."""
    out: list[str] = []
    for name, version in pinned.items():
        variants = sorted(
            f"{n} {v}" for n, v in installed.items() if n != name and n.startswith(name + "-")
        )
        have = installed.get(name)
        if have is None:
            also = (
                f" ({', '.join(variants)} is: a variant of the pinned package)" if variants else ""
            )
            out.append(f"{name}=={version} is not installed{also}")
        elif have != version:
            out.append(f"{name} {have} is installed, the pin is {version}")
        elif variants:
            out.append(f"{', '.join(variants)} is installed beside {name}: a variant of the pin")
    for rel, want in sorted(shipped.items()):
        got = files.get(rel, "absent")
        if got is None or got == "absent":
            out.append(f"{rel} is not in the image's working directory")
        elif got != want:
            out.append(f"{rel} in the image differs from the shipped {rel}")
    return out


def folder_changes(folder: Path, slug: str, paths: list[str] | None = None) -> list[str]:
    """The fixed files of ``slug`` changed or missing in ``folder``, in words."""
    return [f"{rel} is {how}" for rel, how in intact.changed(folder, slug, paths).items()]


@dataclass
class Kept:
    """Is the image running the shipped app with its pins? Problems found, by where."""

    folder: list[str]  # fixed files changed in the learner's folder
    image: list[str]  # pins / app files differing inside the image
    command: list[str]  # the image's command, when it is not ``python <script>``
    seen: ImageFacts | None = None

    @property
    def ok(self) -> bool:
        return not (self.folder or self.image or self.command)

    def summary(self) -> str:
        return "; ".join(self.folder + self.image + self.command)


def kept(
    folder: Path,
    slug: str,
    image: str,
    script: str,
    pinned: dict[str, str],
    data_files: tuple[str, ...] = (),
    imports: tuple[str, ...] = (),
) -> Kept:
    """Compare the folder's fixed files, and the image's command, app files and installed
    distributions, with what exercise ``slug`` ships and pins."""
    shipped = intact.shipped(slug)
    cmd = command_of(image)
    bad_cmd = []
    app = script
    if runs_python(cmd, script):
        app = (cmd[2].split() if cmd[:2] == ["/bin/sh", "-c"] else cmd)[-1]
    else:
        bad_cmd = [f"the image runs {cmd}, not python {script}"]
    base = app.rsplit("/", 1)[0] + "/" if "/" in app else ""
    in_image = {app: script, **{base + d: d for d in data_files}}
    seen = probe(image, list(in_image), list(imports))
    if seen.error:
        return Kept(folder_changes(folder, slug), [seen.error], bad_cmd, seen)
    files = {in_image[k]: v for k, v in seen.files.items()}
    want = {rel: shipped[rel] for rel in (script, *data_files) if rel in shipped}
    image_problems = problems(pinned, seen.dists, files, want)
    image_problems += [f"import {m} fails: {e}" for m, e in seen.imports.items() if e]
    return Kept(folder_changes(folder, slug), image_problems, bad_cmd, seen)


def kept_hint(k: Kept, slug: str, script: str, install: str) -> str:
    """What to put back, file by file."""
    out = []
    if k.folder:
        names = ", ".join(p.split(" is ")[0] for p in k.folder)
        out.append(
            f"Restore {names} from the starter (exercises/{slug} as shipped): the exercise "
            "changes how the image is built, not the app, its data or its pins."
        )
    if k.image:
        out.append(
            f"The image must run the shipped {script} with exactly the pinned distributions: "
            f"{install}, and COPY the app files unchanged (no other package, no variant)."
        )
    if k.command:
        out.append(f'Keep `CMD ["python", "{script}"]` (no ENTRYPOINT in front of it).')
    return " ".join(out)


def kept_verdict(
    k: Kept, slug: str, script: str, *, ok_message: str, install: str, installed: dict[str, Any]
) -> Verdict:
    """The kept item: ``ok_message``, or what differs and how to put it back; ``installed``
    (the pinned distributions the image holds) is the evidence beside the differences."""
    return Verdict(
        k.ok,
        ok_message if k.ok else k.summary(),
        hint=kept_hint(k, slug, script, install),
        evidence={
            "folder": k.folder,
            "image": k.image,
            "command": k.command,
            "installed": installed,
        },
    )
