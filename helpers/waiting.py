"""One way to wait: poll a condition until it holds or a deadline passes.

"Measure, don't sleep": every wait in the course is for a state (a port answers, a
container is gone, a status turns healthy), bounded by a deadline, and says what it waited
for when the deadline passes. :func:`until` is that loop; the pause between polls is the
polling interval of a deadline-bounded wait, never synchronisation by itself.

Example:
    >>> calls = iter([None, None, 42])
    >>> until(lambda: next(calls), timeout_s=5, interval_s=0.001, what="the answer")
    42
    >>> until(lambda: False, timeout_s=0.01, interval_s=0.001, what="never")
    Traceback (most recent call last):
    ...
    helpers.waiting.Timeout: never: not after 0.01 s
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class Timeout(TimeoutError):
    """The condition did not hold before the deadline; the message says what was awaited."""


def until(
    probe: Callable[[], T],
    timeout_s: float,
    interval_s: float = 0.2,
    what: str = "the condition",
    max_interval_s: float | None = None,
) -> T:
    """Call ``probe`` until it returns something truthy (returned) or ``timeout_s`` passes.

    The interval grows by half each poll up to ``max_interval_s`` (default: ``interval_s``,
    constant). Raises :class:`Timeout` naming ``what``; the probe runs at least once.
    """
    deadline = time.monotonic() + timeout_s
    pause = interval_s
    cap = max_interval_s if max_interval_s is not None else interval_s
    while True:
        value = probe()
        if value:
            return value
        left = deadline - time.monotonic()
        if left <= 0:
            raise Timeout(f"{what}: not after {timeout_s:g} s")
        time.sleep(min(pause, left))  # polling interval of a deadline-bounded wait
        pause = min(cap, pause * 1.5)


def holds(probe: Callable[[], object], timeout_s: float, interval_s: float = 0.2) -> bool:
    """Like :func:`until`, but answers True/False instead of raising."""
    try:
        until(probe, timeout_s, interval_s)
    except Timeout:
        return False
    return True
