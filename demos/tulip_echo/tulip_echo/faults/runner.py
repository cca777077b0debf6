"""Run the fault matrix: every fault against every server kind, each server in its own process.

For each server kind (:data:`~tulip_echo.faults.servers.SERVER_KINDS` that
can run here) one server process is started and every case runs against it
in turn; a case that kills the server fails, and the next case gets a fresh
one. Around each case the harness reads the server's descriptors (before,
and after the case's clients are gone: they must fall back), its resident
memory (before, and the peak during the case, through ``VmHWM``), and what it
logged (each induced failure at most once, nothing for a well-behaved
client). Every case is bounded in time, every process it starts is stopped,
and everything talks to 127.0.0.1 only, on free ports.

The cases:

- broken links (:mod:`.links` through :mod:`.proxy`): each fault kind with
  one large message and with many small ones;
- hostile peers (:mod:`.hostile`): never-reading connections, slowloris, a
  1 GiB flood, RST in mid-write, a SIGKILLed client; a :class:`~.hostile.Prober`
  measures a well-behaved client's round trips throughout;
- the soak (:mod:`.soak`), on rose's and evergreen's servers only.
"""

from __future__ import annotations

import json
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from . import links, soak
from .hostile import Prober
from .proxy import Fault
from .servers import SERVER_KINDS, ServerError, ServerUnderTest

__all__ = ["PRESETS", "Settings", "run"]

KiB, MiB = 1024, 1024 * 1024
#: What a server may hold in user space per connection under flow control, by style,
#: from the limits each one documents. Protocol: the write buffer past its high-water
#: mark (64 KiB) plus the read that crossed it (up to 256 KiB). Streams: the
#: StreamReader's buffer, which pauses reading at twice its limit (2 x 256 KiB), plus the
#: read that crossed that (256 KiB); the chunk the handler holds while it drains (256 KiB);
#: the write buffer's high-water mark plus the write that crossed it (64 + 256 KiB).
#: (832 KiB, without the reader's crossing read and the handler's chunk, was exceeded by
#: asyncio's own streams server on a quiet machine: 1.1-1.2 MiB per connection.)
#: Evergreen's tasks: its stream's read buffer (256 KiB, plus one libuv read of 64 KiB),
#: the chunk the handler holds (256 KiB), and its write queue's high mark (256 KiB)
#: plus the write that crossed it (256 KiB).
PER_CONNECTION = {"protocol": 320 * KiB, "streams": 1344 * KiB, "tasks": 1088 * KiB}
#: Headroom for everything else (allocator slack, the loop's own structures).
RSS_SLACK = 32 * MiB
#: The worst round trip a well-behaved client may see while the server is abused.
ROUND_TRIP_BOUND_S = 5.0
#: Descriptors get this long to fall back to their baseline once a case's clients are gone.
SETTLE_S = 5.0


@dataclass
class Settings:
    """What the fault run does; :data:`PRESETS` has the full, quick and tiny runs."""
    mode: str = "full"
    servers: list[str] = field(default_factory=lambda: [kind.name for kind in SERVER_KINDS])
    big: int = 8 * MiB                # the large message
    small_size: int = 100             # the small messages...
    small_count: int = 1000           # ...and how many over one connection
    split: int = 256 * KiB            # bytes per direction sent one byte per segment
    stall_s: float = 3.0
    link_timeout: float = 60.0
    never_read: int = 2000            # connections
    never_read_bytes: int = 4 * MiB   # each tries to push this much
    slowloris: int = 1000
    slowloris_s: float = 5.0
    flood_bytes: int = 1024 * MiB
    reset: int = 200
    reset_bytes: int = 4 * MiB
    killed: int = 20                  # connections of the client that gets SIGKILLed
    soak_servers: list[str] = field(
        default_factory=lambda: ["rose-protocol", "rose-streams", "evergreen"])
    soak_echoes: int = 1_000_000
    #: Judge the soak's latency (p99 last 10 % vs first 10 %): only meaningful over many
    #: echoes; a tiny soak's tenths are a few hundred round trips, noise on a shared machine.
    soak_latency: bool = True
    seed: int = 16


