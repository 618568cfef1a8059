"""Exercise 02: a health check that tells ready from merely running, and a job that waits for it.

Rubric (10 points), judged on the real stack brought up with the real Compose CLI:

- the api becomes healthy (3): time from container start to ``healthy`` is measured from the
  engine's own ``health_status`` events;
- the health check detects a real fault (3): the check calls ``/break`` inside the container
  (``/health`` then answers 503 while the process keeps running) and the state must turn
  ``unhealthy`` within ``retries * (interval + timeout) + slack`` (probes run one at a time);
- the worker starts only after the api is healthy (2): its ``depends_on`` condition is
  ``service_healthy`` and, behaviourally, the one-shot job found the api ready (exit 0);
- the options are sane (2): ``timeout < interval`` (1) and a ``start_period`` longer than the
  app's warm-up (1). ``interval`` above 5 s fails the fault item (the README asks <= 5 s).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .. import behaviour, compose, containers
from ..findings import Report
from . import intact
from .req_02_07_08 import README_NOT_RULES_02, REQUIREMENTS_02
from .rubric import Facts, Rubric, Verdict

EXERCISE = "02"
SLUG = "02_healthcheck"
TITLE = "Health checks: ready, not just running"

HEALTHY = "the api becomes healthy"
FAULT = "the health check detects a real fault"
DEPENDS = "the worker starts only after the api is healthy"
OPTIONS = "the health-check options are sane"

SLACK_S = 5.0
#: Longest the check is willing to watch for a fault (the exercise asks interval <= 5s).
MAX_FAULT_WAIT_S = 45.0
MAX_HEALTHY_WAIT_S = 90.0
#: The README's "keep interval at 5 s or less".
MAX_INTERVAL_S = 5.0
APP_WARMUP_S = 3.0
URLLIB_PROBE = (
    'test: ["CMD", "python", "-c", "import urllib.request as u; '
    "u.urlopen('http://localhost:8000/health', timeout=2)\"]"
)
BREAK_CMD = [
    "python",
    "-c",
    "import urllib.request as u; u.urlopen('http://localhost:8000/break', timeout=5); "
    "import urllib.error\n"
    "try:\n u.urlopen('http://localhost:8000/health', timeout=5)\n"
    "except urllib.error.HTTPError as e:\n print('health now', e.code)\n",
]


def _missing_tool(probes: list[dict[str, Any]]) -> str | None:
    """The probe's program when the image lacks it (curl, wget, ...), else None."""
    for p in probes:
        out = (p.get("Output") or "").lower()
        if "not found" in out or "no such file" in out:
            for tool in ("curl", "wget", "nc", "http"):
                if tool in out:
                    return tool
            return "the probe's program"
    return None


RUBRIC = Rubric(EXERCISE, SLUG, TITLE)


def _tampered(f: Facts, prefix: str) -> Verdict | None:
    """A failing verdict when a shipped file under ``prefix`` changed (the README: do not)."""
    bad = {p: how for p, how in intact.changed(f.path, SLUG).items() if p.startswith(prefix)}
    if not bad:
        return None
    return Verdict(
        False,
        "changed from the starter: " + ", ".join(f"{p} ({how})" for p, how in sorted(bad.items())),
        hint=f"Restore {', '.join(sorted(bad))} from the starter (exercises/{SLUG}/): the "
        "exercise is solved in compose.yaml or the api's Dockerfile, and the check judges "
        "your health check against the app and the job as shipped.",
        evidence={"changed": bad},
    )


def _warmup_override(api: Any) -> str | None:
    """The api's ``APP_WARMUP_S`` when the submission shortened the shipped warm-up."""
    env = dict(e.split("=", 1) for e in (api.attrs["Config"].get("Env") or []) if "=" in e)
    raw = env.get("APP_WARMUP_S")
    try:
        return raw if raw is not None and float(raw) < APP_WARMUP_S else None
    except ValueError:
        return raw


#: What the README asks, and the item that judges it (issue 11).
REQUIREMENTS, README_NOT_RULES = REQUIREMENTS_02, README_NOT_RULES_02


