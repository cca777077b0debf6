"""The command line: bad input is one clear line and exit status 2; signals shut down gracefully."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time

import pytest

from tulip_echo import cli, loops

PYTHON = sys.executable


def run_cli(*args: str, input: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, "-m", "tulip_echo", *args], capture_output=True, text=True,
                          input=input, timeout=timeout)


def assert_usage_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got: {result.stderr!r}"
    assert lines[0].startswith("tulip_echo: error: ")
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- bad input ----------------------------------------------------------------------

def test_unknown_loop():
    assert_usage_error(run_cli("server", "--loop", "tornado"), "invalid choice: 'tornado'", "asyncio")


@pytest.mark.parametrize("port", ["70000", "-1", "http", "65536"])
def test_port_out_of_range(port):
    assert_usage_error(run_cli("server", "--port", port), "port must be an integer from 0 to 65535",
                       repr(port))


def test_client_port_zero_is_refused():
    assert_usage_error(run_cli("client", "--port", "0", "hi"), "from 1 to 65535")


def test_address_in_use():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert_usage_error(run_cli("server", "--port", str(port)),
                           f"cannot listen on 127.0.0.1:{port}", "address already in use")


def test_unreachable_server():
    port = free_port()
    assert_usage_error(run_cli("client", "--port", str(port), "hello"),
                       f"127.0.0.1:{port}", "connection refused")


def test_unresolvable_host():
    assert_usage_error(run_cli("client", "--host", "no-such-host.invalid", "hello"),
                       "no-such-host.invalid")


def test_unavailable_loop_is_a_usage_error(monkeypatch, capsys):
    monkeypatch.setattr(loops, "unavailable_reason",
                        lambda name: "rose has no new_event_loop() yet" if name == "rose" else None)
    assert cli.main(["server", "--loop", "rose"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "tulip_echo: error: the rose loop is unavailable: rose has no new_event_loop() yet"


def test_evergreen_style_takes_no_loop(capsys):
    assert cli.main(["server", "--style", "evergreen", "--loop", "uvloop"]) == 2
    assert "drop --loop" in capsys.readouterr().err


def test_messages_and_size_together(capsys):
    assert cli.main(["client", "--size", "1K", "hello"]) == 2
    assert "either messages or --size" in capsys.readouterr().err


# -- the client against a live server -------------------------------------------------

def test_client_echoes_arguments(asyncio_server, combo, capsys):
    style, loop = combo
    args = ["client", "--style", style] + (["--loop", loop] if style != loop else [])
    code = cli.main([*args, "--port", str(asyncio_server.port), "hello", "¡adiós!"])
    assert code == 0
    assert capsys.readouterr().out == "hello\n¡adiós!\n"


def test_client_echoes_stdin_lines(asyncio_server):
    result = run_cli("client", "--port", str(asyncio_server.port), input="one\ntwo\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "one\ntwo\n"


def test_client_random_payloads(asyncio_server, capsys):
    assert cli.main(["client", "--port", str(asyncio_server.port), "--size", "2M", "--count", "2"]) == 0
    assert re.match(r"2 payload\(s\), 4194304 bytes echoed intact in ", capsys.readouterr().out)


# -- the server process and its signals -----------------------------------------------

def start_server_process(style: str, loop: str, grace: float) -> tuple[subprocess.Popen, int]:
    args = [PYTHON, "-m", "tulip_echo", "server", "--port", "0", "--style", style,
            "--grace", str(grace)]
    if style != "evergreen":
        args += ["--loop", loop]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    match = re.search(r"serving on 127\.0\.0\.1:(\d+)", line)
    if not match:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"the server did not start: {line}{out}{err}")
    return process, int(match.group(1))


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_shuts_down_gracefully(combo, signum):
    style, loop = combo
    grace = 0.5
    process, port = start_server_process(style, loop, grace)
    try:
        idle = socket.create_connection(("127.0.0.1", port), timeout=10)
        idle.sendall(b"ping")
        assert idle.recv(4) == b"ping"
        started = time.monotonic()
        process.send_signal(signum)
        # The idle client is given the grace time, then closed with EOF...
        assert idle.recv(1) == b""
        assert time.monotonic() - started >= grace * 0.8
        idle.close()
        # ...and the server exits cleanly, having stopped listening.
        assert process.wait(timeout=10) == 0
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=1)
    finally:
        if process.poll() is None:
            process.kill()
        out, err = process.communicate()
    assert "Traceback" not in err, err
    assert f"{signal.Signals(signum).name}: shutting down" in out
    assert "stopped; served 1 client, at most 1 at once" in out


def test_second_signal_aborts_at_once():
    process, port = start_server_process("protocol", "asyncio", grace=30)
    try:
        idle = socket.create_connection(("127.0.0.1", port), timeout=10)
        idle.sendall(b"x")
        assert idle.recv(1) == b"x"
        started = time.monotonic()
        process.send_signal(signal.SIGINT)
        time.sleep(0.3)
        process.send_signal(signal.SIGINT)
        try:
            assert idle.recv(1) == b""
        except ConnectionResetError:
            pass  # aborted: a reset is what abort means
        assert process.wait(timeout=10) == 0
        assert time.monotonic() - started < 10
        idle.close()
    finally:
        if process.poll() is None:
            process.kill()
        out, _ = process.communicate()
    assert "again: aborting every connection" in out


def test_help_lists_the_commands():
    result = run_cli("--help")
    assert result.returncode == 0
    for word in ("server", "client", "bench"):
        assert word in result.stdout


def _current_policy():
    """asyncio's policy; asking warns where asyncio deprecates policies (3.14+)."""
    import asyncio
    if hasattr(asyncio.events, "_get_event_loop_policy"):
        with pytest.warns(DeprecationWarning):
            return asyncio.get_event_loop_policy()
    return asyncio.get_event_loop_policy()


def test_loop_factory_installs_no_policy():
    import asyncio
    policy = _current_policy()

    async def running_loop_type():
        return type(asyncio.get_running_loop()).__module__

    assert loops.run(running_loop_type(), "uvloop").startswith("uvloop")
    assert _current_policy() is policy
    loop = asyncio.new_event_loop()
    try:
        assert isinstance(loop, asyncio.SelectorEventLoop)
    finally:
        loop.close()


def test_client_gives_up_on_a_silent_server():
    # A server that accepts but never answers: the client must not hang.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        result = run_cli("client", "--port", str(port), "--timeout", "0.5", "hello")
    assert_usage_error(result, f"no complete echo from 127.0.0.1:{port} within 0.5 s")
