"""The bottom of evergreen: the hub, per-thread state, and the one way to wait.

Start reading here. Everything else in evergreen is built on three things
defined in this module:

* :class:`HubCore`, mixed into an asyncio loop class, gives the loop a *hub*:
  the greenlet that runs the loop. A task is a greenlet whose parent is the
  hub. Tasks never switch to each other, only to the hub, so every wake-up
  goes through the loop, in order: ``sleep(0)`` lets everything already ready
  run first.
* :class:`Waiter` is the one waiting primitive. Every blocking call in
  evergreen -- a task's join, ``sleep``, locks, queues, channels, futures,
  libuv streams, descriptor waits, ``select`` -- makes a Waiter, hands it to
  whoever will wake it up, and calls :meth:`Waiter.wait`. That method is the
  only place that switches a waiting greenlet out; it checks which thread
  and greenlet it is in, starts and cancels the timeout, and, being the only
  place a wake-up is delivered, drops a wake-up that comes after the wait
  ended (timed out, or the greenlet was killed by an exception thrown into
  it while parked).
* Per-thread state: each thread has at most one current evergreen loop
  (:func:`find_loop`, :func:`get_loop`).

Two ways to wait
----------------
*Parked* (the loop is running in this thread): the current greenlet -- a
task, or a greenlet started by one -- switches to the hub, which is suspended
inside the loop callback that last switched out of it; a later callback
switches back.

*Running* (the loop is not running): the current greenlet -- typically the
program's main greenlet before or outside ``evergreen.run()`` -- runs the loop
in the hub until its wait is over, then the loop stops and control comes
back, as ``run_until_complete`` would. So between two blocking calls of the
main greenlet the loop is not running, and ``asyncio.run()`` or a fresh
``evergreen.run()`` may be used there.

Internal API
------------
What evergreen's other modules use of a loop, besides the asyncio loop API,
is the public part of :class:`HubCore`: ``hub`` (the hub greenlet),
``owner_thread``, ``call_soon_anywhere``, ``interrupt``, ``propagate``,
``call_later_hub``, ``next_task_number``, ``task_started``/``task_finished``,
``tasks()`` and ``idle_greenlets`` (task greenlets waiting for their next task).
Modules import only downwards (the order is in ``tests/test_layering.py``).
"""

from __future__ import annotations

import heapq
import threading
from _thread import get_ident
from asyncio import events
from collections import deque
from collections.abc import Callable
from typing import Any

from greenlet import getcurrent, greenlet

__all__ = ['TIMED_OUT', 'BlockingInLoopError', 'blocking_in_loop_error', 'Waiter', 'HubCore',
           'thread_state', 'find_loop', 'get_loop', 'set_default_loop_class', 'remove_identical',
           'current_owner']


class _TimedOut:
    """The value a wait returns when its timeout expired before a wake-up."""

    __slots__ = ()

    def __repr__(self) -> str:
        return 'evergreen.TIMED_OUT'

    def __bool__(self) -> bool:
        return False


TIMED_OUT: Any = _TimedOut()


class BlockingInLoopError(RuntimeError):
    """A blocking call was made by the loop itself (a callback or a coroutine)."""


def blocking_in_loop_error(what: str = 'this call') -> BlockingInLoopError:
    """The error for a blocking call (described by *what*) made in the hub."""
    return BlockingInLoopError(
        f'{what} would block the event loop: it was called from the loop itself '
        '(a loop callback or an asyncio coroutine). Run blocking code in a task '
        '(evergreen.spawn), or await instead (an evergreen Task or Future is awaitable).')


# How many wake-ups made while the hub runs wake-ups still run in that turn of the loop.
WAKEUP_BUDGET = 64

# Waiter modes.
_IDLE, _PARKED, _RUNNING = 0, 1, 2


