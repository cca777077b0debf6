"""Echo clients for the asyncio styles, behind one small interface.

A client connection offers :meth:`EchoClient.echo` (send a message, get back
exactly as many bytes) and :meth:`EchoClient.finish` (half-close, read until
the server's EOF, close). ``finish`` returning anything but ``b""`` means the
server sent more than it was sent. :func:`exchange` is the whole round trip
that the command-line client and the tests use.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Protocol

from .protocol import ProtocolClient
from .server import ASYNCIO_STYLES
from .streams import StreamsClient

__all__ = ["EchoClient", "EchoMismatch", "check_echo", "check_end", "connect", "exchange"]


class EchoMismatch(ValueError):
    """The server answered with bytes other than those it was sent."""


class EchoClient(Protocol):
    async def echo(self, data: bytes) -> bytes: ...

    async def finish(self) -> bytes: ...

    def close(self) -> None: ...

    def abort(self) -> None: ...


async def connect(host: str, port: int, *, style: str = "streams") -> EchoClient:
    """Open one echo connection in ``style`` ("protocol" or "streams") on the running loop."""
    if style == "protocol":
        return await ProtocolClient.connect(host, port)
    if style == "streams":
        return await StreamsClient.connect(host, port)
    raise ValueError(f"unknown asyncio style {style!r}: choose one of {', '.join(ASYNCIO_STYLES)}")


async def exchange(host: str, port: int, messages: Iterable[bytes], *,
                   style: str = "streams", timeout: float | None = None) -> list[bytes]:
    """Echo each message over one connection, half-close, and check the answers.

    Returns the echoed messages. Raises EchoMismatch when an echo differs from
    what was sent or the server sends anything after the last one,
    ConnectionError when the server goes away early, and TimeoutError when
    the whole exchange takes longer than ``timeout`` seconds (None: no limit).
    """
    async with asyncio.timeout(timeout):
        return await _exchange(host, port, messages, style)


async def _exchange(host: str, port: int, messages: Iterable[bytes], style: str) -> list[bytes]:
    client = await connect(host, port, style=style)
    echoed = []
    try:
        for message in messages:
            echoed.append(check_echo(message, await client.echo(message)))
        check_end(await client.finish())
    except BaseException:
        client.abort()
        raise
    return echoed


def check_echo(sent: bytes, received: bytes) -> bytes:
    """Return the echo if it is the message; raise EchoMismatch saying where it differs."""
    if received == sent:
        return received
    at = next((i for i, (a, b) in enumerate(zip(sent, received)) if a != b),
              min(len(sent), len(received)))
    raise EchoMismatch(f"the echo differs from the message at byte {at} "
                       f"(sent {len(sent)} bytes, received {len(received)})")


def check_end(extra: bytes) -> None:
    """After the half-close only EOF may come: raise EchoMismatch for anything else."""
    if extra:
        raise EchoMismatch(f"the server sent {len(extra)} unexpected bytes after the last echo")

