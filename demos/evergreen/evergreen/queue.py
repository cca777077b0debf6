"""evergreen.queue: the ``queue`` module's queues, for tasks.

Queue, LifoQueue, PriorityQueue and SimpleQueue with the standard signatures
and semantics -- ``put``/``get`` with *block* and *timeout*, ``task_done`` and
``join``, ``Empty`` and ``Full`` (the very exceptions of the ``queue`` module,
so existing ``except queue.Empty`` clauses work), and ``shutdown()`` as in
Python 3.13, on every version (``ShutDown`` is the queue module's own from 3.13,
evergreen's before). Blocked getters and putters are served oldest first.
Subclasses may override ``_init``, ``_qsize``, ``_put`` and ``_get`` as with the
stdlib.
"""

from __future__ import annotations

import collections
import heapq
import itertools
import queue as _stdlib_queue
import time
from queue import Empty, Full
from typing import Any

from .hub import Waiter

__all__ = ['Queue', 'LifoQueue', 'PriorityQueue', 'SimpleQueue', 'Empty', 'Full', 'ShutDown']


class _ShutDown(Exception):
    """Raised by put() on a shut-down queue, and by get() on one that is shut down and empty."""


ShutDown = getattr(_stdlib_queue, 'ShutDown', _ShutDown)
ShutDown.__doc__ = ShutDown.__doc__ or _ShutDown.__doc__


class _WaitLine:
    """Tasks waiting for a condition to change, woken one at a time, oldest first.

    A waiter's place is its ticket, taken when it first waits. A task that was
    woken but finds the condition false again (another task got there first)
    waits again with the same ticket, so it goes back ahead of everyone who
    came after it, and several such tasks keep their order among themselves.
    A wake-up given to a task that is interrupted before it runs is passed on.
    """

    __slots__ = ('_waiters', '_tickets')

    def __init__(self) -> None:
        # (ticket, waiter), in ticket order.
        self._waiters: collections.deque[tuple[int, Waiter]] = collections.deque()
        self._tickets = itertools.count()

    def __len__(self) -> int:
        return len(self._waiters)

    def wait(self, timeout: float | None, ticket: int | None = None) -> int:
        """Wait for a wake-up (at most *timeout* s) in *ticket*'s place; return the ticket.

        Without a ticket, take a new one: the back of the line.
        """
        if ticket is None:
            ticket = next(self._tickets)
        entry = (ticket, Waiter())
        waiters = self._waiters
        if not waiters or waiters[-1][0] < ticket:
            waiters.append(entry)
        else:
            # Waiting again: ahead of the first who came later (near the front).
            index = next(i for i, (other, _) in enumerate(waiters) if other > ticket)
            waiters.insert(index, entry)
        waiter = entry[1]
        try:
            waiter.wait(timeout)
        except BaseException:
            if waiter.notified:
                self.wake_one()
            raise
        finally:
            if not waiter.notified:
                waiters.remove(entry)
        return ticket

    def wake_one(self) -> None:
        if self._waiters:
            self._waiters.popleft()[1].wake()

    def wake_all(self) -> None:
        waiters, self._waiters = self._waiters, collections.deque()
        for _, waiter in waiters:
            waiter.wake()


def _deadline(block: bool, timeout: float | None) -> float | None:
    if block and timeout is not None:
        if timeout < 0:
            raise ValueError("'timeout' must be a non-negative number")
        return time.monotonic() + timeout
    return None


