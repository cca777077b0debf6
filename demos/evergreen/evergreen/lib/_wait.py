"""Waiting for a file descriptor to become readable or writable, cooperatively.

The cooperative stdlib modules (socket, select, ssl, subprocess) all come here:
they try the system call first (sockets are non-blocking; subprocess pipes stay
blocking and are asked with ``poll()`` first) and, when it would block, park
the task until the loop says the descriptor is ready. Waiting never changes a
descriptor's blocking mode.

The loop watches descriptors for tasks through its own ``add_reader`` and
``add_writer`` (one poll handle per descriptor, in rose's registry; see
:mod:`evergreen.fds`), so an asyncio callback may watch the same descriptor.

In a thread that has no evergreen loop (a worker of a thread pool, say) a
wait simply blocks that thread in ``poll()``, as the standard library would.
"""

from __future__ import annotations

import errno
import select as _select
import time

from ..fds import READ, WRITE
from ..hub import TIMED_OUT, Waiter, find_loop

__all__ = ['READ', 'WRITE', 'wait_fd', 'wait_any', 'forget_fd', 'original_poll', 'original_select']


# The real ones, whatever the patcher does to the select module later.
original_poll = _select.poll
original_select = _select.select


def _blocking_poll(fd: int, event: int, timeout: float | None) -> bool:
    """Block this thread until *fd* is ready (a thread without an evergreen loop)."""
    poller = original_poll()
    poller.register(fd, _select.POLLIN if event == READ else _select.POLLOUT)
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        if poller.poll(None if remaining is None else remaining * 1000):
            return True
        if remaining is not None and remaining <= 0:
            return False


def wait_fd(fd: int, event: int, timeout: float | None = None) -> bool:
    """Wait until *fd* is readable (READ) or writable (WRITE); False on timeout.

    Cooperative in a task or in a thread with an evergreen loop; a plain
    blocking ``poll()`` in any other thread.
    """
    if fd < 0:
        raise OSError(errno.EBADF, 'Bad file descriptor')
    loop = find_loop()
    if loop is None or loop.is_closed():
        return _blocking_poll(fd, event, timeout)
    waiter = Waiter(loop)
    try:
        loop.watch_fd(fd, event, waiter)
        outcome = waiter.wait(timeout, 'waiting for a file descriptor')
    finally:
        loop.unwatch_fd(fd, waiter)
    return outcome is not TIMED_OUT


def wait_any(wanted: dict[int, int], timeout: float | None, what: str) -> None:
    """Park until one of the descriptors (fd: READ|WRITE) may be ready, or *timeout*.

    Needs an evergreen loop in this thread (``select`` checks). One Waiter is
    handed to every descriptor: the first event wakes it, the others find the
    wait over and are dropped.
    """
    loop = find_loop()
    waiter = Waiter(loop)
    watching: list[int] = []
    try:
        for fd, events in wanted.items():
            watching.append(fd)
            for event in (READ, WRITE):
                if events & event:
                    loop.watch_fd(fd, event, waiter)
        waiter.wait(timeout, what)
    finally:
        for fd in watching:
            loop.unwatch_fd(fd, waiter)
            # Do not keep watching a descriptor select() was only asked about
            # (it may be closed any time); a task waiting on it keeps it watched.
            loop.release_fd(fd)


def forget_fd(fd: int) -> None:
    """The descriptor is about to be closed: wake its waiting tasks (on this thread's loop)."""
    try:
        loop = find_loop()
    except RuntimeError:
        # A socket collected while greenlets are being torn down (interpreter
        # exit): no loop will watch anything any more.
        return
    if loop is not None and not loop.is_closed():
        loop.forget_fd_waits(fd)
