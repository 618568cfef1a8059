"""Expectations about timings and sizes: explained to a learner, enforced under the test suite.

A bound such as "a warm build takes well under 10 s" holds on a typical laptop, but a slow
or busy machine can miss it without anything being wrong with the learner's work. In a
notebook, :func:`expect` prints the expectation next to the measured value and, when it is
missed, a warning that says so. Under the test suite (``SHIPSHAPE_STRICT=1``, set by the
root ``conftest.py``), a missed expectation fails like an ``assert``.

Example:
    >>> expect(3.2 < 10, "warm build", typical="well under 10 s", yours="3.2 s")
    ✔ warm build: expected well under 10 s; yours: 3.2 s
    True
"""

from __future__ import annotations

import os

STRICT_ENV = "SHIPSHAPE_STRICT"


def strict() -> bool:
    """True under the test suite: missed expectations raise instead of warning."""
    return os.environ.get(STRICT_ENV, "").strip() not in ("", "0", "false", "no")


def expect(ok: bool, what: str, *, typical: str, yours: str, why: str = "") -> bool:
    """Print ``what``: expected ``typical``, measured ``yours``; warn (or raise when strict).

    Returns whether the expectation held, so a cell can branch on it.

    Raises:
        AssertionError: the expectation was missed and :func:`strict` is on.
    """
    if ok:
        print(f"✔ {what}: expected {typical}; yours: {yours}")
        return True
    msg = f"{what}: expected {typical} on a typical laptop; yours: {yours}."
    if why:
        msg += f" {why}"
    if strict():
        raise AssertionError(msg)
    print(
        f"⚠ {msg}\n  This is a measurement of your machine, not a mark against your work: a "
        "slower disk, fewer CPUs or a busy engine move it. Read the numbers above and rerun "
        "the cell if something else was running."
    )
    return False
