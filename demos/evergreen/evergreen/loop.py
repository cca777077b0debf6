"""evergreen's event loop: an asyncio loop run by a greenlet, the hub.

A task is a greenlet. When it must wait (for I/O, a timer, a lock) it switches
to the hub, the greenlet that runs the event loop; a loop callback switches back
into it when the wait is over. Tasks never switch to each other, only to the
hub, so every wake-up goes through the loop and the order is fair: ``sleep(0)``
puts the task behind everything already ready.

The loop is a real asyncio loop (``rose.EventLoop``, on libuv), so coroutines
and tasks share it in one thread, and ``loop.uv_loop`` serves evergreen's
native libuv streams.

Two ways to wait
----------------
*Parked* (the loop is running): the current greenlet -- a task, or a greenlet
started by one -- switches to the hub, which is suspended inside the loop
callback that last switched out of it; a later callback switches back.

*Running* (the loop is not running): the current greenlet -- typically the
program's main greenlet before or outside ``evergreen.run()`` -- runs the loop in
the hub until its wait is over, then the loop stops and control comes back, as
``run_until_complete`` would. So between two blocking calls of the main
greenlet the loop is not running, and ``asyncio.run()`` or a fresh
``evergreen.run()`` may be used there.

:class:`Waiter` is the one primitive every blocking call in evergreen is built on.
"""

from __future__ import annotations

import threading
from asyncio import events
from collections.abc import Callable
from typing import Any

from greenlet import getcurrent, greenlet

import rose

__all__ = ['EventLoop', 'HubMixin', 'Waiter', 'TIMED_OUT', 'get_loop', 'BlockingInLoopError']


class _TimedOut:
    """The value a wait returns when its timeout expired before a wake-up."""

    __slots__ = ()

    def __repr__(self) -> str:
        return 'evergreen.TIMED_OUT'

    def __bool__(self) -> bool:
        return False


TIMED_OUT: Any = _TimedOut()

# Waiter modes.
_IDLE, _PARKED, _RUNNING = 0, 1, 2


class BlockingInLoopError(RuntimeError):
    """A blocking call was made by the loop itself (a callback or a coroutine)."""


def _blocking_in_loop(what: str = 'this call') -> BlockingInLoopError:
    return BlockingInLoopError(
        f'{what} would block the event loop: it was called from the loop itself '
        '(a loop callback or an asyncio coroutine). Run blocking code in a task '
        '(evergreen.spawn), or await instead (an evergreen Task or Future is awaitable).')


