"""Read a Dockerfile with a real parser (dockerfile-parse) and answer questions about it.

Static facts add to behaviour; they never replace it.

Example:
    >>> df = Dockerfile.from_text("FROM python:3.11-slim AS build\\nFROM build\\nCMD [\\"python\\"]\\n")
    >>> [s.base for s in df.stages], df.stages[1].parent_stage
    (['python:3.11-slim', 'build'], 'build')
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
