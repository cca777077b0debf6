"""Waiting for a file descriptor to become readable or writable, cooperatively.

The cooperative stdlib modules (socket, select, ssl, subprocess) all come here:
they try the system call first (sockets are non-blocking; subprocess pipes stay
blocking and are asked with ``poll()`` first) and, when it would block, park
the task until libuv says the descriptor is ready. Waiting never changes a
descriptor's blocking mode.

libuv allows one poll watcher per descriptor and loop, so watchers live in a
registry per loop and are shared by every task waiting on that descriptor. A
watcher stays started while tasks wait (a task that reads again right after
being woken -- the usual pattern -- costs no system call to re-arm it) and is
stopped when an event finds nobody waiting.

In a thread that has no evergreen loop (a worker of a thread pool, say) a
wait simply blocks that thread in ``poll()``, as the standard library would.
"""

from __future__ import annotations

import errno
import os
import select as _select
import time
from typing import Any

import pyuv

from rose.errors import from_pyuv_error

from ..hub import TIMED_OUT, HubCore, Waiter, find_loop, remove_identical

__all__ = ['READ', 'WRITE', 'wait_fd', 'wait_any', 'forget_fd', 'original_poll', 'original_select']

READ = pyuv.UV_READABLE
WRITE = pyuv.UV_WRITABLE

# The real ones, whatever the patcher does to the select module later.
original_poll = _select.poll
original_select = _select.select


class _Watcher:
    """The tasks waiting on one descriptor of one loop, and its libuv poll handle."""

    __slots__ = ('loop', 'fd', 'poll', 'readers', 'writers', 'mask', 'on_events')

    def __init__(self, loop: HubCore, fd: int) -> None:
        self.loop = loop
        self.fd = fd
        self.readers: list[Waiter] = []
        self.writers: list[Waiter] = []
        self.mask = 0
        self.on_events = self._on_events
        # libuv's uv_poll_init() makes the descriptor non-blocking, but the
        # mode belongs to the open file description, which other processes
        # may share (a pipe end handed to a child, an inherited stdin): put a
        # blocking one back as it was. Readiness does not depend on the mode.
        try:
            was_blocking = os.get_blocking(fd)
        except OSError as exc:
            raise OSError(exc.errno, f'cannot watch fd {fd}: {exc.strerror}') from None
        try:
            self.poll = pyuv.Poll(loop.uv_loop, fd)
        except pyuv.error.PollError as exc:
            raise from_pyuv_error(exc, f'cannot watch fd {fd}') from None
        if was_blocking:
            os.set_blocking(fd, True)

    def arm(self, mask: int) -> None:
        """Watch for the events in *mask* (READ, WRITE, both or none)."""
        if mask == self.mask:
            return
        if mask:
            self.poll.start(mask, self.on_events)
        else:
            self.poll.stop()
        self.mask = mask

    def _on_events(self, poll: Any, events: int, error: int | None) -> None:
        if error is not None:
            # Wake both sides: their next system call reports what is wrong.
            events = READ | WRITE
        if events & READ and self.readers:
            readers, self.readers = self.readers, []
            for waiter in readers:
                waiter.switch(None)
        if events & WRITE and self.writers:
            writers, self.writers = self.writers, []
            for waiter in writers:
                waiter.switch(None)
        if not self.poll.closed:
            self.arm((READ if self.readers else 0) | (WRITE if self.writers else 0))

    def add(self, event: int, waiter: Waiter) -> None:
        """Wake *waiter* (with None) at the next *event* (READ or WRITE)."""
        (self.readers if event == READ else self.writers).append(waiter)
        self.arm(self.mask | event)

    def discard(self, waiter: Waiter) -> None:
        """Forget *waiter*, if it is still here (its wait has ended)."""
        remove_identical(self.readers, waiter)
        remove_identical(self.writers, waiter)

    def close(self) -> None:
        """Forget the descriptor; tasks still waiting are woken (their next call fails)."""
        registry = _registry(self.loop)
        if registry.get(self.fd) is self:
            del registry[self.fd]
        if not self.poll.closed:
            self.poll.close()
        for waiter in self.readers + self.writers:
            waiter.wake()


def _registry(loop: HubCore) -> dict[int, _Watcher]:
    registry = getattr(loop, '_evergreen_fd_watchers', None)
    if registry is None:
        registry = loop._evergreen_fd_watchers = {}
    return registry


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
    # A closed loop serves nothing, and only rose-based loops have uv_loop
    # (looked up on the class: on a closed rose loop the property raises).
    if loop is None or loop.is_closed() or not hasattr(type(loop), 'uv_loop'):
        return _blocking_poll(fd, event, timeout)
    watcher = _watcher(loop, fd)
    waiter = Waiter(loop)
    try:
        watcher.add(event, waiter)
        outcome = waiter.wait(timeout, 'waiting for a file descriptor')
    finally:
        watcher.discard(waiter)
    return outcome is not TIMED_OUT


def _watcher(loop: HubCore, fd: int) -> _Watcher:
    registry = _registry(loop)
    watcher = registry.get(fd)
    if watcher is None or watcher.poll.closed:
        watcher = registry[fd] = _Watcher(loop, fd)
    return watcher


def wait_any(wanted: dict[int, int], timeout: float | None, what: str) -> None:
    """Park until one of the descriptors (fd: READ|WRITE) may be ready, or *timeout*.

    Needs an evergreen loop with ``uv_loop`` in this thread (``select`` checks).
    One Waiter is handed to every descriptor: the first event wakes it, the
    others find the wait over and are dropped.
    """
    loop = find_loop()
    registry = _registry(loop)
    waiter = Waiter(loop)
    watching: list[_Watcher] = []
    temporary: list[_Watcher] = []
    try:
        for fd, events in wanted.items():
            if fd not in registry or registry[fd].poll.closed:
                temporary.append(_watcher(loop, fd))
            watcher = registry[fd]
            watching.append(watcher)
            for event in (READ, WRITE):
                if events & event:
                    watcher.add(event, waiter)
        waiter.wait(timeout, what)
    finally:
        for watcher in watching:
            watcher.discard(waiter)
        for watcher in temporary:
            # Not a cooperative socket's watcher: do not keep watching a
            # descriptor we know nothing about (it may be closed any time).
            if not watcher.readers and not watcher.writers:
                watcher.close()


def forget_fd(fd: int) -> None:
    """The descriptor is about to be closed: drop its watchers (on this thread's loop)."""
    try:
        loop = find_loop()
    except RuntimeError:
        # A socket collected while greenlets are being torn down (interpreter
        # exit): no loop will watch anything any more.
        return
    if loop is None:
        return
    registry = getattr(loop, '_evergreen_fd_watchers', None)
    if registry:
        watcher = registry.get(fd)
        if watcher is not None:
            watcher.close()
