"""Run one ``run:`` step of a learner's workflow the way a runner would, but inside a sandbox.

A learner's workflow is untrusted: its script never runs on the host and never sees the
host's environment or the Docker socket. It runs under ``bash -e -o pipefail`` (as GitHub's
runners do) in a labelled container with a memory, CPU and process limit, no network, and a
deadline. The ``docker`` it calls is a stand-in that answers only the read-only questions a
size gate asks (``docker image inspect --format '{{.Size}}' REF``, ``docker images``), from
sizes the check measured on the real engine beforehand. Scanners (``trivy``, ``grype``,
``python -m helpers gate``) are stand-ins too: they report the findings the check chooses and
exit as the real tool would with the step's own flags, so a step that swallows their exit code
(``|| true``, ``set +e``, ``; exit 0``) is seen to pass with a finding.

The stand-in ``docker images`` prints sizes the way the docker CLI does (``1.23GB``), not in
the course's own format (:func:`helpers.findings.human_bytes`): a learner's script parses them.

Example:
    >>> LIMITS["network_disabled"], LIMITS["cap_drop"]
    (True, ['ALL'])
"""

from __future__ import annotations

import json
from typing import Any

from . import containers
from .workflow import Step, step_env, substitute

RUNNER_IMAGE = "python:3.11-slim"
LIMITS: dict[str, Any] = {
    "mem_limit": "256m",
    "nano_cpus": 1_000_000_000,
    "pids_limit": 128,
    "network_disabled": True,
    "cap_drop": ["ALL"],
    "security_opt": ["no-new-privileges"],
}

#: The ``docker`` the step sees: answers from $SHIPSHAPE_IMAGES ({ref: size in bytes}).
DOCKER_STANDIN = r"""#!/usr/bin/env python3
import json, os, sys
sizes = json.loads(os.environ.get("SHIPSHAPE_IMAGES", "{}"))
args = sys.argv[1:]
def human(n):  # the docker CLI's size format, e.g. 1.23GB
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.3g}{unit}"
        n /= 1000
def fmt_of(a):
    for i, w in enumerate(a):
        if w in ("-f", "--format") and i + 1 < len(a):
            return a[i + 1], a[:i] + a[i + 2:]
        if w.startswith("--format="):
            return w.split("=", 1)[1], a[:i] + a[i + 1:]
    return None, a
if args[:2] == ["image", "inspect"] or args[:1] == ["inspect"]:
    fmt, rest = fmt_of(args[2:] if args[0] == "image" else args[1:])
    refs = [w for w in rest if not w.startswith("-")]
    for ref in refs:
        if ref not in sizes:
            print(f"Error: No such image: {ref}", file=sys.stderr)
            sys.exit(1)
        size = sizes[ref]
        if fmt and ".Size" in fmt:
            print(size)
        else:
            print(json.dumps([{"RepoTags": [ref], "Size": size}], indent=4))
    sys.exit(0)
if args[:1] == ["images"] or args[:2] == ["image", "ls"]:
    fmt, rest = fmt_of(args[1:] if args[0] == "images" else args[2:])
    refs = [w for w in rest if not w.startswith("-")]
    for ref, size in sizes.items():
        if refs and not any(ref == r or ref.startswith(r + ":") for r in refs):
            continue
        print(human(size) if fmt and ".Size" in fmt else f"{ref} {human(size)}")
    sys.exit(0)
if os.environ.get("SHIPSHAPE_DOCKER_RUN_EXIT") is not None:
    # a stand-in runner for build/test/scan steps: `docker run` ends as told (the image's
    # tests failing, say); other commands that change nothing here succeed quietly
    if args[:1] == ["run"] or args[:2] == ["container", "run"]:
        print("(stand-in) the command in the image exited "
              + os.environ["SHIPSHAPE_DOCKER_RUN_EXIT"], file=sys.stderr)
        sys.exit(int(os.environ["SHIPSHAPE_DOCKER_RUN_EXIT"]))
    if args[:1] in (["build"], ["buildx"], ["tag"], ["login"], ["pull"], ["image"], ["version"]):
        sys.exit(0)
print(f"docker {' '.join(args[:2])}: not available where the course runs your step "
      "(only `docker image inspect` and `docker images` are)", file=sys.stderr)
sys.exit(127)
"""

