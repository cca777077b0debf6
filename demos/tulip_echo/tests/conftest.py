"""Fixtures shared by tulip_echo's tests: the (style, loop) matrix and servers in threads.

Every behaviour is written once and run against every server style on every
loop (``asyncio``, ``rose``, ``uvloop`` for the protocol and streams styles;
evergreen's own loop for the evergreen style). A combination whose loop has
not landed is skipped with the reason; under ``CI=true`` the pinned loops
(asyncio, uvloop) must be there, so their absence fails instead.

A server under test runs on its own loop in a background thread, with an
exception handler that records every call: a test fails if the loop's
exception handler fired, as in uvloop's own tests.
"""

from __future__ import annotations

import asyncio
import gc
import os
import resource
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tulip_echo import loops
from tulip_echo.registry import Connections

IN_CI = os.environ.get("CI") == "true"
PINNED = {"asyncio", "uvloop"}   # installed by `make setup`: never skipped in CI

COMBINATIONS = [(style, loop) for loop in loops.LOOPS for style in ("protocol", "streams")]
COMBINATIONS.append(("evergreen", "evergreen"))


def combination_id(combo: tuple[str, str]) -> str:
    style, loop = combo
    return style if style == loop else f"{style}-{loop}"


def require(style: str, loop: str) -> None:
    """Skip (locally, or in CI for a loop that has not landed) when a combination cannot run."""
    reason = (loops.evergreen_unavailable_reason() if style == "evergreen"
              else loops.unavailable_reason(loop))
    if reason is None:
        return
    if IN_CI and loop in PINNED:
        pytest.fail(f"{loop} must be available in CI: {reason}")
    pytest.skip(f"{loop}: {reason}")


@pytest.fixture(scope="session", autouse=True)
def fd_limit() -> int:
    """Raise the open-file limit as far as the system lets (the hard limit on Linux): the
    tests open thousands of sockets. Returns the limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    # macOS refuses an unlimited soft limit, or one above kern.maxfilesperproc: try less.
    for target in (hard, 65_536, 24_576, 10_240):
        if soft >= target or (target > hard and hard != resource.RLIM_INFINITY):
            continue
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            continue
        return target
    return soft


@pytest.fixture(params=COMBINATIONS, ids=combination_id)
def combo(request) -> tuple[str, str]:
    style, loop = request.param
    require(style, loop)
    return style, loop


@dataclass
class ThreadedServer:
    """An echo server running on its own loop in a background thread."""
    style: str
    loop_name: str
    host: str = ""
    port: int = 0
    connections: Connections | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    _thread: threading.Thread | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _stop: Any = None
    _server: Any = None
    _ready: threading.Event = field(default_factory=threading.Event)
    _failure: BaseException | None = None
    _grace: float = 0.0
    # A test may shut the server down from a helper thread while the fixture's
    # teardown does the same; the second caller waits for the first.
    _shutdown_lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        if self.style == "evergreen":
            target = self._run_evergreen
        else:
            target = self._run_asyncio
        self._thread = threading.Thread(target=target, name=f"echo-{self.style}-{self.loop_name}",
                                        daemon=True)
        self._thread.start()
        if not self._ready.wait(30):
            raise TimeoutError("the echo server did not start within 30 s")
        if self._failure is not None:
            raise self._failure

    def _started(self, server) -> None:
        self._server = server
        self.host, self.port = server.address
        self.connections = server.connections
        self._ready.set()

    def _failed(self, exc: BaseException) -> None:
        self._failure = exc
        self._ready.set()

    def _run_asyncio(self) -> None:
        from tulip_echo.server import EchoServer

        async def main() -> None:
            loop = asyncio.get_running_loop()
            loop.set_exception_handler(lambda _, context: self.errors.append(context))
            self._loop = loop
            self._stop = loop.create_future()
            try:
                self._started(await EchoServer.start(style=self.style, report=self.lines.append))
            except BaseException as exc:
                self._failed(exc)
                return
            grace = await self._stop
            await self._server.shutdown(grace)

        loops.run(main(), self.loop_name)

    def _run_evergreen(self) -> None:
        import evergreen
        from evergreen.locks import Event
        from tulip_echo.green import GreenEchoServer

        def main() -> None:
            loop = evergreen.get_loop()
            loop.set_exception_handler(lambda _, context: self.errors.append(context))
            self._loop = loop
            stop = Event()
            self._stop = stop
            try:
                self._started(GreenEchoServer.start(report=self.lines.append))
            except BaseException as exc:
                self._failed(exc)
                return
            stop.wait()
            self._server.shutdown(self._grace)

        evergreen.run(main)

    def shutdown(self, grace: float = 0.0, timeout: float = 30.0) -> None:
        """Shut the server down (gracefully, within ``grace``) and wait for its thread.

        Safe to call more than once and from several threads: later calls return
        once the server has stopped.
        """
        with self._shutdown_lock:
            thread = self._thread
            if thread is None:
                return
            if self.style == "evergreen":
                self._grace = grace
                self._loop.call_soon_threadsafe(self._stop.set)
            else:
                self._loop.call_soon_threadsafe(
                    lambda: self._stop.done() or self._stop.set_result(grace))
            thread.join(timeout)
            if thread.is_alive():
                raise TimeoutError(f"the echo server did not stop within {timeout:g} s")
            self._thread = None
        if self.style == "evergreen":
            # evergreen's loop leaves libuv handles to the garbage collector; collect
            # them now, before their descriptor numbers are reused by the next test.
            gc.collect()

    def wait_for(self, predicate, timeout: float = 20.0, what: str = "condition") -> None:
        """Poll (bounded) until predicate() holds."""
        import time
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} did not hold within {timeout:g} s "
                                   f"({self.connections.status()})")
            time.sleep(0.01)


@pytest.fixture
def asyncio_server() -> Iterator[ThreadedServer]:
    """A protocol-style server on asyncio's own loop, for tests about the clients and the CLI."""
    server = ThreadedServer("protocol", "asyncio")
    server.start()
    yield server
    server.shutdown()


@pytest.fixture
def echo_server(combo) -> Iterator[ThreadedServer]:
    style, loop = combo
    server = ThreadedServer(style, loop)
    server.start()
    try:
        yield server
    finally:
        server.shutdown()
    assert not server.errors, f"the loop's exception handler fired: {server.errors}"

