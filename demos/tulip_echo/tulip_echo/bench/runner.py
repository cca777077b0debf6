"""Run the benchmark: every server kind in its own process, one load generator.

Design, in the order things happen:

1. The C load generator is built (``loadgen.py``) and every available server
   kind is started once, each in its own process, on a free port; a kind whose
   loop is missing is recorded as *unavailable* with the reason, never
   measured and never given a number.
2. Every server is brought to its steady state (``prewarm``): it echoes each
   message size to be measured for a moment, over connections that then
   close, before any measurement (see :func:`_warm_up` for why).
3. Rounds: for each message size and connection count, each running server
   is measured in turn by the load generator, in a different order each round
   (rotated), so a slow phase of a busy machine is spread over every kind
   instead of landing on one. Each measurement runs a warm-up and then a
   fixed duration; only the fixed duration counts, and within it the load
   generator also reads the server's user and system CPU time, so the
   report can say how much of each echo is the server's code and how much
   the kernel's.
4. The C echo server ("ceiling") is measured the same way: the load
   generator's own ceiling on this machine, showing it is not the bottleneck.
5. With ``hold`` > 0, each server is asked to hold that many connections at
   once (the 10,000-connection check of the full run).

On a machine with two or more cores the servers are pinned to CPU 0 and the
load generator to CPU 1: each Python server gets one whole core (it uses
only one), and the client never steals it.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .. import loops
from . import loadgen

__all__ = ["KINDS", "Kind", "Settings", "PRESETS", "run", "size_label"]

KiB = 1024


def size_label(size: int) -> str:
    """A message size as people say it: "1 KiB", "100 KiB", "512 B"."""
    return f"{size // KiB} KiB" if size % KiB == 0 else f"{size} B"


@dataclass(frozen=True)
class Kind:
    """One server the benchmark measures."""
    name: str
    label: str
    family: str           # groups kinds for colours in the chart
    style: str            # protocol, streams, tasks or callbacks
    command: Callable[[], list[str]]
    unavailable: Callable[[], str | None] = lambda: None


def _demo_server(loop: str | None, style: str) -> Callable[[], list[str]]:
    def command() -> list[str]:
        args = [sys.executable, "-m", "tulip_echo", "server", "--style", style,
                "--port", "0", "--quiet", "--grace", "1"]
        return args + (["--loop", loop] if loop else [])
    return command


def _peer(name: str) -> Callable[[], list[str]]:
    return lambda: [sys.executable, "-m", "tulip_echo.bench.peers", name, "--port", "0"]


def _module_missing(name: str) -> Callable[[], str | None]:
    def reason() -> str | None:
        try:
            __import__(name)
        except ImportError as exc:
            return f"{name} is not installed ({exc})"
        return None
    return reason


KINDS: tuple[Kind, ...] = (
    *(Kind(f"{loop}-{style}", f"{loop} {'Protocol' if style == 'protocol' else 'streams'}",
           loop, style, _demo_server(loop, style),
           lambda loop=loop: loops.unavailable_reason(loop))
      for loop in loops.LOOPS for style in ("protocol", "streams")),
    Kind("evergreen", "evergreen tasks", "evergreen", "tasks", _demo_server(None, "evergreen"),
         loops.evergreen_unavailable_reason),
    Kind("gevent", "gevent StreamServer", "gevent", "tasks", _peer("gevent"),
         _module_missing("gevent")),
    Kind("pyuv", "raw pyuv callbacks", "pyuv", "callbacks", _peer("pyuv"),
         _module_missing("pyuv")),
    Kind("ceiling", "C epoll server (ceiling)", "c", "callbacks",
         loadgen.server_command),
)
KIND_NAMES = tuple(kind.name for kind in KINDS)
BASELINE = "asyncio-protocol"


@dataclass
class Settings:
    """What to measure and for how long."""
    sizes: list[int] = field(default_factory=lambda: [1 * KiB, 10 * KiB, 100 * KiB])
    connections: list[int] = field(default_factory=lambda: [10, 100])
    warmup: float = 1.0
    duration: float = 3.0
    rounds: int = 3
    prewarm: float = 0.5   # seconds each server echoes each size before measuring; 0: none
    hold: int = 10_000
    kinds: list[str] = field(default_factory=lambda: list(KIND_NAMES))
    pin: bool = True
    wait: str = "spin"
    mode: str = "full"

    def measurements(self) -> int:
        return self.rounds * len(self.sizes) * len(self.connections) * len(self.kinds)

    def estimate_s(self) -> float:
        prewarm = len(self.kinds) * len(self.sizes) * (self.prewarm + 0.15) if self.prewarm else 0
        return self.measurements() * (self.warmup + self.duration + 0.15) + prewarm


PRESETS: dict[str, Settings] = {
    "full": Settings(),
    "quick": Settings(sizes=[1 * KiB, 100 * KiB], connections=[10], warmup=0.3,
                      duration=1.0, rounds=1, prewarm=0.3, hold=0, mode="quick"),
    "tiny": Settings(sizes=[1 * KiB], connections=[2], warmup=0.05, duration=0.2,
                     rounds=1, prewarm=0.05, hold=50, mode="tiny"),
}


class ServerError(RuntimeError):
    """A benchmark server did not start, or died."""


class ServerProcess:
    """One server kind running in its own process, its output in a log file."""

    READY = re.compile(r"serving on (\S+):(\d+)")

    def __init__(self, kind: Kind, log_path: Path) -> None:
        self.kind = kind
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.process = subprocess.Popen(kind.command(), stdout=self._log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.host = ""
        self.port = 0

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = self.READY.search(self.log_path.read_text(errors="replace"))
            if match:
                self.host, self.port = match.group(1), int(match.group(2))
                return
            if self.process.poll() is not None:
                raise ServerError(f"exited with status {self.process.returncode}: {self.log_tail()}")
            time.sleep(0.05)
        raise ServerError(f"not listening after {timeout:g} s: {self.log_tail()}")

    def log_tail(self, lines: int = 3) -> str:
        text = self.log_path.read_text(errors="replace").strip().splitlines()
        return " | ".join(text[-lines:]) or "(no output)"

    def alive(self) -> bool:
        return self.process.poll() is None

    def cpu_seconds(self) -> float:
        """User plus system CPU time used so far (Linux /proc), 0 where unknown."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def pin(self, cpu: int) -> None:
        with contextlib.suppress(AttributeError, OSError):
            os.sched_setaffinity(self.process.pid, {cpu})

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


