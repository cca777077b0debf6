"""Broken links: the demo's own clients talk to a server through the fault proxy.

One case is a workload (one large message, or many small ones over one
connection), sent by the client of a server's own style and loop, through a
:class:`~tulip_echo.faults.proxy.Fault`. The client runs in a process of its
own (``python -m tulip_echo.faults.links ...``, one JSON line out) so that a
client that hangs is killed at the bound instead of hanging the run, and it
compares the SHA-256 of everything sent with everything echoed.

A case passes when the echo arrived byte for byte, or, for the faults that
cut the link (reset, half-close), when the client reported the failure as a
``ConnectionError``/``OSError`` within the bound; wrong bytes, a timeout, or
a client that had to be killed always fail.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

from .proxy import Fault

__all__ = ["CUTTING", "Workload", "link_faults", "run_client"]

#: Faults after which a clean error is as good as an intact echo.
CUTTING = ("reset", "half-close")


@dataclass(frozen=True)
class Workload:
    """What the client sends over one connection: ``count`` messages of ``size`` bytes."""
    name: str
    size: int
    count: int

    @property
    def total(self) -> int:
        return self.size * self.count


def link_faults(workload: Workload, seed: int, *, stall_s: float, split: int) -> list[Fault]:
    """Every fault kind for ``workload``; the random points are drawn from ``seed``."""
    rng = random.Random(f"{seed}/{workload.name}")
    total = workload.total

    def point() -> int:
        return rng.randrange(1, total)

    return [
        Fault("delay+jitter", delay=0.002, jitter=0.004, seed=seed),
        Fault("1-byte segments", split=split, seed=seed),
        Fault("stall", stall_at=point(), stall_s=stall_s, seed=seed),
        Fault("reset", reset_at=point(), seed=seed),
        Fault("half-close", half_close_at=point(), half_close=rng.choice(("up", "down")),
              seed=seed),
    ]


# -- the client process ---------------------------------------------------------------------

def _payloads(workload: Workload, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    return [rng.randbytes(workload.size) for _ in range(workload.count)]


def _outcome(sent: list[bytes], echoed: list[bytes], rtts: list[float], error: BaseException | None,
             started: float) -> dict[str, Any]:
    sent_hash = hashlib.sha256(b"".join(sent)).hexdigest()
    got_hash = hashlib.sha256(b"".join(echoed)).hexdigest()
    result: dict[str, Any] = {
        "elapsed_s": round(time.perf_counter() - started, 3),
        "messages": len(echoed), "bytes": sum(map(len, echoed)),
        "sha256_sent": sent_hash, "sha256_echoed": got_hash,
        "worst_rtt_ms": round(max(rtts) * 1000, 2) if rtts else None,
    }
    if error is None:
        result["outcome"] = "intact" if sent_hash == got_hash else "corrupt"
    elif isinstance(error, TimeoutError):
        result.update(outcome="timeout", error="no complete echo within the bound")
    elif isinstance(error, OSError):
        result.update(outcome="reported", error=f"{type(error).__name__}: {error}")
    else:
        # EchoMismatch and anything else a client must never see for a cut link.
        result.update(outcome="corrupt" if isinstance(error, ValueError) else "crashed",
                      error=f"{type(error).__name__}: {error}")
    if result["outcome"] == "reported":
        # Whatever arrived before the error must be a prefix of what was sent.
        prefix = b"".join(echoed)
        if prefix != b"".join(sent)[:len(prefix)]:
            result["outcome"] = "corrupt"
    return result


def _asyncio_client(style: str, loop: str, port: int, payloads: list[bytes],
                    timeout: float) -> dict[str, Any]:
    import asyncio

    from .. import loops
    from ..client import check_end, connect

    echoed: list[bytes] = []
    rtts: list[float] = []

    async def main() -> None:
        async with asyncio.timeout(timeout):
            client = await connect("127.0.0.1", port, style=style)
            try:
                for message in payloads:
                    began = time.perf_counter()
                    answer = await client.echo(message)
                    rtts.append(time.perf_counter() - began)
                    echoed.append(answer)
                    if answer != message:
                        return
                check_end(await client.finish())
            except BaseException:
                client.abort()
                raise

    started = time.perf_counter()
    error: BaseException | None = None
    try:
        loops.run(main(), loop)
    except Exception as exc:  # every error is an outcome to report, none is a crash
        error = exc
    return _outcome(payloads, echoed, rtts, error, started)


def _evergreen_client(port: int, payloads: list[bytes], timeout: float) -> dict[str, Any]:
    import evergreen

    from ..client import check_end
    from ..green import GreenClient

    echoed: list[bytes] = []
    rtts: list[float] = []

    def main() -> None:
        with evergreen.Timeout(timeout):
            client = GreenClient.connect("127.0.0.1", port)
            try:
                for message in payloads:
                    began = time.perf_counter()
                    answer = client.echo(message)
                    rtts.append(time.perf_counter() - began)
                    echoed.append(answer)
                    if answer != message:
                        return
                check_end(client.finish())
            except BaseException:
                client.abort()
                raise

    started = time.perf_counter()
    error: BaseException | None = None
    try:
        evergreen.run(main)
    except Exception as exc:
        error = exc
    return _outcome(payloads, echoed, rtts, error, started)


def client_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tulip_echo.faults.links",
                                     description="One faulty-link echo client; prints JSON.")
    parser.add_argument("--style", required=True, choices=("protocol", "streams", "evergreen"))
    parser.add_argument("--loop", default="asyncio")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    payloads = _payloads(Workload("", args.size, args.count), args.seed)
    if args.style == "evergreen":
        result = _evergreen_client(args.port, payloads, args.timeout)
    else:
        result = _asyncio_client(args.style, args.loop, args.port, payloads, args.timeout)
    print(json.dumps(result), flush=True)
    return 0


def run_client(style: str, loop: str, port: int, workload: Workload, *, seed: int,
               timeout: float) -> dict[str, Any]:
    """Run one client process against ``port``; kill it at ``timeout`` + 10 s if it hangs."""
    command = [sys.executable, "-m", "tulip_echo.faults.links", "--style", style,
               "--loop", loop, "--port", str(port), "--size", str(workload.size),
               "--count", str(workload.count), "--timeout", str(timeout), "--seed", str(seed)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout + 10,
                              env={**os.environ, "PYTHONUNBUFFERED": "1"}, check=False)
    except subprocess.TimeoutExpired:
        return {"outcome": "hung", "error": f"the client did not finish within {timeout + 10:g} s "
                                            "and was killed"}
    lines = done.stdout.strip().splitlines()
    try:
        return json.loads(lines[-1])
    except (IndexError, ValueError):
        tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        return {"outcome": "crashed", "error": f"client exited with {done.returncode}: {tail}"}


if __name__ == "__main__":
    sys.exit(client_main())
