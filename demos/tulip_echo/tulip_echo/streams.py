"""Echo with asyncio streams: async/await over StreamReader and StreamWriter.

This is how one writes it today. The handler is the whole server: read
what arrives, write it back, and ``await writer.drain()`` so that a client
that does not read its echo makes the handler wait (and, through the full
StreamReader, TCP slows the client down) instead of buffering without bound.
``read()`` returning ``b""`` is the client's EOF: everything has been echoed,
so closing flushes the rest and ends with our own EOF.

The client, :class:`StreamsClient`, sends and receives in two tasks of one
TaskGroup, so a message larger than every buffer on the way cannot deadlock.
"""

from __future__ import annotations

import asyncio

from .registry import Connections

__all__ = ["READ_SIZE", "StreamConnection", "StreamsClient", "handle_echo"]

#: The most bytes one read() returns.
READ_SIZE = 256 * 1024
#: Bytes written before the client waits for drain().
CHUNK = 256 * 1024


class StreamConnection:
    """A streams connection as the registry sees it (close and abort)."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer

    def close(self) -> None:
        self._writer.close()

    def abort(self) -> None:
        self._writer.transport.abort()


async def handle_echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                      connections: Connections) -> None:
    """Echo one client until it half-closes, then close after the last byte."""
    connection = StreamConnection(writer)
    connections.add(connection)
    try:
        while data := await reader.read(READ_SIZE):
            writer.write(data)
            await writer.drain()
        writer.close()
        await writer.wait_closed()
    except ConnectionError:
        # The client reset the connection, or the server aborted it at shutdown.
        writer.transport.abort()
    finally:
        connections.remove(connection)


class StreamsClient:
    """An echo client connection on streams; see :class:`tulip_echo.client.EchoClient`."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    async def connect(cls, host: str, port: int) -> StreamsClient:
        reader, writer = await asyncio.open_connection(host, port, limit=READ_SIZE)
        return cls(reader, writer)

    async def _send(self, data: bytes) -> None:
        view = memoryview(data)
        for offset in range(0, len(view), CHUNK):
            self._writer.write(view[offset:offset + CHUNK])
            await self._writer.drain()

    async def _receive(self, size: int) -> bytes:
        parts = []
        while size:
            part = await self._reader.read(min(size, READ_SIZE))
            if not part:
                received = sum(map(len, parts))
                raise ConnectionResetError(
                    f"the server closed the connection after echoing {received} "
                    f"of {received + size} bytes")
            parts.append(part)
            size -= len(part)
        return b"".join(parts)

    async def echo(self, data: bytes) -> bytes:
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._send(data))
                receiving = tasks.create_task(self._receive(len(data)))
        except ExceptionGroup as group:
            # One lost connection fails both tasks: report it as itself, not as a group.
            first = group.exceptions[0]
            if all(isinstance(exc, ConnectionError) for exc in group.exceptions):
                raise first from None
            raise
        return receiving.result()

    async def finish(self) -> bytes:
        self._writer.write_eof()
        extra = await self._reader.read()
        self._writer.close()
        try:
            await self._writer.wait_closed()
        except ConnectionError:
            pass  # the server was gone already: the half-close answer is what counts
        return extra

    def close(self) -> None:
        self._writer.close()

    def abort(self) -> None:
        self._writer.transport.abort()
