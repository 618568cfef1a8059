"""Exercise 08: a GitHub Actions workflow that builds, tests, scans, gates size, then pushes.

Rubric (15 points):

- the workflow is valid (2): YAML, then actionlint where it is installed, else GitHub's
  workflow JSON schema (check-jsonschema's vendored copy, offline), plus structure: every
  job has ``runs-on`` and steps, every step ``run`` or ``uses``;
- it builds, runs the tests, scans and pushes (2): a step for each role;
- the push comes only after the scan, the size gate and the tests passed (3): step order in
  a job, ``needs:`` across jobs, no ``continue-on-error`` on a gate, no ``always()`` on a push,
  only for pushes to main; BEHAVIOUR: the tests step runs in the sandbox with a ``docker run``
  that exits 1 and must fail;
- the scan fails the job on HIGH/CRITICAL (2): BEHAVIOUR for ``run:`` steps (the step runs in
  the sandbox with stand-in scanners reporting a HIGH, a CRITICAL, then no finding: fail, fail,
  pass); the action's ``severity`` and ``exit-code`` for ``aquasecurity/trivy-action``;
- the size step fails a 1 GB image and passes a 150 MB one (3): BEHAVIOUR. The step's script
  runs under bash like on a runner, inside a labelled, limited container without network
  or engine access (:mod:`helpers.steprunner`), with ``IMAGE`` naming two images the check
  builds and measures (python:3.11 + the app, python:3.11-slim + the app);
- the learner's image passes the course gate (3): BEHAVIOUR. The Dockerfile is built and
  :func:`helpers.gate.evaluate` runs size, secrets, misconfigurations, efficiency and
  checklist; a vulnerability scan that cannot run (no database) is reported as not run.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from .. import engine, gate, images, steprunner
from ..findings import Report
from ..workflow import (
    continue_on_error,
    gate_cli,
    image_ref,
    load_workflow,
    needs_of,
    push_not_only_main,
    roles,
    runs_before,
    runs_regardless,
    steps_of,
    structure_errors,
    validate,
)
from .req_02_07_08 import README_NOT_RULES_08, REQUIREMENTS_08
from .rubric import Facts, NotJudged, Rubric, Verdict

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
#: what ``$IMAGE`` is while the size step runs (the stand-in docker knows these names)
SIZE_IMAGE_REPO = "shipshape-check/ex08-size"


RUBRIC = Rubric(EXERCISE, SLUG, TITLE)

#: What the README asks, and the item that judges it (issue 11).
REQUIREMENTS, README_NOT_RULES = REQUIREMENTS_08, README_NOT_RULES_08


@RUBRIC.fact
def wf(f: Facts) -> dict[str, Any]:
    """The workflow parsed: the document, its steps, and the steps of each role."""
    wf_path = f.path / WORKFLOW
    if not wf_path.is_file():
        raise NotJudged(f"no {WORKFLOW}", f"Create {WORKFLOW} (see the README).")
    try:
        doc = load_workflow(wf_path)
    except (yaml.YAMLError, ValueError) as exc:
        raise NotJudged(
            f"not valid YAML: {str(exc)[:200]}",
            "Fix the YAML: indentation with spaces, `key: value`, lists with `- `.",
        ) from None
    steps = steps_of(doc)
    return {"doc": doc, "path": wf_path, "steps": steps, "roles": roles(steps)}


@RUBRIC.fact
def size_images(f: Facts) -> dict[str, int]:
    """Sizes of the 1 GB and the 150 MB image the size step is judged on, by label."""
    out = {}
    app = (f.path / "app.py").read_text()
    for label, base in (("bloated", "python:3.11"), ("slim", "python:3.11-slim")):
        ctx = f.workdir(label)
        (ctx / "app.py").write_text(app)
        (ctx / "Dockerfile").write_text(_APP_DOCKERFILE.format(base=base))
        r = images.build(
            ctx, f.tag(f"size-{label}"), on_event=None, timeout_s=300, exercise=EXERCISE
        )
        out[label] = images.image_size_bytes(r.image_id)
    return out


@RUBRIC.fact
def image(f: Facts) -> images.BuildResult:
    return images.build(f.path, f.tag("image"), on_event=None, timeout_s=300, exercise=EXERCISE)


@RUBRIC.item("valid", N_VALID, 2)
def valid(f: Facts) -> Verdict:
    wf, failed = f.outcome("wf")
    if failed:
        return Verdict(False, failed.reason, hint=failed.hint)
    doc = wf["doc"]
    tool, errs = validate(wf["path"])
    errs = errs + structure_errors(doc)
    return Verdict(
        not errs,
        f"{tool}: " + ("no errors" if not errs else f"{len(errs)} error(s): {errs[0]}"),
        hint="Fix the errors listed in the evidence; each names the line or the key."
        if errs
        else "",
        evidence={"validator": tool, "errors": errs[:20]},
    )


@RUBRIC.item("roles", N_ROLES, 2, needs=("wf",))
def has_roles(f: Facts) -> Verdict:
    found = {r: [s.where() for s in v] for r, v in f.wf["roles"].items()}
    missing = [r for r in ("build", "tests", "scan", "push") if not found[r]]
    hints = {
        "build": 'a step that runs `docker build -t "$IMAGE:${{ github.sha }}" .`',
        "tests": "a step that runs the tests in the image: `docker run --rm IMAGE python -m unittest -v`",
        "scan": "a scan step: `aquasecurity/trivy-action` (or `trivy image`)",
        "push": "a `docker push` step (after `docker/login-action`)",
    }
    got = 4 - len(missing)
    return Verdict(
        not missing,
        "all four found" if not missing else f"missing: {', '.join(missing)}",
        hint="Add " + "; ".join(hints[m] for m in missing) + "." if missing else "",
        evidence={"steps_by_role": found},
        earned=2 * got / 4,
    )


@RUBRIC.item("order", N_ORDER, 3, needs=("wf",))
def order(f: Facts) -> Verdict:
    doc, r = f.wf["doc"], f.wf["roles"]
    if not r["push"]:
        return Verdict(
            False,
            "there is no push step to judge",
            hint="Add the push as the last steps of the job (or in a job that `needs:` the gate job).",
        )
    needs = needs_of(doc)
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
            if gate_role != "build" and continue_on_error(doc, g):
                problems.append(f"the {gate_role} step {g.where()} has continue-on-error")
    for p in r["push"]:
        cond = runs_regardless(doc, p)
        if cond:
            problems.append(f"{p.where()} runs even after a failure (if: {cond})")
        why = push_not_only_main(doc, p)
        if why:
            problems.append(f"{p.where()} may push for more than pushes to main: {why}")
    # BEHAVIOUR: a tests step must fail when the tests in the image fail
    tests_runs: dict[str, Any] = {}
    for t in r["tests"]:
        if not t.run or any(t is p for p in r["push"]):
            continue
        out = steprunner.run_step(doc, t, SIZE_IMAGE_REPO, "ex08", {}, docker_run_exit=1)
        tests_runs[t.where()] = {"exit_code": out["exit_code"], "output": out["output"][-300:]}
        if out["exit_code"] == 0:
            problems.append(
                f"the tests step {t.where()} exits 0 when the tests in the image fail "
                "(run here with a `docker run` that exits 1): its exit code is swallowed"
            )
        if (
            "docker/build-push-action" in p.uses
            and any(g is p for g in r["build"])
            and not any(b is not p and runs_before(b, p, needs) for b in r["build"])
        ):  # build-and-push in one step and nothing built before it: no gate saw the image
            problems.append(f"{p.where()} builds and pushes in one go, before any gate")
    problems = list(dict.fromkeys(problems))
    return Verdict(
        not problems,
        "the push runs only after every gate passed" if not problems else problems[0],
        hint=""
        if not problems
        else "Build with push: false (or plain docker build), run tests, scan and the size "
        "gate, and push in the LAST steps, only for pushes to main "
        "(`if: github.event_name == 'push'` with `on: push: branches: [main]`). A gate must be "
        "able to fail the job: no continue-on-error, no `|| true` after the tests; the push "
        "must not say if: always().",
        evidence={"problems": problems, "tests_step_runs": tests_runs},
    )


@RUBRIC.item("scan", N_SCAN, 2, needs=("wf",))
def scan_fails(f: Facts) -> Verdict:
    steps = f.wf["roles"]["scan"]
    if not steps:
        return Verdict(
            False,
            "no scan step",
            hint='Add aquasecurity/trivy-action with severity: HIGH,CRITICAL and exit-code: "1".',
        )
    verdicts = []
    runs: dict[str, Any] = {}
    for s in steps:
        if "aquasecurity/trivy-action" in s.uses:
            sev = str(s.with_.get("severity", "UNKNOWN,LOW,MEDIUM,HIGH,CRITICAL")).upper()
            code = str(s.with_.get("exit-code", "0")).strip()
            ok = "HIGH" in sev and "CRITICAL" in sev and code not in ("0", "")
            verdicts.append((s, ok, f"severity={sev}, exit-code={code}"))
        elif s.run:
            # BEHAVIOUR: the step's own script against stand-in scanners that report a
            # HIGH, then a CRITICAL finding, then none; it must fail, fail, and pass
            ok, detail, seen = _scan_step_behaviour(f, s)
            runs[s.where()] = seen
            verdicts.append((s, ok, detail))
        else:  # another action (grype's, scout's): accept a fail threshold at high
            ok = bool(re.search(r"(fail-on|fail-build|exit-code)", str(s.with_)))
            verdicts.append((s, ok, "threshold found" if ok else "no failing threshold"))
    good = [v for v in verdicts if v[1] and not continue_on_error(f.wf["doc"], v[0])]
    return Verdict(
        bool(good),
        "; ".join(f"{s.where()}: {d}" for s, _, d in verdicts),
        hint=""
        if good
        else "A scan that only reports never stops a release: set severity: HIGH,CRITICAL "
        'and exit-code: "1" (trivy: --severity HIGH,CRITICAL --exit-code 1), and let its '
        "exit code end the step: no `|| true`, `|| exit 0`, `; exit 0`, `set +e`, "
        "continue-on-error. The check runs a run: scan step with a stand-in scanner that "
        "reports a HIGH, then a CRITICAL finding (the step must fail) and none (it must pass).",
        evidence={
            "scan_steps": [{"step": s.where(), "ok": ok, "detail": d} for s, ok, d in verdicts],
            "runs": runs,
        },
    )


#: what the stand-in scanners report in each run of a scan step, and the exit it must give
SCAN_RUNS = (("HIGH", True), ("CRITICAL", True), ("none", False))


def _scan_step_behaviour(f: Facts, s: Any) -> tuple[bool, str, dict[str, Any]]:
    """Run a ``run:`` scan step three times in the sandbox; (ok, detail, outputs)."""
    doc = f.wf["doc"]
    seen: dict[str, Any] = {}
    wrong = []
    for label, must_fail in SCAN_RUNS:
        findings = [] if label == "none" else [label]
        out = steprunner.run_step(
            doc, s, SIZE_IMAGE_REPO, "ex08", {}, findings=findings, docker_run_exit=0
        )
        seen[label] = {"exit_code": out["exit_code"], "output": out["output"][-300:]}
        if (out["exit_code"] != 0) != must_fail:
            wrong.append(
                f"exit {out['exit_code']} with a {label} finding"
                if must_fail
                else f"exit {out['exit_code']} with no finding"
            )
    detail = (
        "run with a stand-in scanner: " + "; ".join(wrong)
        if wrong
        else "run with a stand-in scanner: fails on a HIGH and on a CRITICAL finding, passes clean"
    )
    return not wrong, detail, seen


@RUBRIC.item("size", N_SIZE, 3, needs=("wf",))
def size_behaviour(f: Facts) -> Verdict:
    doc, steps = f.wf["doc"], f.wf["roles"]["size"]
    if not steps:
        return Verdict(
            False,
            "no size step: a 1 GB image would be pushed",
            hint="Add a step that reads `docker image inspect --format '{{.Size}}' "
            '"$IMAGE:${{ github.sha }}"` and exits 1 when it is over 500000000 bytes.',
        )
    s = steps[0]
    results: dict[str, Any] = {}
    for label, size in f.size_images.items():
        if gate_cli(s):
            m = re.search(r"--max-size[ =](\S+)", s.run)
            limit = m.group(1).strip("'\"") if m else gate.DEFAULT_MAX_SIZE
            row = gate.size_gate(f.tag(f"size-{label}"), limit)
            results[label] = {
                "size_bytes": size,
                "exit_code": 0 if row.status == gate.PASS else 1,
                "output": f"helpers gate --max-size {limit}: {row.status} {row.measured}",
            }
            continue
        build = f.wf["roles"]["build"][0] if f.wf["roles"]["build"] else None
        repo = f"{SIZE_IMAGE_REPO}-{label}"
        ref = image_ref(doc, build, repo, "ex08") if build else None
        if not ref or not ref.startswith(engine.TAG_PREFIX):
            return Verdict(
                False,
                f"cannot run the size step here: the build tags {ref!r}, not a name from env IMAGE",
                hint='Name the image through the workflow\'s env IMAGE: `docker build -t "$IMAGE:${{ github.sha }}" .` '
                "and use the same name in the size step.",
                evidence={"ref": ref},
            )
        out = steprunner.run_step(doc, s, repo, "ex08", {ref: size})
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
    return Verdict(
        ok,
        msg,
        hint=hint,
        evidence=results,
        earned=1.5 * fails_big + 1.5 * passes_small,
    )


@RUBRIC.item("gate", N_GATE, 3)
def gate_passes(f: Facts) -> Verdict:
    built, failed = f.outcome("image")
    if failed:
        return Verdict(False, failed.reason, failed.hint, failed.evidence)
    res = gate.evaluate(built.tag, LIMIT, FAIL_ON, allow_incomplete=True)
    rows = {r.gate: f"{r.status}: {r.measured}" for r in res.rows}
    not_run = [r.gate for r in res.not_run]
    note = f" ({', '.join(not_run)} NOT RUN: {res.not_run[0].reason[:90]}...)" if not_run else ""
    if res.passed:
        return Verdict(True, f"every gate that ran passed{note}", evidence={"gates": rows})
    failed = res.failed
    return Verdict(
        False,
        "failed: " + "; ".join(f"{r.gate} ({r.reason})" for r in failed),
        hint="Run `python -m helpers gate IMAGE` and fix each FAIL row: a slim base for size, "
        "a USER for root, a HEALTHCHECK, no secrets in the files.",
        evidence={"gates": rows},
        earned=3
        * (len(res.rows) - len(failed) - len(not_run))
        / max(1, len(res.rows) - len(not_run)),
    )


def run(path: Path) -> Report:
    return RUBRIC.run(path)
