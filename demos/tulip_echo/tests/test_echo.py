"""Every echo server style on every available loop: round trip, 1,000 connections,
half-close, large messages and backpressure, graceful shutdown.

The ``echo_server`` fixture (conftest.py) runs the server in a thread; clients
run in the test's thread, in the same style and on a loop of the same kind.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time

import pytest

from tulip_echo import client as aio_client
from tulip_echo import loops

MiB = 1024 * 1024


# -- clients in the combination's style -------------------------------------------

def exchange(combo, server, messages: list[bytes]) -> list[bytes]:
    style, loop = combo
    if style == "evergreen":
        from tulip_echo import green
        return green.exchange(server.host, server.port, messages)
    return loops.run(aio_client.exchange(server.host, server.port, messages, style=style), loop)


def many_clients(combo, server, count: int) -> None:
    """Open ``count`` connections at once, check the server holds them all, echo on each."""
    style, loop = combo
    if style == "evergreen":
        green_many_clients(server, count)
        return

    async def main() -> None:
        clients = []
        try:
            for _ in range(count):  # one at a time: a burst must not depend on the backlog
                clients.append(await aio_client.connect(server.host, server.port, style=style))
            for _ in range(2000):
                if server.connections.connected >= count:
                    break
                await asyncio.sleep(0.01)
            assert server.connections.connected == count
            messages = [f"client {i}".encode() for i in range(count)]
            answers = await asyncio.gather(*(c.echo(m) for c, m in zip(clients, messages)))
            assert answers == messages
            extras = await asyncio.gather(*(c.finish() for c in clients))
            assert not any(extras)
        finally:
            for c in clients:
                c.close()

    loops.run(main(), loop)


def green_many_clients(server, count: int) -> None:
    import evergreen
    from tulip_echo.green import GreenClient

    def main() -> None:
        clients = []
        try:
            for _ in range(count):
                clients.append(GreenClient.connect(server.host, server.port))
            for _ in range(2000):
                if server.connections.connected >= count:
                    break
                evergreen.sleep(0.01)
            assert server.connections.connected == count
            messages = [f"client {i}".encode() for i in range(count)]
            tasks = [evergreen.spawn(c.echo, m) for c, m in zip(clients, messages)]
            assert [t.result() for t in tasks] == messages
            tasks = [evergreen.spawn(c.finish) for c in clients]
            assert not any(t.result() for t in tasks)
        finally:
            for c in clients:
                c.close()

    evergreen.run(main)


# -- raw sockets, to test the server alone ----------------------------------------

def raw_connect(server, rcvbuf: int | None = None) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(20)
    sock.connect((server.host, server.port))
    return sock


def read_to_eof(sock: socket.socket) -> bytes:
    parts = []
    while part := sock.recv(MiB):
        parts.append(part)
    return b"".join(parts)


# -- the behaviours ---------------------------------------------------------------

def test_round_trip(combo, echo_server):
    messages = [b"hello", b"\x00\xff binary \r\n", "¡eco!".encode()]
    assert exchange(combo, echo_server, messages) == messages
    echo_server.wait_for(lambda: echo_server.connections.connected == 0, what="client gone")
    assert echo_server.connections.served == 1


def test_reports_connected_clients(combo, echo_server):
    with raw_connect(echo_server), raw_connect(echo_server):
        echo_server.wait_for(lambda: echo_server.connections.connected == 2, what="2 connected")
        echo_server.wait_for(lambda: any("2 clients connected" in line for line in echo_server.lines),
                             what="a status line for 2 clients")
    echo_server.wait_for(lambda: echo_server.connections.connected == 0, what="both gone")
    assert echo_server.connections.peak == 2


def test_thousand_concurrent_connections(combo, echo_server):
    many_clients(combo, echo_server, 1000)
    echo_server.wait_for(lambda: echo_server.connections.connected == 0, what="all gone")
    assert echo_server.connections.peak == 1000
    assert echo_server.connections.served == 1000


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"),
                    reason="the C load generator that holds the connections is Linux-only (epoll)")
def test_ten_thousand_concurrent_connections(combo, echo_server, fd_limit):
    """All open at once (the C load generator holds them), one echo each, then half-close."""
    from tulip_echo.bench import loadgen
    if fd_limit < 10_500:
        pytest.skip(f"the hard open-file limit ({fd_limit}) is below 10,500")
    result = loadgen.hold(echo_server.host, echo_server.port, connections=10_000, timeout=120)
    assert result["connections"] == 10_000
    echo_server.wait_for(lambda: echo_server.connections.connected == 0, what="all gone")
    assert echo_server.connections.peak == 10_000


def test_half_close_returns_every_byte_then_eof(combo, echo_server):
    payload = os.urandom(3 * MiB + 17)
    with raw_connect(echo_server) as sock:
        # Send everything and half-close before reading a byte: the echo still in
        # flight must all arrive, followed by the server's own EOF.
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)
        assert read_to_eof(sock) == payload
    echo_server.wait_for(lambda: echo_server.connections.connected == 0, what="client gone")


def test_large_message_intact(combo, echo_server):
    payload = os.urandom(32 * MiB)
    [echoed] = exchange(combo, echo_server, [payload])
    assert echoed == payload


def test_backpressure_bounds_what_the_server_buffers(combo, echo_server):
    """A client that writes without reading is slowed down by TCP, not buffered forever."""
    block = os.urandom(MiB)
    cap = 256 * MiB
    with raw_connect(echo_server, rcvbuf=64 * 1024) as sock:
        sock.setblocking(False)
        sent, last_progress = 0, time.monotonic()
        while sent < cap and time.monotonic() - last_progress < 0.5:
            try:
                sent += sock.send(memoryview(block)[sent % MiB:])
                last_progress = time.monotonic()
            except BlockingIOError:
                time.sleep(0.005)
        # Kernel buffers on loopback hold tens of MiB at most; a server that kept
        # reading without writing would have taken all `cap` bytes.
        assert sent < cap // 2, f"the server accepted {sent / MiB:.0f} MiB without being read"
        sock.setblocking(True)
        sock.settimeout(20)
        received = 0
        while received < sent:
            part = sock.recv(MiB)
            assert part, "the server closed the connection before echoing everything"
            start = received % MiB
            expected = (block[start:] + block)[:len(part)] if start + len(part) > MiB \
                else block[start:start + len(part)]
            assert part == expected, f"the echo differs at byte {received}"
            received += len(part)
        sock.shutdown(socket.SHUT_WR)
        assert read_to_eof(sock) == b""


def test_graceful_shutdown(combo, echo_server):
    """Stop accepting at once, let a busy client finish within the grace time, close idle ones."""
    grace = 1.0
    idle = raw_connect(echo_server)
    busy = raw_connect(echo_server)
    echo_server.wait_for(lambda: echo_server.connections.connected == 2, what="2 connected")
    payload = os.urandom(MiB)
    started = time.monotonic()
    stopper = _in_thread(echo_server.shutdown, grace)
    _wait_refused(echo_server.host, echo_server.port)
    # The busy client finishes its exchange during the grace time...
    busy.sendall(payload)
    busy.shutdown(socket.SHUT_WR)
    assert read_to_eof(busy) == payload
    # ...the idle one is closed once the grace time is over, with EOF.
    assert read_to_eof(idle) == b""
    elapsed = time.monotonic() - started
    assert grace * 0.8 <= elapsed < grace + 5, elapsed
    stopper.join(10)
    assert not stopper.is_alive()
    idle.close()
    busy.close()
    assert echo_server.connections.connected == 0


def _in_thread(function, *args):
    import threading
    thread = threading.Thread(target=function, args=args, daemon=True)
    thread.start()
    return thread


def _wait_refused(host: str, port: int, timeout: float = 5.0) -> None:
    """Wait until connecting fails: the server has closed its listening socket.

    A connection caught in the listen backlog when the socket closes is reset
    rather than refused; either way the server did not accept it.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, port), timeout=1).close()
        except (ConnectionRefusedError, ConnectionResetError):
            return
        time.sleep(0.01)
    pytest.fail("the server kept accepting connections after shutdown began")
