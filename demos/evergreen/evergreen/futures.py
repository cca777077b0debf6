"""evergreen.futures: ``concurrent.futures`` for tasks.

:class:`Future` *is* a ``concurrent.futures.Future`` (a subclass), so its
semantics, exceptions and reprs are the standard library's; only waiting
changes: ``result()``/``exception()`` called from a task (or from a thread that
runs an evergreen loop) block the task, not the thread. From a plain thread
they block the thread, as usual. A Future may be completed from any thread and
awaited by a coroutine.

:class:`TaskPoolExecutor` runs calls in tasks (cooperatively, for I/O-bound
work); :class:`ThreadPoolExecutor` in real threads (for blocking calls that
must not hold the loop); :class:`ProcessPoolExecutor` in worker processes (for
CPU-bound calls; it is the standard executor). All three return evergreen
Futures, and their ``map`` is the running Python's (``buffersize=`` from
3.14). ``wait`` and ``as_completed`` wait cooperatively too, for any
``concurrent.futures.Future``.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures as _cf
import itertools
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import (
    ALL_COMPLETED,
    FIRST_COMPLETED,
    FIRST_EXCEPTION,
    BrokenExecutor,
    CancelledError,
    Executor,
    InvalidStateError,
    TimeoutError,
)
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from greenlet import GreenletExit

from .hub import HubCore, Waiter, find_loop, get_loop
from .tasks import Task, TaskExit, current_task, joinall

__all__ = ['Future', 'Executor', 'TaskPoolExecutor', 'ThreadPoolExecutor', 'ProcessPoolExecutor',
           'wait', 'as_completed',
           'ALL_COMPLETED', 'FIRST_COMPLETED', 'FIRST_EXCEPTION', 'CancelledError',
           'TimeoutError', 'InvalidStateError', 'BrokenExecutor', 'BrokenProcessPool',
           'DoneAndNotDoneFutures']

DoneAndNotDoneFutures = _cf._base.DoneAndNotDoneFutures


def _forget_callback(future: _cf.Future, fn: Callable[[Any], object]) -> None:
    """Remove done-callback *fn* from *future*, if it is still registered."""
    with future._condition:
        try:
            future._done_callbacks.remove(fn)
        except ValueError:
            pass


class Future(_cf.Future):
    """A ``concurrent.futures.Future`` whose waits are cooperative.

    ``result(timeout)``, ``exception(timeout)``: inside a task they block only
    the task. ``await future`` works in a coroutine (cancelling the awaiting
    coroutine cancels the future, if it has not started).
    """

    def _wait_done(self, timeout: float | None) -> bool:
        """Wait cooperatively until done; False if it is not done after *timeout* (or no loop)."""
        loop = find_loop()
        if loop is None:
            return False
        waiter = Waiter(loop)

        def wake(_: Any) -> None:
            waiter.wake()

        self.add_done_callback(wake)
        try:
            waiter.wait(timeout)
        finally:
            _forget_callback(self, wake)
        return True

    def result(self, timeout: float | None = None) -> Any:
        if not self.done() and self._wait_done(timeout):
            timeout = 0
        return super().result(timeout)

    def exception(self, timeout: float | None = None) -> BaseException | None:
        if not self.done() and self._wait_done(timeout):
            timeout = 0
        return super().exception(timeout)

    def __await__(self):
        return asyncio.wrap_future(self).__await__()

    __iter__ = __await__


class _WorkItem:
    """One submitted call and the future for its outcome."""

    __slots__ = ('future', 'fn', 'args', 'kwargs')

    def __init__(self, future: Future, fn: Callable[..., Any], args: tuple, kwargs: dict) -> None:
        self.future, self.fn, self.args, self.kwargs = future, fn, args, kwargs

    def run(self) -> None:
        future = self.future
        with future._condition:
            # Cancelled and already notified (by shutdown(cancel_futures=True)).
            if future._state == _cf._base.CANCELLED_AND_NOTIFIED:
                return
            if not future.set_running_or_notify_cancel():
                return
        try:
            result = self.fn(*self.args, **self.kwargs)
        except (GreenletExit, TaskExit):
            future.set_exception(CancelledError('the worker running this call was killed'))
            raise
        except BaseException as exc:
            future.set_exception(exc)
        else:
            future.set_result(result)
        finally:
            self.fn = self.args = self.kwargs = None


class TaskPoolExecutor(Executor):
    """Run calls in at most *max_workers* concurrent tasks of the current loop.

    Workers are started as work arrives and end when there is none, so an
    idle executor holds no task (and does not keep ``evergreen.run()`` alive);
    ``shutdown()`` still waits for queued calls. For I/O-bound calls that
    block cooperatively (evergreen's I/O, or patched stdlib modules).
    """

    _counter = itertools.count(1)

    def __init__(self, max_workers: int | None = None, task_name_prefix: str = '', *,
                 loop: HubCore | None = None) -> None:
        if max_workers is None:
            max_workers = 100
        if not isinstance(max_workers, int) or isinstance(max_workers, bool):
            raise TypeError(f'max_workers must be an int, not {type(max_workers).__name__}')
        if max_workers <= 0:
            raise ValueError('max_workers must be greater than 0')
        self._max_workers = max_workers
        self._loop = loop if loop is not None else get_loop()
        self._prefix = task_name_prefix or f'TaskPoolExecutor-{next(self._counter)}'
        self._work: collections.deque[_WorkItem] = collections.deque()
        self._workers: set = set()
        self._worker_count = 0
        self._shutdown = False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        """Schedule ``fn(*args, **kwargs)`` and return a Future for its outcome."""
        if self._shutdown:
            raise RuntimeError('cannot schedule new futures after shutdown')
        if not callable(fn):
            raise TypeError(f'{type(fn).__name__!r} object is not callable')
        future = Future()
        self._work.append(_WorkItem(future, fn, args, kwargs))
        if len(self._workers) < self._max_workers:
            self._start_worker()
        return future

    def _start_worker(self) -> None:
        self._worker_count += 1
        task = Task(target=self._work_loop, name=f'{self._prefix}_{self._worker_count}',
                    loop=self._loop)
        self._workers.add(task)
        task.start()

    def _work_loop(self) -> None:
        try:
            work = self._work
            while work:
                item = work.popleft()
                item.run()
                del item
        finally:
            self._workers.discard(current_task())

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Accept no more calls; cancel the queued ones if asked; wait for the rest if *wait*."""
        self._shutdown = True
        if cancel_futures:
            while self._work:
                item = self._work.popleft()
                if item.future.cancel():
                    # Nobody will run it: tell wait() and as_completed() now.
                    item.future.set_running_or_notify_cancel()
        if wait and self._workers:
            joinall(list(self._workers))

    def __repr__(self) -> str:
        return (f'<evergreen.futures.TaskPoolExecutor max_workers={self._max_workers} '
                f'workers={len(self._workers)} queued={len(self._work)}'
                f'{" shut down" if self._shutdown else ""}>')


class ThreadPoolExecutor(Executor):
    """Run calls in a pool of real threads; the futures are evergreen's (cooperative waits).

    For calls that block the thread (C libraries, file systems, CPU work): the
    loop keeps running while they do. Arguments as ``concurrent.futures.ThreadPoolExecutor``.
    """

    def __init__(self, max_workers: int | None = None, thread_name_prefix: str = '',
                 initializer: Callable[..., object] | None = None, initargs: tuple = ()) -> None:
        self._pool = _cf.ThreadPoolExecutor(max_workers, thread_name_prefix, initializer, initargs)
        self._max_workers = self._pool._max_workers
        self._pending: set[Future] = set()
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        """Schedule ``fn(*args, **kwargs)`` in a thread and return a Future for its outcome."""
        future = Future()
        item = _WorkItem(future, fn, args, kwargs)
        inner = self._pool.submit(item.run)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._forget)
        inner.add_done_callback(_relay_pool_failure(future))
        return future

    @property
    def _broken(self) -> Any:
        """The reason the pool broke (an initializer failed), as the stdlib pool's attribute."""
        return self._pool._broken

    def _forget(self, future: Future) -> None:
        with self._lock:
            self._pending.discard(future)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Accept no more calls; cancel queued ones if asked; wait (cooperatively) for the rest."""
        if cancel_futures:
            with self._lock:
                pending = list(self._pending)
            for future in pending:
                with future._condition:
                    if future.cancel():
                        future.set_running_or_notify_cancel()
        self._pool.shutdown(wait=False, cancel_futures=cancel_futures)
        if wait:
            with self._lock:
                pending = list(self._pending)
            if pending:
                _wait_all(pending)
            # The threads have nothing left to do: joining them is quick.
            self._pool.shutdown(wait=True)

    def __repr__(self) -> str:
        return (f'<evergreen.futures.ThreadPoolExecutor max_workers={self._max_workers} '
                f'pending={len(self._pending)}>')


class ProcessPoolExecutor(_cf.ProcessPoolExecutor):
    """``concurrent.futures.ProcessPoolExecutor``, whose futures a task waits on cooperatively.

    The standard executor itself (same arguments, start methods, ``map`` with
    ``chunksize``, ``BrokenProcessPool``, worker management), for CPU-bound
    calls that must not hold the loop. ``submit`` returns an evergreen
    :class:`Future`: ``result()``/``exception()`` in a task park it while the
    call runs in another process, and ``map`` (which waits through them) does
    too. ``shutdown(wait=True)`` (and leaving a ``with`` block) waits for the
    pending calls blocking only the calling task.

    Starting a worker process happens in the task that submits, as in the
    standard executor, and holds the loop as long as that takes (a fork, or a
    message to the forkserver).
    """

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        """Schedule ``fn(*args, **kwargs)`` in a worker process; return a Future for its outcome."""
        future = super().submit(fn, *args, **kwargs)
        # The pool's manager thread completes the very object the standard
        # executor made, so its states (cancel, running, broken pool) stay the
        # standard ones. evergreen's Future adds no state, only cooperative
        # waiting methods: changing the object's class is all it takes.
        future.__class__ = Future
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Accept no more calls; cancel queued ones if asked; wait for the rest if *wait*.

        In a task, the wait parks only the task; elsewhere it is the standard one.
        """
        if not wait or find_loop() is None:
            super().shutdown(wait, cancel_futures=cancel_futures)
            return
        # The standard shutdown joins the pool's manager thread, which ends
        # only once every pending call has: a thread does that join, and the
        # task waits on a Future the thread completes.
        done = Future()
        standard_shutdown = super().shutdown

        def shut_down() -> None:
            try:
                standard_shutdown(True, cancel_futures=cancel_futures)
            except BaseException as exc:
                done.set_exception(exc)
            else:
                done.set_result(None)

        threading.Thread(target=shut_down, name=f'{type(self).__name__}.shutdown',
                         daemon=True).start()
        done.result()


