"""A cold build runs alone, and its step images are gone before any other build starts.

Why: the classic builder reuses a cached step by looking among the children of the step's
parent image for one made by the same instruction, and it takes the **newest** such child
(moby's ``image/cache``: "check for the most up to date match"); it never goes back to an
older one. A cold build (``nocache=True``) makes a fresh child for every step. Right after
one, its ``WORKDIR /app`` on ``python:3.11-slim`` is the newest ``WORKDIR /app`` there, so
every later build of *any* exercise on that base matches it, finds none of its own next steps
under it, and runs everything after it again; what that build keeps as layer cache then keeps
the cold chain alive, and the next run pays again. Session 8 found three such ``WORKDIR /app``
children of the course's ``python:3.11``, one per CI run, each with its own copy of exercise
01's starter chain (its ``pip install`` too).

So a cold build takes this host's build lock exclusively and every other classic build
shares it: no build starts while a cold one runs; a caller that measures a cold build holds
:func:`exclusive` until it has removed the image (:mod:`helpers.benchmark`), so the whole cold
chain goes with it, nothing else having been built on it. The lock is a ``flock`` on a file
per engine in ``/tmp`` (every process on the host that talks to that engine shares it;
the kernel drops it when a process dies). Waiting is bounded: past its deadline a build goes
ahead without the lock, never hangs; a build that waits says so in its progress. Where there
is no ``flock`` (Windows) builds go ahead unlocked.

Example (the lock itself is tested between processes in ``tests/unit/test_buildlock.py``;
a doctest would wait on the suite's own builds):
    >>> lock_path().name.startswith("shipshape-build-"), held()
    (True, None)
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no flock; builds go ahead unlocked, as on a deadline
    fcntl = None  # type: ignore[assignment]

_SH, _EX, _NB, _UN = 1, 2, 4, 8  # flock's LOCK_SH, LOCK_EX, LOCK_NB, LOCK_UN

#: Longest wait for the lock before a build goes ahead without it.
MAX_WAIT_S = 300.0

_state = threading.Lock()
_fds: dict[str, int] = {}  # "main": the lock; "gate": closed by a cold build that waits
_shared = 0  # this process's holders of each mode
_exclusive = 0
_mode: int | None = None  # the flock this process holds: LOCK_SH, LOCK_EX or none
_gate = False  # this process holds the gate closed (LOCK_EX)


def lock_path() -> Path:
    """The lock file of the engine this process talks to (``$DOCKER_HOST``).

    In ``/tmp`` itself, not ``$TMPDIR``: every process on the host must find the same file,
    and test runners and notebook servers give their processes temp folders of their own
    (session 8's first try used ``$TMPDIR``, and the suite's workers each locked their own).
    """
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    digest = hashlib.sha256(host.encode()).hexdigest()[:12]
    base = Path("/tmp") if Path("/tmp").is_dir() else Path(tempfile.gettempdir())
    return base / f"shipshape-build-{digest}.lock"


def held() -> str | None:
    """The mode this process holds the lock in, or None."""
    with _state:
        return {_EX: "exclusive", _SH: "shared"}.get(_mode or -1)


def _open(which: str = "main") -> int:
    """The file descriptor of the lock (``main``) or of its gate (``gate``)."""
    if which not in _fds:
        path = lock_path() if which == "main" else lock_path().with_suffix(".gate")
        _fds[which] = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        with contextlib.suppress(OSError):  # another user's engine session may share it
            os.chmod(path, 0o666)
    return _fds[which]


def _take(which: str, mode: int, end: float, on_wait: Callable[[], None] | None = None) -> bool:
    """Take the flock ``which`` in ``mode`` by the monotonic time ``end``; False if not.
    ``on_wait`` is called once, when the lock is not free at the first try."""
    if fcntl is None:
        return False
    fd = _open(which)
    t0 = time.monotonic()
    pause = 0.02
    while True:
        try:
            fcntl.flock(fd, mode | _NB)
            _log_wait(which, mode, time.monotonic() - t0, True)
            return True
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
                on_wait = None
            if time.monotonic() >= end:
                _log_wait(which, mode, time.monotonic() - t0, False)
                return False
            # poll the lock's state with a deadline (flock has no timed wait)
            time.sleep(min(pause, max(0.0, end - time.monotonic())))
            pause = min(pause * 2, 0.25)


def _log_wait(which: str, mode: int, waited_s: float, got: bool) -> None:
    """With ``$SHIPSHAPE_BUILDLOCK_LOG`` set: one line per wait for the lock (how long each
    build waited for a cold one, and each cold one for the builds before it)."""
    path = os.environ.get("SHIPSHAPE_BUILDLOCK_LOG")
    if path and waited_s >= 0.05:
        kind = "ex" if mode == _EX else "sh"
        line = f"{time.time():.3f} {os.getpid()} {which} {kind} {waited_s:.3f} {int(got)}\n"
        with contextlib.suppress(OSError), open(path, "a") as f:
            f.write(line)


def _settle() -> None:
    """After a holder left (``_state`` held): the flocks match who still holds what."""
    global _mode, _gate
    want = _EX if _exclusive else _SH if _shared else _UN
    if _gate and not _exclusive and fcntl is not None:
        fcntl.flock(_open("gate"), _UN)  # the exclusive holders are gone: open the gate
        _gate = False
    if _mode is None or _mode == want:
        return
    if want == _UN or _mode == _EX:  # releasing, or exclusive -> shared
        if fcntl is not None:
            fcntl.flock(_open(), want)  # never blocks
        _mode = None if want == _UN else want


@contextlib.contextmanager
def shared(timeout_s: float, on_wait: Callable[[], None] | None = None) -> Iterator[bool]:
    """Held by every classic build: waits while a cold build (another process's) runs or
    waits to run. Yields whether the lock is held (False: the wait passed its deadline).
    ``on_wait`` is called once if the build has to wait (to say so, not to stall silently)."""
    global _shared, _mode
    with _state:
        have = _mode is not None
        _shared += 1
    got = have
    if not have:
        end = time.monotonic() + max(0.0, min(timeout_s, MAX_WAIT_S))
        # through the gate: closed while a cold build waits for the builds before it, so
        # new builds queue behind it instead of keeping it waiting forever
        said: list[bool] = []

        def waiting() -> None:
            if on_wait is not None and not said:
                said.append(True)
                on_wait()

        through = _take("gate", _SH, end, waiting)
        got = through and _take("main", _SH, end, waiting)
        if through and fcntl is not None:
            fcntl.flock(_open("gate"), _UN)
        if got:
            with _state:
                _mode = _mode or _SH
    try:
        yield got
    finally:
        with _state:
            _shared -= 1
            _settle()


@contextlib.contextmanager
def exclusive(timeout_s: float, on_wait: Callable[[], None] | None = None) -> Iterator[bool]:
    """Held by a cold build, and by a caller until its cold image is removed: no other
    build on this engine starts meanwhile. Reentrant within the process. Yields whether the
    lock is held (False: the wait passed its deadline, and the build goes ahead anyway).
    ``on_wait`` is called once if it has to wait for the builds already running."""
    global _exclusive, _mode, _gate
    with _state:
        have = _mode == _EX
        _exclusive += 1
    got = have
    if not have:
        end = time.monotonic() + max(0.0, min(timeout_s, MAX_WAIT_S))
        said: list[bool] = []

        def waiting() -> None:
            if on_wait is not None and not said:
                said.append(True)
                on_wait()

        closed = _take("gate", _EX, end, waiting)  # no new build starts from here on
        with _state:
            _gate = _gate or closed
        # then the builds already running finish; flock converts this process's shared
        # lock (another thread's build) in place
        got = _take("main", _EX, end, waiting)
        if got:
            with _state:
                _mode = _EX
    try:
        yield got
    finally:
        with _state:
            _exclusive -= 1
            _settle()
