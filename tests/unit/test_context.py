"""Pure logic of the build context (no engine): .dockerignore parsing and matching, the tar
docker-py would send, and the generated clutter."""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
import tarfile
from pathlib import Path

import pytest
from docker.utils.build import tar

from helpers import context, logs
from helpers.checks import ex03_dockerignore as ex03
from tests.conftest import ROOT


def test_parse_patterns_like_docker_py():
    text = "# a comment\n\n   .git   \n\t.env\n  # indented comment\n!data/keep.csv\ndata\n"
    assert context.parse_patterns(text) == [".git", ".env", "!data/keep.csv", "data"]


def test_read_patterns_missing_vs_empty(tmp_path):
    assert context.read_patterns(tmp_path) is None
    (tmp_path / ".dockerignore").write_text("# only comments\n")
    assert context.read_patterns(tmp_path) == []


@pytest.mark.parametrize(
    ("path", "patterns", "decided_by"),
    [
        ("data/raw/a.csv", ["data"], "data"),
        ("data/raw/a.csv", ["data/"], "data/"),
        ("data", ["data/"], "data/"),
        # a bare name matches only at the top of the context ...
        ("etl/__pycache__/m.pyc", ["__pycache__"], None),
        ("__pycache__/m.pyc", ["__pycache__"], "__pycache__"),
        # ... `**/` matches at any depth
        ("etl/__pycache__/m.pyc", ["**/__pycache__"], "**/__pycache__"),
        ("a/b/c/__pycache__/m.pyc", ["**/__pycache__"], "**/__pycache__"),
        # `*` does not cross a slash
        ("notes.md", ["*.md"], "*.md"),
        ("docs/notes.md", ["*.md"], None),
        ("docs/notes.md", ["**/*.md"], "**/*.md"),
        # the last matching line wins; `!` puts a path back
        ("data/README.md", ["data", "!data/README.md"], None),
        ("data/README.md", ["!data/README.md", "data"], "data"),
        ("etl/reference/regions.csv", ["**/*.csv", "!etl/reference/*.csv"], None),
        # the Dockerfile and the ignore file itself always reach the engine
        ("Dockerfile", ["*"], None),
        (".dockerignore", ["*", ".dockerignore"], None),
        ("app.py", ["*"], "*"),
        # .env variants
        (".env", [".env"], ".env"),
        (".env.local", [".env"], None),
        (".env.local", [".env", ".env.*"], ".env.*"),
        # leading slash and ./ are not significant
        ("data/x", ["/data"], "/data"),
        ("data/x", ["./data"], "./data"),
    ],
)
def test_excluded_by(path, patterns, decided_by):
    assert context.excluded_by(path, patterns) == decided_by
    assert context.is_excluded(path, patterns) is (decided_by is not None)


def test_other_dockerfile_name_is_always_sent():
    assert not context.is_excluded("build/Dockerfile.prod", ["build"], "build/Dockerfile.prod")
    assert context.is_excluded("Dockerfile", ["Dockerfile"], "build/Dockerfile.prod")


def _project(tmp_path: Path) -> Path:
    proj = tmp_path / "p"
    (proj / "etl" / "reference").mkdir(parents=True)
    (proj / "Dockerfile").write_text("FROM python:3.11-slim\nCOPY . .\n")
    (proj / "etl" / "__init__.py").write_text("")
    (proj / "etl" / "main.py").write_text("print('hi')\n")
    (proj / "etl" / "reference" / "regions.csv").write_text("code,region\nDE,c\n")
    return proj


def test_included_files_agree_with_the_matcher(tmp_path):
    proj = _project(tmp_path)
    context.add_clutter(proj, data_mb=1)
    pats = [".git", ".env", "data", "**/__pycache__", ".pytest_cache"]
    inc = context.included_files(proj, pats)
    every = [p.relative_to(proj).as_posix() for p in proj.rglob("*") if p.is_file()]
    assert set(inc) == {p for p in every if not context.is_excluded(p, pats)}
    assert set(inc) == {"Dockerfile", "etl/__init__.py", "etl/main.py", "etl/reference/regions.csv"}