@contextlib.contextmanager
def _servers(kinds: list[Kind], log_dir: Path, progress: Callable[[str], Any],
             cpu: int | None) -> Iterator[tuple[dict[str, ServerProcess], dict[str, str]]]:
    running: dict[str, ServerProcess] = {}
    failed: dict[str, str] = {}
    try:
        for kind in kinds:
            running[kind.name] = ServerProcess(kind, log_dir / f"{kind.name}.log")
        for name, server in list(running.items()):
            try:
                server.wait_ready()
            except ServerError as exc:
                failed[name] = f"server {exc}"
                server.stop()
                del running[name]
                progress(f"{name}: {failed[name]}")
                continue
            if cpu is not None:
                server.pin(cpu)
        yield running, failed
    finally:
        for server in running.values():
            server.stop()


def _cpus(settings: Settings) -> tuple[int | None, int | None]:
    """(server CPU, load generator CPU), or (None, None) when not pinning."""
    try:
        allowed = sorted(os.sched_getaffinity(0))
    except AttributeError:
        allowed = []
    if settings.pin and len(allowed) >= 2:
        return allowed[0], allowed[1]
    return None, None


def run(settings: Settings, out_dir: Path, *,
        progress: Callable[[str], Any] = lambda line: None,
        step: Callable[[int, int, str], Any] = lambda done, total, what: None) -> dict[str, Any]:
    """Run the benchmark and return its results (see :mod:`tulip_echo.bench.report`)."""
    from .report import machine_metadata, summarize

    unknown = sorted(set(settings.kinds) - set(KIND_NAMES))
    if unknown:
        raise ValueError(f"unknown server kind(s) {', '.join(unknown)}: "
                         f"choose from {', '.join(KIND_NAMES)}")
    loadgen.build()
    log_dir = out_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    server_cpu, client_cpu = _cpus(settings)
    chosen = [kind for kind in KINDS if kind.name in settings.kinds]
    kinds_info = []
    runnable = []
    for kind in chosen:
        reason = kind.unavailable()
        kinds_info.append({"name": kind.name, "label": kind.label, "family": kind.family,
                           "style": kind.style, "available": reason is None, "reason": reason})
        if reason is None:
            runnable.append(kind)
        else:
            progress(f"not measured: {kind.name}: {reason}")

    results: dict[str, Any] = {
        "format": 2,
        "meta": machine_metadata(settings, server_cpu, client_cpu),
        "settings": asdict(settings),
        "kinds": kinds_info,
        "prewarm": {"seconds_per_size": settings.prewarm,
                    "connections": max(settings.connections), "sizes": list(settings.sizes),
                    "runs": []},
        "samples": [],
        "failures": [],
        "hold": [],
    }
    started = time.monotonic()
    with _servers(runnable, log_dir, progress, server_cpu) as (servers, failed):
        if settings.prewarm:
            _warm_up(servers, failed, results["prewarm"]["runs"], settings, client_cpu,
                     progress, step)
        for name, reason in failed.items():
            results["failures"].append({"kind": name, "error": reason})
        total = settings.rounds * len(settings.sizes) * len(settings.connections) * len(servers)
        done = 0
        order = list(servers)
        for round_index in range(settings.rounds):
            for size in settings.sizes:
                for connections in settings.connections:
                    shift = round_index % max(len(order), 1)
                    for name in order[shift:] + order[:shift]:
                        server = servers[name]
                        what = (f"round {round_index + 1}/{settings.rounds}  "
                                f"{size_label(size)} x {connections} conns  {name}")
                        step(done, total, what)
                        done += 1
                        sample = _measure(server, size, connections, settings, client_cpu,
                                          server_cpu)
                        sample.update(kind=name, round=round_index + 1)
                        if "error" in sample:
                            results["failures"].append(sample)
                            progress(f"{what}: {sample['error']}")
                        else:
                            results["samples"].append(sample)
        step(total, total, "done")
        if settings.hold:
            for name, server in servers.items():
                if name == "ceiling":
                    continue
                step(0, 0, f"holding {settings.hold} connections on {name}")
                results["hold"].append(_hold(server, settings.hold))
    results["meta"]["wall_s"] = round(time.monotonic() - started, 1)
    results["meta"]["loadavg_end"] = list(os.getloadavg())
    results["summary"] = summarize(results)
    return results


