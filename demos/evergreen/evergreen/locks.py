"""evergreen.locks: ``threading``'s synchronization primitives, for tasks.

Same names, signatures, errors and semantics as ``threading`` (``acquire(blocking,
timeout)``, ``with``, ``Condition.wait_for``, ``Barrier``'s BrokenBarrierError),
with two guarantees threads do not give:

* wake-ups are FIFO: a released Lock or Semaphore is handed to the task that
  has waited longest (a releasing task cannot take it back before that task
  runs), ``Condition.notify`` wakes the oldest waiter;
* a wake-up is never lost: if the task it was given to is interrupted
  (timeout, kill) before it runs, it passes to the next waiter.

Waiting blocks only the calling task. The primitives are meant for the tasks
of one loop; a Lock may be released from another thread, though (the wake-up
goes through ``call_soon_threadsafe``).
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from threading import BrokenBarrierError
from types import TracebackType
from typing import Any

from .hub import Waiter, current_owner

__all__ = ['Lock', 'RLock', 'Semaphore', 'BoundedSemaphore', 'Condition', 'Event', 'Barrier',
           'BrokenBarrierError']

_TIMEOUT_MAX = threading.TIMEOUT_MAX


def _lock_timeout(blocking: bool, timeout: float) -> float | None:
    """Check acquire()'s arguments as _thread does; return the timeout (None: forever)."""
    if not blocking:
        if timeout != -1:
            raise ValueError("can't specify a timeout for a non-blocking call")
        return 0.0
    if timeout == -1:
        return None
    if timeout != timeout:
        raise ValueError('Invalid value NaN (not a number)')
    if timeout < 0:
        raise ValueError('timeout value must be a non-negative number')
    if timeout > _TIMEOUT_MAX:
        raise OverflowError('timeout value is too large')
    return float(timeout)


class _HandOff:
    """A FIFO of waiters to which units (a lock, semaphore permits) are handed directly.

    ``take(timeout)`` waits for a unit and returns True once one was handed
    over; ``give()`` hands one to the oldest waiter and returns True, or
    returns False if nobody waits (the caller keeps the unit).
    """

    __slots__ = ('waiters',)

    def __init__(self) -> None:
        # The waiters, oldest first (Lock's hot paths use the deque itself).
        self.waiters: collections.deque[Waiter] = collections.deque()

    def __len__(self) -> int:
        return len(self.waiters)

    def take(self, timeout: float | None, give_back: Callable[[], None]) -> bool:
        waiter = Waiter()
        self.waiters.append(waiter)
        try:
            waiter.wait(timeout)
        except BaseException:
            if waiter.notified:
                give_back()
            else:
                self.waiters.remove(waiter)
            raise
        if waiter.notified:
            return True
        self.waiters.remove(waiter)
        return False

    def give(self) -> bool:
        if not self.waiters:
            return False
        self.waiters.popleft().wake()
        return True

    def clear(self) -> None:
        self.waiters.clear()


class Lock:
    """A lock, as ``threading.Lock``: any task may release it; wake-ups are FIFO."""

    def __init__(self) -> None:
        self._locked = False
        self._queue = _HandOff()
        self._waiters = self._queue.waiters

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """Acquire the lock; return False if *blocking* is false or *timeout* expires first."""
        # (The usual call, blocking without a timeout, checks no arguments.)
        wait = None if timeout == -1 and blocking is True else _lock_timeout(blocking, timeout)
        if not self._locked:
            self._locked = True
            return True
        if wait == 0:
            return False
        if wait is not None:
            return self._queue.take(wait, self._pass_on)
        # _HandOff.take() without a timeout, inlined: every contended acquire comes here.
        waiter = Waiter()
        waiters = self._waiters
        waiters.append(waiter)
        try:
            waiter.wait()
        except BaseException:
            if waiter.notified:
                self._pass_on()
            else:
                waiters.remove(waiter)
            raise
        return True

    def release(self) -> None:
        """Release the lock (to the oldest waiter, if any). RuntimeError if it is not locked."""
        if not self._locked:
            raise RuntimeError('release unlocked lock')
        # _pass_on(), inlined.
        waiters = self._waiters
        if waiters:
            waiters.popleft().wake()
        else:
            self._locked = False

    def _pass_on(self) -> None:
        if not self._queue.give():
            self._locked = False

    def locked(self) -> bool:
        return self._locked

    def _at_fork_reinit(self) -> None:
        self._locked = False
        self._queue.clear()

    __enter__ = acquire

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        # release(), inlined: a with block ends here.
        if not self._locked:
            raise RuntimeError('release unlocked lock')
        waiters = self._waiters
        if waiters:
            waiters.popleft().wake()
        else:
            self._locked = False

    def __repr__(self) -> str:
        state = 'locked' if self._locked else 'unlocked'
        return (f'<{state} {type(self).__module__}.{type(self).__qualname__} object '
                f'waiters={len(self._queue)} at {id(self):#x}>')