#: Stand-in scanners: report the findings in $SHIPSHAPE_FINDINGS (a JSON list of severities)
#: and exit as the real tool would with the step's own flags (trivy's --severity/--exit-code,
#: grype's --fail-on, the course gate's --fail-on).
SCANNER_STANDIN = r"""#!/usr/bin/env python3
import json, os, sys
LEVELS = ["UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"]
findings = json.loads(os.environ.get("SHIPSHAPE_FINDINGS", "[]"))
tool = os.path.basename(sys.argv[0])
args = sys.argv[1:]
if tool == "shipshape-gate":  # python -m helpers gate ... / shipshape gate ...
    tool, args = "gate", args[1:] if args[:1] == ["gate"] else args
def opt(names, default):
    for i, a in enumerate(args):
        for n in names:
            if a == n and i + 1 < len(args):
                return args[i + 1]
            if a.startswith(n + "="):
                return a.split("=", 1)[1]
    return default
if any(a in ("--version", "-v", "version") for a in args[:1]):
    print(f"{tool} (course stand-in)"); sys.exit(0)
rows = [f"CVE-2099-{i:04d}  openssl  {sev}  fixed in 9.9" for i, sev in enumerate(findings)]
if tool == "trivy":
    if any(a in ("--download-db-only", "--download-java-db-only", "clean") for a in args):
        sys.exit(0)
    sev = opt(["--severity", "-s"], os.environ.get("TRIVY_SEVERITY", ",".join(LEVELS)))
    code = int(opt(["--exit-code"], os.environ.get("TRIVY_EXIT_CODE", "0")) or 0)
    wanted = {x.strip().upper() for x in sev.split(",")}
    hits = [f for f in findings if f in wanted]
    fmt = opt(["--format", "-f"], os.environ.get("TRIVY_FORMAT", "table"))
    text = (json.dumps({"Results": [{"Vulnerabilities": [
        {"VulnerabilityID": r.split()[0], "Severity": f} for r, f in zip(rows, findings)
        if f in wanted]}]}) if fmt == "json" else "\n".join(r for r, f in zip(rows, findings)
        if f in wanted) or "no vulnerabilities")
    out = opt(["--output", "-o"], None)
    if out:
        open(out, "w").write(text + "\n")
    else:
        print(text)
    sys.exit(code if hits else 0)
if tool == "grype":
    fail_on = opt(["--fail-on", "-f"], os.environ.get("GRYPE_FAIL_ON_SEVERITY", "")).upper()
    print("\n".join(rows) or "No vulnerabilities found")
    if fail_on and any(LEVELS.index(f) >= LEVELS.index(fail_on) for f in findings
                       if fail_on in LEVELS):
        print(f"discovered vulnerabilities at or above the severity threshold", file=sys.stderr)
        sys.exit(1)
    sys.exit(0)
if tool == "gate":
    fail_on = {x.strip().upper() for x in opt(["--fail-on"], "HIGH,CRITICAL").split(",")}
    hits = [f for f in findings if f in fail_on]
    print("gate (stand-in): vulnerabilities " + ("FAIL" if hits else "PASS"))
    sys.exit(1 if hits else 0)
sys.exit(0)
"""

#: ``python -m helpers`` in the step finds this package first (PYTHONPATH): the gate stand-in.
_HELPERS_MAIN = (
    "import os, sys; os.execv('/tmp/bin/shipshape-gate', ['shipshape-gate', *sys.argv[1:]])\n"
)