@pytest.mark.parametrize(
    "patterns",
    [
        [],
        ["*"],
        ["*", "!etl"],
        ["*", "!etl/reference/*.csv"],
        ["**/*.csv", "!etl/reference/regions.csv"],
        ["__pycache__", "data", ".git"],
        ["**/__pycache__", "**/*.pyc", ".pytest_cache", ".env*"],
        ["data", "!data/raw", "data/raw/events_2024-0[34].csv"],
        ["etl/reference", "Dockerfile"],
        [".*", "!.env"],
    ],
    ids=lambda p: " ".join(p) or "none",
)
def test_excluded_by_agrees_with_docker_pys_walk(tmp_path, patterns):
    """For every file of a cluttered project, excluded_by() says what the real tar does."""
    proj = _project(tmp_path)
    context.add_clutter(proj, data_mb=1)
    sent = set(context.included_files(proj, patterns))
    every = [p.relative_to(proj).as_posix() for p in proj.rglob("*") if p.is_file()]
    wrong = [p for p in every if context.is_excluded(p, patterns) is (p in sent)]
    assert not wrong, wrong


def test_measure_is_the_tar_docker_py_sends(tmp_path):
    proj = _project(tmp_path)
    context.add_clutter(proj, data_mb=1)
    (proj / ".dockerignore").write_text("data\n.git\n")
    m = context.measure(proj)  # "auto": reads the ignore file like a real build
    assert m.patterns == ["data", ".git"]
    with open(tmp_path / "ref.tar", "wb") as fh:
        tar(str(proj), exclude=["data", ".git"], dockerfile=("Dockerfile", None), fileobj=fh)
    assert m.tar_bytes == (tmp_path / "ref.tar").stat().st_size
    with tarfile.open(tmp_path / "ref.tar") as tf:
        sent = {x.name for x in tf.getmembers() if x.isfile()}
    assert sent == set(m.sizes)
    assert ".env" in sent and not any(s.startswith(("data/", ".git/")) for s in sent)


def test_measure_with_and_without(tmp_path):
    proj = _project(tmp_path)
    written = context.add_clutter(proj, data_mb=2)
    without = context.measure(proj, None)
    lean = context.measure(proj, ex03.REFERENCE_PATTERNS)
    assert without.file_bytes >= sum(written.values())
    assert without.tar_bytes > without.file_bytes  # tar headers and padding on top
    assert lean.by_clutter_kind() == {"data": 0, "git": 0, "cache": 0, "secret": 0, "app": 60}
    assert without.tar_bytes / lean.tar_bytes > 100
    assert next(iter(without.by_top_level())) == "data"


def test_add_clutter_kinds_and_determinism(tmp_path):
    a, b = _project(tmp_path / "a"), _project(tmp_path / "b")
    wa = context.add_clutter(a, data_mb=1, seed=7)
    wb = context.add_clutter(b, data_mb=1, seed=7)
    assert wa == wb
    assert wa["data"] == 1024 * 1024 and wa["git"] > 1024 * 1024 and wa["secret"] > 0
    assert (a / "etl" / "__pycache__" / "main.cpython-311.pyc").is_file()
    assert context.secret_value(7) in (a / ".env").read_text()
    assert _digest(a) == _digest(b)
    # rerunning overwrites the same files and does not put bytecode beside bytecode
    context.add_clutter(a, data_mb=1, seed=7)
    assert _digest(a) == _digest(b)


