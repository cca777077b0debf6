"""Echo with transports and protocols: the layer every asyncio loop implements.

The server's :class:`EchoProtocol` never touches the event loop: it sees only
its transport. That is what lets the same class run on asyncio's loop, rose
and uvloop, and what makes it testable without one.

Flow control goes both ways through the transport. When the transport's
write buffer passes its high-water mark it calls :meth:`pause_writing`, and
the protocol stops reading from that client until the buffer drains below
the low-water mark (:meth:`resume_writing`). A client that sends faster than
it reads is therefore slowed down by TCP itself instead of filling the
server's memory.

The client side, :class:`ProtocolClient`, sends in bounded chunks, waits
while the transport is paused, and collects the echo as it arrives, so that
a message larger than every buffer on the way still makes the round trip.
"""

from __future__ import annotations

import asyncio

from .registry import Connections

__all__ = ["EchoProtocol", "ProtocolClient"]

#: Bytes handed to transport.write() at a time by the client (and so the most
#: it buffers beyond the transport's high-water mark).
CHUNK = 256 * 1024


class EchoProtocol(asyncio.Protocol):
    """Server side: echo every byte back, in order, on one connection.

    When the client half-closes (EOF), everything received has already been
    written; returning False from :meth:`eof_received` lets the transport
    close once that output is flushed, so the client reads all of its echo
    and then EOF.
    """

    def __init__(self, connections: Connections) -> None:
        self._connections = connections
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        self._connections.add(self)

    def data_received(self, data: bytes) -> None:
        self._transport.write(data)

    def eof_received(self) -> bool:
        return False

    def pause_writing(self) -> None:
        self._transport.pause_reading()

    def resume_writing(self) -> None:
        self._transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self._connections.remove(self)

    # What the registry calls at shutdown.
    def close(self) -> None:
        self._transport.close()

    def abort(self) -> None:
        self._transport.abort()


class _ClientProtocol(asyncio.Protocol):
    """Collects what the server sends and wakes whoever waits for it."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.received = bytearray()
        self.eof = False
        self.lost = False
        self.exc: Exception | None = None
        self._readers: list[asyncio.Future[None]] = []
        self._writers: list[asyncio.Future[None]] = []
        self._paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.received += data
        self._wake(self._readers)

    def eof_received(self) -> bool:
        self.eof = True
        self._wake(self._readers)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.eof = True
        self.exc = exc
        self._wake(self._readers)
        self._wake(self._writers)

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        self._wake(self._writers)

    @staticmethod
    def _wake(waiters: list[asyncio.Future[None]]) -> None:
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)
        waiters.clear()

    async def _wait(self, waiters: list[asyncio.Future[None]]) -> None:
        waiter = asyncio.get_running_loop().create_future()
        waiters.append(waiter)
        await waiter

    async def drain(self) -> None:
        while self._paused and not self.lost:
            await self._wait(self._writers)
        if self.lost:
            raise self.exc or ConnectionResetError("the server closed the connection")

    async def wait_for_bytes(self, count: int) -> None:
        while len(self.received) < count and not self.eof:
            await self._wait(self._readers)

    async def wait_for_eof(self) -> None:
        while not self.eof:
            await self._wait(self._readers)


class ProtocolClient:
    """An echo client connection built on a protocol; see :class:`tulip_echo.client.EchoClient`."""

    def __init__(self, protocol: _ClientProtocol) -> None:
        self._protocol = protocol

    @classmethod
    async def connect(cls, host: str, port: int) -> ProtocolClient:
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_connection(_ClientProtocol, host, port)
        return cls(protocol)

    async def echo(self, data: bytes) -> bytes:
        protocol = self._protocol
        start = len(protocol.received)
        view = memoryview(data)
        for offset in range(0, len(view), CHUNK):
            await protocol.drain()
            protocol.transport.write(view[offset:offset + CHUNK])
        await protocol.wait_for_bytes(start + len(data))
        echoed = bytes(protocol.received[start:start + len(data)])
        del protocol.received[:start + len(data)]
        if len(echoed) < len(data):
            raise ConnectionResetError(
                f"the server closed the connection after echoing {len(echoed)} "
                f"of {len(data)} bytes")
        return echoed

    async def finish(self) -> bytes:
        protocol = self._protocol
        protocol.transport.write_eof()
        await protocol.wait_for_eof()
        extra = bytes(protocol.received)
        protocol.received.clear()
        self.close()
        return extra

    def close(self) -> None:
        self._protocol.transport.close()

    def abort(self) -> None:
        # A transport whose connection is already lost has nothing to abort, and
        # asyncio's selector transport (3.11) raises AttributeError if asked to
        # after a close that flushed its buffer.
        if not self._protocol.lost:
            self._protocol.transport.abort()
