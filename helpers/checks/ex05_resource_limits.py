"""Exercise 05: resource limits that keep an ETL's bad day away from the database.

Rubric (10 points), judged on the real stack brought up with the real Compose CLI:

- limits are applied on the containers (4, one per value): ``docker inspect`` shows the
  database at 1 GB / 1 CPU and the ETL at 2 GB / 2 CPUs;
- the memory hog is OOM-killed under the ETL's limit (3): ``hog.py`` runs as a one-off
  container of the ETL service (the learner's own service config, ``compose run``) and must
  end with all three signals: ``OOMKilled``, exit code 137 and a memory limit;
- the database keeps running and healthy afterwards (3).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .. import behaviour, containers, engine
from ..findings import Report
from . import intact
from .requirements import Requirement
from .rubric import Facts, Rubric, Verdict

EXERCISE = "05"
SLUG = "05_resource_limits"
TITLE = "Resource limits: the ETL is OOM-killed, the database lives"
#: The rubric judges the learner's own memory/CPU limits: a grader must not impose its own.
JUDGES_LIMITS = True

LIMITS = "limits are applied on the containers"
OOM = "the memory hog is OOM-killed under the ETL's limit"
DB_ALIVE = "the database keeps running and healthy"

REQUIREMENTS = (
    Requirement("the database is limited to exactly 1 GB of memory and 1 CPU", ("limits",)),
    Requirement("the ETL is limited to exactly 2 GB of memory and 2 CPUs", ("limits",)),
    Requirement(
        'with deploy: resources: limits: (memory: 1G, cpus: "1") or the service keys '
        "mem_limit: and cpus:",
        ("limits",),
    ),
    Requirement("Leave hog.py as it is", ("oom",)),
    Requirement("It must be OOM-killed, proven by three signals together", ("oom",)),
    Requirement("the database must still be running and healthy", ("db_alive",)),
    Requirement("never restarted", ("db_alive",)),
)
README_NOT_RULES = {
    "it stops by itself at 3 GB, so it is bounded even here": "describes hog.py",
    "A CPU limit cannot be larger than the number of CPUs the engine has": "explains why "
    "the course asks for at least 2 CPUs",
    "A reservations: block is a promised minimum, not a ceiling": "explains why a "
    "reservation does not count; the limits item reads the limit, not the reservation",
    "it gets exactly your limits": "describes how the check runs the hog",
    'Exit 137 alone only means "SIGKILL"': "explains why the OOM item needs three signals",
}

GIB = 1024**3
#: What the exercise asks: service -> (memory bytes, CPUs).
WANTED = {"db": (1 * GIB, 1.0), "etl": (2 * GIB, 2.0)}
#: The hog stops by itself at this size, so a too-generous limit shows up as "survived".
HOG_MAX_MB = 3072


def gib(n: int) -> str:
    """Bytes as GiB, the unit Compose's ``1G`` means.

    >>> gib(2 * GIB), gib(0)
    ('2.00 GiB', 'unlimited')
    """
    return f"{n / GIB:.2f} GiB" if n else "unlimited"


def memory_ok(measured: int, wanted: int) -> bool:
    """``1G`` (GiB) and ``1000M``-ish (decimal GB) both count as "1 GB".

    >>> memory_ok(1073741824, GIB), memory_ok(1_000_000_000, GIB), memory_ok(0, GIB)
    (True, True, False)
    """
    return 0.93 * wanted <= measured <= wanted


def cpus_of(host_config: dict[str, Any]) -> float:
    """CPUs a container may use: ``NanoCpus`` (``cpus:``) or quota/period; 0 = unlimited."""
    if host_config.get("NanoCpus"):
        return host_config["NanoCpus"] / 1e9
    quota, period = host_config.get("CpuQuota") or 0, host_config.get("CpuPeriod") or 100_000
    return quota / period if quota > 0 else 0.0


RUBRIC = Rubric(EXERCISE, SLUG, TITLE)


@RUBRIC.fact
def stack(f: Facts) -> Iterator[dict[str, Any]]:
    """The learner's stack, built and brought up with ``compose up -d``; torn down after."""
    from .. import capabilities

    capabilities.require_memory_limits()  # "could not run" where limits are not enforced
    with behaviour.Stack(f.path) as st:
        state: dict[str, Any] = {"stack": st}
        state["up_output"] = st.build_and_up(build_timeout_s=900)
        state["db"], state["etl"] = st.service("db"), st.service("etl")
        if state["db"] is not None:
            state["db"].reload()
            state["db_started_at"] = state["db"].attrs["State"].get("StartedAt")
        yield state