@RUBRIC.fact
def stack(f: Facts) -> Iterator[dict[str, Any]]:
    """The learner's stack, built and brought up with ``compose up -d``; torn down after."""
    with behaviour.Stack(f.path) as st:
        state: dict[str, Any] = {"stack": st, "t_up": time.time()}
        state["up_output"] = st.build_and_up(build_timeout_s=600)
        api = st.service("api")
        state["api"] = api
        state["cfg"] = behaviour.healthcheck_config(api) if api else None
        try:
            state["model"] = st.config()
        except compose.ComposeError:
            state["model"] = {}
        yield state


@RUBRIC.item("healthy", HEALTHY, 3, needs=("stack",))
def becomes_healthy(f: Facts) -> Verdict:
    state = f.stack
    api, cfg = state["api"], state["cfg"]
    if api is None:
        return Verdict(
            False,
            "the api container was never created",
            hint="Fix the error Compose printed (in the evidence), then run the check again.",
            evidence={"compose_output": state["up_output"]},
        )
    if cfg is None or cfg.disabled:
        return Verdict(
            False,
            "the api has no health check, so Docker can only say it is running",
            hint="Add a `healthcheck:` to the api service (or HEALTHCHECK to its Dockerfile) "
            f"that probes /health, e.g. {URLLIB_PROBE}",
            evidence={"compose_output": state["up_output"]},
        )
    limit = min(cfg.healthy_bound_s(warmup_s=APP_WARMUP_S) + cfg.start_period_s, MAX_HEALTHY_WAIT_S)
    tl = behaviour.wait_for_status(api, {"healthy", "unhealthy"}, timeout_s=limit)
    seen_at = time.time()
    start = behaviour.started_at(api)
    events = behaviour.health_events(api, since=start)
    probes = containers.health_log(api)
    ev = {
        "healthcheck": cfg.to_dict(),
        "timeline": behaviour.health_timeline_rows(events, start),
        "last_probes": [
            {"exit_code": p.get("ExitCode"), "output": (p.get("Output") or "")[-300:]}
            for p in probes[-3:]
        ],
    }
    if tl.final == "healthy":
        first_healthy, source = behaviour.first_transition(api, "healthy", start, seen_at)
        secs = (first_healthy or seen_at) - start
        state["healthy"] = True
        state["healthy_after_s"] = secs
        ev["seconds_to_healthy"] = round(secs, 2)
        ev["measured_from"] = source
        return Verdict(
            True,
            f"healthy {secs:.1f} s after the container started "
            f"(the app warms up for {APP_WARMUP_S:.0f} s)",
            evidence=ev,
        )
    tool = _missing_tool(probes)
    if tool:
        hint = (
            f"The probe runs {tool}, which python:3.11-slim does not have, so every probe "
            "fails. Probe with the Python that is in the image: " + URLLIB_PROBE
        )
    elif tl.final == "unhealthy":
        hint = (
            "It turned unhealthy before it was ever healthy. If the probe is right, the "
            f"warm-up ({APP_WARMUP_S:.0f} s) outlasted retries x interval: set start_period "
            "longer than the warm-up so early failures do not count."
        )
    elif tl.final == "exited":
        hint = "The api exited: read its logs in the evidence."
    else:
        hint = (
            f"Still {tl.final!r} after {limit:.0f} s. Use a short interval for this exercise "
            "(<= 5s) and a probe that succeeds when /health answers 200."
        )
    ev["logs"] = containers.logs_tail(api)
    return Verdict(
        False,
        f"not healthy: status {tl.final!r} after {tl.seconds:.1f} s "
        f"(last probe: {(probes[-1].get('Output') or '').strip()[-160:] if probes else 'none'!r})",
        hint=hint,
        evidence=ev,
    )