class Waiter:
    """One wait of one greenlet for one wake-up, delivered through the loop.

    ``wait()`` parks the current greenlet (or runs the loop until the wake-up,
    if the loop is not running) and returns the value given to ``wake()``, or
    raises the exception given to ``throw()``, or returns ``TIMED_OUT``. A
    wake-up that arrives after the wait ended -- because it timed out, or the
    greenlet was killed -- is dropped, so a stale wake-up can never resume a
    greenlet that is waiting for something else.

    ``wake``/``throw`` may be called from anywhere, including other threads;
    ``switch`` only from a callback of this waiter's loop (it resumes at once).
    ``notified`` tells a primitive whether a wake-up was sent, even if it was
    never delivered (the waiter was interrupted first), so it can pass the
    wake-up on to the next waiter instead of losing it.
    """

    __slots__ = ('loop', 'notified', '_greenlet', '_mode', '_value', '_exc')

    def __init__(self, loop: HubMixin | None = None) -> None:
        self.loop = loop if loop is not None else get_loop()
        self.notified = False
        self._greenlet: greenlet | None = None
        self._mode = _IDLE
        self._value: Any = None
        self._exc: BaseException | None = None

    def __repr__(self) -> str:
        state = ('idle', 'parked', 'running the loop')[self._mode]
        return f'<evergreen.Waiter {state} notified={self.notified}>'

    def wait(self, timeout: float | None = None) -> Any:
        """Wait for the wake-up; return its value, or TIMED_OUT after *timeout* seconds."""
        loop = self.loop
        current = getcurrent()
        hub = loop._hub
        if current is hub:
            raise _blocking_in_loop()
        if self._mode != _IDLE:
            raise RuntimeError('a Waiter can only be waited on by one greenlet at a time')
        if timeout is not None and timeout != timeout:
            # A NaN deadline never comes: the wait would never time out. _thread's
            # locks refuse it, and so does threading.Condition.wait() from 3.14 on.
            raise ValueError('Invalid value NaN (not a number)')
        timer = None
        if timeout is not None:
            timer = loop.call_later(max(timeout, 0.0), self._deliver, TIMED_OUT, None)
        self._greenlet = current
        try:
            if loop._thread_id is not None and loop._thread_id == threading.get_ident():
                self._mode = _PARKED
                return hub.switch()
            self._mode = _RUNNING
            return loop._run_until_woken(self)
        finally:
            self._greenlet = None
            self._mode = _IDLE
            if timer is not None:
                timer.cancel()

    def wake(self, value: Any = None) -> None:
        """Schedule the wake-up with *value* (thread-safe)."""
        self.notified = True
        self.loop._call_soon_anywhere(self._deliver, value, None)

    def throw(self, exc: BaseException) -> None:
        """Schedule raising *exc* in the waiting greenlet (thread-safe)."""
        self.notified = True
        self.loop._call_soon_anywhere(self._deliver, None, exc)

    def switch(self, value: Any = None) -> None:
        """Wake up now, from a callback running in this waiter's loop."""
        self.notified = True
        self._deliver(value, None)

    @property
    def waiting(self) -> bool:
        """True while a greenlet waits on this waiter."""
        return self._mode != _IDLE

    def _deliver(self, value: Any, exc: BaseException | None) -> None:
        mode = self._mode
        if mode == _PARKED:
            self._mode = _IDLE
            if exc is None:
                self._greenlet.switch(value)
            else:
                self._greenlet.throw(exc)
        elif mode == _RUNNING and not self.loop._runner_woken:
            self.loop._runner_woken = True
            self._value, self._exc = value, exc
            self.loop.stop()


class _Hub(greenlet):
    """The greenlet that runs one event loop."""

    def __init__(self, loop: HubMixin) -> None:
        root = getcurrent()
        while root.parent is not None:
            root = root.parent
        super().__init__(parent=root)
        self.evergreen_loop = loop

    def run(self) -> None:
        self.evergreen_loop._run_hub()


class _ThreadState(threading.local):
    loop: HubMixin | None = None


_thread_state = _ThreadState()
_get_running_loop = events._get_running_loop


def get_loop() -> HubMixin:
    """Return the evergreen loop of the current task or thread, creating the thread's if needed.

    Inside a task, that task's loop; in a coroutine or callback of a running
    evergreen loop, that loop; otherwise the thread's loop (one per thread,
    made on first use).
    """
    loop = _find_loop()
    return loop if loop is not None else EventLoop()


def _find_loop() -> HubMixin | None:
    """Like get_loop(), but None instead of creating a loop."""
    loop = getattr(getcurrent(), 'evergreen_loop', None)
    if loop is not None:
        return loop
    loop = _get_running_loop()
    if isinstance(loop, HubMixin):
        return loop
    loop = _thread_state.loop
    if loop is None or loop.is_closed():
        return None
    return loop