def _never_created(state: dict[str, Any], message: str, hint: str) -> Verdict:
    """A service Compose never created a container for: what Compose said is the evidence."""
    return Verdict(
        False, message, hint=hint, evidence={"compose_output": state.get("up_output", "")}
    )


@RUBRIC.item("limits", LIMITS, 4, needs=("stack",))
def limits_applied(f: Facts) -> Verdict:
    state = f.stack
    earned = 0
    rows: dict[str, Any] = {}
    problems = []
    for svc, (mem_want, cpu_want) in WANTED.items():
        ctr = state[svc]
        if ctr is None:
            problems.append(f"{svc}: the container was never created")
            continue
        ctr.reload()
        hc = ctr.attrs["HostConfig"]
        mem, cpus = int(hc.get("Memory") or 0), cpus_of(hc)
        rows[svc] = {
            "memory_bytes": mem,
            "memory": gib(mem),
            "memory_reservation_bytes": int(hc.get("MemoryReservation") or 0),
            "cpus": cpus or "unlimited",
        }
        if memory_ok(mem, mem_want):
            earned += 1
        else:
            got = gib(mem) if mem else "no limit"
            extra = ""
            if not mem and hc.get("MemoryReservation"):
                extra = " (a reservation is set: it is a soft floor, not a ceiling)"
            problems.append(f"{svc} memory: {got}{extra}, asked {mem_want // GIB} GB")
        if abs(cpus - cpu_want) < 0.01:
            earned += 1
        else:
            problems.append(f"{svc} CPUs: {cpus or 'no limit'}, asked {cpu_want:g}")
    ok = earned == 4
    msg = (
        "; ".join(f"{s}: {r['memory']}, {r['cpus']} CPUs" for s, r in rows.items())
        or "no containers"
    )
    return Verdict(
        ok,
        msg if ok else f"{msg}. Not as asked: {'; '.join(problems)}",
        hint="Under each service put `deploy: resources: limits:` with `memory:` and `cpus:` "
        '(db: 1G and "1"; etl: 2G and "2"), or the service keys `mem_limit:` and `cpus:`. '
        "`reservations:` only promise a minimum: they never stop a service from taking more.",
        evidence={"inspect": rows, "compose_output": state.get("up_output", "")[-600:]},
        earned=earned,
    )