PRESETS: dict[str, Settings] = {
    "full": Settings(),
    "quick": Settings(mode="quick", split=64 * KiB, stall_s=2.0, never_read=500, slowloris=200,
                      slowloris_s=3.0, reset=50, soak_echoes=100_000,
                      soak_servers=["rose-protocol", "evergreen"]),
    "tiny": Settings(mode="tiny", big=256 * KiB, small_count=100, split=4 * KiB, stall_s=0.5,
                     link_timeout=20.0, never_read=50, slowloris=20, slowloris_s=1.5,
                     flood_bytes=64 * MiB, reset=10, reset_bytes=1 * MiB, killed=4,
                     soak_echoes=5_000, soak_latency=False,
                     soak_servers=["rose-protocol", "evergreen"]),
}


@dataclass
class Case:
    """One row of the table: what was done to which server, and what came of it."""
    group: str
    fault: str
    server: str
    passed: bool = False
    time_s: float = 0.0
    rss_before_mib: float | None = None
    peak_rss_mib: float | None = None
    fds_before: int | None = None
    fds_after: int | None = None
    worst_rtt_ms: float | None = None
    logged: int = 0
    problems: list[str] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)


class _Measured:
    """Reads the server before and after a case, and judges what every case shares."""

    def __init__(self, server: ServerUnderTest | None, case: Case, *, allowed_log_entries: int,
                 style: str = "protocol") -> None:
        self.server = server
        self.style = server.kind.style if server is not None else style
        self.case = case
        self.allowed = allowed_log_entries

    def __enter__(self) -> _Measured:
        server, case = self.server, self.case
        case.fds_before = server.descriptors()
        case.rss_before_mib = round(server.rss() / MiB, 1)
        server.reset_peak()
        server.mark_log()
        self._started = time.monotonic()
        return self

    def __exit__(self, *exc_info: object) -> None:
        server, case = self.server, self.case
        case.time_s = round(time.monotonic() - self._started, 2)
        if not server.alive():
            case.problems.append(f"the server died: {server.log_tail()}")
            return
        case.peak_rss_mib = round(server.peak_rss() / MiB, 1)
        case.fds_after = server.settle_descriptors(case.fds_before, SETTLE_S)
        if case.fds_after > case.fds_before:
            case.problems.append(f"descriptors leaked: {case.fds_before} before, "
                                 f"{case.fds_after} {SETTLE_S:g} s after")
        entries = server.log_entries()
        case.logged = len(entries)
        if len(entries) > self.allowed:
            case.problems.append(f"{len(entries)} log entries for {self.allowed} induced "
                                 f"failure(s), first: {entries[0][:120]}")

    def memory_bounded(self, connections: int) -> None:
        """Fail the case if the server's peak grew by more than flow control allows."""
        case = self.case
        if case.peak_rss_mib is None:
            return
        bound = (RSS_SLACK + connections * PER_CONNECTION[self.style]) / MiB
        case.detail["rss_bound_mib"] = round(bound, 1)
        grown = case.peak_rss_mib - case.rss_before_mib
        if grown > bound:
            case.problems.append(f"memory grew by {grown:.0f} MiB, more than flow control "
                                 f"allows for {connections} connection(s) ({bound:.0f} MiB)")


def _read_line(process: subprocess.Popen, timeout: float) -> str:
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    return process.stdout.readline() if ready else ""


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stdout is not None:
        process.stdout.close()


class _Proxy:
    """The fault proxy in its own process, for one case."""

    def __init__(self, target: int, fault: Fault) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tulip_echo.faults.proxy", "--target", str(target),
             "--fault", fault.to_json()],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
        line = _read_line(self.process, 30)
        match = re.search(r"proxying on \S+?:(\d+)", line)
        if not match:
            _stop(self.process)
            raise ServerError(f"the fault proxy did not start: {line.strip() or '(no output)'}")
        self.port = int(match.group(1))

    def close(self) -> None:
        _stop(self.process)


def _client_style(server: ServerUnderTest) -> tuple[str, str]:
    kind = server.kind
    if kind.family == "evergreen":
        return "evergreen", "evergreen"
    return kind.style, kind.family


def _link_case(server: ServerUnderTest, fault: Fault, workload: links.Workload,
               settings: Settings, log_dir: Path) -> Case:
    case = Case("link", f"{fault.name} ({_workload_label(workload)})", server.kind.name)
    case.detail["fault"] = asdict(fault)
    with _Measured(server, case, allowed_log_entries=1):
        proxy = _Proxy(server.port, fault)
        try:
            style, loop = _client_style(server)
            result = links.run_client(style, loop, proxy.port, workload, seed=settings.seed,
                                      timeout=settings.link_timeout)
        finally:
            proxy.close()
    case.detail["client"] = result
    case.worst_rtt_ms = result.get("worst_rtt_ms")
    outcome = result.get("outcome")
    accepted = ("intact", "reported") if fault.name in links.CUTTING else ("intact",)
    if outcome not in accepted:
        case.problems.insert(0, f"client: {outcome}" + (f" ({result['error']})"
                                                        if result.get("error") else ""))
    case.passed = not case.problems
    return case


