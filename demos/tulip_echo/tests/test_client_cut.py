"""The echo clients when the server cuts the link under them (found by the fault proxy).

A server that sends EOF while the client still has output buffered makes
asyncio's selector transport close once that output is flushed, and on some
Pythons (3.11) a later ``transport.abort()`` then raises AttributeError from
inside asyncio. The client must report the cut as a ConnectionError and
abort without a crash, on every loop.
"""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest

from tulip_echo import loops
from tulip_echo.client import connect

from .conftest import require

STYLES = [(style, loop) for loop in loops.LOOPS for style in ("protocol", "streams")]


def _eof_after_first_bytes(listener: socket.socket, done: threading.Event) -> None:
    """Accept one client, send it EOF at once, then drain whatever it sends until it goes."""
    listener.settimeout(10)
    conn, _ = listener.accept()
    with conn:
        conn.settimeout(10)
        conn.recv(1)
        conn.shutdown(socket.SHUT_WR)
        try:
            while conn.recv(1 << 16):
                pass
        except OSError:
            pass  # the client aborting is what the test expects
    done.set()


@pytest.mark.parametrize("style,loop", STYLES, ids=[f"{s}-{lp}" for s, lp in STYLES])
def test_echo_cut_by_server_eof_is_reported_and_abort_is_safe(style, loop):
    require(style, loop)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        done = threading.Event()
        server = threading.Thread(target=_eof_after_first_bytes, args=(listener, done),
                                  daemon=True)
        server.start()
        port = listener.getsockname()[1]

        async def main() -> None:
            async with asyncio.timeout(20):
                client = await connect("127.0.0.1", port, style=style)
                with pytest.raises(ConnectionError):
                    await client.echo(b"x" * (8 << 20))
                # Give the transport time to flush and finish closing, then abort it.
                await asyncio.sleep(0.2)
                client.abort()
                client.abort()

        loops.run(main(), loop)
        server.join(15)
        assert done.is_set()
