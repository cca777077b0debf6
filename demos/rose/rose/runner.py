"""Entry points: new_event_loop(), run(), and the policy while asyncio has policies.

``EventLoopPolicy`` is made on first use (see ``event_loop_policy_class``), so
that importing rose touches no deprecated asyncio API.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Awaitable
from typing import Any, TypeVar

from . import compat
from .loop import EventLoop

__all__ = ['new_event_loop', 'run']

_T = TypeVar('_T')


def new_event_loop() -> EventLoop:
    """Return a new rose event loop (a zero-argument loop factory)."""
    return EventLoop()


def run(main: Awaitable[_T], *, debug: bool | None = None) -> _T:
    """Run coroutine *main* on a new rose loop and return its result, like asyncio.run().

    The loop is created, the coroutine run to completion, remaining tasks
    cancelled, async generators and the default executor shut down, and the
    loop closed. It cannot be called while another event loop runs in this
    thread. *main* is what this Python's ``asyncio.Runner.run()`` takes: a
    coroutine, or from Python 3.14 on any awaitable; anything else is the
    same error (ValueError before 3.14, TypeError from 3.14).
    """
    if compat._get_running_loop() is not None:
        raise RuntimeError('rose.run() cannot be called from a running event loop')
    with asyncio.Runner(debug=debug, loop_factory=new_event_loop) as runner:
        return runner.run(main)


# asyncio's event loop policies differ by version (see rose.compat).
_POLICIES_DEPRECATED = compat.POLICIES_DEPRECATED
_POLICY_BASE = compat.POLICY_BASE
_policy_class: type | None = None


def event_loop_policy_class(stacklevel: int = 2) -> type:
    """The class behind ``rose.EventLoopPolicy``, made on first use.

    Only there while asyncio has policies (AttributeError otherwise); where
    asyncio deprecates them, asking for it warns as asking for
    ``asyncio.DefaultEventLoopPolicy`` does (*stacklevel* names the caller).
    """
    global _policy_class
    if _POLICY_BASE is None:
        raise AttributeError("rose.EventLoopPolicy: this Python's asyncio has no event loop policies; "
                             'use asyncio.Runner(loop_factory=rose.new_event_loop) or rose.run()')
    if _POLICIES_DEPRECATED:
        warnings.warn('rose.EventLoopPolicy is deprecated, as asyncio event loop policies are '
                      '(removal planned for Python 3.16); use '
                      'asyncio.Runner(loop_factory=rose.new_event_loop) or rose.run()',
                      DeprecationWarning, stacklevel=stacklevel + 1)
    if _policy_class is None:
        class EventLoopPolicy(_POLICY_BASE):
            """An event loop policy whose loops are rose loops.

            For code that still calls ``asyncio.set_event_loop_policy()``; it
            exists only while asyncio has policies, which are deprecated from
            Python 3.14 (removal planned for 3.16): prefer
            ``asyncio.Runner(loop_factory=rose.new_event_loop)``, or on 3.12+
            ``asyncio.run(main(), loop_factory=rose.new_event_loop)``, or
            ``rose.run()``.
            """

            _loop_factory = EventLoop

        EventLoopPolicy.__module__ = 'rose'
        EventLoopPolicy.__qualname__ = 'EventLoopPolicy'
        _policy_class = EventLoopPolicy
    return _policy_class


def __getattr__(name: str) -> Any:
    if name == 'EventLoopPolicy':
        return event_loop_policy_class(stacklevel=2)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
