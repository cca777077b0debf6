"""Tasks wait for file descriptors through the loop's own ``add_reader``/``add_writer``.

libuv allows one poll handle per descriptor and loop, and rose keeps one per
descriptor in its registry; asyncio's selector loop has one selector. So
evergreen keeps no poll handles of its own: a task waiting for a descriptor
is a :class:`~evergreen.hub.Waiter` in a per-descriptor list, and the loop's
reader (or writer) for that descriptor is a dispatcher that wakes the list.
A callback registered with ``add_reader``/``add_writer`` on the same
descriptor is kept beside the waiting tasks and called by the dispatcher, so
both work at once; while no task waits on that side, the callback is the
loop's reader itself, as on any asyncio loop.

The dispatcher stays registered while tasks keep waiting (a task that reads
again right after being woken -- the usual pattern -- costs no
re-registration) and is unregistered when an event finds nobody waiting.
Registering never changes a descriptor's blocking mode (libuv's poll handle
makes it non-blocking, and the mode belongs to the open file description,
which other processes may share: a pipe end handed to a child, an inherited
stdin): a blocking descriptor is put back as it was.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from .hub import Waiter, remove_identical

__all__ = ['READ', 'WRITE', 'FdWaits']

# The values of pyuv.UV_READABLE and UV_WRITABLE.
READ = 1
WRITE = 2
_SIDES = ((READ, 0), (WRITE, 1))


def _fd_number(fileobj: Any) -> int:
    if isinstance(fileobj, int):
        return fileobj
    try:
        return int(fileobj.fileno())
    except (AttributeError, TypeError, ValueError):
        return -1


class _Descriptor:
    """What waits on one descriptor: tasks and asyncio callbacks, per side (read, write)."""

    __slots__ = ('fd', 'waiters', 'callbacks', 'dispatching', 'on_ready')

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.waiters: list[list[Waiter]] = [[], []]
        # (fileobj, callback, args) given to add_reader / add_writer, per side.
        self.callbacks: list[tuple[Any, Callable[..., object], tuple] | None] = [None, None]
        # Whether the loop's reader / writer is our dispatcher (not the callback itself).
        self.dispatching = [False, False]
        self.on_ready = (self._on_readable, self._on_writable)

    def idle(self) -> bool:
        return not (self.waiters[0] or self.waiters[1] or self.callbacks[0] or self.callbacks[1])

    def _on_readable(self, loop: FdWaits) -> None:
        loop._fd_ready(self, 0)

    def _on_writable(self, loop: FdWaits) -> None:
        loop._fd_ready(self, 1)


class FdWaits:
    """Loop mixin: tasks wait for descriptors beside the loop's ``add_reader``/``add_writer``.

    Internal API (for :mod:`evergreen.lib`): ``watch_fd``, ``unwatch_fd``,
    ``release_fd`` and ``forget_fd_waits``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._fd_waits: dict[int, _Descriptor] = {}

    # ------------------------------------------------------------------
    # Tasks

    def watch_fd(self: Any, fd: int, event: int, waiter: Waiter) -> None:
        """Hand *waiter* to the next *event* on *fd* (the caller waits and unwatches it)."""
        self._watch_fd(fd, event, waiter)

    def unwatch_fd(self, fd: int, waiter: Waiter) -> None:
        """Take *waiter* back from *fd*'s lists, if it is still there."""
        descriptor = self._fd_waits.get(fd)
        if descriptor is not None:
            remove_identical(descriptor.waiters[0], waiter)
            remove_identical(descriptor.waiters[1], waiter)

    def release_fd(self, fd: int) -> None:
        """Stop watching *fd* for tasks now if none waits (not at its next event)."""
        descriptor = self._fd_waits.get(fd)
        if descriptor is not None:
            for _, side in _SIDES:
                if not descriptor.waiters[side]:
                    self._stop_dispatching(descriptor, side)
            self._drop_if_idle(descriptor)

    def forget_fd_waits(self, fd: int) -> None:
        """*fd* is about to be closed: wake the tasks waiting on it (their next call fails)."""
        descriptor = self._fd_waits.get(fd)
        if descriptor is None:
            return
        for _, side in _SIDES:
            waiters, descriptor.waiters[side] = descriptor.waiters[side], []
            for waiter in waiters:
                waiter.wake()
            self._stop_dispatching(descriptor, side)
        self._drop_if_idle(descriptor)

    def _watch_fd(self: Any, fd: int, event: int, waiter: Waiter) -> _Descriptor:
        descriptor = self._fd_waits.get(fd)
        if descriptor is None:
            descriptor = self._fd_waits[fd] = _Descriptor(fd)
        side = 0 if event == READ else 1
        descriptor.waiters[side].append(waiter)
        if not descriptor.dispatching[side]:
            try:
                self._register_fd_callback(fd, side, descriptor.on_ready[side], self)
            except BaseException:
                remove_identical(descriptor.waiters[side], waiter)
                self._drop_if_idle(descriptor)
                raise
            descriptor.dispatching[side] = True
        return descriptor

    def _fd_ready(self, descriptor: _Descriptor, side: int) -> None:
        # The asyncio callback first: it does not block, and peeks at what is
        # there before a woken task takes it.
        callback = descriptor.callbacks[side]
        try:
            if callback is not None:
                callback[1](*callback[2])
        finally:
            waiters, descriptor.waiters[side] = descriptor.waiters[side], []
            for waiter in waiters:
                waiter.switch(None)
        if not descriptor.waiters[side]:
            # Nobody waits again: hand the descriptor back to the callback, or let it go.
            self._stop_dispatching(descriptor, side)
            self._drop_if_idle(descriptor)

    def _stop_dispatching(self, descriptor: _Descriptor, side: int) -> None:
        if not descriptor.dispatching[side]:
            return
        descriptor.dispatching[side] = False
        callback = descriptor.callbacks[side]
        if callback is not None:
            self._register_fd_callback(callback[0], side, callback[1], *callback[2])
            return
        try:
            if side == 0:
                super().remove_reader(descriptor.fd)
            else:
                super().remove_writer(descriptor.fd)
        except (OSError, ValueError):
            # Closed under the waiting tasks (they were woken, their next call
            # fails): the loop has nothing left to stop watching.
            pass

    def _register_fd_callback(self, fileobj: Any, side: int, callback: Callable[..., object], *args: Any) -> None:
        fd = _fd_number(fileobj)
        try:
            was_blocking = os.get_blocking(fd)
        except OSError:
            was_blocking = False
        if side == 0:
            super().add_reader(fileobj, callback, *args)
        else:
            super().add_writer(fileobj, callback, *args)
        if was_blocking:
            os.set_blocking(fd, True)

    def _drop_if_idle(self, descriptor: _Descriptor) -> None:
        if descriptor.idle() and self._fd_waits.get(descriptor.fd) is descriptor:
            del self._fd_waits[descriptor.fd]

    # ------------------------------------------------------------------
    # asyncio's API, beside the tasks

    def add_reader(self, fd: Any, callback: Callable[..., object], *args: Any) -> None:
        """As asyncio's: call ``callback(*args)`` when *fd* is readable (tasks may wait on it too)."""
        self._add_user_callback(fd, 0, callback, args)

    def add_writer(self, fd: Any, callback: Callable[..., object], *args: Any) -> None:
        """As asyncio's: call ``callback(*args)`` when *fd* is writable (tasks may wait on it too)."""
        self._add_user_callback(fd, 1, callback, args)

    def remove_reader(self, fd: Any) -> bool:
        """As asyncio's: stop calling *fd*'s reader; True if there was one."""
        return self._remove_user_callback(fd, 0)

    def remove_writer(self, fd: Any) -> bool:
        """As asyncio's: stop calling *fd*'s writer; True if there was one."""
        return self._remove_user_callback(fd, 1)

    def _add_user_callback(self: Any, fileobj: Any, side: int, callback: Callable[..., object],
                      args: tuple) -> None:
        fd = _fd_number(fileobj)
        descriptor = self._fd_waits.get(fd)
        if descriptor is None or not descriptor.dispatching[side]:
            # No task waits on that side: the loop calls the callback itself.
            if side == 0:
                super().add_reader(fileobj, callback, *args)
            else:
                super().add_writer(fileobj, callback, *args)
            if descriptor is None:
                descriptor = self._fd_waits[fd] = _Descriptor(fd)
        descriptor.callbacks[side] = (fileobj, callback, args)

    def _remove_user_callback(self: Any, fileobj: Any, side: int) -> bool:
        fd = _fd_number(fileobj)
        descriptor = self._fd_waits.get(fd)
        if descriptor is None and fd < 0:
            # Closed since: found by the object registered, as asyncio finds it.
            for candidate in self._fd_waits.values():
                registered = candidate.callbacks[side]
                if registered is not None and registered[0] is fileobj:
                    descriptor = candidate
                    break
        if descriptor is None or not descriptor.dispatching[side]:
            if descriptor is not None:
                descriptor.callbacks[side] = None
                self._drop_if_idle(descriptor)
            if side == 0:
                return super().remove_reader(fileobj)
            return super().remove_writer(fileobj)
        had = descriptor.callbacks[side] is not None
        descriptor.callbacks[side] = None
        return had

