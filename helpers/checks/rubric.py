"""A check, declared: facts measured once, items that judge them, one runner that decides errors.

A check module builds one :class:`Rubric`:

- **facts** (``@rubric.fact``) are what the check measures: a built image, a running stack, a
  parsed workflow. Each is computed on first use and memoised; a fact written as a generator
  (``yield value`` then cleanup) is torn down after the last item, in reverse order, also on
  Ctrl-C.
- **items** (``@rubric.item(key, title, points, needs=...)``) are the rubric's lines. A judge
  gets the :class:`Facts` and returns a :class:`Verdict` (message, hint, evidence, partial
  credit).

The runner alone decides what an error means:

- an expected failure of a fact (the build failed, the container exited, Compose or YAML
  error, a timeout, a missing or unreadable file, the engine refusing a bad ``CMD``) makes each
  item that needs it "not judged because ..." with the real hint; ``max_score`` never changes;
- no engine, or no folder, is "could not run" (exit 2);
- anything else is an internal error of the check: the item says so, the traceback goes in
  the JSON, the report exits 2, and nothing is raised to the learner.

Example:
    >>> r = Rubric("99", "99_demo", "A demo")
    >>> @r.fact
    ... def number(f):
    ...     return int((f.path / "n.txt").read_text())
    >>> @r.item("even", "the number is even", 2, needs=("number",))
    ... def even(f):
    ...     return Verdict(f.number % 2 == 0, f"n = {f.number}", hint="Write an even number.")
    >>> rep = r.run(Path("/no/such/folder"))
    >>> rep.results[0].status, rep.max_score, rep.error is None
    ('not judged', 2, True)
"""

from __future__ import annotations

import contextlib
import inspect
import tempfile
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..findings import ERROR, NOT_JUDGED, Finding, Report
from .errors import NotJudged, could_not_run, explain


class _Broken(Exception):
    """A fact failed unexpectedly (a bug in the check); carries the original traceback."""

    def __init__(self, name: str, exc: BaseException, trace: str):
        super().__init__(f"{name}: {type(exc).__name__}: {exc}")
        self.trace = trace


@dataclass
class Verdict:
    """A judge's answer: pass/fail, what was measured, how to fix it, partial credit."""

    passed: bool
    message: str
    hint: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    earned: float | None = None


@dataclass
class Item:
    """One rubric line: a stable key, the title the README shows, its points and its judge."""

    key: str
    title: str
    points: float
    judge: Callable[[Facts], Verdict | Finding]
    needs: tuple[str, ...] = ()
    hidden: bool = False


