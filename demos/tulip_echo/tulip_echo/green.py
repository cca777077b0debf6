"""Echo as blocking-style code in evergreen tasks.

The handler reads like the one-client-at-a-time socket server that opens the
FOSDEM talk (``while data := conn.read(): conn.write(data)``), yet every
client has a task of its own and they all run at once on one loop: each
call that would block parks only its task, and libuv does the I/O.

Backpressure comes from the same blocking calls: ``write`` waits while too
much is already queued, and while the handler waits it does not read, so
evergreen stops reading the socket and TCP slows the client down.
``read`` returning ``b""`` is the client's EOF: the handler sends what is
left and closes its side (``shutdown``).

:class:`GreenEchoServer` has the same life as the asyncio
:class:`tulip_echo.server.EchoServer`: a status line as clients come and go,
and a graceful shutdown on SIGINT or SIGTERM. The evergreen style runs on
evergreen's own loop, so it takes no loop factory.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterable
from typing import Any

import evergreen
from evergreen import io as evergreen_io
from evergreen.locks import Event

from .registry import Connections, StatusReporter
from .server import DEFAULT_BACKLOG, DEFAULT_GRACE, FLUSH_TIMEOUT, shutdown_signal_handler

__all__ = ["GreenClient", "GreenEchoServer", "exchange", "exchange_in_task", "serve"]

#: The most bytes one read() returns, and what a client writes at a time.
READ_SIZE = 256 * 1024


class _GreenConnection:
    """An evergreen connection as the registry sees it (close and abort)."""

    def __init__(self, conn: evergreen_io.TCPConnection) -> None:
        self._conn = conn

    def close(self) -> None:
        self._conn.close()

    def abort(self) -> None:
        self._conn.abort()


def handle_echo(conn: evergreen_io.TCPConnection, connections: Connections) -> None:
    """Echo one client until it half-closes, then close after the last byte."""
    entry = _GreenConnection(conn)
    connections.add(entry)
    try:
        while data := conn.read(READ_SIZE):
            conn.write(data)
        conn.shutdown()
    except OSError:
        # The client reset the connection, or closed it altogether before our
        # half-close (shutdown then fails with ENOTCONN): nothing more to send.
        conn.abort()
    finally:
        connections.remove(entry)


class GreenEchoServer:
    """A running evergreen echo server; make one with ``GreenEchoServer.start(...)`` in a task."""

    def __init__(self, connections: Connections, report: Callable[[str], Any] | None) -> None:
        self.connections = connections
        self._report = report
        self._server: evergreen_io.TCPServer | None = None

    @classmethod
    def start(cls, host: str = "127.0.0.1", port: int = 0, *, backlog: int = DEFAULT_BACKLOG,
              report: Callable[[str], Any] | None = None) -> GreenEchoServer:
        """Listen on host:port (port 0 picks a free one); see EchoServer.start."""
        loop = evergreen.get_loop()
        reporter: StatusReporter | None = None
        connections = Connections(on_change=lambda: reporter and reporter.changed())
        if report is not None:
            reporter = StatusReporter(connections, schedule=loop.call_later, clock=loop.time,
                                      write=report)
        self = cls(connections, report)
        server = evergreen_io.TCPServer(lambda conn: handle_echo(conn, connections),
                                        name="echo")
        try:
            server.bind((host, port))
            server.listen(backlog)
        except BaseException:
            server.close()
            raise
        self._server = server
        return self

    @property
    def address(self) -> tuple[str, int]:
        return self._server.getsockname()[:2]

    @property
    def port(self) -> int:
        return self.address[1]

    def _say(self, line: str) -> None:
        if self._report is not None:
            self._report(line)

    def shutdown(self, grace: float = DEFAULT_GRACE) -> None:
        """Stop accepting, give clients ``grace`` seconds to leave, then close the rest."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        left = self.connections.connected
        if left:
            self._say(f"no longer accepting; waiting up to {grace:g} s for {left} "
                      f"client{'s' if left != 1 else ''} to finish")
            if not server.wait_closed(grace):
                self._say(f"closing {self.connections.connected} connection(s) still open")
                # Killing a handler closes its connection (its pending echo is still sent).
                server.kill_connections(FLUSH_TIMEOUT)
        self._say(f"stopped; {self.connections.summary()}")

    def serve_until_signal(self, grace: float = DEFAULT_GRACE,
                           signals: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)) -> None:
        """Serve until one of ``signals`` arrives, then :meth:`shutdown` (main thread only).

        A second signal while clients are given their grace time aborts them at once.
        """
        loop = evergreen.get_loop()
        stop = Event()
        on_signal = shutdown_signal_handler(stop, self.connections, self._say)
        for signum in signals:
            loop.add_signal_handler(signum, on_signal, signum)
        try:
            stop.wait()
            self.shutdown(grace)
        finally:
            for signum in signals:
                loop.remove_signal_handler(signum)


