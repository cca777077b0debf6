"""Instructions per echoed message: each server kind under valgrind's callgrind.

``make bench`` measures CPU time, which on a small, shared machine swings from
run to run (the echo is kernel-bound, and the server's share of the work depends
on how busy the other core is). Instructions do not: callgrind counts the ones
the server's process executes in user space, the same for the same code and the
same traffic, whatever else the machine does. So the question "how much work
does rose add to raw pyuv callbacks per message" is answered here::

    python -m tulip_echo.bench.instructions --kinds rose-protocol,pyuv

Each kind's server runs twice under callgrind, echoing ``--messages`` A and then
B messages of ``--size`` bytes over ``--connections`` connections (each
connection has one message in flight: send, read the whole echo, send again);
the difference of the two totals over B - A is the cost of one message, without
the start-up and shut-down both runs share. Under valgrind the server runs some
fifty times slower than the client, so every connection's next message is
always waiting: the figure is that of a saturated server, reading one message
per connection in each poll. Ratios are to the first kind listed, in the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .runner import KINDS, Kind

__all__ = ["Count", "count", "drive", "main"]

_READY = re.compile(rb"serving on (\S+):(\d+)")
_TOTALS = re.compile(r"^(?:summary|totals): (\d+)", re.MULTILINE)


@dataclass(frozen=True)
class Count:
    """One kind's result: instructions per message, and the two runs it comes from."""
    kind: str
    per_message: float
    totals: tuple[int, int]
    messages: tuple[int, int]


def drive(host: str, port: int, *, connections: int, messages: int, size: int,
          timeout: float) -> None:
    """Echo *messages* messages of *size* bytes over *connections* connections, one in flight on each.

    Checks every echoed byte; raises OSError (ConnectionError on EOF or a wrong
    echo, TimeoutError past *timeout* seconds) naming the server's address.
    """
    payload = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    deadline = time.monotonic() + timeout
    sockets: list[socket.socket] = []
    received: dict[socket.socket, bytearray] = {}
    with selectors.DefaultSelector() as selector, contextlib.ExitStack() as stack:
        sent = 0
        for _ in range(min(connections, messages)):
            sock = stack.enter_context(socket.create_connection((host, port), timeout=timeout))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.sendall(payload)
            sent += 1
            sock.setblocking(False)
            sockets.append(sock)
            received[sock] = bytearray()
            selector.register(sock, selectors.EVENT_READ)
        done = 0
        while done < messages:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{host}:{port}: {done} of {messages} echoes in {timeout:g} s")
            for key, _ in selector.select(left):
                sock = key.fileobj
                data = sock.recv(65536)
                if not data:
                    raise ConnectionError(f"{host}:{port} closed the connection after {done} echoes")
                echo = received[sock]
                echo += data
                while len(echo) >= size:
                    if echo[:size] != payload:
                        raise ConnectionError(f"{host}:{port} echoed other bytes than it was sent")
                    del echo[:size]
                    done += 1
                    if sent < messages:
                        sock.setblocking(True)
                        sock.sendall(payload)
                        sock.setblocking(False)
                        sent += 1


def _total_instructions(kind: Kind, *, connections: int, messages: int, size: int,
                        timeout: float, work_dir: Path) -> int:
    """Run *kind*'s server under callgrind for *messages* echoes; its total instruction count."""
    out = work_dir / f"{kind.name}.{messages}.callgrind"
    log = work_dir / f"{kind.name}.{messages}.log"
    command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *kind.command()]
    with open(log, "wb") as log_file:
        server = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + timeout
            while not (match := _READY.search(log.read_bytes())):
                if server.poll() is not None or time.monotonic() > deadline:
                    tail = log.read_bytes()[-500:].decode(errors="replace")
                    raise RuntimeError(f"{kind.name} did not start under valgrind: {tail}")
                time.sleep(0.1)
            host, port = match.group(1).decode(), int(match.group(2))
            drive(host, port, connections=connections, messages=messages, size=size,
                  timeout=max(0.0, deadline - time.monotonic()))
            server.send_signal(signal.SIGINT)
            server.wait(timeout=timeout)
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()
    found = _TOTALS.search(out.read_text(errors="replace"))
    if found is None:
        raise RuntimeError(f"callgrind wrote no total for {kind.name} ({out})")
    return int(found.group(1))


def count(kind: Kind, *, connections: int = 10, size: int = 1024,
          messages: tuple[int, int] = (2_000, 12_000), timeout: float = 600.0) -> Count:
    """Instructions per echoed message of *kind*'s server (see the module's doc)."""
    if shutil.which("valgrind") is None:
        raise FileNotFoundError("valgrind is not installed (Debian, Ubuntu: apt install valgrind)")
    low, high = messages
    if not 0 < low < high:
        raise ValueError(f"messages must be two counts, the first smaller: got {low}, {high}")
    with tempfile.TemporaryDirectory(prefix="echo-instructions-") as work:
        totals = tuple(_total_instructions(kind, connections=connections, messages=n, size=size,
                                           timeout=timeout, work_dir=Path(work))
                       for n in messages)
    return Count(kind.name, (totals[1] - totals[0]) / (high - low), totals, messages)


def main(argv: list[str] | None = None) -> int:
    by_name = {kind.name: kind for kind in KINDS}
    parser = argparse.ArgumentParser(
        prog="python -m tulip_echo.bench.instructions",
        description="Instructions per echoed message of each server kind, under valgrind "
                    "(ratios to the first kind).")
    parser.add_argument("--kinds", default="pyuv,rose-protocol",
                        help="comma-separated server kinds, the baseline first "
                             "(default pyuv,rose-protocol)")
    parser.add_argument("--connections", type=int, default=10)
    parser.add_argument("--size", type=int, default=1024, help="message size in bytes")
    parser.add_argument("--messages", default="2000,12000",
                        help="the two runs' message counts (default 2000,12000)")
    args = parser.parse_args(argv)
    names = [name for name in args.kinds.split(",") if name]
    unknown = [name for name in names if name not in by_name]
    if unknown or not names:
        parser.error(f"unknown server kinds {unknown}: choose from {', '.join(by_name)}")
    try:
        low, high = (int(part) for part in args.messages.split(","))
    except ValueError:
        parser.error(f"--messages takes two counts, e.g. 2000,12000: got {args.messages!r}")
    if args.connections <= 0 or args.size <= 0:
        parser.error("--connections and --size must be positive")
    results = []
    for name in names:
        reason = by_name[name].unavailable()
        if reason:
            print(f"{name}: not measured: {reason}", file=sys.stderr)
            continue
        try:
            results.append(count(by_name[name], connections=args.connections, size=args.size,
                                 messages=(low, high)))
        except (OSError, RuntimeError, ValueError, subprocess.TimeoutExpired) as exc:
            print(f"{parser.prog}: {name}: {exc}", file=sys.stderr)
            return 1
        print(f"{name}: {results[-1].per_message:,.0f} instructions per message", file=sys.stderr)
    if not results:
        return 1
    base = results[0].per_message
    print(f"{args.size} B x {args.connections} connections, instructions per echoed message "
          f"(runs of {low:,} and {high:,} messages), valgrind {_valgrind_version()}, "
          f"Python {sys.version.split()[0]}")
    for result in results:
        print(f"  {result.kind:<18} {result.per_message:>10,.0f}   x{result.per_message / base:.3f}")
    return 0


def _valgrind_version() -> str:
    try:
        return subprocess.run(["valgrind", "--version"], capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "?"


if __name__ == "__main__":
    sys.exit(main())