class _Abort(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Facts:
    """The facts of one run of a rubric over one folder, measured on first use.

    ``f.image`` (or ``f["image"]``) returns the fact's value, computing it once; a fact that
    failed raises :class:`NotJudged` each time it is asked for. ``f.tag(name)`` is a temp image
    tag unique to this run (removed at teardown); ``f.workdir()`` a private temp folder.
    """

    def __init__(self, rubric: Rubric, path: Path, stack: contextlib.ExitStack):
        self.path = path
        self.exercise = rubric.exercise
        self._rubric = rubric
        self._stack = stack
        self._values: dict[str, Any] = {}
        self._failed: dict[str, BaseException] = {}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name not in self._rubric.facts:
            raise AttributeError(name)
        return self[name]

    def __getitem__(self, name: str) -> Any:
        if name in self._values:
            return self._values[name]
        if name in self._failed:
            raise self._failed[name]
        fn = self._rubric.facts[name]
        try:
            if inspect.isgeneratorfunction(fn):
                gen = fn(self)
                value = next(gen)
                self._stack.callback(_finish, gen)
            else:
                value = fn(self)
        except (KeyboardInterrupt, _Abort):
            raise
        except Exception as exc:
            self._failed[name] = self._classify(name, exc)
            raise self._failed[name] from None
        self._values[name] = value
        return value

    def _classify(self, name: str, exc: Exception) -> BaseException:
        if isinstance(exc, _Broken):
            return exc
        reason = could_not_run(exc)
        if reason:
            return _Abort(reason)
        nj = explain(exc)
        if nj is not None:
            return nj
        return _Broken(name, exc, traceback.format_exc())

    def points(self, key: str) -> float:
        """The points the rubric gives item ``key`` (the scale of its partial credit)."""
        return next(i.points for i in self._rubric.items if i.key == key)

    def outcome(self, name: str) -> tuple[Any, NotJudged | None]:
        """``(value, None)`` or ``(None, why)``: for the item whose subject is the fact itself."""
        try:
            return self[name], None
        except NotJudged as nj:
            return None, nj

    def tag(self, name: str) -> str:
        """A temp image tag for this run and folder; the image is removed at teardown."""
        from .. import images

        tag = images.temp_tag(f"ex{self.exercise}-{name}", self.path)
        self._stack.callback(images.remove, tag)
        return tag

    def workdir(self, prefix: str = "work") -> Path:
        """A private temp folder, removed at teardown."""
        tmp = self._stack.enter_context(
            tempfile.TemporaryDirectory(prefix=f"shipshape-ex{self.exercise}-{prefix}-")
        )
        return Path(tmp)

    def on_teardown(self, fn: Callable[..., Any], *args: Any) -> None:
        """Call ``fn(*args)`` at teardown (reverse order of registration)."""
        self._stack.callback(fn, *args)


def _finish(gen: Iterator[Any]) -> None:
    with contextlib.suppress(StopIteration):
        next(gen)


class Rubric:
    """One exercise's rubric: its facts and its items, in the order the README lists them."""

    def __init__(self, exercise: str, slug: str, title: str):
        self.exercise = exercise
        self.slug = slug
        self.title = title
        self.facts: dict[str, Callable[[Facts], Any]] = {}
        self.items: list[Item] = []

    def fact(self, fn: Callable[[Facts], Any]) -> Callable[[Facts], Any]:
        """Register a fact under the function's name (a generator may clean up after ``yield``)."""
        self.facts[fn.__name__] = fn
        return fn

    def item(
        self, key: str, title: str, points: float, needs: tuple[str, ...] = (), hidden: bool = False
    ) -> Callable[[Callable[[Facts], Verdict | Finding]], Callable[[Facts], Verdict | Finding]]:
        """Register a judge as the rubric's next line."""

        def deco(fn: Callable[[Facts], Verdict | Finding]) -> Callable[[Facts], Verdict | Finding]:
            assert key not in self.keys(), f"duplicate item key {key!r}"
            self.items.append(Item(key, title, points, fn, tuple(needs), hidden))
            return fn

        return deco

    def keys(self) -> list[str]:
        return [i.key for i in self.items]

    def title_of(self, key: str) -> str:
        return next(i.title for i in self.items if i.key == key)

    @property
    def max_score(self) -> float:
        return sum(i.points for i in self.items)

    # -- running -------------------------------------------------------------------
    def run(self, path: Path) -> Report:
        """Judge ``path``; always returns a report (Ctrl-C still cleans up, then propagates)."""
        rep = Report(self.exercise, self.title, str(path))
        traces: list[str] = []
        try:
            with contextlib.ExitStack() as stack:
                facts = Facts(self, Path(path), stack)
                for item in self.items:
                    rep.add(self._judge(item, facts, traces))
        except _Abort as ab:
            return self.not_run(str(path), ab.reason)
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # a teardown that broke
            reason = could_not_run(exc)
            if reason:
                return self.not_run(str(path), reason)
            traces.append(f"teardown: {traceback.format_exc()}")
        if traces:
            broken = [r.name for r in rep.results if r.status == ERROR] or ["teardown"]
            rep.error = (
                f"internal error of the check ({', '.join(broken)}): this is a bug in the "
                "course's check, not in your work. The other items were judged; the details "
                "for the maintainers are in the JSON output (`--json`)."
            )
            rep.internal_error = "\n".join(traces)
        return rep

    def not_run(self, path: str, reason: str) -> Report:
        """A report for a check that could not run: every item listed, none judged."""
        rep = Report(self.exercise, self.title, path, error=reason)
        for it in self.items:
            rep.add(
                Finding(
                    it.title,
                    it.points,
                    False,
                    f"not judged: the check could not run ({reason})",
                    key=it.key,
                    status=NOT_JUDGED,
                    hidden=it.hidden,
                )
            )
        return rep

    def _judge(self, item: Item, facts: Facts, traces: list[str]) -> Finding:
        def finding(v: Verdict | Finding, status: str = "") -> Finding:
            if isinstance(v, Finding):
                v = Verdict(v.passed, v.message, v.hint, v.evidence, v.points_earned)
            return Finding(
                item.title,
                item.points,
                v.passed,
                v.message,
                hint=v.hint,
                evidence=v.evidence,
                points_earned=v.earned,
                key=item.key,
                status=status,
                hidden=item.hidden,
            )

        try:
            for name in item.needs:
                facts[name]
            return finding(item.judge(facts))
        except (KeyboardInterrupt, _Abort):
            raise
        except NotJudged as nj:
            return finding(
                Verdict(False, f"not judged: {nj.reason}", nj.hint, nj.evidence), NOT_JUDGED
            )
        except _Broken as br:
            traces.append(f"{item.key}: {br.trace}")
            return finding(_broken_verdict(str(br)), ERROR)
        except Exception as exc:
            reason = could_not_run(exc)
            if reason:
                raise _Abort(reason) from None
            nj = explain(exc)
            if nj is not None:
                return finding(
                    Verdict(False, f"not judged: {nj.reason}", nj.hint, nj.evidence), NOT_JUDGED
                )
            trace = traceback.format_exc()
            traces.append(f"{item.key}: {trace}")
            return finding(_broken_verdict(f"{type(exc).__name__}: {exc}", trace), ERROR)


def build_verdict(f: Facts, fact: str = "image") -> Verdict:
    """The verdict of "the image builds": the build fact's own outcome, timed."""
    r, failed = f.outcome(fact)
    if failed:
        return Verdict(False, failed.reason, failed.hint, failed.evidence)
    return Verdict(
        True,
        f"built in {r.seconds:.1f} s ({r.cached_steps} of {r.steps} steps from cache)",
        evidence={"seconds": round(r.seconds, 2), "image": r.image_id[:19], "steps": r.steps},
    )


def _broken_verdict(what: str, trace: str = "") -> Verdict:
    return Verdict(
        False,
        f"the check broke while judging this item ({what[:200]}): a bug in the check, "
        "not in your work",
        "Nothing to fix on your side for this item; tell the course maintainers and "
        "attach the JSON output (`python -m helpers check NN --json`).",
        {"internal_error": what, **({"traceback": trace} if trace else {})},
    )
