"""Hostile peers: clients that abuse an echo server, and a well-behaved one that measures it.

The hostile clients run in a process of their own (``python -m
tulip_echo.faults.hostile MODE ...``, one JSON line out, every phase bounded in
time), plain blocking-free sockets on a selector, so that they cost the
machine little and can be SIGKILLed like a real crashed client:

``never-read``
    many connections each push up to ``--bytes`` without ever reading their echo
    (their receive buffers made small), hold for ``--seconds``, then go;
``slowloris``
    many connections trickle one byte at a time, a second apart, and read it back;
``flood``
    one connection tries to send ``--bytes`` (1 GiB in the full run) and never reads:
    flow control must stop it long before, so it gives up once nothing has moved
    for a second, and reports how much the server took;
``reset``
    connections push data without reading until the server is blocked writing to
    them, then close with RST (SO_LINGER 0) in the middle of those writes;
``transfer``
    connections echo large messages normally: the harness SIGKILLs this one mid-way.

:class:`Prober` is the well-behaved client, in a thread of the harness: 1 KiB
round trips every 10 ms for as long as a hostile client runs, with the worst
one recorded (every socket operation bounded by a timeout).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import selectors
import socket
import struct
import sys
import threading
import time
from typing import Any

from ..machine import raise_fd_limit

__all__ = ["MODES", "Prober", "main"]

MODES = ("never-read", "slowloris", "flood", "reset", "transfer")
#: How long without progress counts as "the server stopped taking our bytes".
STALL_S = 1.0
CHUNK = 64 * 1024


def _connect(port: int, *, small_buffers: bool = False) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if small_buffers:
        # Tiny kernel buffers on our side: the bytes we cannot hand over stay
        # with us, and what the server cannot send back stays with the server.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    sock.settimeout(10)
    try:
        sock.connect(("127.0.0.1", port))
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def _open(port: int, count: int, *, small_buffers: bool = False) -> list[socket.socket]:
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            socks.append(_connect(port, small_buffers=small_buffers))
    except BaseException:
        for sock in socks:
            sock.close()
        raise
    return socks


def _rst(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _push(socks: list[socket.socket], limit: int, seconds: float) -> dict[str, Any]:
    """Send up to ``limit`` bytes on every socket, never reading; stop once nothing moves.

    Returns how much each took in all, and whether every socket stalled before
    its limit (the server stopped reading it: flow control at work).
    """
    payload = b"h" * CHUNK
    sent = dict.fromkeys(socks, 0)
    errors = 0
    selector = selectors.DefaultSelector()
    for sock in socks:
        selector.register(sock, selectors.EVENT_WRITE)
    deadline = time.monotonic() + seconds
    last_progress = time.monotonic()
    try:
        while selector.get_map() and time.monotonic() < deadline:
            if time.monotonic() - last_progress > STALL_S:
                break
            for key, _ in selector.select(0.1):
                sock = key.fileobj
                try:
                    count = sock.send(payload[:min(CHUNK, limit - sent[sock])])
                except BlockingIOError:
                    continue
                except OSError:
                    errors += 1
                    selector.unregister(sock)
                    continue
                sent[sock] += count
                last_progress = time.monotonic()
                if sent[sock] >= limit:
                    selector.unregister(sock)
    finally:
        selector.close()
    total = sum(sent.values())
    return {"connections": len(socks), "bytes_sent": total,
            "max_sent_per_connection": max(sent.values(), default=0),
            "reached_limit": sum(1 for count in sent.values() if count >= limit),
            "send_errors": errors}


def never_read(port: int, connections: int, limit: int, seconds: float) -> dict[str, Any]:
    socks = _open(port, connections, small_buffers=True)
    try:
        result = _push(socks, limit, seconds)
        time.sleep(STALL_S)   # hold them, every server-side buffer full, while it is measured
    finally:
        for sock in socks:
            sock.close()
    return result


def flood(port: int, limit: int, seconds: float) -> dict[str, Any]:
    return never_read(port, 1, limit, seconds)


def reset(port: int, connections: int, limit: int, seconds: float) -> dict[str, Any]:
    socks = _open(port, connections, small_buffers=True)
    try:
        result = _push(socks, limit, seconds)
    finally:
        for sock in socks:
            _rst(sock)
    return result


def slowloris(port: int, connections: int, seconds: float) -> dict[str, Any]:
    """Trickle one byte per connection a second; read back what comes, until ``seconds``."""
    socks = _open(port, connections)
    trickled = received = 0
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            for sock in socks:
                with contextlib.suppress(BlockingIOError):
                    sock.send(b"s")
                    trickled += 1
            pause_until = min(deadline, time.monotonic() + 1.0)
            while time.monotonic() < pause_until:
                time.sleep(0.1)
            for sock in socks:
                with contextlib.suppress(BlockingIOError):
                    received += len(sock.recv(4096))
    finally:
        for sock in socks:
            sock.close()
    return {"connections": connections, "bytes_sent": trickled, "bytes_echoed": received}


def transfer(port: int, connections: int, size: int, seconds: float) -> dict[str, Any]:
    """Echo ``size``-byte messages on every connection, reading and writing, until ``seconds``."""
    socks = _open(port, connections)
    payload = os.urandom(size)
    to_send = dict.fromkeys(socks, 0)
    to_read = dict.fromkeys(socks, 0)
    selector = selectors.DefaultSelector()
    for sock in socks:
        selector.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
    echoed = 0
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            for key, events in selector.select(0.1):
                sock = key.fileobj
                if events & selectors.EVENT_WRITE:
                    offset = to_send[sock] % size
                    with contextlib.suppress(BlockingIOError):
                        to_send[sock] += sock.send(payload[offset:offset + CHUNK])
                if events & selectors.EVENT_READ:
                    with contextlib.suppress(BlockingIOError):
                        data = sock.recv(CHUNK)
                        to_read[sock] += len(data)
                        echoed += len(data)
    finally:
        selector.close()
        for sock in socks:
            sock.close()
    return {"connections": connections, "bytes_echoed": echoed}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tulip_echo.faults.hostile",
                                     description="A hostile echo client; prints JSON.")
    parser.add_argument("mode", choices=MODES)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--connections", type=int, default=1)
    parser.add_argument("--bytes", type=int, default=1 << 20)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    raise_fd_limit()
    started = time.monotonic()
    try:
        if args.mode == "never-read":
            result = never_read(args.port, args.connections, args.bytes, args.seconds)
        elif args.mode == "flood":
            result = flood(args.port, args.bytes, args.seconds)
        elif args.mode == "reset":
            result = reset(args.port, args.connections, args.bytes, args.seconds)
        elif args.mode == "slowloris":
            result = slowloris(args.port, args.connections, args.seconds)
        else:
            print(json.dumps({"ready": True}), flush=True)
            result = transfer(args.port, args.connections, args.bytes, args.seconds)
    except OSError as exc:
        result = {"error": f"{type(exc).__name__}: {exc}"}
    result["elapsed_s"] = round(time.monotonic() - started, 3)
    print(json.dumps(result), flush=True)
    return 0


class Prober:
    """A well-behaved client in a thread: 1 KiB round trips every ``interval`` seconds."""

    def __init__(self, port: int, *, interval: float = 0.01, timeout: float = 10.0) -> None:
        self.port = port
        self.interval = interval
        self.timeout = timeout
        self.rtts: list[float] = []
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="prober", daemon=True)

    def __enter__(self) -> Prober:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(self.timeout + 5)

    @property
    def worst_ms(self) -> float | None:
        return round(max(self.rtts) * 1000, 2) if self.rtts else None

    def _run(self) -> None:
        message = os.urandom(1024)
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=self.timeout) as sock:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                while not self._stop.is_set():
                    began = time.perf_counter()
                    sock.sendall(message)
                    received = bytearray()
                    while len(received) < len(message):
                        part = sock.recv(len(message) - len(received))
                        if not part:
                            raise ConnectionResetError("the server closed the probe's connection")
                        received += part
                    self.rtts.append(time.perf_counter() - began)
                    if received != message:
                        raise ValueError("the probe's echo differs from what it sent")
                    self._stop.wait(self.interval)
        except (OSError, ValueError) as exc:
            self.error = f"{type(exc).__name__}: {exc}"


if __name__ == "__main__":
    sys.exit(main())
