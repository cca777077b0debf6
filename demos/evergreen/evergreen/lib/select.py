"""evergreen.lib.select: ``select.select`` and ``select.poll``, cooperative.

Both ask the kernel first, without waiting; if nothing is ready, the task
parks until libuv reports one of the descriptors ready (or the timeout
expires), and the kernel is asked again, so the results are exactly what the
standard functions would return. ``epoll``, ``devpoll`` and ``kqueue`` are not
provided: they would block the loop (``selectors`` then picks ``PollSelector``).
"""

from __future__ import annotations

import select as _std
import time
from collections.abc import Iterable
from select import *  # noqa: F401,F403 -- constants and error
from typing import Any

from ..hub import Waiter, find_loop
from . import adopt
from ._wait import READ, WRITE, original_poll, original_select, wait_any

_BLOCKING = ('epoll', 'devpoll', 'kqueue', 'kevent')
for _name in _BLOCKING:
    globals().pop(_name, None)
__all__ = [name for name in dir(_std) if not name.startswith('_') and name not in _BLOCKING]


adopt(_std, globals(), leave_out=_BLOCKING)


def _fileno(obj: Any) -> int:
    if isinstance(obj, int):
        fd = obj
    else:
        try:
            fd = obj.fileno()
        except AttributeError:
            raise TypeError('argument must be an int, or have a fileno() method.') from None
        if not isinstance(fd, int):
            raise TypeError('fileno() returned a non-integer')
    if fd < 0:
        raise ValueError(f'file descriptor cannot be a negative integer ({fd})')
    return fd


def select(rlist: Iterable[Any], wlist: Iterable[Any], xlist: Iterable[Any],
           timeout: float | None = None) -> tuple[list, list, list]:
    """``select.select``: wait until some of the objects are ready; park the task meanwhile."""
    rlist, wlist, xlist = list(rlist), list(wlist), list(xlist)
    if timeout is not None:
        if not isinstance(timeout, (int, float)):
            raise TypeError('timeout must be a float or None')
        if timeout < 0:
            raise ValueError('timeout must be non-negative')
    if find_loop() is None:
        return original_select(rlist, wlist, xlist, timeout)
    wanted: dict[int, int] = {}
    for obj in rlist:
        fd = _fileno(obj)
        wanted[fd] = wanted.get(fd, 0) | READ
    for obj in wlist:
        fd = _fileno(obj)
        wanted[fd] = wanted.get(fd, 0) | WRITE
    for obj in xlist:
        _fileno(obj)
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        ready = original_select(rlist, wlist, xlist, 0)
        if any(ready):
            return ready
        remaining = None
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return ready
        if not wanted:
            # Nothing to watch: select() is a sleep (forever without a timeout).
            Waiter().wait(remaining, 'select()')
            return ready
        wait_any(wanted, remaining, 'select()')


_POLL_TO_UV = ((POLLIN | POLLPRI, READ), (POLLOUT, WRITE))  # noqa: F405


class poll:
    """``select.poll()``: register descriptors, then ``poll(timeout_ms)`` parks the task."""

    def __init__(self) -> None:
        self._kernel = original_poll()
        self._events: dict[int, int] = {}

    def register(self, fd: Any, eventmask: int = POLLIN | POLLPRI | POLLOUT) -> None:  # noqa: F405
        fd = _fileno(fd)
        self._kernel.register(fd, eventmask)
        self._events[fd] = eventmask

    def modify(self, fd: Any, eventmask: int) -> None:
        fd = _fileno(fd)
        self._kernel.modify(fd, eventmask)
        self._events[fd] = eventmask

    def unregister(self, fd: Any) -> None:
        fd = _fileno(fd)
        self._kernel.unregister(fd)
        del self._events[fd]

    def poll(self, timeout: float | None = None) -> list[tuple[int, int]]:
        """Wait up to *timeout* milliseconds (None or negative: forever) for events."""
        if timeout is not None:
            timeout = float(timeout)
            if timeout < 0:
                timeout = None
        if find_loop() is None:
            return self._kernel.poll(timeout)
        wanted = {}
        for fd, mask in self._events.items():
            uv_mask = 0
            for poll_bits, uv_bit in _POLL_TO_UV:
                if mask & poll_bits:
                    uv_mask |= uv_bit
            # Errors and hang-ups are always reported: waiting for reading sees them.
            wanted[fd] = uv_mask or READ
        deadline = None if timeout is None else time.monotonic() + timeout / 1000.0
        while True:
            events = self._kernel.poll(0)
            if events:
                return events
            remaining = None
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return events
            if not wanted:
                # Nothing registered: poll() is a sleep (forever without a timeout).
                Waiter().wait(remaining, 'poll()')
                return []
            wait_any(wanted, remaining, 'poll()')


__all__ += ['select', 'poll']
__all__ = sorted(set(__all__))