_WRAPPER = (
    'mkdir -p /tmp/bin /tmp/standin/helpers && printf "%s" "$SHIPSHAPE_DOCKER" > /tmp/bin/docker '
    '&& printf "%s" "$SHIPSHAPE_SCANNER" > /tmp/bin/trivy '
    "&& cp /tmp/bin/trivy /tmp/bin/grype && cp /tmp/bin/trivy /tmp/bin/shipshape-gate "
    "&& printf '#!/bin/sh\\nexec /tmp/bin/shipshape-gate \"$@\"\\n' > /tmp/bin/shipshape "
    "&& : > /tmp/standin/helpers/__init__.py "
    '&& printf "%s" "$SHIPSHAPE_HELPERS_MAIN" > /tmp/standin/helpers/__main__.py '
    # installers do nothing here (no network): the scanner they would fetch is a stand-in
    "&& for t in pip pip3 curl wget apt-get; do printf '#!/bin/sh\\nexit 0\\n' > /tmp/bin/$t; done "
    "&& mkdir -p /tmp/standin/pip && cp /tmp/standin/helpers/__init__.py /tmp/standin/pip/ "
    "&& : > /tmp/standin/pip/__main__.py "
    "&& chmod +x /tmp/bin/* && export PATH=/tmp/bin:$PATH PYTHONPATH=/tmp/standin "
    "&& unset SHIPSHAPE_DOCKER SHIPSHAPE_SCANNER SHIPSHAPE_HELPERS_MAIN && mkdir -p /tmp/work "
    '&& cd /tmp/work && exec bash --noprofile --norc -e -o pipefail -c "$SHIPSHAPE_STEP"'
)


def run_step(
    doc: dict[str, Any],
    step: Step,
    image_repo: str,
    sha: str,
    sizes: dict[str, int],
    timeout_s: float = 60,
    *,
    findings: list[str] | None = None,
    docker_run_exit: int | None = None,
) -> dict[str, Any]:
    """Run ``step``'s script with ``IMAGE=image_repo`` in the sandbox; exit code and output.

    Args:
        doc: the parsed workflow (for its ``env:`` at workflow and job level).
        step: a step with ``run:``.
        image_repo: what ``$IMAGE`` is for this run.
        sha: what ``${{ github.sha }}`` is.
        sizes: the images the stand-in ``docker`` knows, ``{ref: bytes}``.
        timeout_s: the step is killed after this.
        findings: the severities the stand-in scanners (``trivy``, ``grype``,
            ``python -m helpers gate``) report, e.g. ``["HIGH"]``; they exit as the real
            tool would with the step's flags.
        docker_run_exit: when set, the stand-in ``docker run`` exits with this code (the
            tests in the image failing) and ``docker build``/``tag``/``login`` succeed.
    """
    env = step_env(doc, step, {"IMAGE": image_repo}, sha)
    ctx = {"github.sha": sha, **{f"env.{k}": v for k, v in env.items()}}
    ctx.update({"github.repository": env["GITHUB_REPOSITORY"], "github.event_name": "push"})
    unknown: list[str] = []
    script = substitute(step.run, ctx, unknown)
    environment = {
        **env,
        "SHIPSHAPE_STEP": script,
        "SHIPSHAPE_DOCKER": DOCKER_STANDIN,
        "SHIPSHAPE_IMAGES": json.dumps(sizes),
        "SHIPSHAPE_SCANNER": SCANNER_STANDIN,
        "SHIPSHAPE_HELPERS_MAIN": _HELPERS_MAIN,
        "SHIPSHAPE_FINDINGS": json.dumps(findings or []),
    }
    if docker_run_exit is not None:
        environment["SHIPSHAPE_DOCKER_RUN_EXIT"] = str(docker_run_exit)
    with containers.running(
        RUNNER_IMAGE, ["bash", "-c", _WRAPPER], environment=environment, **LIMITS
    ) as ctr:
        try:
            info = containers.wait_for_exit(ctr, timeout_s=timeout_s)
            code: int | None = info.exit_code
        except containers.WaitError:
            code = None
        out = ctr.logs(stdout=True, stderr=True).decode("utf-8", "replace")
    return {
        "exit_code": code if code is not None else 124,
        "output": out[-800:] + ("" if code is not None else f"\n(killed after {timeout_s:.0f} s)"),
        "unknown_expressions": sorted(set(unknown)),
    }
