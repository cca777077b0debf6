"""Build and drive the C load generator (``loadgen.c`` beside this file).

The load generator is compiled with gcc the first time it is needed and
cached under ``~/.cache/asyncio-talks/tulip_echo`` (``TULIP_ECHO_CACHE``
overrides), keyed by the source's hash and the compiler's version, so a
changed source or compiler rebuilds it. It is C because on a two-core
machine a Python client would need as much CPU as the server it measures;
its own ceiling is measured in every run against its C echo server.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["LoadgenError", "build", "compiler_version", "hold", "measure", "server_command"]

SOURCE = Path(__file__).with_name("loadgen.c")
CFLAGS = ("-O2", "-std=c11", "-Wall", "-Wextra")
WAITS = ("spin", "block")


class LoadgenError(RuntimeError):
    """The load generator could not be built, or reported a failed run."""


def _cache_dir() -> Path:
    root = os.environ.get("TULIP_ECHO_CACHE")
    if root:
        return Path(root)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "asyncio-talks" / "tulip_echo"


def _check_platform() -> None:
    # epoll and /proc/PID/stat are Linux's; a kqueue port is not written (yet).
    if not sys.platform.startswith("linux"):
        raise LoadgenError(f"the benchmark's load generator ({SOURCE.name}) uses epoll and "
                           f"/proc, which only Linux has; on {sys.platform} run the echo demo "
                           "by hand (python -m tulip_echo server/client) instead of the benchmark")


def _compiler() -> str:
    cc = os.environ.get("CC", "gcc")
    if shutil.which(cc) is None:
        raise LoadgenError(f"the benchmark's load generator needs a C compiler: {cc!r} "
                           "was not found (install gcc, or set CC)")
    return cc


def compiler_version() -> str:
    result = subprocess.run([_compiler(), "--version"], capture_output=True, text=True, check=False)
    return result.stdout.splitlines()[0] if result.stdout else "unknown"


def build() -> Path:
    """Return the path of the compiled load generator, compiling it if needed.

    LoadgenError, saying so, on a system other than Linux.
    """
    _check_platform()
    cc = _compiler()
    digest = hashlib.sha256(SOURCE.read_bytes())
    digest.update(" ".join((compiler_version(), *CFLAGS)).encode())
    binary = _cache_dir() / f"loadgen-{digest.hexdigest()[:16]}"
    if binary.exists():
        return binary
    binary.parent.mkdir(parents=True, exist_ok=True)
    partial = binary.with_suffix(f".tmp{os.getpid()}")
    result = subprocess.run([cc, *CFLAGS, "-o", str(partial), str(SOURCE)],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise LoadgenError(f"compiling {SOURCE.name} failed:\n{result.stderr.strip()}")
    partial.replace(binary)  # atomic: concurrent builds never see half a binary
    return binary


@dataclass(frozen=True)
class Run:
    """What one closed-loop measurement returned."""
    connections: int
    size: int
    messages: int
    elapsed: float
    p50_us: float
    p99_us: float
    mean_us: float
    max_us: float
    cpu: float          # load generator CPU seconds during the measured window
    idle: float         # seconds of that window it polled and found nothing to do
    wait: str = "spin"
    # The server's use within the same window, when its pid was given (else None):
    server_user: float | None = None       # user CPU seconds
    server_system: float | None = None     # system (kernel) CPU seconds
    server_minor_faults: int | None = None

    @property
    def messages_per_s(self) -> float:
        return self.messages / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def mib_per_s(self) -> float:
        """Echoed payload per second (each byte is counted once, not there and back)."""
        return self.messages_per_s * self.size / 2**20

    @property
    def busy_share(self) -> float:
        """Fraction of the measured time the load generator had work to do.

        It busy-polls, so its CPU use is always near 100%; near 100% *busy*
        means the server was waiting for it: the load generator was the bottleneck.
        """
        if self.elapsed <= 0:
            return 0.0
        if self.wait == "block":  # it sleeps when idle: its CPU share is its busy share
            return min(1.0, self.cpu / self.elapsed)
        return max(0.0, 1 - self.idle / self.elapsed)

    def per_message_us(self, seconds: float | None) -> float | None:
        """Server CPU ``seconds`` of the measured window per counted message, in µs."""
        if seconds is None or not self.messages:
            return None
        return seconds / self.messages * 1e6


def _run(args: list[str], timeout: float, *, cpu: int | None = None) -> dict[str, Any]:
    process = subprocess.Popen([str(build()), *args], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    if cpu is not None:
        _pin(process.pid, cpu)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise LoadgenError(f"the load generator did not finish within {timeout:g} s") from None
    line = out.strip().splitlines()[-1] if out.strip() else ""
    try:
        report = json.loads(line)
    except json.JSONDecodeError:
        raise LoadgenError(f"the load generator failed (status {process.returncode}): "
                           f"{(err or out).strip()[:500]}") from None
    if "error" in report or process.returncode != 0:
        raise LoadgenError(report.get("error", f"status {process.returncode}"))
    return report


def _pin(pid: int, cpu: int) -> None:
    try:
        os.sched_setaffinity(pid, {cpu})
    except (AttributeError, OSError):
        pass  # pinning only steadies the numbers; without it they are still valid


def measure(host: str, port: int, *, connections: int, size: int, warmup: float,
            duration: float, cpu: int | None = None, wait: str = "spin",
            server_pid: int | None = None) -> Run:
    """Drive a server with ``connections`` closed loops of ``size``-byte messages.

    ``wait`` is how the load generator waits for echoes: "spin" busy-polls (the
    server never pays for waking the client up), "block" sleeps in epoll_wait.
    With ``server_pid`` (Linux), the server process's user and system CPU time
    and minor page faults within the measured window are reported too.
    """
    if wait not in WAITS:
        raise ValueError(f"unknown wait {wait!r}: choose one of {', '.join(WAITS)}")
    args = ["client", host, str(port), str(connections), str(size),
            f"{warmup:g}", f"{duration:g}", wait]
    if server_pid is not None:
        args.append(str(server_pid))
    report = _run(args, timeout=warmup + duration + 60, cpu=cpu)
    return Run(connections=report["connections"], size=report["size"],
               messages=report["messages"], elapsed=report["elapsed"],
               p50_us=report["p50_us"], p99_us=report["p99_us"], mean_us=report["mean_us"],
               max_us=report["max_us"], cpu=report["cpu"], idle=report["idle"], wait=wait,
               server_user=report.get("server_user"), server_system=report.get("server_system"),
               server_minor_faults=report.get("server_minor_faults"))


def hold(host: str, port: int, *, connections: int, size: int = 64,
         timeout: float = 120.0) -> dict[str, Any]:
    """Open ``connections`` at once, echo once on each, half-close all; return the timings."""
    return _run(["hold", host, str(port), str(connections), str(size), f"{timeout:g}"],
                timeout=timeout + 10)


def server_command(port: int = 0) -> list[str]:
    """The command line of the C echo server that measures the load generator's ceiling."""
    return [str(build()), "server", str(port)]
