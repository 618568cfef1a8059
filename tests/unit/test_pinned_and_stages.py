"""Pure logic behind issue 11's fixes for exercises 01, 03, 04 and 09 (no engine needed)."""

from __future__ import annotations

import pytest

from helpers.checks import _pinned
from helpers.dockerfile import Dockerfile


@pytest.mark.parametrize(
    ("command", "ok"),
    [
        (["python", "etl.py"], True),
        (["python3", "/srv/etl/etl.py"], True),
        (["/usr/local/bin/python", "./etl.py"], True),
        (["/bin/sh", "-c", "exec python etl.py"], True),
        (["cat", "report.csv"], False),
        (["python", "etl.py", "--source=x.csv"], False),
        (["python", "other.py"], False),
    ],
)
def test_runs_python(command, ok):
    assert _pinned.runs_python(command, "etl.py") is ok


def test_problems_name_missing_wrong_and_variant_pins():
    pins = {"pandas": "2.2.3", "docopt": "0.6.2", "psycopg2": "2.9.10"}
    installed = {
        "pandas": "2.2.2",
        "docopt": "0.6.2",
        "docopt-ng": "0.9.0",
        "psycopg2-binary": "2.9.10",
    }
    got = _pinned.problems(
        pins, installed, {"etl.py": "x", "data/a.csv": None}, {"etl.py": "y", "data/a.csv": "z"}
    )
    assert "pandas 2.2.2 is installed, the pin is 2.2.3" in got
    assert any("docopt-ng 0.9.0 is installed beside docopt" in p for p in got)
    assert any(p.startswith("psycopg2==2.9.10 is not installed (psycopg2-binary") for p in got)
    assert "etl.py in the image differs from the shipped etl.py" in got
    assert "data/a.csv is not in the image's working directory" in got
    assert _pinned.problems(pins, {**pins}, {}, {}) == []


@pytest.mark.parametrize(
    ("text", "sources"),
    [
        ("FROM a AS b\nFROM c\nCOPY --from=b /x /x\n", ["b"]),
        ("FROM a AS b\nFROM c\nCOPY --from=0 /x /x\n", ["b"]),
        ("FROM a AS b\nFROM c\nRUN --mount=type=bind,from=b,source=/w,target=/w ls /w\n", ["b"]),
        ("FROM a AS b\nFROM c\nRUN --mount=from=b,target=/w ls /w\n", ["b"]),
        ("FROM a AS b\nFROM c\nRUN --mount=type=cache,target=/root/.cache pip i\n", []),
        ("FROM a AS b\nFROM c\nCOPY --from=python:3.11 /x /x\n", []),  # an image, not a stage
        ("FROM a AS b\nFROM b\nCOPY x .\n", []),  # IS the builder
    ],
)
def test_takes_from(text, sources):
    df = Dockerfile.from_text(text)
    assert df.takes_from(df.final) == sources


def test_needs_buildkit():
    assert Dockerfile.from_text("FROM a\nRUN --mount=type=cache,target=/c x\n").needs_buildkit()
    assert not Dockerfile.from_text("FROM a AS b\nFROM c\nCOPY --from=b /x /x\n").needs_buildkit()
