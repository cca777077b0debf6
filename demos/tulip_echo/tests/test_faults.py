"""The fault machinery (tulip_echo.faults): the proxy's faults one by one, the judges, and a
tiny run of every fault kind against one server of each style (rose's Protocol and streams
servers, evergreen's). The full matrix and the million-echo soak run in ``make faults``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from tulip_echo.faults import links, report, runner, soak
from tulip_echo.faults.proxy import Fault, FaultProxy
from tulip_echo.faults.servers import SERVER_KINDS, ServerUnderTest

from .conftest import require

MiB = 1024 * 1024


# -- the proxy, against a plain socket peer -------------------------------------------------

class _Peer:
    """A loopback server in a thread that records what it receives, and echoes it if asked."""

    def __init__(self, echo: bool = True) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(10)
        self.port = self.listener.getsockname()[1]
        self.received = bytearray()
        self.ending: str | None = None     # "eof" or the error that ended the connection
        self.echo = echo
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(10)
            try:
                while data := conn.recv(65536):
                    self.received += data
                    if self.echo:
                        conn.sendall(data)
                self.ending = "eof"
            except OSError as exc:
                self.ending = type(exc).__name__

    def close(self) -> None:
        self.listener.close()
        self.thread.join(15)


@contextlib.contextmanager
def _proxy(target: int, fault: Fault) -> Iterator[int]:
    """Run a FaultProxy on asyncio's loop in a thread; yield its port."""
    proxy = FaultProxy(("127.0.0.1", target), fault)
    _, port = proxy.listen()
    loop = asyncio.new_event_loop()
    task = loop.create_task(proxy.serve())

    def run() -> None:
        with contextlib.suppress(asyncio.CancelledError):
            loop.run_until_complete(task)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        loop.call_soon_threadsafe(task.cancel)
        thread.join(10)
        loop.close()


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _read_exactly(sock: socket.socket, count: int) -> bytes:
    data = bytearray()
    while len(data) < count:
        part = sock.recv(count - len(data))
        if not part:
            break
        data += part
    return bytes(data)


@pytest.fixture
def peer() -> Iterator[_Peer]:
    server = _Peer()
    yield server
    server.close()


def test_proxy_delay_holds_every_chunk_both_ways(peer):
    with _proxy(peer.port, Fault("delay", delay=0.1, jitter=0.02)) as port, _connect(port) as c:
        began = time.monotonic()
        c.sendall(b"ping")
        assert _read_exactly(c, 4) == b"ping"
        assert time.monotonic() - began >= 0.2   # 0.1 s up, 0.1 s down


def test_proxy_split_delivers_every_byte_in_order(peer):
    payload = bytes(range(256)) * 64
    with _proxy(peer.port, Fault("split", split=4096)) as port, _connect(port) as c:
        c.sendall(payload)
        assert _read_exactly(c, len(payload)) == payload


def test_proxy_stall_stops_both_directions_for_its_time(peer):
    with _proxy(peer.port, Fault("stall", stall_at=4, stall_s=0.5)) as port, _connect(port) as c:
        began = time.monotonic()
        c.sendall(b"ab")
        assert _read_exactly(c, 2) == b"ab"   # before the stall point: through at once
        assert time.monotonic() - began < 0.45
        began = time.monotonic()
        c.sendall(b"cdef")                    # the stall fires after "cd"
        assert _read_exactly(c, 4) == b"cdef"
        assert time.monotonic() - began >= 0.45


def test_proxy_reset_forwards_exactly_up_to_its_byte_then_resets_both(peer):
    with _proxy(peer.port, Fault("reset", reset_at=1000)) as port, _connect(port) as c:
        c.sendall(b"x" * 5000)
        with pytest.raises(ConnectionResetError):
            while c.recv(65536):
                pass
    peer.thread.join(10)
    assert len(peer.received) == 1000
    assert peer.ending == "ConnectionResetError"


def test_proxy_half_close_up_sends_the_server_eof_after_its_byte(peer):
    with _proxy(peer.port, Fault("half", half_close_at=300, half_close="up")) as port, \
            _connect(port) as c:
        c.sendall(b"y" * 1000)
        echoed = b""
        while part := c.recv(65536):
            echoed += part
    peer.thread.join(10)
    assert bytes(peer.received) == b"y" * 300 and peer.ending == "eof"
    assert echoed == b"y" * 300   # the echo of what got through, then EOF


