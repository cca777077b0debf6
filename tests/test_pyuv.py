"""pyuv 1.4.0, rebuilt by tools/pyuv_build.py, works on this Python.

Each scenario of tests/pyuv_smoke.py runs in a child interpreter under ``-X dev``:
a pyuv built without the runtime substitutions crashes there, and the crash
must fail one test rather than the whole run.
"""

import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

SMOKE = Path(__file__).with_name("pyuv_smoke.py")


def run_scenario(name: str, python: str = sys.executable, env: dict | None = None) -> str:
    proc = subprocess.run([python, "-X", "dev", str(SMOKE), name],
                          capture_output=True, text=True, timeout=60, env=env)
    if proc.returncode < 0:
        pytest.fail(f"scenario {name!r} died of {signal.Signals(-proc.returncode).name}\n"
                    f"{proc.stderr}")
    assert proc.returncode == 0, f"scenario {name!r} failed:\n{proc.stdout}{proc.stderr}"
    assert proc.stdout.splitlines()[-1] == "ok", proc.stdout
    return proc.stdout


def test_pyuv_imports_with_expected_version():
    out = run_scenario("import")
    assert out.startswith("pyuv 1.4.0 libuv "), out


def test_timer_fires_once_and_not_early():
    run_scenario("timer")


def test_tcp_echo_round_trip_over_loopback():
    run_scenario("tcp_echo")


def test_process_spawns_without_exit_callback():
    run_scenario("process_without_exit_callback")


def test_abstract_socket_connect_frees_its_request_with_the_gil():
    run_scenario("abstract_pipe_connect")


# pyuv 1.4.0's sdist holds this many tests; each either runs or is named as not run.
PYUV_OWN_TESTS = 235


@pytest.mark.slow
def test_pyuvs_own_test_suite_passes():
    builder = Path(__file__).resolve().parent.parent / "tools" / "pyuv_build.py"
    proc = subprocess.run([sys.executable, str(builder), "selftest"],
                          capture_output=True, text=True, timeout=660)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    ran = int(re.search(r"^Ran (\d+) tests? ", output, re.MULTILINE)[1])
    not_run = len(re.findall(r"^pyuv_build: not run: ", output, re.MULTILINE))
    assert ran + not_run == PYUV_OWN_TESTS, output[-3000:]