class RLock:
    """A reentrant lock, as ``threading.RLock``: owned by the task (or greenlet) that acquired it."""

    def __init__(self) -> None:
        self._block = Lock()
        self._owner: Any = None
        self._count = 0

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        me = current_owner()
        if self._owner is me:
            _lock_timeout(blocking, timeout)
            self._count += 1
            return True
        if not self._block.acquire(blocking, timeout):
            return False
        self._owner = me
        self._count = 1
        return True

    __enter__ = acquire

    def release(self) -> None:
        if self._owner is not current_owner():
            raise RuntimeError('cannot release un-acquired lock')
        self._count -= 1
        if self._count == 0:
            self._owner = None
            self._block.release()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()

    def locked(self) -> bool:
        return self._block.locked()

    # What Condition needs to release an RLock completely and take it back.
    def _is_owned(self) -> bool:
        return self._owner is current_owner()

    def _release_save(self) -> tuple[int, Any]:
        if self._count == 0:
            raise RuntimeError('cannot release un-acquired lock')
        state = (self._count, self._owner)
        self._count = 0
        self._owner = None
        self._block.release()
        return state

    def _acquire_restore(self, state: tuple[int, Any]) -> None:
        self._block.acquire()
        self._count, self._owner = state

    def _recursion_count(self) -> int:
        return self._count if self._owner is current_owner() else 0

    def _at_fork_reinit(self) -> None:
        self._block._at_fork_reinit()
        self._owner = None
        self._count = 0

    def __repr__(self) -> str:
        owner = self._owner
        state = 'locked' if self._block.locked() else 'unlocked'
        # The owner is a task, or a greenlet that is not one (see current_owner()).
        name = getattr(owner, 'name', None)
        owner_name = name if isinstance(name, str) else ('a greenlet' if owner is not None else None)
        return (f'<{state} {type(self).__module__}.{type(self).__qualname__} object '
                f'owner={owner_name!r} count={self._count} at {id(self):#x}>')


class Condition:
    """A condition variable, as ``threading.Condition``; ``notify`` wakes the oldest waiter."""

    def __init__(self, lock: Any = None) -> None:
        if lock is None:
            lock = RLock()
        self._lock = lock
        self.acquire = lock.acquire
        self.release = lock.release
        # threading.Condition exports locked() from 3.14 on; evergreen's on every
        # version (its locks all have it). A lock without one leaves it out.
        for name in ('locked', '_release_save', '_acquire_restore', '_is_owned'):
            method = getattr(lock, name, None)
            if method is not None:
                setattr(self, name, method)
        self._waiters: collections.deque[Waiter] = collections.deque()

    def __enter__(self) -> bool:
        return self._lock.__enter__()

    def __exit__(self, *exc_info: Any) -> Any:
        return self._lock.__exit__(*exc_info)

    # For locks without these (a plain Lock): release and take back, and an
    # ownership test that can only tell whether it is locked at all.
    def _release_save(self) -> None:
        self._lock.release()

    def _acquire_restore(self, state: None) -> None:
        self._lock.acquire()

    def _is_owned(self) -> bool:
        if self._lock.acquire(False):
            self._lock.release()
            return False
        return True

    def wait(self, timeout: float | None = None) -> bool:
        """Release the lock, wait for notify() (or *timeout*), take the lock back.

        Returns False if the timeout expired without a notification.
        """
        if not self._is_owned():
            raise RuntimeError('cannot wait on un-acquired lock')
        waiter = Waiter()
        self._waiters.append(waiter)
        saved = self._release_save()
        try:
            try:
                waiter.wait(timeout)
            except BaseException:
                if waiter.notified:
                    # Do not swallow the notification: give it to the next waiter.
                    self._notify_waiters(1)
                raise
            finally:
                if not waiter.notified:
                    self._waiters.remove(waiter)
            return waiter.notified
        finally:
            self._acquire_restore(saved)

    def wait_for(self, predicate: Callable[[], Any], timeout: float | None = None) -> Any:
        """Wait until ``predicate()`` is true, checking it after every wake-up; return its last value.

        With a *timeout*, give up when that much time has passed in total.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            remaining = None
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return value
            self.wait(remaining)

    def notify(self, n: int = 1) -> None:
        """Wake up to *n* waiting tasks, oldest first. The lock must be held."""
        if not self._is_owned():
            raise RuntimeError('cannot notify on un-acquired lock')
        self._notify_waiters(n)

    def _notify_waiters(self, n: int) -> None:
        waiters = self._waiters
        while n > 0 and waiters:
            waiters.popleft().wake()
            n -= 1

    def notify_all(self) -> None:
        """Wake every waiting task. The lock must be held."""
        self.notify(len(self._waiters))

    def __repr__(self) -> str:
        return f'<{type(self).__module__}.{type(self).__qualname__}({self._lock}, {len(self._waiters)})>'


class Semaphore:
    """A counting semaphore, as ``threading.Semaphore``; permits go to waiters in FIFO order."""

    def __init__(self, value: int = 1) -> None:
        if value < 0:
            raise ValueError('semaphore initial value must be >= 0')
        self._value = value
        self._queue = _HandOff()

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        """Take a permit; return False if *blocking* is false or *timeout* expires first."""
        if not blocking and timeout is not None:
            raise ValueError("can't specify timeout for non-blocking acquire")
        if self._value > 0:
            self._value -= 1
            return True
        if not blocking or (timeout is not None and timeout <= 0):
            return False
        return self._queue.take(timeout, self._release_one)

    __enter__ = acquire

    def release(self, n: int = 1) -> None:
        """Give back *n* permits, each to the oldest waiter if there is one."""
        if n < 1:
            raise ValueError('n must be one or more')
        for _ in range(n):
            self._release_one()

    def _release_one(self) -> None:
        if not self._queue.give():
            self._value += 1

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()

    def __repr__(self) -> str:
        return (f'<{type(self).__module__}.{type(self).__qualname__} at {id(self):#x}: '
                f'value={self._value}>')


class BoundedSemaphore(Semaphore):
    """A semaphore that refuses to be released more times than it was acquired."""

    def __init__(self, value: int = 1) -> None:
        super().__init__(value)
        self._initial_value = value

    def release(self, n: int = 1) -> None:
        if n < 1:
            raise ValueError('n must be one or more')
        # Permits handed to waiters are held by them: only _value counts as free.
        if self._value + n > self._initial_value:
            raise ValueError('Semaphore released too many times')
        super().release(n)

    def __repr__(self) -> str:
        return (f'<{type(self).__module__}.{type(self).__qualname__} at {id(self):#x}: '
                f'value={self._value}/{self._initial_value}>')


class Event:
    """An event flag, as ``threading.Event``."""

    def __init__(self) -> None:
        self._flag = False
        self._waiters: list[Waiter] = []

    def is_set(self) -> bool:
        return self._flag

    def set(self) -> None:
        """Set the flag and wake every waiting task."""
        self._flag = True
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            waiter.wake()

    def clear(self) -> None:
        self._flag = False

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the flag is set (at most *timeout* seconds); return True if it was set."""
        if self._flag:
            return True
        if timeout is not None and timeout <= 0:
            return False
        waiter = Waiter()
        self._waiters.append(waiter)
        try:
            waiter.wait(timeout)
        finally:
            if not waiter.notified:
                self._waiters.remove(waiter)
        return waiter.notified or self._flag

    def _at_fork_reinit(self) -> None:
        self._flag = False
        self._waiters = []

    def __repr__(self) -> str:
        state = 'set' if self._flag else 'unset'
        return f'<{type(self).__module__}.{type(self).__qualname__} at {id(self):#x}: {state}>'


