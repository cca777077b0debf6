"""Smoke scenarios for the rebuilt pyuv, one per command-line argument.

tests/test_pyuv.py runs each in a child interpreter under ``-X dev``, so that a
crash (the failure mode of a pyuv built without the substitutions) fails one
test with its signal instead of killing the test run. Each scenario prints
``ok`` as its last line, bounds itself with a guard timer and exits non-zero
on any failure.
"""

from __future__ import annotations

import os
import sys

import pyuv

GUARD_SECONDS = 10.0


def guarded_run(loop: pyuv.Loop) -> None:
    """Run ``loop`` until it has nothing left to do, failing after GUARD_SECONDS."""
    expired = []

    def on_guard(timer: pyuv.Timer) -> None:
        expired.append(True)
        loop.stop()

    guard = pyuv.Timer(loop)
    guard.start(on_guard, GUARD_SECONDS, 0)
    guard.ref = False  # the guard alone must not keep the loop alive
    loop.run()
    guard.close()
    loop.run()
    if expired:
        raise SystemExit(f"the loop was still busy after {GUARD_SECONDS} s")


def scenario_import() -> None:
    assert pyuv.__version__ == "1.4.0", pyuv.__version__
    print("pyuv", pyuv.__version__, "libuv", pyuv.LIBUV_VERSION)


def scenario_timer() -> None:
    loop = pyuv.Loop()
    fired = []
    start = loop.now()

    def on_timer(timer: pyuv.Timer) -> None:
        fired.append(loop.now() - start)
        timer.close()

    pyuv.Timer(loop).start(on_timer, 0.05, 0)
    guarded_run(loop)
    assert len(fired) == 1, fired
    assert fired[0] >= 50, f"the 50 ms timer fired after {fired[0]} ms"


def scenario_tcp_echo() -> None:
    loop = pyuv.Loop()
    payload = bytes(range(256)) * 1024  # 256 KiB: several reads on each side
    received = bytearray()
    connections = []

    def on_server_read(conn: pyuv.TCP, data: bytes | None, error: int | None) -> None:
        if data is None:  # EOF or error: echo is done
            conn.close()
            return
        conn.write(data)

    def on_connection(server: pyuv.TCP, error: int | None) -> None:
        assert error is None, pyuv.errno.strerror(error)
        conn = pyuv.TCP(loop)
        server.accept(conn)
        connections.append(conn)
        conn.start_read(on_server_read)

    def on_client_read(client: pyuv.TCP, data: bytes | None, error: int | None) -> None:
        if data is not None:
            received.extend(data)
        if data is None or len(received) >= len(payload):
            client.close()
            server.close()

    def on_connected(client: pyuv.TCP, error: int | None) -> None:
        assert error is None, pyuv.errno.strerror(error)
        client.start_read(on_client_read)
        client.write(payload)

    server = pyuv.TCP(loop)
    server.bind(("127.0.0.1", 0))
    server.listen(on_connection)
    client = pyuv.TCP(loop)
    client.connect(server.getsockname(), on_connected)
    guarded_run(loop)
    assert len(connections) == 1, connections
    assert bytes(received) == payload, f"echoed {len(received)} of {len(payload)} bytes"


def scenario_process_without_exit_callback() -> None:
    loop = pyuv.Loop()
    proc = pyuv.Process.spawn(loop, args=[sys.executable, "-c", "pass"])
    assert isinstance(proc.pid, int) and proc.pid > 0, proc.pid
    guarded_run(loop)  # returns once the child has exited and libuv reaped it
    proc.close()
    loop.run()


def scenario_abstract_pipe_connect() -> None:
    # Connecting to a Linux abstract-namespace socket frees its request from a
    # libuv close callback: without the GIL substitution that PyMem_Free runs
    # without the GIL (abort under -X dev on 3.11, segfault on 3.12+).
    loop = pyuv.Loop()
    name = f"\0asyncio-talks-smoke-{os.getpid()}"
    connected = []

    def on_connection(server: pyuv.Pipe, error: int | None) -> None:
        conn = pyuv.Pipe(loop)
        server.accept(conn)
        conn.close()
        server.close()

    def on_connected(client: pyuv.Pipe, error: int | None) -> None:
        connected.append(error)
        client.close()

    server = pyuv.Pipe(loop)
    server.bind(name)
    server.listen(on_connection)
    for _ in range(3):
        pyuv.Pipe(loop).connect(name, on_connected)
    guarded_run(loop)
    assert connected == [None] * 3, connected


SCENARIOS = {
    name.removeprefix("scenario_"): fn
    for name, fn in globals().items() if name.startswith("scenario_")
}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in SCENARIOS:
        raise SystemExit(f"usage: {sys.argv[0]} {'|'.join(SCENARIOS)}")
    SCENARIOS[sys.argv[1]]()
    print("ok")