def _relay_pool_failure(future: Future) -> Callable[[_cf.Future], None]:
    """If the pool fails the call itself (broken pool, cancelled at shutdown), fail *future* too."""
    def relay(inner: _cf.Future) -> None:
        if future.done():
            return
        if inner.cancelled():
            with future._condition:
                if future.cancel():
                    future.set_running_or_notify_cancel()
            return
        exc = inner.exception()
        if exc is not None:
            try:
                future.set_exception(exc)
            except InvalidStateError:
                pass
    return relay


_FINISHED_STATES = (_cf._base.CANCELLED_AND_NOTIFIED, _cf._base.FINISHED)


def _finished(f: _cf.Future) -> bool:
    # As concurrent.futures.wait counts them: a cancelled future is finished
    # once its executor has noticed (set_running_or_notify_cancel).
    return f._state in _FINISHED_STATES


def _failed(f: _cf.Future) -> bool:
    return _finished(f) and not f.cancelled() and f.exception(timeout=0) is not None


class _FutureWatcher:
    """Wakes a waiting task when futures finish, through the stdlib futures' own waiter protocol.

    Installed in each future's ``_waiters``, as ``concurrent.futures.wait``
    installs its own, so it sees exactly the transitions the stdlib counts
    (including "cancelled and notified"), from whatever thread makes them.
    """

    def __init__(self, loop: HubCore, fs: Iterable[_cf.Future]) -> None:
        self.waiter: Waiter | None = None
        self.loop = loop
        self.finished: collections.deque = collections.deque()
        self.wake_when: Callable[[], bool] = lambda: True
        self.fs = list(fs)
        for f in self.fs:
            with f._condition:
                f._waiters.append(self)

    def remove(self) -> None:
        for f in self.fs:
            self._uninstall(f)
        self.fs = []

    def forget(self, future: _cf.Future) -> None:
        """Stop watching *future* (and stop referring to it)."""
        for index, candidate in enumerate(self.fs):
            if candidate is future:
                del self.fs[index]
                break
        self._uninstall(future)

    def _uninstall(self, future: _cf.Future) -> None:
        with future._condition:
            try:
                future._waiters.remove(self)
            except ValueError:
                pass

    def _note(self, future: _cf.Future) -> None:
        self.finished.append(future)
        waiter = self.waiter
        if waiter is not None and not waiter.notified and self.wake_when():
            waiter.wake()

    add_result = add_exception = add_cancelled = _note

    def wait(self, timeout: float | None) -> None:
        waiter = self.waiter = Waiter(self.loop)
        try:
            if not self.wake_when():
                waiter.wait(timeout)
        finally:
            self.waiter = None


