"""The asyncio echo server's life: start, report, shut down gracefully.

One :class:`EchoServer` runs either style (``"protocol"`` or ``"streams"``)
on whatever loop is running: the loop was chosen by the caller's loop
factory, the server only ever asks for the running one.

Shutting down (:meth:`EchoServer.shutdown`, or SIGINT/SIGTERM under
:meth:`EchoServer.serve_until_signal`) happens in three steps:

1. stop accepting: the listening sockets close, new clients are refused;
2. give the connected clients up to ``grace`` seconds to finish and leave;
3. close whoever is left (their pending echo is flushed first), and abort
   the connections that still have not gone a second later.

A second signal during step 2 skips straight to step 3.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from typing import Any, Protocol

from .protocol import EchoProtocol
from .registry import Connections, StatusReporter
from .streams import READ_SIZE, handle_echo

__all__ = ["ASYNCIO_STYLES", "DEFAULT_GRACE", "EchoServer", "shutdown_signal_handler"]

ASYNCIO_STYLES: tuple[str, ...] = ("protocol", "streams")
#: Seconds connected clients get to leave once shutdown has begun.
DEFAULT_GRACE = 5.0
#: Seconds a closed connection gets to flush its output before it is aborted.
FLUSH_TIMEOUT = 1.0
#: Listen backlog: bursts of thousands of connects must not overflow it.
DEFAULT_BACKLOG = 4096


class _Flag(Protocol):
    def is_set(self) -> bool: ...

    def set(self) -> None: ...


def shutdown_signal_handler(stop: _Flag, connections: Connections,
                            say: Callable[[str], Any]) -> Callable[[int], None]:
    """What SIGINT and SIGTERM do to a server (the same for every style).

    The first signal sets ``stop`` (the server then shuts down gracefully);
    another one while clients are given their grace time aborts them all.
    """
    def on_signal(signum: int) -> None:
        name = signal.Signals(signum).name
        if not stop.is_set():
            say(f"{name}: shutting down")
            stop.set()
        else:
            say(f"{name} again: aborting every connection")
            connections.abort_all()

    return on_signal


class EchoServer:
    """A running echo server; make one with ``await EchoServer.start(...)``."""

    def __init__(self, style: str, connections: Connections) -> None:
        self.style = style
        self.connections = connections
        self._server: asyncio.AbstractServer | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._report: Callable[[str], Any] | None = None

    @classmethod
    async def start(cls, host: str = "127.0.0.1", port: int = 0, *,
                    style: str = "protocol", backlog: int = DEFAULT_BACKLOG,
                    report: Callable[[str], Any] | None = None) -> EchoServer:
        """Listen on host:port (port 0 picks a free one) and serve in ``style``.

        ``report`` receives status lines: the connected count as it changes
        (at most one line a second) and the steps of a shutdown.
        Raises ValueError for an unknown style and OSError when the address
        cannot be bound.
        """
        if style not in ASYNCIO_STYLES:
            raise ValueError(
                f"unknown asyncio style {style!r}: choose one of {', '.join(ASYNCIO_STYLES)}")
        loop = asyncio.get_running_loop()
        reporter: StatusReporter | None = None
        connections = Connections(on_change=lambda: reporter and reporter.changed())
        if report is not None:
            reporter = StatusReporter(connections, schedule=loop.call_later,
                                      clock=loop.time, write=report)
        self = cls(style, connections)
        self._report = report
        if style == "protocol":
            self._server = await loop.create_server(
                lambda: EchoProtocol(connections), host, port, backlog=backlog)
        else:
            self._server = await asyncio.start_server(
                self._handle_stream, host, port, backlog=backlog, limit=READ_SIZE)
        return self

    async def _handle_stream(self, reader: asyncio.StreamReader,
                             writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._handlers.add(task)
        try:
            await handle_echo(reader, writer, self.connections)
        finally:
            self._handlers.discard(task)

    @property
    def sockets(self) -> tuple:
        return tuple(self._server.sockets) if self._server else ()

    @property
    def address(self) -> tuple[str, int]:
        """The (host, port) of the first listening socket."""
        return self.sockets[0].getsockname()[:2]

    @property
    def port(self) -> int:
        return self.address[1]

    def _say(self, line: str) -> None:
        if self._report is not None:
            self._report(line)

    async def _until_empty(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for every client to be gone; True if they are."""
        empty = asyncio.get_running_loop().create_future()
        self.connections.call_when_empty(
            lambda: empty.done() or empty.set_result(None))
        try:
            async with asyncio.timeout(timeout):
                await empty
        except TimeoutError:
            return False
        return True

    async def shutdown(self, grace: float = DEFAULT_GRACE) -> None:
        """Stop accepting, give clients ``grace`` seconds to leave, then close the rest."""
        if self._server is None:
            return
        server, self._server = self._server, None
        # asyncio sets up each accepted connection in a task; one whose transport is
        # made after close() trips an assertion in CPython 3.12-3.13.0 and is left
        # half-made ("Exception ignored ... _SelectorTransport.__del__"). Let the
        # connections accepted so far finish their set-up while still listening.
        for _ in range(2):
            await asyncio.sleep(0)
        server.close()
        left = self.connections.connected
        if left:
            self._say(f"no longer accepting; waiting up to {grace:g} s for {left} "
                      f"client{'s' if left != 1 else ''} to finish")
            if not await self._until_empty(grace):
                self._say(f"closing {self.connections.connected} connection(s) still open")
                self.connections.close_all()
                if not await self._until_empty(FLUSH_TIMEOUT):
                    self.connections.abort_all()
                    await self._until_empty(FLUSH_TIMEOUT)
        if self._handlers:
            await asyncio.wait(self._handlers, timeout=FLUSH_TIMEOUT)
        try:
            async with asyncio.timeout(FLUSH_TIMEOUT):
                await server.wait_closed()
        except TimeoutError:
            pass  # 3.12+ waits for connections a misbehaving peer keeps open; we are done
        self._say(f"stopped; {self.connections.summary()}")

    async def serve_until_signal(self, grace: float = DEFAULT_GRACE,
                                 signals: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)
                                 ) -> None:
        """Serve until one of ``signals`` arrives, then :meth:`shutdown`.

        Must run in the main thread (signal handlers live there). A second
        signal while clients are given their grace time aborts them at once.
        """
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        on_signal = shutdown_signal_handler(stop, self.connections, self._say)
        for signum in signals:
            loop.add_signal_handler(signum, on_signal, signum)
        try:
            await stop.wait()
            await self.shutdown(grace)
        finally:
            for signum in signals:
                loop.remove_signal_handler(signum)

    async def __aenter__(self) -> EchoServer:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.shutdown(grace=0)
