"""Entry points: new_event_loop(), run() and the (deprecated upstream) policy."""

from __future__ import annotations

import asyncio
from asyncio import events
from typing import Any, Coroutine, TypeVar

from .loop import EventLoop

__all__ = ['new_event_loop', 'run', 'EventLoopPolicy']

_T = TypeVar('_T')


def new_event_loop() -> EventLoop:
    """Return a new rose event loop (a zero-argument loop factory)."""
    return EventLoop()


def run(main: Coroutine[Any, Any, _T], *, debug: bool | None = None) -> _T:
    """Run coroutine *main* on a new rose loop and return its result, like asyncio.run().

    The loop is created, the coroutine run to completion, remaining tasks
    cancelled, async generators and the default executor shut down, and the
    loop closed. It cannot be called while another event loop runs in this
    thread.
    """
    if events._get_running_loop() is not None:
        raise RuntimeError('rose.run() cannot be called from a running event loop')
    with asyncio.Runner(debug=debug, loop_factory=new_event_loop) as runner:
        return runner.run(main)


_BasePolicy = getattr(events, 'BaseDefaultEventLoopPolicy', None) or events._BaseDefaultEventLoopPolicy


class EventLoopPolicy(_BasePolicy):
    """An event loop policy whose loops are rose loops.

    For code that still calls ``asyncio.set_event_loop_policy()``. Policies are
    deprecated from Python 3.14 (removal planned for 3.16): prefer
    ``asyncio.Runner(loop_factory=rose.new_event_loop)``, or on 3.12+
    ``asyncio.run(main(), loop_factory=rose.new_event_loop)``, or ``rose.run()``.
    """

    _loop_factory = EventLoop