def _workload_label(workload: links.Workload) -> str:
    size = f"{workload.size // MiB} MiB" if workload.size % MiB == 0 else (
        f"{workload.size // KiB} KiB" if workload.size % KiB == 0 else f"{workload.size} B")
    return size if workload.count == 1 else f"{workload.count} x {size}"


def _hostile(server: ServerUnderTest, mode: str, *args: str, timeout: float) -> dict[str, Any]:
    command = [sys.executable, "-m", "tulip_echo.faults.hostile", mode, "--port",
               str(server.port), *args]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"the hostile client did not finish within {timeout:g} s"}
    try:
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return {"error": f"the hostile client failed: {done.stderr.strip()[-200:]}"}


def _hostile_case(server: ServerUnderTest, fault: str, connections: int,
                  act: Callable[[], dict[str, Any]]) -> tuple[Case, _Measured]:
    case = Case("hostile", fault, server.kind.name)
    measured = _Measured(server, case, allowed_log_entries=connections)
    with measured, Prober(server.port) as prober:
        result = act()
    case.detail["client"] = result
    case.worst_rtt_ms = prober.worst_ms
    case.detail["probe_round_trips"] = len(prober.rtts)
    if "error" in result:
        case.problems.insert(0, f"hostile client: {result['error']}")
    if prober.error:
        case.problems.append(f"the well-behaved client failed: {prober.error}")
    elif not prober.rtts:
        case.problems.append("the well-behaved client got no round trip through")
    elif max(prober.rtts) > ROUND_TRIP_BOUND_S:
        case.problems.append(f"a well-behaved round trip took {prober.worst_ms:.0f} ms "
                             f"(> {ROUND_TRIP_BOUND_S:g} s)")
    measured.memory_bounded(connections)
    return case, measured


def _killed_client(server: ServerUnderTest, settings: Settings) -> dict[str, Any]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tulip_echo.faults.hostile", "transfer", "--port",
         str(server.port), "--connections", str(settings.killed), "--bytes", str(1 * MiB),
         "--seconds", "60"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True)
    try:
        if not _read_line(process, 30):
            return {"error": "the client to be killed did not start"}
        time.sleep(1.0)   # mid-transfer: every connection is echoing 1 MiB messages
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        return {"connections": settings.killed, "killed_after_s": 1.0,
                "signal": process.returncode}
    finally:
        _stop(process)


def _hostile_cases(server: ServerUnderTest, settings: Settings) -> list[Case]:
    s = settings
    cases = []
    case, _ = _hostile_case(server, f"never-read x {s.never_read}", s.never_read, lambda: _hostile(
        server, "never-read", "--connections", str(s.never_read), "--bytes",
        str(s.never_read_bytes), "--seconds", "60", timeout=120))
    cases.append(case)
    case, _ = _hostile_case(server, f"slowloris x {s.slowloris}", s.slowloris, lambda: _hostile(
        server, "slowloris", "--connections", str(s.slowloris), "--seconds", str(s.slowloris_s),
        timeout=s.slowloris_s + 60))
    cases.append(case)
    case, _ = _hostile_case(server, f"flood {s.flood_bytes // MiB} MiB unread", 1,
                            lambda: _hostile(server, "flood", "--bytes", str(s.flood_bytes),
                                             "--seconds", "60", timeout=120))
    sent = case.detail["client"].get("bytes_sent", 0)
    if "error" not in case.detail["client"] and sent >= s.flood_bytes:
        case.problems.append(f"the server took all {sent} bytes without flow control stopping "
                             "the flood")
    cases.append(case)
    case, _ = _hostile_case(server, f"RST mid-write x {s.reset}", s.reset, lambda: _hostile(
        server, "reset", "--connections", str(s.reset), "--bytes", str(s.reset_bytes),
        "--seconds", "60", timeout=120))
    cases.append(case)
    case, _ = _hostile_case(server, f"SIGKILL client ({s.killed} conns)", s.killed,
                            lambda: _killed_client(server, s))
    cases.append(case)
    for case in cases:
        case.passed = not case.problems
    return cases


