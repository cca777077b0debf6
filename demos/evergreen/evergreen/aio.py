"""A greenlet waits for an asyncio awaitable: the part of the bridge that tasks need.

:func:`wait_awaitable` is what ``evergreen.wait_for`` does with a coroutine,
an asyncio Task or Future, or any awaitable, and what a task whose target is
an ``async def`` function does with its coroutine. It sits just above
:mod:`evergreen.hub` because :mod:`evergreen.tasks` needs it; the rest of the
bridge (``wait_for`` for tasks and ``concurrent.futures`` futures,
``to_thread``) is in :mod:`evergreen.bridge`, above tasks and futures.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from greenlet import getcurrent

from .hub import TIMED_OUT, HubCore, Waiter, blocking_in_loop_error

__all__ = ['wait_awaitable']

_T = TypeVar('_T')


def wait_awaitable(loop: HubCore, aw: Awaitable[_T], timeout: float | None = None) -> _T:
    """Block the current greenlet until *aw* completes on *loop*; its result or exception.

    After *timeout* seconds the awaitable is cancelled and, once it has
    finished cancelling, TimeoutError is raised, as with ``asyncio.wait_for``.
    If the waiting greenlet is killed, the awaitable is cancelled too.
    """
    if getcurrent() is loop.hub:
        if asyncio.iscoroutine(aw):
            aw.close()
        raise blocking_in_loop_error('evergreen.wait_for()')
    fut = asyncio.ensure_future(aw, loop=loop)
    if not fut.done():
        waiter = Waiter(loop)

        def on_done(_: asyncio.Future) -> None:
            waiter.switch()

        fut.add_done_callback(on_done)
        try:
            outcome = waiter.wait(timeout, 'evergreen.wait_for()')
        except BaseException:
            fut.remove_done_callback(on_done)
            fut.cancel()
            raise
        if outcome is TIMED_OUT:
            fut.remove_done_callback(on_done)
            fut.cancel()
            if not fut.done():
                settled = Waiter(loop)
                fut.add_done_callback(lambda _: settled.switch())
                settled.wait()
            raise TimeoutError(f'the awaitable did not complete within {timeout} seconds')
    return fut.result()