def test_proxy_half_close_down_sends_the_client_eof(peer):
    with _proxy(peer.port, Fault("half", half_close_at=10, half_close="down")) as port, \
            _connect(port) as c:
        c.sendall(b"z" * 100)
        echoed = b""
        while part := c.recv(65536):
            echoed += part
        assert len(echoed) <= 10


@pytest.mark.parametrize("bad", [dict(delay=-1), dict(split=-2), dict(reset_at=1.5),
                                 dict(half_close="sideways")])
def test_fault_refuses_bad_parameters(bad):
    with pytest.raises(ValueError, match="Fault"):
        Fault("bad", **bad)


def test_fault_round_trips_through_json():
    fault = Fault("stall", stall_at=7, stall_s=2.5, seed=3)
    assert Fault.from_json(fault.to_json()) == fault


# -- the judges ----------------------------------------------------------------------------

def test_a_client_outcome_with_wrong_bytes_before_the_error_is_corrupt():
    sent = [b"abcdef"]
    started = time.perf_counter()
    clean = links._outcome(sent, [b"abc"], [], ConnectionResetError("cut"), started)
    assert clean["outcome"] == "reported"
    corrupt = links._outcome(sent, [b"abX"], [], ConnectionResetError("cut"), started)
    assert corrupt["outcome"] == "corrupt"
    assert links._outcome(sent, [b"abcdef"], [0.01], None, started)["outcome"] == "intact"
    assert links._outcome(sent, [b"abcdeX"], [0.01], None, started)["outcome"] == "corrupt"
    assert links._outcome(sent, [], [], TimeoutError(), started)["outcome"] == "timeout"


