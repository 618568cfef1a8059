"""Runtime behaviour, measured: health-check timing, stop times, and an OOM kill.

    python benchmarks/behaviour.py              # one round
    python benchmarks/behaviour.py --repeat 3   # medians over three rounds

Runs the checks of exercises 02, 05 and 10 on the reference solutions (and exercise 10's
starter, for a stop without a handler) against the real engine, and prints:

- time from container start to ``healthy`` and from a real fault to ``unhealthy``, beside
  the bound the configured options promise (``interval * retries + timeout``);
- ``docker stop`` time with a SIGTERM handler and exec-form CMD vs without (the ratio);
- the OOM evidence: OOMKilled, exit code, memory limit, and the database's state after.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from helpers import check  # noqa: E402
from helpers.checks import ex02_healthcheck as ex02  # noqa: E402
from helpers.checks import ex05_resource_limits as ex05  # noqa: E402
from helpers.checks import ex10_graceful_shutdown as ex10  # noqa: E402


def _item(rep, name):  # type: ignore[no-untyped-def]
    r = next(r for r in rep.results if r.name == name)
    if not r.passed and rep.path.startswith(str(ROOT / "solutions")):
        raise SystemExit(f"reference solution failed {name!r}: {r.message}")
    return r


def one_round() -> dict[str, float | str]:
    out: dict[str, float | str] = {}
    h = check("02", path=ROOT / "solutions" / "02_healthcheck")
    healthy, fault = _item(h, ex02.HEALTHY).evidence, _item(h, ex02.FAULT).evidence
    cfg = fault["healthcheck"]
    out["healthy_s"] = healthy["seconds_to_healthy"]
    out["unhealthy_s"] = fault["seconds_to_unhealthy"]
    out["unhealthy_bound_s"] = cfg["interval_s"] * cfg["retries"] + cfg["timeout_s"]
    out["hc"] = (
        f"interval {cfg['interval_s']:g}s, timeout {cfg['timeout_s']:g}s, retries "
        f"{cfg['retries']}, start_period {cfg['start_period_s']:g}s, start_interval "
        f"{cfg['start_interval_s']:g}s"
    )
    good = check("10", path=ROOT / "solutions" / "10_graceful_shutdown")
    bad = check("10", path=ROOT / "exercises" / "10_graceful_shutdown")
    out["stop_handler_s"] = _item(good, ex10.QUICK).evidence["stop_seconds"]
    out["stop_no_handler_s"] = _item(bad, ex10.QUICK).evidence["stop_seconds"]
    out["stop_no_handler_exit"] = _item(bad, ex10.EXIT0).evidence["exit_code"]
    m = check("05", path=ROOT / "solutions" / "05_resource_limits")
    oom, db = _item(m, ex05.OOM).evidence, _item(m, ex05.DB_ALIVE).evidence
    out["oom"] = (
        f"OOMKilled={oom['oom_killed']} exit={oom['exit_code']} limit={oom['memory_limit']} "
        f"after {oom['seconds']} s ({oom['last_reported']})"
    )
    out["db_after"] = f"{db['status']}, {db['health']}, OOMKilled={db['oom_killed']}"
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    rounds = [one_round() for _ in range(max(1, args.repeat))]

    def med(key: str) -> float:
        return statistics.median(float(r[key]) for r in rounds)

    last = rounds[-1]
    grace = ex10.GRACE_S
    print(f"health check ({last['hc']}), {len(rounds)} round(s), medians:")
    print(
        f"  start -> healthy      {med('healthy_s'):6.2f} s   (app warm-up {ex02.APP_WARMUP_S:g} s)"
    )
    print(
        f"  fault -> unhealthy    {med('unhealthy_s'):6.2f} s   (bound interval*retries+timeout "
        f"= {med('unhealthy_bound_s'):g} s; measured/bound {med('unhealthy_s') / med('unhealthy_bound_s'):.2f})"
    )
    with_h, without = med("stop_handler_s"), med("stop_no_handler_s")
    print(f"docker stop, grace period {grace} s:")
    print(f"  SIGTERM handler, exec-form CMD    {with_h:6.2f} s   exit 0")
    print(
        f"  no handler, shell-form CMD        {without:6.2f} s   exit "
        f"{last['stop_no_handler_exit']} (SIGKILL after the grace period)"
    )
    print(f"  ratio without/with                {without / with_h:6.1f}x")
    print("OOM kill of the ETL's memory hog under a 2 GiB limit:")
    print(f"  {last['oom']}")
    print(f"  database afterwards: {last['db_after']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