class Waiter:
    """One wait of one greenlet for one wake-up, delivered through the loop.

    ``wait()`` parks the current greenlet (or runs the loop until the wake-up,
    if the loop is not running) and returns the value given to ``wake()`` or
    ``switch()``, or raises the exception given to ``throw()``, or returns
    ``TIMED_OUT``. A wake-up that arrives after the wait ended -- because it
    timed out, or the greenlet was killed -- is dropped, so a stale wake-up can
    never resume a greenlet that is waiting for something else. So is every
    wake-up after the first: one Waiter may be handed to several sources
    (``select`` hands one to every descriptor it watches).

    ``wake``/``throw`` may be called from anywhere, including other threads;
    ``switch`` only from a callback of this waiter's loop (it resumes the
    greenlet at once: the fast path of libuv's I/O callbacks). ``notified``
    tells a primitive whether a wake-up was sent, even if it was never
    delivered (the waiter was interrupted first), so it can pass the wake-up
    on to the next waiter instead of losing it.
    """

    __slots__ = ('loop', 'notified', '_greenlet', '_mode', '_value', '_exc', '_sent')

    # A Waiter is its own entry in the loop's ready queue (see HubCore.ready):
    # what the queue needs of a Handle, without one per wake-up.
    _cancelled = False

    def __init__(self, loop: HubCore | None = None) -> None:
        if loop is None:
            # get_loop()'s first case, inlined: every lock, queue and channel wait comes here,
            # in a task (whose greenlet has the attribute: cheaper than getattr's default).
            try:
                loop = getcurrent().evergreen_loop
            except AttributeError:
                loop = get_loop()
        self.loop = loop
        self.notified = False
        self._mode = _IDLE
        # _greenlet is set by wait(), _sent by wake(), _value and _exc by a
        # delivery to a greenlet running the loop: each is read only after.

    def __repr__(self) -> str:
        state = ('idle', 'parked', 'running the loop')[self._mode]
        return f'<evergreen.Waiter {state} notified={self.notified}>'

    def wait(self, timeout: float | None = None, what: str = 'this call') -> Any:
        """Wait for the wake-up; return its value, or TIMED_OUT after *timeout* seconds.

        *what* names the blocking call in the error raised when it is made
        from the loop itself. An exception thrown into the greenlet while it
        waits (a kill, a Timeout) ends the wait and propagates.
        """
        loop = self.loop
        current = getcurrent()
        hub = loop._hub
        if current is hub:
            raise blocking_in_loop_error(what)
        if self._mode != _IDLE:
            raise RuntimeError('a Waiter can only be waited on by one greenlet at a time')
        timer = None
        if timeout is not None:
            if timeout != timeout:
                # A NaN deadline never comes: the wait would never time out. _thread's
                # locks refuse it, and so does threading.Condition.wait() from 3.14 on.
                raise ValueError('Invalid value NaN (not a number)')
            timer = loop.call_later_hub(timeout if timeout > 0.0 else 0.0, self._deliver, TIMED_OUT, None)
        self._greenlet = current
        try:
            if loop._thread_id == get_ident():
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
        loop = self.loop
        if get_ident() == loop._fast_wakeup_thread:
            # HubCore.ready(), inlined: every hand-off between tasks comes here.
            self._sent = value
            loop._wakeups.append(self)
            if not loop._wakeups_queued:
                loop._wakeups_queued = True
                loop._ready.append(loop._wakeups_entry)
                if loop._uv_blocking:
                    loop._uv.stop()  # (rose's _wake_uv(), inlined)
        else:
            loop.schedule(self._deliver, value, None)

    def throw(self, exc: BaseException) -> None:
        """Schedule raising *exc* in the waiting greenlet (thread-safe)."""
        self.notified = True
        self.loop.schedule(self._deliver, None, exc)

    def _run(self) -> None:
        # Called by the loop's ready queue, as Handle._run is (HubCore._run_wakeups
        # inlines the parked case).
        value, self._sent = self._sent, None
        try:
            if self._mode == _PARKED:
                # _deliver's first case, inlined.
                self._mode = _IDLE
                self._greenlet.switch(value)
            else:
                self._deliver(value, None)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._wake_up_failed(exc)

    def _wake_up_failed(self, exc: BaseException) -> None:
        self.loop.call_exception_handler({
            'message': f'Exception in the wake-up of {self!r}',
            'exception': exc,
        })

    def switch(self, value: Any = None) -> None:
        """Wake up now, from a callback running in this waiter's loop."""
        self.notified = True
        if self._mode == _PARKED:
            # _deliver's first case, inlined: libuv's read callback comes here per chunk.
            self._mode = _IDLE
            self._greenlet.switch(value)
        else:
            self._deliver(value, None)

    @property
    def waiting(self) -> bool:
        """True while a greenlet waits on this waiter."""
        return self._mode != _IDLE

    def _deliver(self, value: Any, exc: BaseException | None) -> None:
        # The one place a wake-up reaches a greenlet: anything that is not for
        # the wait in progress is dropped here.
        mode = self._mode
        if mode == _PARKED:
            self._mode = _IDLE
            if exc is None:
                self._greenlet.switch(value)
            else:
                self._greenlet.throw(exc)
        elif mode == _RUNNING and not self.loop._runner_woken:
            self._mode = _IDLE
            self.loop._runner_woken = True
            self._value, self._exc = value, exc
            self.loop.stop()