class HubMixin:
    """What turns an asyncio event loop class into an evergreen loop.

    Mixed into ``rose.EventLoop`` to make :class:`EventLoop`; it uses only the
    standard loop API, so it can be mixed into another asyncio loop class (the
    tests do, with asyncio's own) to run tasks, locks, queues and futures --
    but evergreen's native I/O needs ``uv_loop``, which only rose has.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._hub = _Hub(self)
        self._owner_thread = threading.get_ident()
        # The greenlet running the loop from outside (see the module's doc)
        # and the Waiter it waits on (None: run_forever(), waits for stop()).
        self._runner: greenlet | None = None
        self._runner_waiter: Waiter | None = None
        self._runner_woken = False
        # An exception (KeyboardInterrupt, SystemExit from a task) for the runner.
        self._runner_exc: BaseException | None = None
        # Live evergreen tasks, and how many of them are not daemons.
        self._tasks: set = set()
        self._live_non_daemon = 0
        self._stop_when_idle = False
        self._task_counter = 0
        self._watchdog = None
        if _thread_state.loop is None or _thread_state.loop.is_closed():
            _thread_state.loop = self

    @classmethod
    def current(cls) -> HubMixin:
        """The evergreen loop of the current task or thread (see :func:`get_loop`)."""
        return get_loop()

    # ------------------------------------------------------------------
    # Running

    def run_forever(self) -> None:
        """Run until stop() is called (from any greenlet that is not a task of this loop)."""
        if getcurrent() is self._hub:
            return super().run_forever()
        if self._thread_id is not None or self._runner is not None:
            raise RuntimeError('This event loop is already running')
        self._run_from_outside(None)

    def run(self) -> None:
        """Run until every task that is not a daemon has finished (or stop() is called).

        Returns at once if no task is alive. An exception that ends a task on
        purpose of leaving the program (KeyboardInterrupt, SystemExit) is
        re-raised here.
        """
        if self._live_non_daemon == 0:
            return
        self._stop_when_idle = True
        try:
            self.run_forever()
        finally:
            self._stop_when_idle = False

    def _run_until_woken(self, waiter: Waiter) -> Any:
        if self._runner is not None:
            raise RuntimeError(
                'a greenlet is already running this event loop; only tasks (evergreen.spawn) '
                'can wait while it runs')
        return self._run_from_outside(waiter)

    def _run_from_outside(self, waiter: Waiter | None) -> Any:
        self._check_closed()
        self._runner = getcurrent()
        self._runner_waiter = waiter
        self._runner_woken = False
        try:
            return self._hub.switch()
        finally:
            self._runner = None
            self._runner_waiter = None
            self._runner_woken = False

    def _run_hub(self) -> None:
        """The hub greenlet's body: run the loop for whoever asked, deliver the outcome."""
        base_run_forever = super().run_forever
        while True:
            try:
                base_run_forever()
            except BaseException as exc:
                self._deliver_to_runner(None, exc)
                continue
            exc = self._runner_exc
            if exc is not None:
                self._runner_exc = None
                self._deliver_to_runner(None, exc)
                continue
            waiter = self._runner_waiter
            if waiter is None:
                self._deliver_to_runner(None, None)
            elif self._runner_woken:
                value, exc = waiter._value, waiter._exc
                waiter._value = waiter._exc = None
                self._deliver_to_runner(value, exc)
            # Otherwise the loop was stopped while its runner still waits:
            # keep running for it.

    def _deliver_to_runner(self, value: Any, exc: BaseException | None) -> None:
        runner = self._runner
        if runner is None or runner.dead:
            runner = self._hub.parent
        if exc is None:
            runner.switch(value)
        else:
            runner.throw(exc)

    def _propagate(self, exc: BaseException) -> None:
        """Make the runner raise *exc* (KeyboardInterrupt or SystemExit that ended a task)."""
        if self._runner_exc is None:
            self._runner_exc = exc
        self.stop()

    def _interrupt(self, g: greenlet, exc: BaseException) -> None:
        """From a callback of this loop: raise *exc* in greenlet *g* where it waits."""
        if g is self._runner:
            self._runner_exc = exc
            self.stop()
        elif g and not g.dead and g is not self._hub:
            g.throw(exc)

    # ------------------------------------------------------------------
    # Scheduling

    def _call_soon_anywhere(self, callback: Callable[..., object], *args: Any) -> None:
        """call_soon from this loop's thread, call_soon_threadsafe from any other."""
        if threading.get_ident() == self._owner_thread:
            self.call_soon(callback, *args)
        else:
            self.call_soon_threadsafe(callback, *args)

    def _next_task_number(self) -> int:
        self._task_counter += 1
        return self._task_counter

    def _task_started(self, task: Any) -> None:
        self._tasks.add(task)
        if not task.daemon:
            self._live_non_daemon += 1

    def _task_finished(self, task: Any) -> None:
        self._tasks.discard(task)
        if not task.daemon:
            self._live_non_daemon -= 1
            if self._live_non_daemon == 0 and self._stop_when_idle:
                self.stop()

    def tasks(self) -> list:
        """The evergreen tasks alive on this loop."""
        return list(self._tasks)

    def spawn(self, fn: Callable[..., object], *args: Any, **kwargs: Any) -> Any:
        """Start ``fn(*args, **kwargs)`` in a new task on this loop and return the Task."""
        from .tasks import Task
        task = Task(target=fn, args=args, kwargs=kwargs, loop=self)
        task.start()
        return task

    def spawn_threadsafe(self, fn: Callable[..., object], *args: Any, **kwargs: Any) -> Any:
        """From any thread: start ``fn(*args, **kwargs)`` in a task on this loop.

        Returns an evergreen Future (a ``concurrent.futures.Future``) for the
        task's result: the other thread may block on ``result()``.
        """
        from .futures import Future
        from .tasks import Task
        future = Future()

        def start() -> None:
            if not future.set_running_or_notify_cancel():
                return
            task = Task(target=fn, args=args, kwargs=kwargs, loop=self)
            task._observed = True
            task.add_done_callback(_copy_task_outcome(future))
            task.start()

        self.call_soon_threadsafe(start)
        return future

    # ------------------------------------------------------------------
    # Closing and reprs

    def close(self) -> None:
        """Kill the tasks still alive (briefly running the loop for them), then close."""
        if self._tasks and not self.is_closed() and not self.is_running() \
                and getcurrent() is not self._hub:
            from .tasks import _kill_all
            _kill_all(self, timeout=5.0)
        super().close()
        if _thread_state.loop is self:
            _thread_state.loop = None
        hub = self._hub
        current = getcurrent()
        if hub and current is not hub and threading.get_ident() == self._owner_thread:
            # Unwind the hub's stack (parked outside run_forever here); GreenletExit
            # ends it quietly and hands control back to us, its new parent.
            hub.parent = current
            hub.throw()

    def __repr__(self) -> str:
        if self.is_closed():
            state = 'closed'
        elif self.is_running():
            state = 'running'
        else:
            state = 'idle'
        return (f'<{type(self).__module__}.{type(self).__qualname__} {state} '
                f'tasks={len(self._tasks)} thread={self._owner_thread}>')


def _copy_task_outcome(future: Any) -> Callable[[Any], None]:
    def copy(task: Any) -> None:
        if task.cancelled():
            # The future is running (its task started): it cannot be cancelled any more.
            from concurrent.futures import CancelledError
            future.set_exception(CancelledError(f'{task!r} was killed'))
            return
        exc = task.exception(timeout=0)
        if exc is None:
            future.set_result(task.result(timeout=0))
        else:
            future.set_exception(exc)
    return copy


class EventLoop(HubMixin, rose.EventLoop):
    """evergreen's event loop: rose's asyncio loop on libuv, run by a hub greenlet.

    One per thread is made on demand (:func:`get_loop`); ``evergreen.run()``
    makes a fresh one. It is a full asyncio loop: ``asyncio.Runner(
    loop_factory=evergreen.EventLoop)`` runs coroutines on it, and they may
    spawn and await evergreen tasks. ``uv_loop`` is the ``pyuv.Loop`` below.
    """
