"""Tasks: greenlets with the shape of ``threading.Thread`` and the outcome of a future.

A :class:`Task` runs ``target(*args, **kwargs)`` (or its overridden ``run()``)
in its own greenlet on an evergreen loop. Like a thread it has a name, can be a
daemon, can be joined with a timeout; unlike a thread it keeps what ``run()``
returned or raised (``result()``, ``exception()``), can be killed while it
blocks, and can be awaited by a coroutine.

An exception that ends a task is never lost: unless somebody asks for the
outcome (``result()``, ``exception()``, ``await``, ``add_done_callback``,
``joinall(raise_error=True)``), it is reported through the loop's exception
handler when the task object goes away -- at once for a task nobody keeps a
reference to (the usual fire-and-forget ``spawn(f)``), later for one kept in a
list whose results are collected in order, as asyncio reports a task's
exception that was never retrieved. A task ended by :meth:`Task.kill` ends
quietly: it is *cancelled*.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import os
import threading
import weakref
from collections.abc import Callable, Iterable
from concurrent.futures import CancelledError
from types import BuiltinFunctionType, FunctionType
from typing import Any

from greenlet import GreenletExit, getcurrent, greenlet

from .aio import wait_awaitable
from .hub import HubCore, Waiter, get_loop

__all__ = ['Task', 'TaskExit', 'spawn', 'spawn_later', 'sleep', 'current_task', 'joinall']

_NEW, _STARTING, _RUNNING, _DONE = 'initial', 'started', 'running', 'done'
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


class TaskExit(BaseException):
    """Raised inside a task by :meth:`Task.kill`; a task that lets it escape ends cancelled.

    It derives from BaseException, like ``GreenletExit`` and
    ``asyncio.CancelledError``, so that ``except Exception`` does not stop a kill.
    """


class _TaskGreenlet(greenlet):
    """A greenlet that runs tasks, one after another; its parent is the hub.

    A task gets its greenlet when it starts running, not when it is spawned:
    a greenlet whose task has ended parks in its loop's pool of idle
    greenlets (up to IDLE_GREENLETS of them) and runs the next task that
    starts. Creating a greenlet and its first Python frame costs more than
    everything else a spawn does (on CPython 3.11+ each greenlet maps its own
    16 KB chunk of frame stack), and most tasks are short.

    It refers to its current task weakly: the task refers to it, and a cycle
    would keep a finished task (and an exception to report) alive until the
    next garbage collection. While a task runs, its frames hold it. Between
    tasks ``task`` is None, the greenlet's context is empty, and nothing of
    the previous task (locals, exception state) is left in its frame.
    """

    # Set by Task._enter: _task_ref (a weak reference to the task) and
    # evergreen_loop (what hub.find_loop() looks for on the current greenlet).

    # The Waiter sleep(0) reuses (see sleep()), made on first use.
    sleep_waiter: Waiter | None = None

    @property
    def task(self) -> Task | None:
        return self._task_ref()

    def run(self) -> None:
        # The task comes by _task_ref, not as an argument: greenlet keeps the
        # arguments of the first switch alive as long as run() runs.
        loop = self.evergreen_loop
        idle = loop.idle_greenlets
        hub = self.parent
        while True:
            self._task_ref()._bootstrap()
            self._task_ref = _no_task
            if loop._closed or len(idle) >= IDLE_GREENLETS:
                return
            # What the task set in its context must not outlive it here.
            self.gr_context = None
            idle.append(self)
            # Parked until Task._enter hands over the next task.
            hub.switch()


def _no_task() -> None:
    return None


IDLE_GREENLETS = 128
"""How many greenlets whose task has ended a loop keeps for the next tasks."""


def _waiter_for(loop: HubCore) -> Waiter:
    """A Waiter for the current greenlet, waiting on *loop* if this is its thread."""
    if loop.owner_thread == threading.get_ident():
        return Waiter(loop)
    return Waiter(get_loop())


def _name_of(target: Any) -> str:
    return getattr(target, '__qualname__', None) or getattr(target, '__name__', None) or repr(target)


_CO_COROUTINE = inspect.CO_COROUTINE
_PLAIN_CALLABLES = frozenset({FunctionType, BuiltinFunctionType, type})


def _is_coroutine_function(target: Any) -> bool:
    """inspect.iscoroutinefunction(), with a quick answer for plain functions and classes.

    It runs once per task: inspect's answer costs as much as a task switch.
    """
    kind = type(target)
    if kind is FunctionType:
        if target.__code__.co_flags & _CO_COROUTINE:
            return True
        # inspect.markcoroutinefunction() (3.12) marks a function with an attribute.
        return bool(target.__dict__) and inspect.iscoroutinefunction(target)
    if kind is type or kind is BuiltinFunctionType:
        return False
    return inspect.iscoroutinefunction(target)


class Task:
    """A cooperative thread of control: ``threading.Thread``'s API on a greenlet.

    ``Task(target=None, name=None, args=(), kwargs=None, *, daemon=None, loop=None,
    context=None)``: call ``start()`` to schedule it (``spawn()`` does both).
    ``target`` may be an ``async def`` function: the task then runs the coroutine
    on the loop and waits for it. Subclasses may override ``run()``; its return
    value is the task's result. The task runs in *context* (a
    ``contextvars.Context``, as ``threading.Thread`` takes from Python 3.14 and
    ``asyncio.create_task`` from 3.11; evergreen takes it on every version), by
    default in a copy of the context of the code that calls ``start()``.
    """

    # Slots: a program may keep a hundred thousand tasks waiting.
    __slots__ = ('_context', '_loop', '_target', '_args', '_kwargs', '_ident', '_name', '_daemon',
                 '_state', '_greenlet', '_start_handle', '_result', '_exception', '_killed',
                 '_joiners', '_callbacks', '_report_on_del', '_observed', '_main', '_named_after',
                 '__weakref__')

    def __init__(self, target: Callable[..., Any] | None = None, name: str | None = None,
                 args: Iterable[Any] = (), kwargs: dict[str, Any] | None = None, *,
                 daemon: bool | None = None, loop: HubCore | None = None,
                 context: contextvars.Context | None = None) -> None:
        if target is not None and not callable(target):
            raise TypeError(f'target must be callable, not {type(target).__name__}')
        if context is not None and not isinstance(context, contextvars.Context):
            raise TypeError(f'context must be a contextvars.Context, not {type(context).__name__}')
        self._context = context
        if loop is None:
            try:
                # get_loop()'s first case, inlined: a task spawned by a task.
                loop = getcurrent().evergreen_loop
            except AttributeError:
                loop = get_loop()
        self._loop = loop
        self._target = target
        self._args = args if type(args) is tuple else tuple(args)
        self._kwargs = dict(kwargs) if kwargs else {}
        self._ident = loop.next_task_number()
        # None: the default name, made when first asked for (most tasks never are).
        self._name = None if name is None else str(name)
        self._named_after = None
        if daemon is None:
            parent = getattr(getcurrent(), 'task', None)  # current_task(), inlined
            daemon = parent._daemon if parent is not None else False
        self._daemon = bool(daemon)
        self._state = _NEW
        self._greenlet: _TaskGreenlet | None = None
        self._start_handle: asyncio.Handle | None = None
        self._result: Any = None
        self._exception: BaseException | None = None
        self._killed = False
        # Made on first use: most tasks are never joined one by one.
        self._joiners: list[Waiter] | None = None
        self._callbacks: list[Callable[[Task], object]] | None = None
        # An exception nobody asked for: reported when the task is collected.
        self._report_on_del = False
        self._observed = False
        # evergreen.run()'s main task: its exception goes to run()'s caller.
        self._main = False

    def set_main(self) -> None:
        """Internal (evergreen.run()): this task's exception goes to whoever runs the loop.

        It is not reported as unretrieved, and a SystemExit ending it stops the loop.
        """
        self._main = True

    def _observe(self) -> None:
        # Somebody takes charge of the outcome: an exception is theirs, not the loop's to report.
        self._observed = True
        self._report_on_del = False

    def __del__(self) -> None:
        if not getattr(self, '_report_on_del', False):
            return
        self._report_on_del = False
        try:
            self._loop.call_exception_handler({
                'message': f'Exception in {self!r} was never retrieved',
                'exception': self._exception,
                'task': self,
            })
        except Exception:
            pass

    # ------------------------------------------------------------------
    # threading.Thread's API

    @property
    def name(self) -> str:
        name = self._name
        if name is None:
            ident = self._ident
            target = self._named_after if self._named_after is not None else self._target
            name = self._name = f'Task-{ident}' if target is None else f'Task-{ident} ({_name_of(target)})'
            self._named_after = None
        return name

    @name.setter
    def name(self, name: str) -> None:
        self._name = str(name)

    @property
    def ident(self) -> int | None:
        """A number unique among the tasks of this loop; None before start()."""
        return None if self._state == _NEW else self._ident

    @property
    def daemon(self) -> bool:
        """Daemon tasks do not keep ``evergreen.run()`` (or ``loop.run()``) waiting."""
        return self._daemon

    @daemon.setter
    def daemon(self, daemonic: bool) -> None:
        if self._state != _NEW:
            raise RuntimeError('cannot set daemon status of active task')
        self._daemon = bool(daemonic)

    @property
    def loop(self) -> HubCore:
        return self._loop

    def start(self) -> Task:
        """Schedule the task: it starts running when the loop next gets to it."""
        return self._schedule(None)

    def _schedule(self, delay: float | None) -> Task:
        if self._state != _NEW:
            raise RuntimeError('tasks can only be started once')
        loop = self._loop
        loop._check_closed()
        if threading.get_ident() != loop.owner_thread:
            raise RuntimeError('a task must be started in its loop\'s thread; '
                               'from another thread use loop.spawn_threadsafe()')
        if self._context is None:
            # Unlike threading's default (an empty context unless the interpreter says
            # otherwise, 3.14), a copy: as asyncio's tasks, which share the thread too.
            self._context = contextvars.copy_context()
        self._state = _STARTING
        loop.task_started(self)
        if delay is None:
            self._start_handle = loop.schedule(self._enter)
        else:
            self._start_handle = loop.call_later(delay, self._enter)
        return self

    def _enter(self) -> None:
        self._start_handle = None
        if self._state != _STARTING:
            return
        loop = self._loop
        idle = loop.idle_greenlets
        g = idle.pop() if idle else _TaskGreenlet(parent=loop.hub)
        g._task_ref = weakref.ref(self)
        g.evergreen_loop = loop
        g.gr_context, self._context = self._context, None
        self._greenlet = g
        g.switch()

    def run(self) -> Any:
        """The task's body: call the target. Override it in a subclass (its return value is the result)."""
        target, args, kwargs = self._target, self._args, self._kwargs
        # Do not keep the arguments alive as long as the task object (as
        # threading does), nor the task alive through this frame (see _bootstrap).
        self._target = self._args = self._kwargs = None
        if self._name is None and target is not None:
            if type(target) in _PLAIN_CALLABLES:
                # Keeping a function or class alive keeps nothing else: name the task later.
                self._named_after = target
            else:
                self.name  # noqa: B018 -- a bound method keeps its object alive: name it now
        del self
        if target is None:
            return None
        if _is_coroutine_function(target):
            return wait_awaitable(get_loop(), target(*args, **kwargs))
        return target(*args, **kwargs)

    def join(self, timeout: float | None = None) -> bool:
        """Wait until the task ends, at most *timeout* seconds; return True if it has ended."""
        if self._state == _NEW:
            raise RuntimeError('cannot join task before it is started')
        if self._greenlet is getcurrent():
            raise RuntimeError('cannot join current task')
        if self._state == _DONE:
            return True
        if timeout is not None and timeout <= 0:
            return False
        waiter = _waiter_for(self._loop)
        if self._joiners is None:
            self._joiners = []
        self._joiners.append(waiter)
        try:
            waiter.wait(timeout)
        finally:
            if self._state != _DONE:
                self._joiners.remove(waiter)
        return self._state == _DONE

    def is_alive(self) -> bool:
        """True from start() until the task ends."""
        return self._state in (_STARTING, _RUNNING)

    def kill(self, exception: BaseException | type[BaseException] | None = None,
             block: bool = True, timeout: float | None = None) -> None:
        """Raise *exception* (default :class:`TaskExit`) in the task where it blocks.

        A task that has not started yet is cancelled without running. The
        outcome is not reported as an unhandled error, even if *exception* is
        not TaskExit: the killer decided it. With
        *block* (the default) wait for the task to end, at most *timeout*
        seconds; from the loop itself (a callback or a coroutine), where
        nothing may block, the kill is only scheduled. A task killing itself
        raises the exception at once.
        """
        if exception is None:
            exception = TaskExit()
        elif isinstance(exception, type):
            exception = exception()
        if not isinstance(exception, BaseException):
            raise TypeError(f'kill() takes an exception, not {type(exception).__name__}')
        if self._state == _DONE:
            return
        # Whoever kills a task chose how it ends: that is not an error to report.
        self._observe()
        loop = self._loop
        if threading.get_ident() != loop.owner_thread:
            loop.call_soon_threadsafe(self.kill, exception, False)
        elif self._state == _NEW:
            self._finish_killed(exception, counted=False)
            return
        elif self._greenlet is getcurrent():
            raise exception
        elif self._state == _STARTING:
            if self._start_handle is not None:
                self._start_handle.cancel()
                self._start_handle = None
            self._finish_killed(exception, counted=True)
            return
        else:
            loop.schedule(self._throw_in, exception)
        if block and getcurrent() is not loop.hub:
            self.join(timeout)

    def _throw_in(self, exception: BaseException) -> None:
        if self._state == _RUNNING and not self._greenlet.dead:
            self._greenlet.throw(exception)

    # ------------------------------------------------------------------
    # The outcome

    def done(self) -> bool:
        """True once the task has ended (returned, raised or was killed)."""
        return self._state == _DONE

    def cancelled(self) -> bool:
        """True if the task was killed (it ended through TaskExit)."""
        return self._state == _DONE and self._killed

    def result(self, timeout: float | None = None) -> Any:
        """Wait for the task and return what run() returned, or raise what it raised.

        Raises TimeoutError if it does not end within *timeout* seconds,
        ``concurrent.futures.CancelledError`` if it was killed.
        """
        self._observe()
        if self._state != _DONE and not self.join(timeout):
            raise TimeoutError(f'{self!r} did not finish within {timeout} seconds')
        if self._killed:
            raise CancelledError()
        if self._exception is not None:
            raise self._exception
        return self._result

    def exception(self, timeout: float | None = None) -> BaseException | None:
        """Wait for the task and return the exception it raised (None if it returned)."""
        self._observe()
        if self._state != _DONE and not self.join(timeout):
            raise TimeoutError(f'{self!r} did not finish within {timeout} seconds')
        if self._killed:
            raise CancelledError()
        return self._exception

    def add_done_callback(self, fn: Callable[[Task], object]) -> None:
        """Call ``fn(task)`` when the task ends (at once if it has), in the ending task."""
        self._observe()
        if self._state == _DONE:
            self._run_callback(fn)
        else:
            self._add_callback(fn)

    def remove_done_callback(self, fn: Callable[[Task], object]) -> int:
        """Remove every registration of *fn*; return how many there were."""
        callbacks = self._callbacks
        if not callbacks:
            return 0
        before = len(callbacks)
        self._callbacks = [cb for cb in callbacks if cb != fn]
        return before - len(self._callbacks)

    def _add_callback(self, fn: Callable[[Task], object]) -> None:
        if self._callbacks is None:
            self._callbacks = [fn]
        else:
            self._callbacks.append(fn)

    def __await__(self):
        """A coroutine may ``await task``: it gets the result, or the exception.

        If the awaiting coroutine is cancelled, the task is killed, as
        awaiting an asyncio Task propagates the cancellation.
        """
        self._observe()
        if self._state != _DONE:
            aloop = asyncio.get_running_loop()
            fut = aloop.create_future()
            same_thread = threading.get_ident() == self._loop.owner_thread

            def on_done(task: Task) -> None:
                if same_thread:
                    if not fut.done():
                        fut.set_result(None)
                else:
                    aloop.call_soon_threadsafe(_resolve, fut)

            self.add_done_callback(on_done)
            try:
                yield from fut.__await__()
            except asyncio.CancelledError:
                self.kill(block=False)
                raise
            finally:
                self.remove_done_callback(on_done)
        if self._killed:
            raise asyncio.CancelledError()
        if self._exception is not None:
            raise self._exception
        return self._result

    # ------------------------------------------------------------------
    # Life and death inside the greenlet

    def _bootstrap(self) -> None:
        self._state = _RUNNING
        try:
            result = self.run()
        except (TaskExit, GreenletExit):
            self._finish(killed=True)
        except BaseException as exc:
            self._finish(exc=_without_evergreen_frames(exc))
        else:
            self._finish(result=result)
        # A traceback's frames keep their callers' frames alive (f_back): this
        # one must not keep the task alive, or an unretrieved exception would
        # wait for the garbage collector to be reported.
        del self

    def _finish_killed(self, exception: BaseException, counted: bool) -> None:
        if isinstance(exception, (TaskExit, GreenletExit)):
            self._finish(killed=True, counted=counted)
        else:
            self._finish(exc=exception, counted=counted)

    def _finish(self, result: Any = None, exc: BaseException | None = None,
                killed: bool = False, counted: bool = True) -> None:
        self._state = _DONE
        # The greenlet goes on to run other tasks.
        self._greenlet = None
        self._result, self._exception, self._killed = result, exc, killed
        if self._target is not None:
            # Killed before it ran: name it after its target before dropping it.
            self.name  # noqa: B018
            self._target = self._args = self._kwargs = None
        self._context = None
        loop = self._loop
        if counted:
            loop.task_finished(self)
        closed = loop._closed
        joiners = self._joiners
        if joiners:
            self._joiners = None
            if not closed:
                for waiter in joiners:
                    waiter.wake()
        callbacks = self._callbacks
        if callbacks:
            self._callbacks = None
            for fn in callbacks:
                self._run_callback(fn)
        if exc is None or closed:
            return
        if isinstance(exc, KeyboardInterrupt) or (self._main and isinstance(exc, SystemExit)):
            loop.propagate(exc)
        elif not self._observed and not self._main and not isinstance(exc, SystemExit):
            self._report_on_del = True

    def _run_callback(self, fn: Callable[[Task], object]) -> None:
        try:
            fn(self)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._loop.call_exception_handler({
                'message': f'Exception in done callback {fn!r} of {self!r}',
                'exception': exc,
                'task': self,
            })

    # ------------------------------------------------------------------

    def __repr__(self) -> str:
        state = self._state
        if state == _DONE:
            if self._killed:
                detail = 'killed'
            elif self._exception is not None:
                detail = f'failed {self._exception!r}'
            else:
                detail = f'done result={_short_repr(self._result)}'
        elif state == _RUNNING:
            if self._greenlet is getcurrent():
                detail = 'running'
            else:
                detail = 'blocked' + _where_blocked(self._greenlet)
        else:
            detail = state + (' daemon' if self._daemon else '')
        return f'<evergreen.Task {self.name!r} {detail}>'

    def get_stack(self) -> list:
        """The frames of the task where it is blocked, outermost first (empty if not blocked)."""
        g = self._greenlet
        return stack_from(g.gr_frame if g is not None and g is not getcurrent() else None)


