"""Read a Dockerfile with a real parser (dockerfile-parse) and answer questions about it.

Static facts add to behaviour; they never replace it.

Example:
    >>> df = Dockerfile.from_text("FROM python:3.11-slim AS build\\nFROM build\\nCMD [\\"python\\"]\\n")
    >>> [s.base for s in df.stages], df.stages[1].parent_stage
    (['python:3.11-slim', 'build'], 'build')
    >>> df = Dockerfile.from_text(
    ...     "FROM python:3.11 AS builder\\nRUN pip wheel -w /w psycopg2\\nFROM python:3.11-slim\\n"
    ...     "RUN --mount=type=bind,from=builder,source=/w,target=/w pip install /w/*\\n")
    >>> df.takes_from(df.final), df.needs_buildkit()
    (['builder'], True)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Instruction:
    """One instruction: ``RUN``, its argument text, and its first line number (1-based)."""

    name: str
    value: str
    line: int

    def flags(self) -> list[tuple[str, str]]:
        """The leading ``--name=value`` flags (``--mount=...``, ``--from=...``), in order."""
        out: list[tuple[str, str]] = []
        for word in self.value.split():
            if not word.startswith("--"):
                break
            name, _, val = word[2:].partition("=")
            out.append((name.lower(), val))
        return out

    def mounts(self) -> list[dict[str, str]]:
        """``RUN --mount=type=bind,from=builder,...`` options as dicts (``type`` defaults to bind).

        >>> Instruction("RUN", "--mount=from=b,source=/w,target=/w pip install /w/x", 1).mounts()
        [{'from': 'b', 'source': '/w', 'target': '/w', 'type': 'bind'}]
        """
        out = []
        for name, val in self.flags():
            if name != "mount":
                continue
            opts: dict[str, str] = {}
            for part in val.split(","):
                k, _, v = part.partition("=")
                opts[k.strip().lower()] = v.strip().strip('"')
            opts.setdefault("type", "bind")
            out.append(opts)
        return out


@dataclass
class Stage:
    """One ``FROM`` and the instructions after it."""

    index: int
    base: str
    alias: str | None
    instructions: list[Instruction] = field(default_factory=list)
    parent_stage: str | None = None  # set when ``base`` names an earlier stage

    def find(self, name: str) -> list[Instruction]:
        return [i for i in self.instructions if i.name == name.upper()]


@dataclass
class Dockerfile:
    """A parsed Dockerfile: its stages, in order."""

    stages: list[Stage]
    text: str

    @classmethod
    def from_text(cls, text: str) -> Dockerfile:
        from dockerfile_parse import DockerfileParser

        p = DockerfileParser(fileobj=_TextIO(text))
        stages: list[Stage] = []
        aliases: set[str] = set()
        for item in p.structure:
            name, value = item["instruction"].upper(), item["value"]
            line = item["startline"] + 1
            if name == "FROM":
                words = [w for w in value.split() if not w.startswith("--")]
                base = words[0] if words else ""
                alias = words[2] if len(words) >= 3 and words[1].lower() == "as" else None
                st = Stage(len(stages), base, alias)
                if base in aliases:
                    st.parent_stage = base
                if alias:
                    aliases.add(alias)
                stages.append(st)
            elif stages:
                stages[-1].instructions.append(Instruction(name, value, line))
        return cls(stages, text)

    @classmethod
    def from_path(cls, path: str | Path) -> Dockerfile:
        p = Path(path)
        if p.is_dir():
            p = p / "Dockerfile"
        return cls.from_text(p.read_text())

    @property
    def final(self) -> Stage:
        if not self.stages:
            raise ValueError("The Dockerfile has no FROM instruction.")
        return self.stages[-1]

    def stage_ref(self, ref: str, before: int) -> Stage | None:
        """The earlier stage (index < ``before``) a ``--from=`` value names (alias or index)."""
        for st in self.stages[:before]:
            if (st.alias and st.alias.lower() == ref.lower()) or ref == str(st.index):
                return st
        return None

    def takes_from(self, stage: Stage) -> list[str]:
        """Earlier stages ``stage`` takes files from: ``COPY/ADD --from=``, or a ``RUN --mount``
        with ``from=`` (bind, cache) an earlier stage. Names as written (alias or index).

        A stage that starts ``FROM`` an earlier one is not "taking from" it (it *is* it); see
        ``parent_stage``. ``--from=`` an external image is not a stage either.
        """
        out: list[str] = []
        for ins in stage.instructions:
            refs: list[str] = []
            if ins.name in ("COPY", "ADD"):
                refs = [v for n, v in ins.flags() if n == "from"]
            elif ins.name == "RUN":
                refs = [m["from"] for m in ins.mounts() if m.get("from")]
            for ref in refs:
                st = self.stage_ref(ref, stage.index)
                if st is not None and ref not in out:
                    out.append(st.alias or ref)
        return out

    def needs_buildkit(self) -> bool:
        """True when an instruction uses a flag only BuildKit knows (``RUN --mount``, ...)."""
        only_bk = {
            "RUN": {"mount", "network", "security"},
            "COPY": {"link", "parents", "exclude"},
            "ADD": {"link", "checksum", "keep-git-dir", "exclude"},
        }
        return any(
            n in only_bk.get(ins.name, set())
            for st in self.stages
            for ins in st.instructions
            for n, _ in ins.flags()
        )

    def external_bases(self) -> list[str]:
        """Base images that are not earlier stages (``scratch`` included)."""
        return [s.base for s in self.stages if s.parent_stage is None]


def image_tag(ref: str) -> str | None:
    """The tag of an image reference, or None (which means ``latest``).

    >>> image_tag("python:3.11-slim"), image_tag("python"), image_tag("localhost:5000/app")
    ('3.11-slim', None, None)
    """
    ref = ref.split("@", 1)[0]
    last = ref.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def is_exec_form(value: str) -> bool:
    """True when a CMD/ENTRYPOINT value is a JSON array (exec form).

    >>> is_exec_form('["python", "app.py"]'), is_exec_form("python app.py")
    (True, False)
    """
    try:
        v = json.loads(value)
    except ValueError:
        return False
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


class _TextIO:
    """The minimal file object dockerfile-parse reads from."""

    def __init__(self, text: str):
        import io

        self._b = io.BytesIO(text.encode())

    def read(self, *a: int) -> bytes:
        return self._b.read(*a)

    def seek(self, *a: int) -> int:
        return self._b.seek(*a)

    def readlines(self) -> list[bytes]:
        return self._b.readlines()
