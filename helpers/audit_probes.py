"""The "break it" half of judging a health probe: run it where the app never started.

A probe is shown able to fail by running it, not by reading it: a container of the image
runs with its command replaced by one that serves nothing (``sleep``), and the probe is
executed inside as the engine would. Exit 0 there means the probe says "healthy" about a
service that does not exist. Used by the checklist audit (:func:`helpers.audit.audit_image`),
the release gate's checklist row and the capstone's check.

Example:
    >>> probe_argv(["CMD-SHELL", "curl -f http://localhost/ || exit 1"])
    ['/bin/sh', '-c', 'curl -f http://localhost/ || exit 1']
    >>> probe_argv(["NONE"]) is None
    True
"""

from __future__ import annotations

from typing import Any

from .audit_project import _probe_text, _services
from .auditmodel import FAIL, AuditItem

#: How long one probe may run against the app-less container (the engine would time it out too).
PROBE_DEADLINE_S = 20.0
#: What replaces the image's command so that nothing is served: ``sleep``, else Python's.
_IDLE_COMMANDS = (["sleep", "600"], ["python3", "-c", "import time; time.sleep(600)"])
_SANDBOX: dict[str, Any] = {
    "network_disabled": True,  # loopback stays: a probe of localhost finds nothing listening
    "mem_limit": "256m",
    "nano_cpus": 1_000_000_000,
    "pids_limit": 64,
    "cap_drop": ["ALL"],
    "security_opt": ["no-new-privileges"],
}


def probe_argv(test: list[str] | str) -> list[str] | None:
    """A HEALTHCHECK ``Test`` as the argv the engine execs (None: no probe)."""
    if isinstance(test, str):
        return ["/bin/sh", "-c", test] if test.strip() else None
    if not test or test[0] == "NONE":
        return None
    if test[0] == "CMD-SHELL":
        return ["/bin/sh", "-c", " ".join(str(t) for t in test[1:])]
    if test[0] == "CMD":
        return [str(t) for t in test[1:]] or None
    return [str(t) for t in test]


def probe_without_app(
    image: str,
    test: list[str] | str,
    *,
    user: str | None = None,
    deadline_s: float = PROBE_DEADLINE_S,
) -> dict[str, Any]:
    """Run a health probe where the app never started, and report how it ended.

    The "break it" half of judging a probe by behaviour: the image runs with its command
    replaced by one that serves nothing (``sleep``), as its own user, with no network, and the
    probe is executed inside as the engine would. A probe that exits 0 there says "healthy"
    about a service that does not exist: it cannot fail. A probe still running at the
    deadline counts as failed (the engine's timeout does the same).

    Returns:
        ``{"exit_code": int | None, "output": str, "can_fail": bool | None}``; ``can_fail`` is
        None when the probe could not be tried (no idle command in the image, no probe).
    """
    import threading

    import docker

    from . import containers

    argv = probe_argv(test)
    if not argv:
        return {"exit_code": None, "output": "no probe", "can_fail": None}
    kwargs: dict[str, Any] = dict(_SANDBOX)
    if user:
        kwargs["user"] = user
    for idle in _IDLE_COMMANDS:
        try:
            ctx = containers.running(image, idle[1:], entrypoint=[idle[0]], **kwargs)
            ctr = ctx.__enter__()
        except docker.errors.APIError:  # no such program in the image: try the next
            continue
        try:
            ctr.reload()
            if ctr.status != "running":
                continue
            result: dict[str, Any] = {}

            def probe(ctr: Any = ctr, result: dict[str, Any] = result) -> None:
                try:
                    code, out = ctr.exec_run(argv)  # as the container's user, like the engine
                    result.update(code=code, out=(out or b"").decode("utf-8", "replace"))
                except docker.errors.APIError as exc:
                    result.update(code=None, out=str(exc))

            th = threading.Thread(target=probe, daemon=True)
            th.start()
            th.join(deadline_s)
            if th.is_alive():
                return {
                    "exit_code": None,
                    "output": f"still running after {deadline_s:.0f} s (counts as failed)",
                    "can_fail": True,
                    "idle_command": idle,
                }
            code = result.get("code")
            return {
                "exit_code": code,
                "output": str(result.get("out", ""))[-300:],
                "can_fail": code != 0 if code is not None else None,
                "idle_command": idle,
            }
        finally:
            ctx.__exit__(None, None, None)
    return {
        "exit_code": None,
        "output": "the image has neither sleep nor python3",
        "can_fail": None,
    }


def judge_probes_by_behaviour(
    item: AuditItem,
    image: str,
    compose: dict[str, Any] | None = None,
    image_test: list[str] | None = None,
) -> AuditItem:
    """Refine the healthcheck item: every probe must fail where the app never started.

    Probes judged: the image's own HEALTHCHECK (``image_test``), and each Compose service's
    ``healthcheck.test`` run in the service's image (the audited ``image`` for services that
    ``build:``, the named image for the others when it is on the engine).
    """
    from . import engine

    runs: list[tuple[str, str, Any, str | None]] = []
    if image_test and image_test[0] != "NONE":
        runs.append(("image HEALTHCHECK", image, image_test, None))
    for name, svc in _services(compose).items():
        hc = svc.get("healthcheck") or {}
        test = hc.get("test")
        if not test or hc.get("disable") is True:
            continue
        if svc.get("build") is not None:
            img: str | None = image
        else:
            img = svc.get("image")
            try:
                engine.client().images.get(str(img))
            except Exception:  # not on the engine: the static verdict stands
                img = None
        if img:
            user = str(svc["user"]) if svc.get("user") is not None else None
            runs.append((f"compose {name}", img, test, user))
    seen = []
    for where, img, test, user in runs:
        res = probe_without_app(img, test, user=user)
        seen.append({"probe": where, "test": _probe_text(test)[:120], **res})
    item.evidence["probe_without_app"] = seen
    blind = [s for s in seen if s["can_fail"] is False]
    if blind:
        item.status = FAIL
        item.detail = "; ".join(
            f"{s['probe']}: `{s['test'][:70]}` exited 0 in a container whose app never started"
            for s in blind
        )
        item.hint = (
            "A probe must fail when the app does not answer; this one said healthy with nothing "
            "running. Drop whatever swallows its exit code (`|| true`, `|| exit 0`, `; exit 0`, "
            '`|| echo ...`) and request what the app serves, e.g. python -c "import '
            "urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2)\"."
        )
    elif seen and item.status == "pass":
        item.detail += f" (each of {len(seen)} probe(s) failed with the app stopped)"
    return item


def blind_probe_problem(image: str, test: list[str]) -> tuple[str | None, dict[str, Any]]:
    """For the gate: why the image's HEALTHCHECK cannot fail (None when it can), and the run."""
    res = probe_without_app(image, test)
    if res["can_fail"] is not False:
        return None, res
    return (
        f"the HEALTHCHECK ({_probe_text(test)[:80]}) exited 0 with the app not running: "
        "it can never fail; drop `|| true`/`|| exit 0`/`; exit 0` and probe what the "
        "app serves, e.g. its /health URL",
        res,
    )
