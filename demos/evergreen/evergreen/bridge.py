"""The asyncio bridge: tasks wait for awaitables; blocking calls go to threads.

evergreen's loop *is* an asyncio loop, so both directions are one call:

* in a task, ``evergreen.wait_for(awaitable, timeout=None)`` blocks the task
  (not the loop) until a coroutine, asyncio Task or Future completes, and
  returns its result or raises its exception;
* in a coroutine, ``await task`` or ``await future`` waits for an evergreen
  Task or Future; ``evergreen.spawn(blocking_function)`` starts blocking-style
  code from a coroutine.

``to_thread(fn, ...)`` runs a call that would block the whole thread in the
loop's default thread pool and blocks only the calling task.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from greenlet import getcurrent

from .aio import wait_awaitable
from .futures import wait as wait_futures
from .hub import blocking_in_loop_error, find_loop, get_loop
from .tasks import Task

__all__ = ['wait_for', 'to_thread']

_T = TypeVar('_T')


def wait_for(aw: Awaitable[_T], timeout: float | None = None) -> _T:
    """Block the current task until *aw* completes; return its result or raise its exception.

    *aw* may be a coroutine (run as an asyncio task on this loop), an asyncio
    Task or Future of this loop, any awaitable, an evergreen Task, or a
    ``concurrent.futures.Future`` (evergreen's or the standard library's, from
    any executor or thread). For an awaitable, after *timeout* seconds it is
    cancelled and, once it has finished cancelling, TimeoutError is raised,
    as with ``asyncio.wait_for``; if the waiting task is killed, the
    awaitable is cancelled too. A Task or a ``concurrent.futures.Future`` is
    waited for as its ``result(timeout)`` would: TimeoutError, and it is left
    to go on. Only the calling task waits; a NaN timeout raises ValueError.
    """
    if isinstance(aw, Task):
        return aw.result(timeout)
    if isinstance(aw, concurrent.futures.Future):
        if not aw.done():
            loop = find_loop()
            if loop is not None and getcurrent() is loop.hub:
                raise blocking_in_loop_error('evergreen.wait_for()')
            # A stdlib future's result() would block the thread, and the loop
            # with it: evergreen's wait() parks only this task (outside a
            # loop it is concurrent.futures.wait, which blocks the thread).
            wait_futures((aw,), timeout)
        return aw.result(timeout=0)
    return wait_awaitable(get_loop(), aw, timeout)


def to_thread(fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> _T:
    """Run ``fn(*args, **kwargs)`` in the loop's default thread pool; block only this task.

    The call sees the task's context variables, as with ``asyncio.to_thread``.
    """
    loop = get_loop()
    call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
    return wait_for(loop.run_in_executor(None, call))
