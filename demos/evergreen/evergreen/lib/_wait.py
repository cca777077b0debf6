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
from collections.abc import Callable
from typing import Any

import pyuv
from greenlet import getcurrent

from ..loop import TIMED_OUT, HubMixin, Waiter, _blocking_in_loop, _find_loop

__all__ = ['READ', 'WRITE', 'wait_fd', 'forget_fd', 'original_poll', 'original_select']

READ = pyuv.UV_READABLE
WRITE = pyuv.UV_WRITABLE

# The real ones, whatever the patcher does to the select module later.
original_poll = _select.poll
original_select = _select.select


class _Watcher:
    """The tasks waiting on one descriptor of one loop, and its libuv poll handle."""

    __slots__ = ('loop', 'fd', 'poll', 'readers', 'writers', 'mask', 'on_events')

    def __init__(self, loop: HubMixin, fd: int) -> None:
        self.loop = loop
        self.fd = fd
        self.readers: list[Callable[[Any], None]] = []
        self.writers: list[Callable[[Any], None]] = []
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
            raise OSError(-exc.args[0], f'cannot watch fd {fd}: {exc.args[1]}') from None
        if was_blocking:
            os.set_blocking(fd, True)

    def _arm(self, mask: int) -> None:
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
            for deliver in readers:
                deliver(None)
        if events & WRITE and self.writers:
            writers, self.writers = self.writers, []
            for deliver in writers:
                deliver(None)
        if not self.poll.closed:
            self._arm((READ if self.readers else 0) | (WRITE if self.writers else 0))

    def wait(self, event: int, timeout: float | None) -> bool:
        """Park until *event* (READ or WRITE); False if *timeout* expired first."""
        loop = self.loop
        current = getcurrent()
        if current is loop._hub:
            raise _blocking_in_loop('waiting for a file descriptor')
        waiters = self.readers if event == READ else self.writers
        if loop._thread_id is not None:
            deliver = current.switch
        else:
            waiter = Waiter(loop)
            deliver = waiter.switch
        waiters.append(deliver)
        timer = None
        if timeout is not None:
            timer = loop.call_later(max(timeout, 0.0), self._expire, waiters, deliver)
        try:
            self._arm(self.mask | event)
            if loop._thread_id is not None:
                outcome = loop._hub.switch()
            else:
                outcome = waiter.wait()
        finally:
            if timer is not None:
                timer.cancel()
            for index, candidate in enumerate(waiters):
                if candidate is deliver:
                    del waiters[index]
                    break
        return outcome is not TIMED_OUT

    def _expire(self, waiters: list, deliver: Callable[[Any], None]) -> None:
        for index, candidate in enumerate(waiters):
            if candidate is deliver:
                del waiters[index]
                deliver(TIMED_OUT)
                return

    def close(self) -> None:
        """Forget the descriptor; tasks still waiting are woken (their next call fails)."""
        registry = _registry(self.loop)
        if registry.get(self.fd) is self:
            del registry[self.fd]
        if not self.poll.closed:
            self.poll.close()
        for deliver in self.readers + self.writers:
            self.loop.call_soon(self._wake_if_waiting, deliver)

    def _wake_if_waiting(self, deliver: Callable[[Any], None]) -> None:
        for waiters in (self.readers, self.writers):
            for index, candidate in enumerate(waiters):
                if candidate is deliver:
                    del waiters[index]
                    deliver(None)
                    return


def _registry(loop: HubMixin) -> dict[int, _Watcher]:
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
    loop = _find_loop()
    # A closed loop serves nothing, and only rose-based loops have uv_loop
    # (looked up on the class: on a closed rose loop the property raises).
    if loop is None or loop.is_closed() or not hasattr(type(loop), 'uv_loop'):
        return _blocking_poll(fd, event, timeout)
    registry = _registry(loop)
    watcher = registry.get(fd)
    if watcher is None or watcher.poll.closed:
        watcher = registry[fd] = _Watcher(loop, fd)
    return watcher.wait(event, timeout)


def forget_fd(fd: int) -> None:
    """The descriptor is about to be closed: drop its watchers (on this thread's loop)."""
    try:
        loop = _find_loop()
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