@RUBRIC.item("fault", FAULT, 3, needs=("stack",))
def detects_fault(f: Facts) -> Verdict:
    state = f.stack
    api, cfg = state["api"], state["cfg"]
    tampered = _tampered(f, "app.py")
    if tampered:
        return tampered
    if not state.get("healthy"):
        return Verdict(
            False,
            "not judged: the api never became healthy, so there is no fault to notice",
            hint="Make the api become healthy first (see the item above).",
        )
    bound = cfg.unhealthy_bound_s(SLACK_S)
    ev: dict[str, Any] = {"healthcheck": cfg.to_dict(), "bound_s": round(bound, 1)}
    if bound > MAX_FAULT_WAIT_S or cfg.interval_s > MAX_INTERVAL_S:
        return Verdict(
            False,
            f"interval {cfg.interval_s:g} s (this exercise asks at most {MAX_INTERVAL_S:g} s); "
            f"with these settings a fault may go unnoticed for {bound:.0f} s "
            f"(retries {cfg.retries} x (interval {cfg.interval_s:g} s + timeout "
            f"{cfg.timeout_s:g} s) + {SLACK_S:g} s slack)",
            hint="For this exercise keep interval <= 5s and retries <= 3 so a fault shows "
            f"within {MAX_FAULT_WAIT_S:.0f} s (production values are often 10-30 s).",
            evidence=ev,
        )
    out = api.exec_run(BREAK_CMD)
    t_break = time.time()
    ev["fault"] = (out.output or b"").decode("utf-8", "replace").strip()[-200:]
    tl = behaviour.wait_for_status(api, {"unhealthy"}, timeout_s=bound)
    seen_at = time.time()
    turned, source = (
        behaviour.first_transition(api, "unhealthy", t_break, seen_at)
        if tl.final == "unhealthy"
        else (None, "unseen")
    )
    ev["measured_from"] = source
    probes = containers.health_log(api)
    ev["last_probes"] = [
        {"exit_code": p.get("ExitCode"), "output": (p.get("Output") or "")[-200:]}
        for p in probes[-3:]
    ]
    if tl.final == "unhealthy" and turned is not None:
        secs = turned - t_break
        ev["seconds_to_unhealthy"] = round(secs, 2)
        state["t_break"] = t_break
        return Verdict(
            True,
            f"unhealthy {secs:.1f} s after /health started answering 503 "
            f"(bound {bound:.0f} s = {cfg.retries} x ({cfg.interval_s:g} + {cfg.timeout_s:g}) "
            f"+ {SLACK_S:g})",
            evidence=ev,
        )
    always_ok = probes and all(p.get("ExitCode") == 0 for p in probes)
    hint = (
        f"Your probe ({cfg.probe_text()[:120]}) kept exiting 0 while /health answered 503: "
        "it does not look at what the service can do. A probe such as `true` or "
        "`python -c \"print('healthy')\"` can never fail, and probing / or the open port "
        "misses this fault. Request /health and exit non-zero unless it answers 200 "
        "(urllib's urlopen raises on a 503)."
        if always_ok
        else "Read the last probes in the evidence: the probe must exit non-zero as soon as "
        "/health stops answering 200."
    )
    return Verdict(
        False,
        f"still {tl.final!r} {tl.seconds:.1f} s after the fault (bound {bound:.0f} s)",
        hint=hint,
        evidence=ev,
    )


#: engine timestamps vs. the app's own clock: healthy this much before the warm-up's end is
#: still read as "after it" (the app starts its warm-up after the container starts)
EARLY_TOLERANCE_S = 0.2


