"""A fault proxy: a TCP relay on loopback that breaks the link on purpose.

``python -m tulip_echo.faults.proxy --target PORT --fault JSON`` listens on a
free loopback port, prints ``proxying on 127.0.0.1:PORT`` and relays every
connection to ``127.0.0.1:TARGET``, applying one :class:`Fault` to it. It is
plain asyncio on asyncio's own loop (the proxy is the instrument, not the
thing measured), with raw non-blocking sockets so that what it sends is what
goes on the wire: with TCP_NODELAY each ``send`` of one byte is one segment.

Each connection has two pumps, client to server ("up") and server to client
("down"). A pump reads, stamps each chunk with the time it may leave (now +
delay + jitter, never earlier than the previous chunk, so jitter cannot
reorder bytes), and a writer sends it when due; a bounded queue between them
keeps the proxy's own memory bounded (TCP backpressure passes through).

Faults, all counted in bytes forwarded upstream so that a run is repeatable:

``delay``/``jitter``
    every chunk waits ``delay`` plus up to ``jitter`` seconds, both ways;
``split``
    the first ``split`` bytes of each direction go out one byte per send;
``stall_at``/``stall_s``
    after ``stall_at`` bytes upstream, nothing moves either way for ``stall_s`` s;
``reset_at``
    after ``reset_at`` bytes upstream, both sockets are closed with RST;
``half_close_at``/``half_close``
    after that many bytes upstream, one direction gets its EOF: ``"up"`` sends the
    server EOF (what the client sends afterwards is dropped), ``"down"`` sends the
    client EOF (what the server sends afterwards is dropped).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import socket
import struct
import sys
from dataclasses import asdict, dataclass

__all__ = ["Fault", "FaultProxy", "main"]

#: Bytes read at a time, and chunks queued per direction (the proxy's memory bound).
READ_SIZE = 64 * 1024
QUEUE_CHUNKS = 16


@dataclass(frozen=True)
class Fault:
    """How the proxy mistreats each connection (see the module's docstring)."""

    name: str = "none"
    delay: float = 0.0
    jitter: float = 0.0
    split: int = 0
    stall_at: int | None = None
    stall_s: float = 0.0
    reset_at: int | None = None
    half_close_at: int | None = None
    half_close: str = "up"
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("delay", "jitter", "stall_s"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"Fault.{name} must be a number of seconds >= 0, "
                                 f"got {getattr(self, name)!r}")
        for name in ("split", "stall_at", "reset_at", "half_close_at"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 0):
                raise ValueError(f"Fault.{name} must be a byte count >= 0, got {value!r}")
        if self.half_close not in ("up", "down"):
            raise ValueError(f"Fault.half_close must be 'up' or 'down', got {self.half_close!r}")

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Fault:
        return cls(**json.loads(text))


def _reset(sock: socket.socket) -> None:
    """Close ``sock`` so that the peer sees RST, not FIN (SO_LINGER with a zero timeout)."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class _Link:
    """One proxied connection: two pumps and the fault's state."""

    def __init__(self, proxy: FaultProxy, client: socket.socket, server: socket.socket,
                 number: int) -> None:
        self.proxy = proxy
        self.fault = proxy.fault
        self.client = client
        self.server = server
        self.random = random.Random(f"{self.fault.seed}/{number}")
        self.forwarded_up = 0
        self.sent = {"up": 0, "down": 0}
        self.last_due = {"up": 0.0, "down": 0.0}
        self.running = asyncio.Event()   # cleared while a stall holds both directions
        self.running.set()
        self.reset = False
        self.cut = {"up": False, "down": False}   # a direction whose EOF was forced
        self.fired: set[str] = set()

    async def run(self) -> None:
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._pump("up", self.client, self.server))
                tasks.create_task(self._pump("down", self.server, self.client))
        except* OSError:
            pass  # a peer reset or vanished: the other side is closed below, the way it came
        finally:
            if self.reset:
                _reset(self.client)
                _reset(self.server)
            else:
                self.client.close()
                self.server.close()

    def _due(self, direction: str) -> float:
        loop = asyncio.get_running_loop()
        wait = self.fault.delay + (self.random.uniform(0, self.fault.jitter)
                                   if self.fault.jitter else 0.0)
        due = max(loop.time() + wait, self.last_due[direction])
        self.last_due[direction] = due
        return due

    async def _pump(self, direction: str, source: socket.socket, sink: socket.socket) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue(QUEUE_CHUNKS)
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._read(direction, source, queue))
            tasks.create_task(self._write(direction, sink, queue))

    async def _read(self, direction: str, source: socket.socket,
                    queue: asyncio.Queue[tuple[float, bytes]]) -> None:
        loop = asyncio.get_running_loop()
        while True:
            data = await loop.sock_recv(source, READ_SIZE)
            if self.reset:
                return
            await queue.put((self._due(direction), data))
            if not data:
                return

    async def _write(self, direction: str, sink: socket.socket,
                     queue: asyncio.Queue[tuple[float, bytes]]) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due, data = await queue.get()
            if due > loop.time():
                await asyncio.sleep(due - loop.time())
            await self.running.wait()
            if self.reset:
                return
            if not data:
                if not self.cut[direction]:
                    with contextlib.suppress(OSError):
                        sink.shutdown(socket.SHUT_WR)
                return
            if self.cut[direction]:
                continue   # the half-close dropped this direction: swallow what still comes
            if direction == "up":
                data = await self._up_faults(data, sink)
            if data and not self.cut[direction] and not self.reset:
                await self._send(direction, sink, data)

    async def _up_faults(self, data: bytes, sink: socket.socket) -> bytes:
        """Forward ``data`` upstream up to the next fault's byte, fire it; return the rest."""
        fault = self.fault
        pending = [(at, kind) for kind, at in (("stall", fault.stall_at), ("reset", fault.reset_at),
                                               ("half-close", fault.half_close_at))
                   if at is not None and kind not in self.fired]
        due = [(at, kind) for at, kind in pending if at <= self.forwarded_up + len(data)]
        if not due:
            self.forwarded_up += len(data)
            return data
        at, kind = min(due)
        self.fired.add(kind)
        cut = max(0, at - self.forwarded_up)
        head, rest = data[:cut], data[cut:]
        if head:
            await self._send("up", sink, head)
            self.forwarded_up += len(head)
        if kind == "reset":
            self.proxy.log(f"reset after {at} bytes upstream")
            self.reset = True
            _reset(self.client)
            _reset(self.server)
            raise ConnectionResetError(f"the fault proxy reset the link after {at} bytes")
        if kind == "half-close":
            self.proxy.log(f"half-close ({fault.half_close}) after {at} bytes upstream")
            self.cut[fault.half_close] = True
            target = self.server if fault.half_close == "up" else self.client
            with contextlib.suppress(OSError):
                target.shutdown(socket.SHUT_WR)
            if fault.half_close == "up":
                return b""
        else:
            self.proxy.log(f"stall of {fault.stall_s:g} s after {at} bytes upstream")
            self.running.clear()
            await asyncio.sleep(fault.stall_s)
            self.running.set()
        # Another fault may fall inside the rest of this chunk.
        return await self._up_faults(rest, sink) if rest else b""

    async def _send(self, direction: str, sink: socket.socket, data: bytes) -> None:
        loop = asyncio.get_running_loop()
        split_left = self.fault.split - self.sent[direction]
        if split_left > 0:
            view = memoryview(data)
            for index in range(min(split_left, len(view))):
                await loop.sock_sendall(sink, view[index:index + 1])
            if split_left < len(view):
                await loop.sock_sendall(sink, view[split_left:])
        else:
            await loop.sock_sendall(sink, data)
        self.sent[direction] += len(data)