def wait(fs: Iterable[_cf.Future], timeout: float | None = None,
         return_when: str = ALL_COMPLETED) -> DoneAndNotDoneFutures:
    """Wait for the futures, as ``concurrent.futures.wait``; cooperatively inside a task."""
    if return_when not in (FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED):
        raise ValueError(f'Invalid return condition: {return_when!r}')
    fs = set(fs)
    loop = find_loop()
    if loop is None:
        return _cf.wait(fs, timeout, return_when)

    def satisfied() -> bool:
        if return_when == FIRST_COMPLETED and any(_finished(f) for f in fs):
            return True
        if return_when == FIRST_EXCEPTION and any(_failed(f) for f in fs):
            return True
        return all(_finished(f) for f in fs)

    # Not "timeout > 0": a NaN timeout must reach the Waiter, which refuses it.
    if fs and not satisfied() and (timeout is None or not timeout <= 0):
        watcher = _FutureWatcher(loop, fs)
        watcher.wake_when = satisfied
        try:
            watcher.wait(timeout)
        finally:
            watcher.remove()
    done = {f for f in fs if _finished(f)}
    return DoneAndNotDoneFutures(done, fs - done)


def as_completed(fs: Iterable[_cf.Future], timeout: float | None = None) -> Iterator[_cf.Future]:
    """Yield the futures as they finish (those already finished first), as the stdlib's.

    Raises TimeoutError if some are not finished *timeout* seconds after the
    call. Like the stdlib's, it keeps no reference to a future it has yielded.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    fs = set(fs)
    total = len(fs)
    loop = find_loop()
    if loop is None:
        yield from _cf.as_completed(fs, timeout)
        return
    watcher = _FutureWatcher(loop, fs)

    def forget(future: _cf.Future) -> None:
        fs.discard(future)
        watcher.forget(future)

    try:
        ready = [f for f in fs if _finished(f)]
        while ready:
            forget(ready[-1])
            yield ready.pop()      # popped as it is yielded: no name keeps it here
        finished = watcher.finished
        while fs:
            remaining = None
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining < 0:
                    raise TimeoutError(f'{len(fs)} (of {total}) futures unfinished')
            watcher.wake_when = lambda: bool(finished)
            watcher.wait(remaining)
            while finished:
                if finished[0] in fs:
                    forget(finished[0])
                    yield finished.popleft()
                else:
                    finished.popleft()
    finally:
        watcher.remove()


def _wait_all(fs: Iterable[_cf.Future]) -> None:
    wait(fs, return_when=ALL_COMPLETED)
