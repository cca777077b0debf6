"""Write a loop test once, run it on rose and on asyncio's own loop.

A behaviour is a mixin of test methods that use ``self.loop``;
``loop_test_cases(Mixin)`` makes one ``unittest.TestCase`` per loop variant:
rose and asyncio's ``SelectorEventLoop``, each also in debug mode (as under
``PYTHONASYNCIODEBUG=1``). A test fails if the loop's exception handler is
called unless the test expects it (``with self.expect_exception_handler():``).

rose's own tests use this; so may other packages built on rose.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import unittest
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

from .runner import new_event_loop

__all__ = ['LoopTestCase', 'loop_test_cases', 'LOOP_FACTORIES']

_T = TypeVar('_T')

LOOP_FACTORIES: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
    'rose': new_event_loop,
    'asyncio': asyncio.SelectorEventLoop,
}


class LoopTestCase(unittest.TestCase):
    """Base of the generated test cases: a fresh loop per test, watched for errors."""

    loop_name: str = 'rose'
    debug: bool = False
    #: Seconds a single run_loop() call may take before the test fails.
    timeout: float = 15.0

    def setUp(self) -> None:
        super().setUp()
        self._saved_env = os.environ.get('PYTHONASYNCIODEBUG')
        if self.debug:
            os.environ['PYTHONASYNCIODEBUG'] = '1'
        else:
            os.environ.pop('PYTHONASYNCIODEBUG', None)
        self.handler_calls: list[dict[str, Any]] = []
        self._handler_expected = 0
        self.loop = self.new_loop()
        asyncio.set_event_loop(None)

    def new_loop(self) -> asyncio.AbstractEventLoop:
        """Make a loop of this case's kind whose exception handler records its calls."""
        loop = LOOP_FACTORIES[self.loop_name]()
        loop.set_exception_handler(self._record_handler_call)
        self.addCleanup(self._close_loop, loop)
        return loop

    def _record_handler_call(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        self.handler_calls.append(context)
        if not self._handler_expected:
            loop.default_exception_handler(context)

    @contextlib.contextmanager
    def expect_exception_handler(self) -> Iterator[list[dict[str, Any]]]:
        """Allow exception-handler calls inside the block; yields the list of them."""
        self._handler_expected += 1
        start = len(self.handler_calls)
        calls: list[dict[str, Any]] = []
        try:
            yield calls
        finally:
            calls.extend(self.handler_calls[start:])
            del self.handler_calls[start:]
            self._handler_expected -= 1

    def _close_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        if not loop.is_closed():
            if loop._default_executor is not None:
                loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    def tearDown(self) -> None:
        if not self.loop.is_closed():
            # Let transports finish closing before the loop goes.
            self.loop.run_until_complete(asyncio.sleep(0))
        self.doCleanups()
        if self._saved_env is None:
            os.environ.pop('PYTHONASYNCIODEBUG', None)
        else:
            os.environ['PYTHONASYNCIODEBUG'] = self._saved_env
        unexpected = [c.get('message') for c in self.handler_calls]
        self.handler_calls = []
        super().tearDown()
        if unexpected:
            self.fail(f'the exception handler was called unexpectedly: {unexpected}')

    def run_loop(self, aw: Awaitable[_T], timeout: float | None = None) -> _T:
        """Run *aw* to completion on self.loop, failing after *timeout* seconds."""
        limit = self.timeout if timeout is None else timeout

        async def bounded() -> _T:
            return await asyncio.wait_for(aw, limit)

        return self.loop.run_until_complete(bounded())

    def tcp_listener(self) -> socket.socket:
        """A listening TCP socket on 127.0.0.1 and a free port, closed after the test."""
        sock = socket.create_server(('127.0.0.1', 0))
        self.addCleanup(sock.close)
        return sock


def loop_test_cases(mixin: type) -> dict[str, type]:
    """Concrete TestCase classes running *mixin* on every loop, in normal and debug mode.

    Use as ``globals().update(loop_test_cases(TimerTests))`` in a test module.
    """
    cases = {}
    base = mixin.__name__
    for loop_name in LOOP_FACTORIES:
        for debug in (False, True):
            name = f'Test{base}_{loop_name}{"_debug" if debug else ""}'
            cases[name] = type(name, (mixin, LoopTestCase), {
                'loop_name': loop_name, 'debug': debug, '__module__': mixin.__module__,
            })
    return cases
