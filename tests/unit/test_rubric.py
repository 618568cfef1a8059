"""The rubric runner's contract, no engine: facts once and torn down in reverse, and what
each kind of error becomes (not judged / could not run / internal error, never raised)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from helpers import images
from helpers.checks.base import CheckCannotRun
from helpers.checks.rubric import NotJudged, Rubric, Verdict
from helpers.findings import ERROR, NOT_JUDGED


def make(log: list[str], fact_error: BaseException | None = None) -> Rubric:
    r = Rubric("99", "99_demo", "demo")

    @r.fact
    def first(f):
        log.append("first up")
        yield 1
        log.append("first down")

    @r.fact
    def second(f):
        assert f.first == 1
        log.append("second up")
        if fact_error is not None:
            raise fact_error
        yield 2
        log.append("second down")

    @r.item("a", "item a", 2, needs=("first",))
    def a(f):
        return Verdict(True, "fine")

    @r.item("b", "item b", 3, needs=("second",))
    def b(f):
        return Verdict(f.second == 2, "two", hint="make it two")

    @r.item("c", "item c", 1, needs=("first", "second"))
    def c(f):
        return Verdict(False, "never two", hint="hint c", earned=0.5)

    return r


def test_facts_are_measured_once_and_torn_down_in_reverse(tmp_path):
    log: list[str] = []
    rep = make(log).run(tmp_path)
    assert log == ["first up", "second up", "second down", "first down"]
    assert [r.key for r in rep.results] == ["a", "b", "c"]
    assert (rep.score, rep.max_score, rep.exit_code) == (5.5, 6, 1)
    assert rep.by_key("c").points_earned == 0.5


@pytest.mark.parametrize(
    "error",
    [
        images.BuildError("Build failed at step 'COPY x .': no x\nHint: put x back", "log..."),
        yaml.YAMLError("mapping values are not allowed here"),
        FileNotFoundError("no such file: app.py"),
        PermissionError("[Errno 13] Permission denied: '.dockerignore'"),
        TimeoutError("still running after 60s"),
        NotJudged("variants.py does not load", "fix variants()"),
    ],
    ids=["build", "yaml", "missing", "unreadable", "timeout", "declared"],
)
def test_an_expected_fact_failure_leaves_its_items_not_judged_with_a_hint(tmp_path, error):
    log: list[str] = []
    rep = make(log, error).run(tmp_path)
    assert rep.error is None and rep.max_score == 6
    assert rep.by_key("a").passed
    for key in ("b", "c"):
        r = rep.by_key(key)
        assert r.status == NOT_JUDGED and not r.passed and r.points_earned == 0
        assert r.message.startswith("not judged: ") and r.hint
    if isinstance(error, images.BuildError):
        assert rep.by_key("b").hint == "put x back"
        assert "Hint:" not in rep.by_key("b").message
    assert log[-1] == "first down"  # the fact that did come up is still torn down


def test_a_bug_in_the_check_is_reported_not_raised(tmp_path):
    rep = make([], KeyError("oops")).run(tmp_path)
    assert rep.by_key("a").passed
    assert rep.by_key("b").status == ERROR and rep.by_key("c").status == ERROR
    assert rep.error and "internal error" in rep.error and rep.exit_code == 2
    data = json.loads(json.dumps(rep.to_dict()))
    assert "KeyError" in data["internal_error"] and "Traceback" in data["internal_error"]
    assert "Traceback" not in str(rep)  # the learner's text names no traceback


def test_could_not_run_keeps_every_item_and_the_max_score(tmp_path):
    rep = make([], CheckCannotRun("the engine went away")).run(tmp_path)
    assert rep.error == "the engine went away" and rep.exit_code == 2
    assert rep.max_score == 6 and all(r.status == NOT_JUDGED for r in rep.results)


def test_ctrl_c_tears_down_and_propagates(tmp_path):
    log: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        make(log, KeyboardInterrupt()).run(tmp_path)
    assert log == ["first up", "second up", "first down"]


def test_a_judge_raising_an_expected_error_is_not_judged(tmp_path: Path):
    r = Rubric("99", "99_demo", "demo")

    @r.item("x", "reads a file", 1)
    def x(f):
        return Verdict(True, (f.path / "missing.txt").read_text())

    rep = r.run(tmp_path)
    assert rep.by_key("x").status == NOT_JUDGED and rep.error is None