class Queue:
    """A FIFO queue for tasks, as ``queue.Queue``; *maxsize* <= 0 means unbounded."""

    def __init__(self, maxsize: int = 0) -> None:
        self.maxsize = maxsize
        self._init(maxsize)
        self._getters = _WaitLine()
        self._putters = _WaitLine()
        self._joiners = _WaitLine()
        self.unfinished_tasks = 0
        self.is_shutdown = False
        # Queue's own storage (a deque, not overridden): put() and get() use it directly.
        cls = type(self)
        self._plain_deque = (cls._init is Queue._init and cls._qsize is Queue._qsize
                             and cls._put is Queue._put and cls._get is Queue._get)

    # The storage, as in the queue module (override these in subclasses).
    def _init(self, maxsize: int) -> None:
        self.queue: Any = collections.deque()

    def _qsize(self) -> int:
        return len(self.queue)

    def _put(self, item: Any) -> None:
        self.queue.append(item)

    def _get(self) -> Any:
        return self.queue.popleft()

    # The API.
    def qsize(self) -> int:
        return self._qsize()

    def empty(self) -> bool:
        return not self._qsize()

    def full(self) -> bool:
        return 0 < self.maxsize <= self._qsize()

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        """Put *item*; if the queue is full, wait for room (Full if *block* is false or on timeout)."""
        if self.is_shutdown:
            raise ShutDown
        if self._plain_deque and timeout is None:
            items = self.queue
            if self.maxsize <= 0 or len(items) < self.maxsize:
                # Room now: the rest of put(), inlined.
                items.append(item)
                self.unfinished_tasks += 1
                if self._getters._waiters:
                    self._getters.wake_one()
                return
        # (The common case, a timeout of None, calls nothing before the item goes in.)
        deadline = _deadline(block, timeout) if timeout is not None and self.maxsize > 0 else None
        if 0 < self.maxsize <= self._qsize():
            if not block:
                raise Full
            ticket = None
            while 0 < self.maxsize <= self._qsize():
                remaining = None
                if deadline is not None:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise Full
                ticket = self._putters.wait(remaining, ticket)
                if self.is_shutdown:
                    raise ShutDown
        self._put(item)
        self.unfinished_tasks += 1
        if self._getters._waiters:
            self._getters.wake_one()

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        """Remove and return an item; wait for one if empty (Empty if *block* is false or on timeout)."""
        if self._plain_deque and timeout is None:
            items = self.queue
            if items:
                # An item now: the rest of get(), inlined.
                item = items.popleft()
                if self._putters._waiters:
                    self._putters.wake_one()
                if self._getters._waiters and items:
                    self._getters.wake_one()
                return item
        deadline = _deadline(block, timeout) if timeout is not None else None
        if not self._qsize():
            if self.is_shutdown:
                raise ShutDown
            if not block:
                raise Empty
            ticket = None
            while not self._qsize():
                remaining = None
                if deadline is not None:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise Empty
                ticket = self._getters.wait(remaining, ticket)
                if self.is_shutdown and not self._qsize():
                    raise ShutDown
        item = self._get()
        if self._putters._waiters:
            self._putters.wake_one()
        if self._getters._waiters and self._qsize():
            # Items remain: the next getter need not wait for a put().
            self._getters.wake_one()
        return item

    def put_nowait(self, item: Any) -> None:
        self.put(item, block=False)

    def get_nowait(self) -> Any:
        return self.get(block=False)

    def task_done(self) -> None:
        """Mark one fetched item as processed; join() returns when all are."""
        if self.unfinished_tasks <= 0:
            raise ValueError('task_done() called too many times')
        self.unfinished_tasks -= 1
        if self.unfinished_tasks == 0:
            self._joiners.wake_all()

    def join(self) -> None:
        """Wait until every item put has been marked done with task_done()."""
        while self.unfinished_tasks:
            self._joiners.wait(None)

    def shutdown(self, immediate: bool = False) -> None:
        """Refuse further puts; with *immediate*, also drop the queued items.

        Blocked putters raise ShutDown; blocked getters raise it once the queue
        is empty (at once, with *immediate*). As ``queue.Queue.shutdown`` in 3.13.
        """
        self.is_shutdown = True
        if immediate:
            while self._qsize():
                self._get()
                if self.unfinished_tasks > 0:
                    self.unfinished_tasks -= 1
            # Joiners re-check: items being processed still count.
            self._joiners.wake_all()
        self._getters.wake_all()
        self._putters.wake_all()

    def __repr__(self) -> str:
        return (f'<{type(self).__module__}.{type(self).__qualname__} at {id(self):#x} '
                f'maxsize={self.maxsize} qsize={self._qsize()} getters={len(self._getters)} '
                f'putters={len(self._putters)} unfinished={self.unfinished_tasks}>')


class LifoQueue(Queue):
    """A last-in, first-out queue."""

    def _init(self, maxsize: int) -> None:
        self.queue = []

    def _qsize(self) -> int:
        return len(self.queue)

    def _put(self, item: Any) -> None:
        self.queue.append(item)

    def _get(self) -> Any:
        return self.queue.pop()


class PriorityQueue(Queue):
    """A queue that returns the smallest item first (entries are often (priority, data))."""

    def _init(self, maxsize: int) -> None:
        self.queue = []

    def _qsize(self) -> int:
        return len(self.queue)

    def _put(self, item: Any) -> None:
        heapq.heappush(self.queue, item)

    def _get(self) -> Any:
        return heapq.heappop(self.queue)


class SimpleQueue:
    """An unbounded FIFO queue without task tracking, as ``queue.SimpleQueue``."""

    def __init__(self) -> None:
        self._queue: collections.deque = collections.deque()
        self._getters = _WaitLine()

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        """Put *item*; never blocks (the arguments exist for compatibility with Queue)."""
        self._queue.append(item)
        self._getters.wake_one()

    def put_nowait(self, item: Any) -> None:
        self.put(item, block=False)

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        """Remove and return an item, waiting for one if needed (Empty if not *block* or on timeout)."""
        deadline = _deadline(block, timeout)
        if not self._queue:
            if not block:
                raise Empty
            ticket = None
            while not self._queue:
                remaining = None
                if deadline is not None:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise Empty
                ticket = self._getters.wait(remaining, ticket)
        item = self._queue.popleft()
        if self._queue:
            self._getters.wake_one()
        return item

    def get_nowait(self) -> Any:
        return self.get(block=False)

    def empty(self) -> bool:
        return not self._queue

    def qsize(self) -> int:
        return len(self._queue)

    def __repr__(self) -> str:
        return (f'<{type(self).__module__}.{type(self).__qualname__} at {id(self):#x} '
                f'qsize={len(self._queue)} getters={len(self._getters)}>')