def _digest(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_exercise_generator_is_the_checks_generator(tmp_path):
    """exercises/03_dockerignore/make_clutter.py is standalone; it must not drift."""
    for where in ("exercises",):  # the solution is an overlay: it has no copy of its own
        script = ROOT / where / "03_dockerignore" / "make_clutter.py"
        spec = importlib.util.spec_from_file_location(f"make_clutter_{where}", script)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        mine, theirs = _project(tmp_path / f"{where}-a"), _project(tmp_path / f"{where}-b")
        assert context.add_clutter(mine, data_mb=1, seed=3) == mod.add_clutter(
            theirs, data_mb=1, seed=3
        )
        assert _digest(mine) == _digest(theirs)


def test_app_files_and_threshold():
    files = ex03.app_files(ROOT / "exercises" / "03_dockerignore")
    assert "etl/reference/regions.csv" in files and "etl/pipeline.py" in files
    assert not any("__pycache__" in f for f in files)
    assert ex03.threshold_bytes(10_000) == 20_000 + 64 * 1024


def test_solution_ignore_keeps_the_app_and_drops_the_clutter():
    pats = context.read_patterns(ROOT / "solutions" / "03_dockerignore")
    for rel in ex03.app_files(ROOT / "solutions" / "03_dockerignore"):
        assert not context.is_excluded(rel, pats), rel
    for rel in (".env", ".git/HEAD", "data/raw/x.csv", "etl/__pycache__/a.pyc", ".pytest_cache/x"):
        assert context.is_excluded(rel, pats), rel
    # the starter's ignore file is comments only: nothing is excluded
    assert context.read_patterns(ROOT / "exercises" / "03_dockerignore") == []


def test_fmt_bytes():
    assert context.fmt_bytes(0) == "0 B"
    assert context.fmt_bytes(1500) == "1.5 kB"
    assert context.fmt_bytes(2_500_000_000) == "2.5 GB"


# --- log records (helpers/logs.py): the pure logic behind notebook 04 and exercise 06 --------


def test_parse_json_lines_splits_records_from_text():
    text = (
        '{"level": "INFO", "message": "a"}\n'
        "\n"
        "Traceback (most recent call last):\n"
        '"just a string"\n'
        '{"level": "ERROR", "message": "b", "exception": "Traceback ..."}\n'
    )
    p = logs.parse_json_lines(text)
    assert [r["message"] for r in p.records] == ["a", "b"]
    assert [n for n, _ in p.bad] == [3, 4]
    assert p.lines == 4


def test_missing_keys_and_levels():
    full = dict(
        timestamp="2024-05-01T12:00:00+00:00",
        level="INFO",
        message="m",
        module="pipeline",
        function="main",
    )
    assert logs.missing_keys([full, full]) == {}
    partial = {**full, "module": "", "function": None}
    assert logs.missing_keys([full, partial]) == {"module": 1, "function": 1}
    # issue 11, kind 5: an epoch number is a timestamp; a word is not
    epoch = {**full, "timestamp": 1714564800.25}
    assert logs.missing_keys([epoch, {**full, "timestamp": 1714564800250}]) == {}
    assert logs.missing_keys([{**full, "timestamp": "now"}]) == {"timestamp": 1}
    renamed = {k: v for k, v in full.items() if k != "level"} | {"levelname": "INFO"}
    assert logs.missing_keys([renamed]) == {"level": 1}
    assert logs.aliases_used([renamed], ["level"]) == {"level": "levelname"}
    assert logs.level_counts([full, {**full, "level": "error"}, full]) == {"INFO": 2, "ERROR": 1}


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("2024-05-01T12:00:00Z", True),
        ("2024-05-01T12:00:00.123456+02:00", True),
        ("2024-05-01 12:00:00,123", True),  # logging's default asctime
        (1714564800, True),
        (1714564800.123, True),
        (1714564800123, True),  # milliseconds
        ("1714564800.5", True),
        ("2024-05-01", False),  # a day is not a point in time
        (20, False),  # 1970: a level number, not a time
        ("", False),
        (None, False),
        (True, False),
        ("Fri May 1 12:00:00 2024", False),
    ],
)
def test_timestamp_forms(value, ok):
    assert logs.timestamp_ok(value) is ok


@pytest.mark.parametrize(
    ("path", "is_log"),
    [
        ("/app/pipeline.log", True),
        ("/app/pipeline.log.1", True),
        ("/app/events.log.jsonl", True),
        ("/app/logs", True),
        ("/app/logs/today.txt", True),
        ("/var/log/etl/run.txt", True),
        ("/app/__pycache__/jsonlog.cpython-311.pyc", False),
        ("/app/catalog.json", False),
        ("/app/blog.md", False),
        ("/tmp/scratch.log", True),  # /tmp is the writable layer too (issue 11, kind 4)
        ("/proc/1/fd/1.log", False),
        ("/var/log", False),
    ],
)
def test_log_file_changes(path, is_log):
    assert logs.log_file_changes([{"Path": path, "Kind": 1}]) == ([path] if is_log else [])
    assert logs.log_file_changes([{"Path": path, "Kind": 2}]) == []  # deleted: not written


def test_written_paths_are_the_leaves_of_the_whole_writable_layer():
    diff = [
        {"Path": "/tmp", "Kind": 0},
        {"Path": "/tmp/out.txt", "Kind": 1},
        {"Path": "/var", "Kind": 0},
        {"Path": "/var/tmp", "Kind": 0},
        {"Path": "/var/tmp/run", "Kind": 1},
        {"Path": "/var/tmp/run/a.dat", "Kind": 1},
        {"Path": "/app/gone.txt", "Kind": 2},
        {"Path": "/sys/fs", "Kind": 0},
        {"Path": "/dev/shm/x", "Kind": 1},
    ]
    assert logs.written_paths(diff) == ["/tmp/out.txt", "/var/tmp/run/a.dat"]


def test_rotating_log_config_and_flood_command():
    cfg = logs.rotating_log_config("1m", 3)
    assert cfg.type == "json-file" and cfg.config == {"max-size": "1m", "max-file": "3"}
    cmd = logs.flood_command(5, width=40)
    ns: dict = {}
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        exec(cmd[2], ns)
    out = buf.getvalue().splitlines(keepends=True)
    assert len(out) == 5 and {len(line) for line in out} == {40}