def _warm_up(servers: dict[str, ServerProcess], failed: dict[str, str], runs: list[dict],
             settings: Settings, client_cpu: int | None, progress: Callable[[str], Any],
             step: Callable[[int, int, str], Any]) -> None:
    """Bring every server to its steady state before its first measurement.

    Each server echoes every message size to be measured for ``prewarm``
    seconds over the largest connection count, and those connections then
    close. Without it, whichever server is measured first in a state it never
    returns to pays for it. The one that showed on the machine this was
    written on: asyncio's selector transport reads with ``sock.recv(256 KiB)``,
    and until some 256 KiB buffer has been freed whole (which first happens
    when a connection's ``recv`` returns ``b''`` at EOF), glibc's dynamic mmap
    threshold is still 128 KiB, so every read maps and unmaps a fresh 256 KiB
    block and faults its pages in: a fresh asyncio server echoed 1 KiB
    messages 3-4x slower than the same server after one connection had
    closed. Lazy imports, first-call caches and free lists settle the same
    way. Every kind goes through the same cycle, and a server whose warm-up
    fails is not measured (it is listed as failed).
    """
    connections = max(settings.connections)
    for name, server in list(servers.items()):
        for size in settings.sizes:
            step(0, 0, f"warming up {name}: {size_label(size)} x {connections} conns")
            try:
                result = loadgen.measure(server.host, server.port, connections=connections,
                                         size=size, warmup=0, duration=settings.prewarm,
                                         cpu=client_cpu, wait=settings.wait,
                                         server_pid=server.process.pid)
            except loadgen.LoadgenError as exc:
                alive = "" if server.alive() else f"; server exited: {server.log_tail()}"
                failed[name] = f"warm-up ({size_label(size)} x {connections}) failed: {exc}{alive}"
                progress(f"{name}: {failed[name]}")
                server.stop()
                del servers[name]
                break
            runs.append({"kind": name, "size": size, "connections": connections,
                         "messages_per_s": round(result.messages_per_s, 1),
                         **_per_message(result)})


