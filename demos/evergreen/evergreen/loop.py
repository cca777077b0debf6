"""evergreen's event loop: rose's asyncio loop, run by a hub greenlet, that spawns tasks.

:class:`HubMixin` is :class:`evergreen.hub.HubCore` (the hub, waiting, running
from outside; read :mod:`evergreen.hub` first), :class:`evergreen.fds.FdWaits`
(tasks waiting for descriptors beside ``add_reader``), plus what needs tasks and
futures: ``spawn``, ``spawn_threadsafe``, and killing the tasks still alive
when the loop is closed. :class:`EventLoop` mixes it into ``rose.EventLoop``
(an asyncio loop on libuv), so coroutines and tasks share one loop in one
thread, and ``loop.uv_loop`` serves evergreen's native libuv streams.
"""

from __future__ import annotations

from _thread import get_ident
from collections.abc import Callable
from concurrent.futures import CancelledError
from typing import Any

from greenlet import getcurrent

import rose

from .fds import FdWaits
from .futures import Future
from .hub import HubCore, get_loop, set_default_loop_class
from .tasks import Task, kill_all

__all__ = ['EventLoop', 'HubMixin', 'get_loop']


class HubMixin(FdWaits, HubCore):
    """What turns an asyncio event loop class into an evergreen loop.

    Mixed into ``rose.EventLoop`` to make :class:`EventLoop`; it uses only the
    standard loop API, so it can be mixed into another asyncio loop class (the
    tests do, with asyncio's own) to run tasks, locks, queues and futures --
    but evergreen's native I/O needs ``uv_loop``, which only rose has.
    """

    @classmethod
    def current(cls) -> HubCore:
        """The evergreen loop of the current task or thread (see :func:`get_loop`)."""
        return get_loop()

    def spawn(self, fn: Callable[..., object], *args: Any, **kwargs: Any) -> Task:
        """Start ``fn(*args, **kwargs)`` in a new task on this loop and return the Task."""
        return Task(target=fn, args=args, kwargs=kwargs, loop=self).start()

    def spawn_threadsafe(self, fn: Callable[..., object], *args: Any, **kwargs: Any) -> Future:
        """From any thread: start ``fn(*args, **kwargs)`` in a task on this loop.

        Returns an evergreen Future (a ``concurrent.futures.Future``) for the
        task's result: the other thread may block on ``result()``.
        """
        future = Future()

        def start() -> None:
            if not future.set_running_or_notify_cancel():
                return
            task = Task(target=fn, args=args, kwargs=kwargs, loop=self)
            task.add_done_callback(_copy_task_outcome(future))
            task.start()

        self.call_soon_threadsafe(start)
        return future

    def close(self) -> None:
        """Kill the tasks still alive (briefly running the loop for them), then close."""
        if self.tasks() and not self.is_closed() and not self.is_running() \
                and getcurrent() is not self.hub and get_ident() == self.owner_thread:
            kill_all(self, timeout=5.0)
        super().close()

    def __repr__(self) -> str:
        if self.is_closed():
            state = 'closed'
        elif self.is_running():
            state = 'running'
        else:
            state = 'idle'
        return (f'<{type(self).__module__}.{type(self).__qualname__} {state} '
                f'tasks={len(self.tasks())} thread={self.owner_thread}>')


def _copy_task_outcome(future: Future) -> Callable[[Task], None]:
    def copy(task: Task) -> None:
        if task.cancelled():
            # The future is running (its task started): it cannot be cancelled any more.
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


set_default_loop_class(EventLoop)