def _soak_case(server: ServerUnderTest, settings: Settings) -> Case:
    case = Case("soak", f"soak {settings.soak_echoes:,} echoes", server.kind.name)
    timeout = max(120.0, settings.soak_echoes / 2000)
    with _Measured(server, case, allowed_log_entries=0):
        command = [sys.executable, "-m", "tulip_echo.faults.soak", "--port", str(server.port),
                   "--pid", str(server.pid), "--echoes", str(settings.soak_echoes),
                   "--timeout", str(timeout)]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout + 30,
                                  check=False)
            result = json.loads(done.stdout.strip().splitlines()[-1])
        except subprocess.TimeoutExpired:
            result = {"error": f"the soak did not finish within {timeout + 30:g} s"}
        except (IndexError, ValueError):
            result = {"error": f"the soak client failed: {done.stderr.strip()[-200:]}"}
    case.detail["client"] = result
    if "error" in result:
        case.problems.insert(0, f"soak client: {result['error']}")
    else:
        case.worst_rtt_ms = result["worst_ms"]
        case.problems[:0] = soak.judge(result, p99_ratio=1.5 if settings.soak_latency else None)
        result["rss_samples_mib"] = [round(rss / MiB, 1) for _, rss in result.pop("rss_samples")]
    case.passed = not case.problems
    return case


class _ServerSlot:
    """The server a kind's cases run against, restarted when a case killed it."""

    def __init__(self, kind, log_dir: Path) -> None:
        self.kind = kind
        self.log_dir = log_dir
        self.server: ServerUnderTest | None = None
        self.starts = 0

    def get(self) -> ServerUnderTest:
        if self.server is None or not self.server.alive():
            if self.server is not None:
                self.server.stop()
            self.starts += 1
            suffix = "" if self.starts == 1 else f"-{self.starts}"
            self.server = ServerUnderTest(self.kind, self.log_dir / f"{self.kind.name}{suffix}.log")
            self.server.__enter__()
        return self.server

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()


def _server_cases(kind, settings: Settings, log_dir: Path,
                  progress: Callable[[str], Any]) -> list[Case]:
    workloads = [links.Workload("big", settings.big, 1),
                 links.Workload("small", settings.small_size, settings.small_count)]
    slot = _ServerSlot(kind, log_dir)
    cases: list[Case] = []
    try:
        for workload in workloads:
            for fault in links.link_faults(workload, settings.seed, stall_s=settings.stall_s,
                                           split=settings.split):
                progress(f"{kind.name}: {fault.name} ({_workload_label(workload)})")
                cases.append(_link_case(slot.get(), fault, workload, settings, log_dir))
        progress(f"{kind.name}: hostile peers")
        cases += _hostile_cases(slot.get(), settings)
        if kind.name in settings.soak_servers:
            progress(f"{kind.name}: soak, {settings.soak_echoes:,} echoes")
            # A fresh server: the soak's warm-up is its own, not the abuse before it.
            slot.close()
            slot.server = None
            cases.append(_soak_case(slot.get(), settings))
    except ServerError as exc:
        cases.append(Case("server", "start", kind.name, problems=[str(exc)]))
    finally:
        slot.close()
    return cases


def run(settings: Settings, out_dir: Path, *,
        progress: Callable[[str], Any] = lambda line: None) -> dict[str, Any]:
    """Run every case against every chosen server kind; return the results (see report)."""
    from .report import machine_metadata

    known = {kind.name: kind for kind in SERVER_KINDS}
    unknown = sorted(set(settings.servers) - set(known))
    if unknown:
        raise ValueError(f"unknown server kind(s) {', '.join(unknown)}: choose from "
                         f"{', '.join(known)}")
    log_dir = out_dir / "faults-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"format": 1, "meta": machine_metadata(),
                               "settings": asdict(settings), "unavailable": {}, "cases": []}
    started = time.monotonic()
    for name in settings.servers:
        kind = known[name]
        reason = kind.unavailable()
        if reason:
            results["unavailable"][name] = reason
            progress(f"not run: {name}: {reason}")
            continue
        for case in _server_cases(kind, settings, log_dir, progress):
            results["cases"].append(asdict(case))
            if not case.passed:
                progress(f"FAILED {case.server} / {case.fault}: {'; '.join(case.problems)}")
    results["meta"]["wall_s"] = round(time.monotonic() - started, 1)
    return results


def settings_for(mode: str, **overrides: Any) -> Settings:
    return replace(PRESETS[mode], **{k: v for k, v in overrides.items() if v is not None})