class FaultProxy:
    """Relays loopback connections to ``target`` through one :class:`Fault`."""

    def __init__(self, target: tuple[str, int], fault: Fault,
                 log=lambda line: None) -> None:
        self.target = target
        self.fault = fault
        self.log = log
        self._listener: socket.socket | None = None
        self._links: set[asyncio.Task[None]] = set()
        self.connections = 0

    def listen(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((host, port))
        except OSError as exc:
            listener.close()
            raise OSError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror}") from None
        listener.listen(512)
        listener.setblocking(False)
        self._listener = listener
        return listener.getsockname()[:2]

    async def serve(self) -> None:
        """Accept and relay until cancelled; cancelling closes every link."""
        loop = asyncio.get_running_loop()
        try:
            while True:
                client, _ = await loop.sock_accept(self._listener)
                self.connections += 1
                task = loop.create_task(self._relay(client, self.connections))
                self._links.add(task)
                task.add_done_callback(self._links.discard)
        finally:
            self._listener.close()
            for task in list(self._links):
                task.cancel()
            if self._links:
                await asyncio.wait(self._links, timeout=2)

    async def _relay(self, client: socket.socket, number: int) -> None:
        loop = asyncio.get_running_loop()
        client.setblocking(False)
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setblocking(False)
        for sock in (client, server):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            await loop.sock_connect(server, self.target)
        except OSError as exc:
            self.log(f"cannot reach {self.target[0]}:{self.target[1]}: {exc}")
            server.close()
            _reset(client)
            return
        await _Link(self, client, server, number).run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tulip_echo.faults.proxy",
                                     description="Relay loopback TCP through a fault.")
    parser.add_argument("--target", type=int, required=True, help="server port on 127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0: a free one)")
    parser.add_argument("--fault", default="{}", help="the Fault as JSON")
    args = parser.parse_args(argv)
    try:
        fault = Fault.from_json(args.fault)
    except (ValueError, TypeError) as exc:
        parser.error(f"bad --fault: {exc}")

    def log(line: str) -> None:
        print(f"proxy: {line}", flush=True)

    proxy = FaultProxy(("127.0.0.1", args.target), fault, log)
    try:
        host, port = proxy.listen(port=args.port)
    except OSError as exc:
        print(f"tulip_echo.faults.proxy: error: {exc.strerror}", file=sys.stderr)
        return 2
    print(f"proxying on {host}:{port} to 127.0.0.1:{args.target} ({fault.name})", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(proxy.serve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