def test_soak_judge_flags_growing_memory_and_slower_latency():
    steady = {"echoes": 1000, "p99_first_ms": 1.0, "p99_last_ms": 1.2,
              "rss_samples": [(i * 10, 30 * MiB + (i % 3) * MiB) for i in range(1, 101)]}
    assert soak.judge(dict(steady)) == []
    leaking = dict(steady, rss_samples=[(i * 10, 30 * MiB + i * MiB // 10) for i in range(1, 101)])
    assert "RSS after warm-up" in soak.judge(leaking)[0]
    slower = dict(steady, p99_last_ms=1.6)
    assert "p99" in soak.judge(slower)[0]
    explained = dict(slower, first_tenth={"server_cpu_us_per_echo": 20.0, "machine_busy_share": 0.5},
                     last_tenth={"server_cpu_us_per_echo": 21.0, "machine_busy_share": 1.0})
    assert "server CPU per echo 20 -> 21 us; machine busy 50% -> 100%" in soak.judge(explained)[0]
    assert soak.judge(dict(slower), p99_ratio=None) == []


def test_the_memory_bound_fails_a_server_that_outgrows_flow_control():
    case = runner.Case("hostile", "never-read", "x", rss_before_mib=30.0, peak_rss_mib=30.0 + 80)
    measured = runner._Measured(None, case, allowed_log_entries=0)
    measured.memory_bounded(100)      # 32 MiB + 100 x 320 KiB = 63 MiB allowed
    assert case.problems and "flow control" in case.problems[0]
    fine = runner.Case("hostile", "never-read", "x", rss_before_mib=30.0, peak_rss_mib=60.0)
    runner._Measured(None, fine, allowed_log_entries=0).memory_bounded(100)
    assert fine.problems == []


def test_log_entries_count_each_report_once(tmp_path):
    kind = next(k for k in SERVER_KINDS if k.name == "asyncio-protocol")
    server = ServerUnderTest.__new__(ServerUnderTest)
    server.log_path = tmp_path / "server.log"
    server._log_mark = 0
    server.log_path.write_text(
        "tulip_echo: serving on 127.0.0.1:5 (style protocol, loop asyncio); Ctrl+C to stop\n"
        "Exception in callback _SelectorTransport._call_connection_lost(None)\n"
        "handle: <Handle _SelectorTransport._call_connection_lost(None)>\n"
        "Traceback (most recent call last):\n"
        "  File \"x.py\", line 1, in f\n"
        "AttributeError: boom\n"
        "Fatal read error on socket transport\n"
        "Traceback (most recent call last):\n"
        "  File \"y.py\", line 2, in g\n"
        "ValueError: bang\n"
        "1 client connected (peak 1, served 3)\n"
        "Traceback (most recent call last):\n"
        "  File \"z.py\", line 3, in h\n"
        "KeyError: 'k'\n")
    server.kind = kind
    assert len(server.log_entries()) == 3


def test_report_table_has_every_column_and_says_why_a_case_failed():
    cases = [runner.Case("link", "reset (8 MiB)", "rose-protocol", passed=True, time_s=0.3,
                         rss_before_mib=20, peak_rss_mib=25.4, fds_before=9, fds_after=9,
                         worst_rtt_ms=12.5),
             runner.Case("hostile", "flood", "evergreen", passed=False, time_s=2,
                         problems=["the server died: boom"])]
    from dataclasses import asdict
    results = {"meta": {"python": "3.x", "cpus": 2, "fd_limit": 1024, "wall_s": 3},
               "settings": {"mode": "tiny"}, "unavailable": {"uvloop-protocol": "missing"},
               "cases": [asdict(case) for case in cases]}
    table = report.format_table(results)
    for header in report.HEADERS:
        assert header in table
    assert "25 MiB (+5)" in table and "9->9" in table and "12 ms" in table
    assert "1 of 2 cases passed" in table
    assert "FAILED flood / evergreen: the server died: boom" in table
    assert "not run: uvloop-protocol: missing" in table
    assert report.markdown_table(results).count("\n") == 3


# -- every fault kind against one server per style -----------------------------------------

TINY_SERVERS = [("rose-protocol", "protocol", "rose"), ("rose-streams", "streams", "rose"),
                ("evergreen", "evergreen", "evergreen")]


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_tiny_fault_run_on_one_server_per_style(tmp_path):
    for _, style, loop in TINY_SERVERS:
        require(style, loop)
    names = ",".join(name for name, _, _ in TINY_SERVERS)
    done = subprocess.run([sys.executable, "-m", "tulip_echo.faults", "--tiny", "--servers",
                           names, "--out", str(tmp_path)], capture_output=True, text=True,
                          timeout=360)
    results = json.loads((tmp_path / "faults-tiny.json").read_text())
    failed = [(c["server"], c["fault"], c["problems"]) for c in results["cases"]
              if not c["passed"]]
    assert not failed, failed
    assert done.returncode == 0, done.stderr[-2000:]
    assert "fault" in done.stdout and "worst round trip" in done.stdout
    for suffix in ("json", "txt", "md"):
        assert (tmp_path / f"faults-tiny.{suffix}").stat().st_size > 0
    by_server: dict[str, list[dict]] = {}
    for case in results["cases"]:
        by_server.setdefault(case["server"], []).append(case)
    expected = {"delay+jitter", "1-byte segments", "stall", "reset", "half-close",
                "never-read", "slowloris", "flood", "RST mid-write", "SIGKILL client"}
    for name, _, _ in TINY_SERVERS:
        faults = {case["fault"].split(" (")[0].split(" x ")[0].split(" 64")[0]
                  for case in by_server[name]}
        assert expected <= faults, (name, faults)
        for case in by_server[name]:
            assert case["fds_after"] == case["fds_before"], case
            assert case["peak_rss_mib"] > 0 and case["time_s"] > 0
            if case["group"] == "link":
                outcome = case["detail"]["client"]["outcome"]
                assert outcome == "intact" or case["fault"].startswith(links.CUTTING), case
                if outcome == "intact":
                    client = case["detail"]["client"]
                    assert client["sha256_sent"] == client["sha256_echoed"]
            if case["fault"].startswith("flood"):
                assert case["detail"]["client"]["bytes_sent"] < 64 * MiB   # flow control held
    soaked = [case for case in results["cases"] if case["group"] == "soak"]
    assert {case["server"] for case in soaked} == {"rose-protocol", "evergreen"}
    assert all(case["detail"]["client"]["echoes"] == 5000 for case in soaked)


def test_the_fault_run_says_it_needs_linux_elsewhere(monkeypatch, capsys, tmp_path):
    from tulip_echo.faults.__main__ import main
    monkeypatch.setattr(sys, "platform", "darwin")
    assert main(["--tiny", "--out", str(tmp_path)]) == 2
    assert "only Linux has" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_the_fault_run_refuses_an_unknown_server(capsys):
    from tulip_echo.faults.__main__ import main
    with pytest.raises(SystemExit) as exited:
        main(["--servers", "rose-protocol,nginx"])
    assert exited.value.code == 2
    assert "unknown server 'nginx'" in capsys.readouterr().err