class _Round:
    """One round of a Barrier: the tasks that wait together, and how it ended."""

    __slots__ = ('count', 'passed', 'broken')

    def __init__(self) -> None:
        self.count = 0
        self.passed = False
        self.broken = False


class Barrier:
    """A barrier for *parties* tasks, as ``threading.Barrier``.

    The last task to arrive runs *action* (if any) and releases the round;
    ``wait`` returns each task's arrival index (0 to parties - 1). A timeout,
    an exception in the action, ``abort()`` or an interrupted waiter break the
    barrier: waiting and later tasks get BrokenBarrierError until ``reset()``.
    """

    def __init__(self, parties: int, action: Callable[[], object] | None = None,
                 timeout: float | None = None) -> None:
        if parties < 1:
            raise ValueError('parties must be >= 1')
        self._parties = parties
        self._action = action
        self._timeout = timeout
        self._cond = Condition(Lock())
        self._round = _Round()
        self._broken = False

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the others; return this task's arrival index."""
        if timeout is None:
            timeout = self._timeout
        with self._cond:
            if self._broken:
                raise BrokenBarrierError
            this_round = self._round
            index = this_round.count
            this_round.count += 1
            if this_round.count == self._parties:
                try:
                    if self._action is not None:
                        self._action()
                except BaseException:
                    self._break()
                    raise
                this_round.passed = True
                self._round = _Round()
                self._cond.notify_all()
                return index
            try:
                ended = self._cond.wait_for(lambda: this_round.passed or this_round.broken, timeout)
            except BaseException:
                if not this_round.passed:
                    self._break()
                raise
            if this_round.passed:
                return index
            if not ended:
                self._break()
            raise BrokenBarrierError

    def _break(self) -> None:
        self._broken = True
        self._round.broken = True
        self._cond.notify_all()

    def abort(self) -> None:
        """Break the barrier: current and future waiters get BrokenBarrierError."""
        with self._cond:
            self._break()

    def reset(self) -> None:
        """Empty the barrier; tasks waiting on it now get BrokenBarrierError."""
        with self._cond:
            if self._round.count:
                self._round.broken = True
                self._cond.notify_all()
            self._round = _Round()
            self._broken = False

    @property
    def parties(self) -> int:
        return self._parties

    @property
    def n_waiting(self) -> int:
        """How many tasks wait in the current round."""
        return 0 if self._broken else self._round.count

    @property
    def broken(self) -> bool:
        return self._broken

    def __repr__(self) -> str:
        if self._broken:
            return f'<{type(self).__module__}.{type(self).__qualname__} at {id(self):#x}: broken>'
        return (f'<{type(self).__module__}.{type(self).__qualname__} at {id(self):#x}: '
                f'waiters={self.n_waiting}/{self._parties}>')