def stack_from(frame: Any) -> list:
    """*frame* and its callers, outermost first."""
    stack = []
    while frame is not None:
        stack.append(frame)
        frame = frame.f_back
    stack.reverse()
    return stack


def _without_evergreen_frames(exc: BaseException) -> BaseException:
    """Drop the task machinery's frames from the front of *exc*'s traceback.

    They would keep the task alive through its own exception (a reference
    cycle), delaying the report of an exception nobody retrieved.
    """
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code in MACHINERY_CODES:
        tb = tb.tb_next
    return exc.with_traceback(tb)


def _short_repr(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + '...'


def _is_evergreen_frame(frame: Any) -> bool:
    directory = os.path.dirname(os.path.abspath(frame.f_code.co_filename))
    return directory == _PACKAGE_DIR or directory.startswith(_PACKAGE_DIR + os.sep)


def _where_blocked(g: greenlet | None) -> str:
    """' in Lock.acquire() at app.py:12': the evergreen call and the user's line."""
    frame = g.gr_frame if g is not None else None
    inner_call = None
    while frame is not None and _is_evergreen_frame(frame):
        inner_call = frame.f_code.co_qualname if hasattr(frame.f_code, 'co_qualname') else frame.f_code.co_name
        frame = frame.f_back
    if frame is None:
        return ''
    where = f' at {os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}'
    if inner_call is not None:
        return f' in {inner_call}(){where}'
    return where


MACHINERY_CODES = frozenset({Task._bootstrap.__code__, Task.run.__code__, _TaskGreenlet.run.__code__})
"""The code of the frames every task's stack starts with (left out of reports)."""


def task_running_in(frame: Any) -> Task | None:
    """The Task whose body *frame* belongs to (walking out to its bootstrap frame), or None."""
    bootstrap = Task._bootstrap.__code__
    while frame is not None:
        if frame.f_code is bootstrap:
            return frame.f_locals.get('self')
        frame = frame.f_back
    return None


def _resolve(fut: asyncio.Future) -> None:
    if not fut.done():
        fut.set_result(None)


# ----------------------------------------------------------------------
# Module functions


def current_task() -> Task | None:
    """The Task running now, or None outside any task (e.g. in the main greenlet)."""
    return getattr(getcurrent(), 'task', None)


def spawn(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Task:
    """Start ``fn(*args, **kwargs)`` in a new task of the current loop and return it."""
    return Task(target=fn, args=args, kwargs=kwargs).start()


def spawn_later(seconds: float, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Task:
    """Like spawn(), but the task starts after *seconds* (it counts as alive meanwhile)."""
    seconds = _check_seconds(seconds, 'delay')
    return Task(target=fn, args=args, kwargs=kwargs)._schedule(seconds)


def _check_seconds(seconds: Any, what: str) -> float:
    if isinstance(seconds, (str, bytes, bytearray)):
        raise TypeError(f'{what} must be a number of seconds, not {type(seconds).__name__}')
    try:
        seconds = float(seconds)
    except (TypeError, ValueError):
        raise TypeError(f'{what} must be a number of seconds, not {type(seconds).__name__}') from None
    if seconds != seconds:
        raise ValueError(f'{what} must not be NaN')
    if seconds < 0:
        raise ValueError(f'{what} must be non-negative')
    return float(seconds)


def sleep(seconds: float = 0) -> None:
    """Block the current task for *seconds*; ``sleep(0)`` lets every ready task run first."""
    if seconds != 0:
        kind = seconds.__class__
        if not ((kind is float or kind is int) and seconds > 0):
            # (A positive int or float, the usual timed sleep, needs no checking.)
            seconds = _check_seconds(seconds, 'sleep length')
    if seconds != 0:
        Waiter().wait(seconds)
        return
    # A wake-up in the ready queue, behind everything already there (if the
    # task is killed meanwhile, the Waiter drops it).
    current = getcurrent()
    if current.__class__ is not _TaskGreenlet:
        waiter = Waiter()
        waiter.wake()
        waiter.wait()
        return
    # A task's greenlet keeps one Waiter for sleep(0): making one costs as much
    # as the rest of the hand-off. It is safe to wait on again once its one
    # wake-up has been delivered (wait() returned): nothing else refers to it.
    waiter = current.sleep_waiter
    if waiter is None:
        waiter = current.sleep_waiter = Waiter(current.evergreen_loop)
    try:
        waiter.wake()
        waiter.wait()
    except BaseException:
        # Interrupted: its wake-up may still be queued, so it must never wait again.
        current.sleep_waiter = None
        raise


def joinall(tasks: Iterable[Task], timeout: float | None = None,
            raise_error: bool = False) -> list[Task]:
    """Wait until every task has ended (at most *timeout* seconds); return those that ended.

    With *raise_error*, stop waiting as soon as a task fails and raise its
    exception (killed tasks do not count as failures).
    """
    tasks = list(tasks)
    if raise_error:
        for task in tasks:
            task._observe()
    pending = [t for t in tasks if not t.done()]
    # Not "timeout > 0": a NaN timeout must reach the Waiter, which refuses it.
    if pending and (timeout is None or not timeout <= 0):
        waiter = _waiter_for(pending[0]._loop)
        remaining = len(pending)

        def on_done(task: Task) -> None:
            nonlocal remaining
            remaining -= 1
            if remaining == 0 or (raise_error and task._exception is not None):
                waiter.wake()

        for task in pending:
            # Not add_done_callback(): waiting for a task is not handling its error.
            task._add_callback(on_done)
        try:
            waiter.wait(timeout)
        finally:
            for task in pending:
                if task._state != _DONE:  # a finished task has dropped its callbacks
                    task.remove_done_callback(on_done)
    if raise_error:
        for task in tasks:
            if task.done() and not task._killed and task._exception is not None:
                raise task._exception
    return [t for t in tasks if t.done()]


def kill_all(loop: HubCore, timeout: float | None) -> bool:
    """Kill every task alive on *loop*; wait for them (at most *timeout*); True if all ended."""
    tasks = loop.tasks()
    for task in tasks:
        task.kill(block=False)
    return len(joinall(tasks, timeout)) == len(tasks)