@RUBRIC.item("oom", OOM, 3, needs=("stack",))
def hog_killed(f: Facts) -> Verdict:
    state = f.stack
    stack = state["stack"]
    etl = state["etl"]
    if etl is None:
        return _never_created(
            state,
            "not run: the etl service's container was never created",
            "Fix the error Compose printed (in the evidence), then run the check again.",
        )
    etl.reload()
    limit = int(etl.attrs["HostConfig"].get("Memory") or 0)
    if not limit:
        return Verdict(
            False,
            "not run: the ETL service has no memory limit, and the course never runs a "
            "memory hog without one",
            hint="Give the etl service `deploy: resources: limits: memory: 2G`; then the "
            "kernel stops the hog at 2 GB instead of letting it eat the machine.",
            evidence={"memory_limit": 0},
        )
    out = stack.run(
        "run",
        "-d",
        "--no-deps",
        "-e",
        f"HOG_MAX_MB={HOG_MAX_MB}",
        "etl",
        "python",
        "hog.py",
        timeout_s=120,
    )
    cid = out.stdout.strip().splitlines()[-1].strip()
    hog = engine.client().containers.get(cid)
    try:
        info = containers.wait_for_exit(hog, timeout_s=120)
        held = [ln for ln in info.logs.splitlines() if ln.startswith("hog: holding")]
    finally:
        containers.remove_quietly(hog)
    changed = intact.changed(f.path, SLUG, ["hog.py"])
    ev = {
        "hog_py": changed.get("hog.py", "as shipped"),
        "exit_code": info.exit_code,
        "oom_killed": info.oom_killed,
        "memory_limit_bytes": info.memory_limit,
        "memory_limit": gib(info.memory_limit),
        "last_reported": held[-1] if held else None,
        "seconds": round(info.seconds, 1),
    }
    state["hog"] = ev
    if changed:
        return Verdict(
            False,
            f"hog.py is {changed['hog.py']}: the check runs the shipped memory hog, and this "
            f"one ended with exit {info.exit_code}, OOMKilled {info.oom_killed}",
            hint="The task is solved in compose.yaml alone: restore hog.py from the starter "
            "(exercises/05_resource_limits/hog.py as shipped).",
            evidence=ev,
        )
    if info.oom_confirmed:
        return Verdict(
            True,
            f"OOMKilled, exit 137, limit {gib(info.memory_limit)}: killed after "
            f"{info.seconds:.1f} s ({held[-1][5:] if held else 'no progress printed'})",
            evidence=ev,
        )
    survived = "survived" in info.logs
    hint = (
        f"The hog held {HOG_MAX_MB} MB and finished: a {gib(limit)} limit is more than "
        "the ETL was asked to get. Set the etl service's memory limit to 2G."
        if survived
        else "Exit 137 without OOMKilled is a plain SIGKILL, not the memory limit. Read the "
        "logs in the evidence."
    )
    return Verdict(
        False,
        f"exit {info.exit_code}, OOMKilled {info.oom_killed}, limit {gib(limit)}",
        hint=hint,
        evidence={**ev, "logs": info.logs[-400:]},
    )


@RUBRIC.item("db_alive", DB_ALIVE, 3, needs=("stack",))
def db_alive(f: Facts) -> Verdict:
    state = f.stack
    db = state["db"]
    if db is None:
        return _never_created(
            state,
            "the database container was never created",
            "Fix the error Compose printed (in the evidence).",
        )
    if "hog" not in state:
        return Verdict(
            False,
            "not judged: the hog did not run, so nothing tested whether the database survives it",
            hint="Give the ETL its memory limit (item above) so the hog can run beside the database.",
        )
    tl = behaviour.wait_for_status(db, {"healthy"}, timeout_s=60)
    db.reload()
    st = db.attrs["State"]
    restarted = int(db.attrs.get("RestartCount") or 0) > 0 or (
        st.get("StartedAt") != state.get("db_started_at")
    )
    ev = {
        "status": st.get("Status"),
        "health": tl.final,
        "oom_killed": st.get("OOMKilled"),
        "restart_count": db.attrs.get("RestartCount", 0),
        "started_at": st.get("StartedAt"),
        "started_at_before_the_hog": state.get("db_started_at"),
    }
    ok = (
        st.get("Status") == "running"
        and tl.final == "healthy"
        and not st.get("OOMKilled")
        and not restarted
    )
    after = f"after the hog ended with exit {state['hog']['exit_code']}"
    if ok:
        return Verdict(True, f"running and healthy {after}", evidence=ev)
    if restarted and st.get("Status") == "running":
        hint = (
            "The database died while the hog ran and was restarted (a restart policy hides "
            "it, not the limits): every connection and in-flight transaction was lost. Give "
            "it its own 1G limit and keep the ETL at 2G so the kernel kills the hog instead."
        )
    elif tl.final == "none":
        hint = "The database has no health check: keep the starter's pg_isready healthcheck."
    else:
        hint = (
            "The database did not stay up: if its own memory limit is far below 1 GB "
            "Postgres cannot start. Read its logs in the evidence."
        )
    ev["logs"] = containers.logs_tail(db, 15)
    return Verdict(
        False,
        f"database {st.get('Status')}, health {tl.final} {after}",
        hint=hint,
        evidence=ev,
    )


def run(path: Path) -> Report:
    return RUBRIC.run(path)