def serve(host: str, port: int, *, grace: float = DEFAULT_GRACE, backlog: int = DEFAULT_BACKLOG,
          report: Callable[[str], Any] | None = None,
          announce: Callable[[str], Any] = print) -> None:
    """The command line's server: run until SIGINT or SIGTERM on a fresh evergreen loop."""
    def main() -> None:
        server = GreenEchoServer.start(host, port, backlog=backlog, report=report)
        bound_host, bound_port = server.address
        announce(f"tulip_echo: serving on {bound_host}:{bound_port} (style evergreen); "
                 f"Ctrl+C to stop")
        server.serve_until_signal(grace)

    evergreen.run(main)


class GreenClient:
    """An echo client connection in a task: the same interface as the asyncio clients, blocking."""

    def __init__(self, conn: evergreen_io.TCPClient) -> None:
        self._conn = conn

    @classmethod
    def connect(cls, host: str, port: int) -> GreenClient:
        return cls(evergreen_io.TCPClient().connect((host, port)))

    def _send(self, data: bytes) -> None:
        view = memoryview(data)
        for offset in range(0, len(view), READ_SIZE):
            self._conn.write(view[offset:offset + READ_SIZE])
        self._conn.drain()

    def echo(self, data: bytes) -> bytes:
        """Send ``data`` and return as many bytes of echo; a second task sends meanwhile."""
        sender = evergreen.spawn(self._send, data)
        try:
            parts, size = [], len(data)
            while size:
                part = self._conn.read(min(size, READ_SIZE))
                if not part:
                    received = len(data) - size
                    raise ConnectionResetError(
                        f"the server closed the connection after echoing {received} "
                        f"of {len(data)} bytes")
                parts.append(part)
                size -= len(part)
            sender.join()
            sender.result()  # a failed send is this echo's failure
        except BaseException:
            if sender.is_alive():
                sender.kill()
            raise
        return b"".join(parts)

    def finish(self) -> bytes:
        self._conn.shutdown()
        extra = bytearray()
        while part := self._conn.read(READ_SIZE):
            extra += part
        self._conn.close()
        return bytes(extra)

    def close(self) -> None:
        self._conn.close()

    def abort(self) -> None:
        self._conn.abort()


def exchange_in_task(host: str, port: int, messages: Iterable[bytes], *,
                     timeout: float | None = None) -> list[bytes]:
    """:func:`tulip_echo.client.exchange` in the evergreen style, from a task of a running loop."""
    from .client import check_echo, check_end

    with evergreen.Timeout(timeout):
        client = GreenClient.connect(host, port)
        echoed = []
        try:
            for message in messages:
                echoed.append(check_echo(message, client.echo(message)))
            check_end(client.finish())
        except BaseException:
            client.abort()
            raise
    return echoed


def exchange(host: str, port: int, messages: Iterable[bytes], *,
             timeout: float | None = None) -> list[bytes]:
    """:func:`exchange_in_task` on a fresh evergreen loop (the command line's client)."""
    return evergreen.run(exchange_in_task, host, port, messages, timeout=timeout)
