"""Stream servers: accept connections, serve each in its own task, close gracefully."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyuv

from rose.errors import from_pyuv_error, uv_error

from ..hub import HubCore, get_loop
from ..tasks import Task, current_task, joinall
from .stream import Stream, WaitSlots

__all__ = ['StreamServer']


class StreamServer:
    """The common part of TCPServer and PipeServer.

    ``handler(connection)`` runs in a new task for every accepted connection;
    the connection is closed when the handler returns (or fails: the
    exception is reported through the loop's exception handler, like any
    task's -- except a ConnectionError of that very connection, a peer that
    went away, which just ends it). ``close()`` stops accepting; ``wait_closed(timeout)`` waits for
    the handlers; ``shutdown(timeout)`` does both and kills the handlers still
    running after *timeout*. Leaving a ``with`` block shuts down at once.
    """

    _connection_class: type[Stream] = Stream

    def __init__(self, handler: Callable[[Any], object], *, loop: HubCore | None = None,
                 name: str | None = None) -> None:
        if not callable(handler):
            raise TypeError(f'handler must be callable, not {type(handler).__name__}')
        self._loop = loop if loop is not None else get_loop()
        self._handler = handler
        self._handle = self._new_handle()
        self._handlers: set[Task] = set()
        self._listening = False
        self._closed = False
        self._close_waiters = WaitSlots()
        self._name = name or f'{type(self).__name__}'
        self._count = 0
        self._on_connection_cb = self._on_connection

    def _new_handle(self) -> Any:
        raise NotImplementedError

    def _address_for_errors(self) -> str:
        return ''

    def listen(self, backlog: int = 511) -> None:
        """Start accepting connections (bind first)."""
        if self._closed:
            raise OSError(9, 'Bad file descriptor: the server is closed')
        try:
            self._handle.listen(self._on_connection_cb, backlog)
        except pyuv.error.UVError as exc:
            raise from_pyuv_error(exc, f'listen on {self._address_for_errors()}') from None
        self._listening = True

    def _on_connection(self, handle: Any, error: int | None) -> None:
        loop = self._loop
        if error is not None:
            loop.call_exception_handler({
                'message': f'{self._name}: accepting a connection failed',
                'exception': uv_error(error, 'accept'),
            })
            return
        client = self._new_handle()
        try:
            handle.accept(client)
        except pyuv.error.UVError as exc:
            client.close()
            loop.call_exception_handler({
                'message': f'{self._name}: accepting a connection failed',
                'exception': from_pyuv_error(exc, 'accept'),
            })
            return
        connection = self._connection_class(client, loop)
        self._count += 1
        task = Task(target=self._serve, args=(connection,), loop=loop,
                    name=f'{self._name} connection {self._count}')
        self._handlers.add(task)
        task.start()

    def _serve(self, connection: Stream) -> None:
        try:
            with connection:
                self._handler(connection)
        except ConnectionError as exc:
            # The peer went away (reset, broken pipe): the connection is over,
            # which is no error of the handler's. Anything else is reported.
            if exc is not connection._read_error and exc is not connection._write_error:
                raise
        finally:
            self._handlers.discard(current_task())

    @property
    def connections(self) -> int:
        """How many connections are being served."""
        return len(self._handlers)

    def serve_forever(self) -> None:
        """Block the current task until the server is closed."""
        while not self._closed:
            self._close_waiters.wait(self._loop, 'serve_forever()')

    def close(self) -> None:
        """Stop accepting connections (those being served go on). Does not wait."""
        if self._closed:
            return
        self._closed = True
        if not self._handle.closed:
            self._handle.close()
        self._close_waiters.wake_all_soon()

    def wait_closed(self, timeout: float | None = None) -> bool:
        """Wait until every connection handler has finished; False if *timeout* expired first."""
        handlers = list(self._handlers)
        return len(joinall(handlers, timeout)) == len(handlers)

    def kill_connections(self, timeout: float | None = None) -> bool:
        """Kill the handlers still running (their connections close); wait for them."""
        handlers = list(self._handlers)
        for task in handlers:
            task.kill(block=False)
        return len(joinall(handlers, timeout)) == len(handlers)

    def shutdown(self, timeout: float | None = None) -> None:
        """Close gracefully: stop accepting, give handlers *timeout* seconds, then kill them."""
        self.close()
        if not self.wait_closed(timeout):
            self.kill_connections()

    def __enter__(self) -> StreamServer:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.shutdown(timeout=0)

    def __repr__(self) -> str:
        state = 'closed' if self._closed else ('listening' if self._listening else 'idle')
        return (f'<evergreen.io.{type(self).__name__} {state} {self._address_for_errors()} '
                f'connections={len(self._handlers)}>')
