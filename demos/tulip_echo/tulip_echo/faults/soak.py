"""The soak: a million echoes through one server, watching for slow leaks.

``python -m tulip_echo.faults.soak --port P --pid PID --echoes N`` (one JSON
line out) keeps ``--connections`` closed-loop connections busy, each sending
one small message, waiting for all of its echo (checked) and sending the
next; every connection is replaced by a fresh one after ``--per-connection``
echoes, so that a server leaking per connection leaks a thousand times over.
It records every round trip, and the server's resident memory (from
``/proc/PID/status``) every 1 % of the echoes.

:func:`judge` applies the soak's criteria: after the warm-up (the first 10 %)
the server's RSS stays within ``rss_band`` (5 MiB), and the p99 round trip of
the last 10 % is within ``p99_ratio`` (1.5x) of the first 10 %'s. Descriptors
back to their baseline are checked by the harness once the client is gone.
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import socket
import sys
import time
from array import array
from typing import Any

__all__ = ["judge", "main", "soak"]

MiB = 1024 * 1024


def _rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _cpu_ticks(pid: int) -> tuple[int, int, int]:
    """(the server's user+system ticks, every CPU's busy ticks, every CPU's ticks) so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    server = int(fields[11]) + int(fields[12])
    with open("/proc/stat") as stat:
        ticks = [int(value) for value in stat.readline().split()[1:9]]
    idle = ticks[3] + ticks[4]
    return server, sum(ticks) - idle, sum(ticks)


def _tenth_load(first: tuple[int, int, int], last: tuple[int, int, int],
                echoes: int) -> dict[str, float]:
    """The server's CPU per echo, and the share of the machine others used, between two samples."""
    server = last[0] - first[0]
    busy, total = last[1] - first[1], last[2] - first[2]
    tick_us = 1e6 / os.sysconf("SC_CLK_TCK")
    return {"server_cpu_us_per_echo": round(server * tick_us / max(echoes, 1), 2),
            "machine_busy_share": round(busy / total, 3) if total else 0.0}


def _p99(values: array) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else 0.0


def soak(port: int, pid: int, echoes: int, *, connections: int = 8, size: int = 128,
         per_connection: int = 1000, timeout: float = 600.0) -> dict[str, Any]:
    """Run ``echoes`` round trips; every one of them must come back intact within ``timeout``."""
    message = os.urandom(size)
    rtts = array("d")
    rss_samples: list[tuple[int, int]] = []
    cpu_samples: list[tuple[int, tuple[int, int, int]]] = [(0, _cpu_ticks(pid))]
    sample_every = max(1, echoes // 100)
    selector = selectors.DefaultSelector()
    state: dict[socket.socket, list] = {}   # sock -> [echoes done, bytes received, started]
    done = started_echoes = 0
    deadline = time.monotonic() + timeout

    def open_one() -> None:
        nonlocal started_echoes
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
        state[sock] = [0, bytearray(), time.perf_counter()]
        sock.send(message)
        started_echoes += 1

    def retire(sock: socket.socket) -> None:
        selector.unregister(sock)
        del state[sock]
        sock.close()

    try:
        for _ in range(min(connections, echoes)):
            open_one()
        while state:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the soak did not finish within {timeout:g} s "
                                   f"({done} of {echoes} echoes)")
            for key, _ in selector.select(1.0):
                sock = key.fileobj
                entry = state[sock]
                data = sock.recv(65536)
                if not data:
                    raise ConnectionResetError(f"the server closed a connection after {done} echoes")
                entry[1] += data
                if len(entry[1]) < size:
                    continue
                if bytes(entry[1]) != message:
                    raise ValueError(f"echo {done} differs from its message")
                rtts.append(time.perf_counter() - entry[2])
                done += 1
                entry[0] += 1
                entry[1] = bytearray()
                if done % sample_every == 0:
                    rss_samples.append((done, _rss(pid)))
                    cpu_samples.append((done, _cpu_ticks(pid)))
                if started_echoes >= echoes:
                    retire(sock)
                elif entry[0] >= per_connection:
                    retire(sock)
                    open_one()
                else:
                    entry[2] = time.perf_counter()
                    sock.send(message)
                    started_echoes += 1
    finally:
        for sock in list(state):
            sock.close()
        selector.close()
    tenth = max(1, len(rtts) // 10)
    marks = dict(cpu_samples)
    first_end = min((mark for mark in marks if mark >= tenth), default=max(marks))
    last_start = max((mark for mark in marks if mark <= done - tenth), default=0)
    return {"echoes": done, "connections_opened": -(-echoes // per_connection),
            "p99_first_ms": round(_p99(rtts[:tenth]) * 1000, 3),
            "p99_last_ms": round(_p99(rtts[-tenth:]) * 1000, 3),
            "worst_ms": round(max(rtts) * 1000, 2) if rtts else None,
            # CPU time is immune to other processes where latency is not: a server that
            # slows down by itself needs more CPU per echo, one that is crowded out does not.
            "first_tenth": _tenth_load(marks[0], marks[first_end], first_end),
            "last_tenth": _tenth_load(marks[last_start], marks[max(marks)], max(marks) - last_start),
            "rss_samples": rss_samples}


def judge(result: dict[str, Any], *, rss_band: int = 5 * MiB,
          p99_ratio: float | None = 1.5) -> list[str]:
    """The soak's criteria that ``result`` misses, as sentences (empty: it passed).

    ``p99_ratio=None`` leaves latency unjudged (it is still in ``result``).
    """
    problems = []
    samples = [rss for done, rss in result["rss_samples"] if done > result["echoes"] // 10]
    if samples:
        spread = max(samples) - min(samples)
        result["rss_after_warmup_spread"] = spread
        if spread > rss_band:
            problems.append(f"RSS after warm-up moved by {spread / MiB:.1f} MiB "
                            f"(> {rss_band / MiB:g} MiB)")
    first, last = result["p99_first_ms"], result["p99_last_ms"]
    if p99_ratio is not None and first and last > p99_ratio * first:
        problem = (f"p99 of the last 10 % is {last:.3f} ms, more than {p99_ratio:g}x "
                   f"the first 10 %'s {first:.3f} ms")
        before, after = result.get("first_tenth"), result.get("last_tenth")
        if before and after:
            problem += (f" (server CPU per echo {before['server_cpu_us_per_echo']:g} -> "
                        f"{after['server_cpu_us_per_echo']:g} us; machine busy "
                        f"{before['machine_busy_share']:.0%} -> {after['machine_busy_share']:.0%})")
        problems.append(problem)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tulip_echo.faults.soak",
                                     description="Soak an echo server; prints JSON.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid", type=int, required=True, help="the server's process id")
    parser.add_argument("--echoes", type=int, default=1_000_000)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--per-connection", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        result = soak(args.port, args.pid, args.echoes, connections=args.connections,
                      per_connection=args.per_connection, timeout=args.timeout)
    except (OSError, ValueError) as exc:
        result = {"error": f"{type(exc).__name__}: {exc}"}
    result["elapsed_s"] = round(time.monotonic() - started, 2)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