def remove_identical(items: list, item: Any) -> bool:
    """Remove *item* itself (not an equal object) from the list *items*; True if it was there.

    How a wait takes its Waiter out of the list it was handed to when it ends.
    """
    for index, candidate in enumerate(items):
        if candidate is item:
            del items[index]
            return True
    return False


def current_owner() -> Any:
    """Who is running: the current task, or the current greenlet outside any task.

    What owns an RLock, a ``local``'s attributes or a Timeout: a task's
    greenlet goes on to run other tasks once the task has ended (see
    evergreen.tasks), so the greenlet is not the task's identity.
    """
    g = getcurrent()
    return getattr(g, 'task', None) or g


class _Ready:
    """A callback in the ready queue (see HubCore.schedule): a Handle without the context copy."""

    __slots__ = ('_loop', '_callback', '_args', '_cancelled')

    def __init__(self, loop: HubCore, callback: Callable[..., object], args: tuple = ()) -> None:
        self._loop = loop
        self._callback = callback
        self._args = args
        self._cancelled = False

    def cancel(self) -> None:
        self._cancelled = True
        self._callback = self._args = None

    def _run(self) -> None:
        try:
            self._callback(*self._args)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._loop.call_exception_handler({
                'message': f'Exception in callback {self._callback!r}',
                'exception': exc,
            })


class _HubTimer:
    """A callback due at a time, in the hub's timer heap (see HubCore.call_later_hub)."""

    __slots__ = ('_loop', '_callback', '_args', '_cancelled')

    def __init__(self, loop: HubCore, callback: Callable[..., object], args: tuple) -> None:
        self._loop = loop
        self._callback = callback
        self._args = args
        self._cancelled = False

    def cancel(self) -> None:
        if not self._cancelled:
            self._cancelled = True
            self._callback = self._args = None
            self._loop._timer_cancelled()

    _run = _Ready._run


class _Hub(greenlet):
    """The greenlet that runs one event loop."""

    def __init__(self, loop: HubCore) -> None:
        root = getcurrent()
        while root.parent is not None:
            root = root.parent
        super().__init__(parent=root)
        self.evergreen_loop = loop

    def run(self) -> None:
        self.evergreen_loop._run_hub()


class _ThreadState(threading.local):
    loop: HubCore | None = None


thread_state = _ThreadState()
"""``thread_state.loop``: the current thread's evergreen loop (None before the first)."""

_get_running_loop = events._get_running_loop
_default_loop_class: Callable[[], HubCore] | None = None


def set_default_loop_class(factory: Callable[[], HubCore]) -> None:
    """The class :func:`get_loop` instantiates for a thread without a loop (``evergreen.EventLoop``)."""
    global _default_loop_class
    _default_loop_class = factory


def get_loop() -> HubCore:
    """Return the evergreen loop of the current task or thread, creating the thread's if needed.

    Inside a task, that task's loop; in a coroutine or callback of a running
    evergreen loop, that loop; otherwise the thread's loop (one per thread,
    made on first use).
    """
    loop = find_loop()
    if loop is not None:
        return loop
    if _default_loop_class is None:
        raise RuntimeError('no evergreen loop class is registered: import evergreen')
    return _default_loop_class()


def find_loop() -> HubCore | None:
    """Like get_loop(), but None instead of creating a loop."""
    loop = getattr(getcurrent(), 'evergreen_loop', None)
    if loop is not None:
        return loop
    loop = _get_running_loop()
    if isinstance(loop, HubCore):
        return loop
    loop = thread_state.loop
    if loop is None or loop.is_closed():
        return None
    return loop