def _cpu_times(cpu: int | None) -> tuple[float, float]:
    """(busy, stolen) seconds so far of one CPU, from /proc/stat; zeros where unknown."""
    if cpu is None:
        return 0.0, 0.0
    try:
        with open("/proc/stat") as stat:
            for line in stat:
                if line.startswith(f"cpu{cpu} "):
                    ticks = [int(field) for field in line.split()[1:9]]
                    tick = os.sysconf("SC_CLK_TCK")
                    return (ticks[0] + ticks[1] + ticks[2]) / tick, ticks[7] / tick
    except (OSError, ValueError, IndexError):
        pass
    return 0.0, 0.0


def _measure(server: ServerProcess, size: int, connections: int, settings: Settings,
             client_cpu: int | None, server_cpu: int | None = None) -> dict[str, Any]:
    sample: dict[str, Any] = {"size": size, "connections": connections}
    if not server.alive():
        return {**sample, "error": f"server exited: {server.log_tail()}"}
    busy_before, stolen_before = _cpu_times(server_cpu)
    cpu_before, wall_before = server.cpu_seconds(), time.monotonic()
    try:
        result = loadgen.measure(server.host, server.port, connections=connections, size=size,
                                 warmup=settings.warmup, duration=settings.duration,
                                 cpu=client_cpu, wait=settings.wait,
                                 server_pid=server.process.pid)
    except loadgen.LoadgenError as exc:
        alive = "" if server.alive() else f"; server exited: {server.log_tail()}"
        return {**sample, "error": f"{exc}{alive}"}
    wall = time.monotonic() - wall_before
    used = server.cpu_seconds() - cpu_before
    busy, stolen = _cpu_times(server_cpu)
    # Whatever else ran on the server's CPU (other processes, or the hypervisor
    # stealing it) was taken from the server: a figure to judge the sample by.
    others = max(0.0, busy - busy_before - used) + (stolen - stolen_before)
    return {**sample,
            "messages": result.messages, "elapsed": round(result.elapsed, 4),
            "messages_per_s": round(result.messages_per_s, 1),
            "mib_per_s": round(result.mib_per_s, 2),
            "p50_us": result.p50_us, "p99_us": result.p99_us, "mean_us": result.mean_us,
            "loadgen_busy": round(result.busy_share, 3),
            "server_cpu": round(used / wall, 3),
            "others_cpu": round(others / wall, 3) if server_cpu is not None else None,
            **_per_message(result)}


def _per_message(result: loadgen.Run) -> dict[str, float | None]:
    """The server's CPU per echoed message, split into its own code and the kernel's."""
    def rounded(value: float | None, digits: int = 3) -> float | None:
        return None if value is None else round(value, digits)
    faults = (result.server_minor_faults / result.messages
              if result.server_minor_faults is not None and result.messages else None)
    return {"user_us_per_msg": rounded(result.per_message_us(result.server_user)),
            "sys_us_per_msg": rounded(result.per_message_us(result.server_system)),
            "faults_per_msg": rounded(faults, 4)}


def _hold(server: ServerProcess, connections: int) -> dict[str, Any]:
    entry: dict[str, Any] = {"kind": server.kind.name, "connections": connections}
    try:
        report = loadgen.hold(server.host, server.port, connections=connections)
    except loadgen.LoadgenError as exc:
        alive = "" if server.alive() else f"; server exited: {server.log_tail()}"
        return {**entry, "ok": False, "error": f"{exc}{alive}"}
    return {**entry, "ok": True, **{key: report[key] for key in
                                    ("connect_s", "echo_s", "close_s", "total_s")}}
