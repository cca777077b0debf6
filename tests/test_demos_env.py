"""`make demos`: the attendees' environment runs every demo and holds no slide toolchain.

Two kinds of check. The pins: requirements-demos.in names a subset of the direct
requirements, each at the lock's version on every supported Python, so the two
environments cannot drift apart. The environment itself: a demos-only venv, made by
``tools/setup_env.py --demos`` as ``make demos`` makes ``.venv-demos``, runs rose's
README example, evergreen's examples, the echo demo on every loop (a real round trip
on 127.0.0.1) and the benchmark's gevent peer, and has no Jupyter, nbconvert or
playwright. That venv is kept in build/ (one per Python) and brought up to date by
the same idempotent setup on every run, so only the first run pays for it (the
``demos_python`` fixture, in tests/conftest.py).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMOS_IN = ROOT / "requirements-demos.in"
MINOR = sys.version_info[1]
EXAMPLES = ROOT / "demos" / "evergreen" / "examples"
# What the slide toolchain brings and the demos must do without (import names).
TOOLCHAIN = ("jupyter_core", "jupyterlab", "notebook", "nbconvert", "nbclient", "nbformat",
             "ipykernel", "IPython", "jupytext", "playwright", "matplotlib", "numpy", "pytest")
# What the demos import (import names).
DEMO_IMPORTS = ("pyuv", "greenlet", "rose", "evergreen", "tulip_echo", "uvloop", "gevent")
# Installed, but not from the lock: the rebuilt pyuv, the editable demos, pip itself.
NOT_FROM_THE_LOCK = {"pyuv", "rose-pyuv", "evergreen-pyuv", "tulip-echo", "pip"}
STARTUP_TIMEOUT = 30.0  # seconds for a demo server to say where it listens (a busy CI machine)


def load_tool(name: str) -> ModuleType:
    """Import tools/<name>.py, which is a script rather than a package module."""
    spec = importlib.util.spec_from_file_location(f"demos_env_{name}", ROOT / "tools" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building
    spec.loader.exec_module(module)
    return module


lock_tool = load_tool("lock")


def pins(path: Path) -> dict[str, str]:
    """The ``name==version`` lines of a requirements .in file (no markers there)."""
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep, f"{path.name}: {line!r} is not pinned with =="
            found[lock_tool.normalise(name)] = version.strip()
    return found


def lock_pins(minor: int) -> dict[str, str]:
    """What requirements.txt installs on Python 3.<minor>."""
    return {lock_tool.normalise(name): version
            for name, version, marker in lock_tool.read_lock(ROOT / "requirements.txt")
            if lock_tool.marker_holds(marker, minor)}


# -- the pins ---------------------------------------------------------------------

def test_the_demos_need_only_direct_requirements():
    # A package here that requirements.in lacks would be pinned by hand, outside the lock.
    assert set(pins(DEMOS_IN)) <= set(pins(ROOT / "requirements.in"))


@pytest.mark.parametrize("minor", lock_tool.minors())
def test_every_demo_pin_is_the_lock_pin(minor):
    demos = pins(DEMOS_IN)
    lock = lock_pins(minor)
    assert {name: lock.get(name) for name in demos} == demos


# -- the environment --------------------------------------------------------------

def clean_env() -> dict[str, str]:
    """This process's environment without what would leak the full venv into the demos'."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "PYTHONUNBUFFERED")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run_python(python: Path, *args: str, timeout: float = 120, cwd: Path | None = None
               ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(python), *args], capture_output=True, text=True,
                          timeout=timeout, env=clean_env(), cwd=cwd)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_second_demos_setup_installs_nothing(demos_python, demos_setup):
    started = time.monotonic()
    out = demos_setup()
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("setup: ready:"), out.stdout
    assert time.monotonic() - started < 30


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_demos_import_and_the_slide_toolchain_is_absent(demos_python, tmp_path):
    script = (
        "import importlib, importlib.util, json, sys\n"
        f"for name in {DEMO_IMPORTS!r}: importlib.import_module(name)\n"
        f"print(json.dumps([n for n in {TOOLCHAIN!r} if importlib.util.find_spec(n)]))\n"
    )
    out = run_python(demos_python, "-c", script, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == []
    # Not even as a wheel pip put there without an importable name:
    listed = run_python(demos_python, "-m", "pip", "list", "--format=json", cwd=tmp_path)
    names = {lock_tool.normalise(d["name"]) for d in json.loads(listed.stdout)}
    assert not names & {"jupyterlab", "jupyter-core", "nbconvert", "playwright", "notebook"}


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_every_installed_package_is_at_the_lock_version(demos_python, tmp_path):
    listed = run_python(demos_python, "-m", "pip", "list", "--format=json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    installed = {lock_tool.normalise(d["name"]): d["version"] for d in json.loads(listed.stdout)}
    lock = lock_pins(MINOR)
    from_lock = {name: version for name, version in installed.items() if name not in NOT_FROM_THE_LOCK}
    assert from_lock == {name: lock.get(name) for name in from_lock}
    assert installed["pyuv"] == "1.4.0"


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_roses_readme_example_runs(demos_python, tmp_path):
    readme = (ROOT / "demos" / "rose" / "README.md").read_text()
    example = re.search(r"```python\n(.*?)```", readme, re.S)
    assert example, "rose's README lost its first Python example"
    # A line marked "# Python 3.12+" shows what newer Pythons allow: run it only there.
    lines = [line for line in example[1].splitlines()
             if not (newer := re.search(r"# Python 3\.(\d+)\+$", line)) or int(newer[1]) <= MINOR]
    out = run_python(demos_python, "-c", "\n".join(lines), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "hello from libuv\n"


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_evergreens_interop_example_runs(demos_python, tmp_path):
    out = run_python(demos_python, str(EXAMPLES / "interop.py"), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "task -> coroutine server: ['TULIP', 'ROSE', 'EVERGREEN']" in out.stdout
    assert "coroutine -> tasks: " in out.stdout


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_evergreens_crawler_example_crawls_its_local_site(demos_python, tmp_path):
    out = run_python(demos_python, str(EXAMPLES / "crawler.py"), "--pages", "40", "--workers", "10",
                     "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    [report] = json.loads(out.stdout)
    assert report["pages"] > 0 and report["workers"] == 10


class Server:
    """A demo server in a process of its own, stopped (and reaped) on leaving the block."""

    def __init__(self, python: Path, args: list[str], listening: str, cwd: Path) -> None:
        """Start ``python *args`` and wait for a stdout line matching *listening*.

        *listening* is a regular expression whose group ``port`` is the bound port;
        every server here binds port 0, so the kernel picks a free one.
        """
        self.proc = subprocess.Popen([str(python), *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=clean_env(), cwd=cwd)
        self.port = self._wait_for(re.compile(listening))

    def _wait_for(self, pattern: re.Pattern[str]) -> int:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        assert self.proc.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self.proc.stdout, selectors.EVENT_READ)
            # A bounded wait: readline() alone would hang on a server that never speaks.
            while (left := deadline - time.monotonic()) > 0 and selector.select(left):
                line = self.proc.stdout.readline()
                if not line:
                    break  # it exited
                if match := pattern.search(line):
                    return int(match["port"])
        self.stop()
        pytest.fail(f"the server never said where it listens: {self.proc.stderr.read()}")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Signal the server and return its exit status (killed if it lingers)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()
        return self.proc.returncode

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


ECHO_DEMOS = [
    # (server's --loop/--style, client's) as the README shows them
    (["--loop", "asyncio"], ["--loop", "asyncio"]),
    (["--loop", "rose"], ["--loop", "rose", "--style", "streams"]),
    (["--loop", "uvloop", "--style", "streams"], ["--loop", "uvloop", "--style", "protocol"]),
    (["--style", "evergreen"], ["--style", "evergreen"]),
]


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize(("server_args", "client_args"), ECHO_DEMOS,
                         ids=["asyncio", "rose", "uvloop", "evergreen"])
def test_the_echo_demo_round_trip(demos_python, tmp_path, server_args, client_args):
    with Server(demos_python, ["-m", "tulip_echo", "server", "--port", "0", "--quiet", *server_args],
                r"serving on 127\.0\.0\.1:(?P<port>\d+)", tmp_path) as server:
        out = run_python(demos_python, "-m", "tulip_echo", "client", "--port", str(server.port),
                         "--timeout", "20", *client_args, "hello", "tulip", timeout=60, cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        assert out.stdout == "hello\ntulip\n"
        # SIGINT is the demo's own way out (Ctrl+C): it must end cleanly.
        assert server.stop(signal.SIGINT) == 0, server.proc.stderr.read()


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_benchmarks_gevent_peer_echoes(demos_python, tmp_path):
    with Server(demos_python, ["-m", "tulip_echo.bench.peers", "gevent", "--port", "0"],
                r"serving on 127\.0\.0\.1:(?P<port>\d+)", tmp_path) as server:
        out = run_python(demos_python, "-m", "tulip_echo", "client", "--port", str(server.port),
                         "--timeout", "20", "--size", "64K", timeout=60, cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        assert out.stdout.startswith("1 payload(s), 65536 bytes echoed intact")


def chat_line(conn: socket.socket, buffer: bytearray, deadline: float) -> str:
    """One line from the chat server, before *deadline* (a monotonic time)."""
    while b"\n" not in buffer:
        conn.settimeout(max(deadline - time.monotonic(), 0.001))
        data = conn.recv(4096)
        assert data, "the chat server closed the connection"
        buffer += data
    line, _, rest = bytes(buffer).partition(b"\n")
    buffer[:] = rest
    return line.decode()


def chat_client(port: int, nick: str, deadline: float) -> tuple[socket.socket, bytearray]:
    conn = socket.create_connection(("127.0.0.1", port), timeout=10)
    greeting = b""
    while not greeting.endswith(b"? "):
        conn.settimeout(max(deadline - time.monotonic(), 0.001))
        chunk = conn.recv(100)
        assert chunk, "the chat server closed the connection"
        greeting += chunk
    assert greeting == b"Welcome! Your nickname? "
    conn.sendall(nick.encode() + b"\n")
    return conn, bytearray()


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_evergreens_chat_example_serves_two_clients(demos_python, tmp_path):
    with Server(demos_python, [str(EXAMPLES / "chat.py"), "--port", "0"],
                r"chat server on 127\.0\.0\.1:(?P<port>\d+)", tmp_path) as server:
        deadline = time.monotonic() + 30
        alice, alice_in = chat_client(server.port, "alice", deadline)
        assert chat_line(alice, alice_in, deadline) == "* hello alice; here: alice"
        bob, bob_in = chat_client(server.port, "bob", deadline)
        assert chat_line(bob, bob_in, deadline) == "* hello bob; here: alice, bob"
        assert chat_line(alice, alice_in, deadline) == "* bob joined"
        alice.sendall(b"hi bob\n")
        assert chat_line(bob, bob_in, deadline) == "<alice> hi bob"
        alice.close()
        bob.close()
        assert server.stop() == 0, server.proc.stderr.read()