class HubCore:
    """What turns an asyncio event loop class into one a greenlet can wait on.

    It uses only the standard loop API. ``evergreen.HubMixin`` (in
    :mod:`evergreen.loop`) adds spawning and killing tasks on top.
    """

    # rose's loop sets this while libuv may poll again without returning
    # (rose.loop.EventLoop._wake_uv): queuing the wake-ups must then stop
    # libuv. Another asyncio loop never does.
    _uv_blocking = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._hub = _Hub(self)
        self.owner_thread = get_ident()
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
        # Wake-ups and task starts, run in order by one entry of the loop's
        # ready queue (see ready()).
        self._wakeups: deque = deque()
        self._wakeups_entry = _Ready(self, self._run_wakeups)
        self._wakeups_queued = False
        self._update_fast_wakeups()
        # The hub's timers: (when, sequence, _HubTimer) in a heap whose tuples compare
        # in C (asyncio's TimerHandle compares in Python, a dozen times per push and
        # pop); one loop timer is armed for the earliest.
        self._timers: list = []
        self._timer_sequence = 0
        self._timers_cancelled = 0
        self._timer_handle: Any = None
        self._timer_when = 0.0
        # Greenlets whose task has ended, parked in the hub until a task starts
        # (evergreen.tasks reuses them; close() ends them).
        self.idle_greenlets: list[greenlet] = []
        if thread_state.loop is None or thread_state.loop.is_closed():
            thread_state.loop = self

    @property
    def hub(self) -> greenlet:
        """The greenlet that runs this loop (the parent of every task)."""
        return self._hub

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

    def propagate(self, exc: BaseException) -> None:
        """Make the runner raise *exc* (KeyboardInterrupt or SystemExit that ended a task)."""
        if self._runner_exc is None:
            self._runner_exc = exc
        self.stop()

    def interrupt(self, g: greenlet, exc: BaseException) -> None:
        """From a callback of this loop: raise *exc* in greenlet *g* where it waits."""
        if g is self._runner:
            self._runner_exc = exc
            self.stop()
        elif g and not g.dead and g is not self._hub:
            g.throw(exc)

    # ------------------------------------------------------------------
    # Scheduling and bookkeeping

    def set_debug(self, enabled: bool) -> None:
        super().set_debug(enabled)
        self._update_fast_wakeups()

    def _update_fast_wakeups(self) -> None:
        # Waiter.wake() queues a wake-up itself (ready(), inlined) when called in
        # this thread, unless debug mode wants every callback timed as a Handle or
        # the loop is closed (ready() refuses): one comparison on the hot path.
        fast = not self._debug and not self._closed
        # (set_debug() runs in asyncio's __init__, before HubCore's: no owner yet.)
        self._fast_wakeup_thread = getattr(self, 'owner_thread', None) if fast else None

    def ready(self, entry: Any) -> None:
        """Run *entry* soon, after what is already ready (from the loop's thread, not in debug mode).

        *entry* is what a loop's ready queue holds -- a ``_cancelled`` flag
        and a ``_run()`` method, like a Handle -- without a Handle's context
        copy: a Waiter, or what :meth:`schedule` makes. Entries wait in
        evergreen's own queue, which one entry of the loop's ready queue
        (asyncio's and rose's ``_ready``) runs in order; a task woken there
        may wake another, which runs in the same turn, up to a budget, so a
        hand-off between tasks costs no loop iteration -- as gevent runs its
        callbacks -- while I/O and the loop's other callbacks still get a
        turn every WAKEUP_BUDGET wake-ups.
        """
        if self._closed:
            raise RuntimeError('Event loop is closed')
        self._wakeups.append(entry)
        if not self._wakeups_queued:
            self._wakeups_queued = True
            self._ready.append(self._wakeups_entry)
            if self._uv_blocking:
                self._uv.stop()  # (rose's _wake_uv(), inlined)

    def _run_wakeups(self) -> None:
        wakeups = self._wakeups
        budget = len(wakeups) + WAKEUP_BUDGET
        popleft = wakeups.popleft
        try:
            while wakeups and budget:
                budget -= 1
                entry = popleft()
                if entry.__class__ is Waiter and entry._mode == _PARKED:
                    # Waiter._run's usual case, inlined: one Python call less per hand-off.
                    value, entry._sent = entry._sent, None
                    entry._mode = _IDLE
                    try:
                        entry._greenlet.switch(value)
                    except (SystemExit, KeyboardInterrupt):
                        raise
                    except BaseException as exc:
                        entry._wake_up_failed(exc)
                elif not entry._cancelled:
                    entry._run()
        finally:
            entry = value = None
            if wakeups and not self._closed:
                self._ready.append(self._wakeups_entry)
            else:
                self._wakeups_queued = False

    def schedule(self, callback: Callable[..., object], *args: Any) -> Any:
        """``call_soon(callback, *args)`` in order with the wake-ups (see ready()); thread-safe.

        Returns something with ``cancel()``.
        """
        if self._debug or get_ident() != self.owner_thread:
            return self.call_soon_anywhere(callback, *args)
        entry = _Ready(self, callback, args)
        self.ready(entry)
        return entry

    def call_soon_anywhere(self, callback: Callable[..., object], *args: Any) -> Any:
        """call_soon from this loop's thread, call_soon_threadsafe from any other."""
        if get_ident() == self.owner_thread:
            return self.call_soon(callback, *args)
        return self.call_soon_threadsafe(callback, *args)

    def call_later_hub(self, delay: float, callback: Callable[..., object], *args: Any) -> Any:
        """``call_later(delay, callback, *args)`` for evergreen's own timeouts, from the loop's thread.

        Returns something with ``cancel()``. The callbacks wait in one heap of
        the hub (see __init__), so ten thousand Timeouts cost one loop timer.
        """
        when = self.time() + delay
        timer = _HubTimer(self, callback, args)
        self._timer_sequence += 1
        heapq.heappush(self._timers, (when, self._timer_sequence, timer))
        if self._timer_handle is None or when < self._timer_when:
            self._arm_hub_timer(when)
        return timer

    def _arm_hub_timer(self, when: float) -> None:
        if self._timer_handle is not None:
            self._timer_handle.cancel()
        self._timer_when = when
        self._timer_handle = self.call_at(when, self._run_hub_timers)

    def _run_hub_timers(self) -> None:
        self._timer_handle = None
        timers = self._timers
        # As asyncio's loop: what is due within the clock's resolution runs now.
        end = self.time() + self._clock_resolution
        due = []
        while timers and timers[0][0] <= end:
            timer = heapq.heappop(timers)[2]
            if timer._cancelled:
                self._timers_cancelled -= 1
            else:
                due.append(timer)
        if timers:
            self._arm_hub_timer(timers[0][0])
        for timer in due:
            if not timer._cancelled:
                timer._cancelled = True  # done: a late cancel() changes nothing
                timer._run()

    def _timer_cancelled(self) -> None:
        self._timers_cancelled += 1
        timers = self._timers
        if self._timers_cancelled > 64 and self._timers_cancelled * 2 > len(timers):
            # Mostly cancelled (timeouts that did not expire): drop them at once.
            self._timers = [entry for entry in timers if not entry[2]._cancelled]
            heapq.heapify(self._timers)
            self._timers_cancelled = 0
            if not self._timers and self._timer_handle is not None:
                self._timer_handle.cancel()
                self._timer_handle = None

    def next_task_number(self) -> int:
        """A number for a new task, unique on this loop."""
        self._task_counter += 1
        return self._task_counter

    def task_started(self, task: Any) -> None:
        """*task* is alive: ``run()`` waits for it unless it is a daemon."""
        self._tasks.add(task)
        if not task.daemon:
            self._live_non_daemon += 1

    def task_finished(self, task: Any) -> None:
        """*task* has ended."""
        self._tasks.discard(task)
        if not task.daemon:
            self._live_non_daemon -= 1
            if self._live_non_daemon == 0 and self._stop_when_idle:
                self.stop()

    def tasks(self) -> list:
        """The evergreen tasks alive on this loop."""
        return list(self._tasks)

    # ------------------------------------------------------------------
    # Closing

    def close(self) -> None:
        """Close the loop and end its hub greenlet."""
        super().close()
        self._update_fast_wakeups()
        if thread_state.loop is self:
            thread_state.loop = None
        hub = self._hub
        current = getcurrent()
        idle, self.idle_greenlets = self.idle_greenlets, []
        if current is not hub and get_ident() == self.owner_thread:
            for g in idle:
                # Parked in the hub: GreenletExit ends it and returns here.
                g.parent = current
                g.throw()
        if hub and current is not hub and get_ident() == self.owner_thread:
            # Unwind the hub's stack (parked outside run_forever here); GreenletExit
            # ends it quietly and hands control back to us, its new parent.
            hub.parent = current
            hub.throw()