@RUBRIC.item("depends", DEPENDS, 2, needs=("stack",))
def worker_waits(f: Facts) -> Verdict:
    state = f.stack
    stack = state["stack"]
    tampered = _tampered(f, "")
    if tampered:
        return tampered
    api = state["api"]
    short = _warmup_override(api) if api is not None else None
    if short is not None:
        return Verdict(
            False,
            f"the api runs with APP_WARMUP_S={short}: the warm-up the job must wait for was "
            "shortened, not waited for",
            hint=f"Remove APP_WARMUP_S from the api's environment: the app warms up for "
            f"{APP_WARMUP_S:g} s as shipped, and the worker must wait for it through "
            "`condition: service_healthy`.",
            evidence={"APP_WARMUP_S": short},
        )
    svc = (state["model"].get("services") or {}).get("worker")
    if svc is None:
        return Verdict(
            False,
            "compose.yaml has no `worker` service",
            hint="Keep the starter's services (api and worker); the exercise changes their "
            "health check and depends_on, not their names.",
        )
    cond = ((svc.get("depends_on") or {}).get("api") or {}).get("condition", "(none)")
    worker = stack.service("worker")
    ev: dict[str, Any] = {"depends_on_condition": cond}
    if worker is None:
        ev["compose_output"] = state["up_output"]
        return Verdict(
            False,
            "the worker was never started (Compose gave up on its dependency)",
            hint="Compose starts the worker only when the api is healthy: make the api "
            "healthy (items above).",
            evidence=ev,
        )
    info = containers.wait_for_exit(worker, timeout_s=60)
    ev.update(exit_code=info.exit_code, logs=info.logs.strip()[-400:])
    ok_behaviour = info.exit_code == 0 and "answered 200" in info.logs
    ok = ok_behaviour and cond == "service_healthy"
    early = f.stack.get("healthy_after_s")
    if ok and early is not None and early < APP_WARMUP_S - EARLY_TOLERANCE_S:
        # the gate opened before the app was ready: the job only got through because it
        # happened to start late (a busy machine), which the next run may not repeat
        ev["healthy_after_s"] = round(early, 2)
        return Verdict(
            False,
            f"condition {cond}, yet Docker called the api healthy {early:.1f} s after it "
            f"started, before its {APP_WARMUP_S:.0f} s warm-up ended: the job got through "
            "only because it started late",
            hint="`service_healthy` is only as good as the probe: make it fail until /health "
            "answers 200, so the api turns healthy after the warm-up, never before.",
            evidence=ev,
        )
    if ok:
        return Verdict(
            True,
            f"condition {cond}; the job found the api ready and exited 0",
            evidence=ev,
        )
    hint = (
        "The worker starts as soon as the api *container* starts, while the app is still "
        "warming up, so the job fails. Write depends_on as a mapping: "
        "`depends_on: {api: {condition: service_healthy}}`."
        if cond != "service_healthy"
        else "The condition is right, yet the job found the api not ready: the health check "
        "said `healthy` before the app was (the job got a 503). A probe must fail until "
        "/health answers 200, then Compose's wait means something."
    )
    return Verdict(
        False,
        f"condition {cond}; the job exited {info.exit_code}: {info.logs.strip()[-160:]!r}",
        hint=hint,
        evidence=ev,
    )


@RUBRIC.item("options", OPTIONS, 2, needs=("stack",))
def options(f: Facts) -> Verdict:
    cfg = f.stack["cfg"]
    if cfg is None or cfg.disabled:
        return Verdict(
            False,
            "no health check to judge",
            hint="Add a health check with interval, timeout, retries and start_period.",
        )
    earned = 0
    problems = []
    if cfg.timeout_s < cfg.interval_s:
        earned += 1
    else:
        problems.append(
            f"timeout {cfg.timeout_s:g} s is not shorter than interval {cfg.interval_s:g} s: "
            "a hung probe should be cut off before the next one is due"
        )
    if cfg.start_period_s > APP_WARMUP_S:
        earned += 1
    elif cfg.start_period_s > 0:
        problems.append(
            f"start_period {cfg.start_period_s:g} s is not longer than the app's "
            f"{APP_WARMUP_S:g} s warm-up: probes that fail while it warms up still count "
            "towards `unhealthy`; set start_period longer than the warm-up (e.g. 20s)"
        )
    else:
        problems.append(
            "no start_period: probes that fail while the app warms up count towards "
            f"`unhealthy`; set start_period longer than the {APP_WARMUP_S:g} s warm-up"
        )
    msg = (
        f"interval {cfg.interval_s:g} s, timeout {cfg.timeout_s:g} s, retries {cfg.retries}, "
        f"start_period {cfg.start_period_s:g} s"
    )
    return Verdict(
        earned == 2,
        msg,
        hint="; ".join(problems) + ".",
        evidence=cfg.to_dict(),
        earned=earned,
    )


def run(path: Path) -> Report:
    return RUBRIC.run(path)
