"""benchmarks/core.py, the evergreen-against-gevent benchmark of ``make bench``: every
row's workload runs to completion on both libraries (few operations: this checks the
workloads, not the speed), and the table prints a ratio for each row asked for."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[1] / "benchmarks" / "core.py"
ROWS = ["spawn_join", "ping_pong", "channel", "lock", "queue", "timeouts", "memory", "spawn_join_py",
        "memory_py"]

pytest.importorskip("gevent", reason="gevent, the benchmark's peer, is not installed")


def _worker(library: str, row: str, n: int) -> float:
    out = subprocess.run([sys.executable, str(CORE), "--worker", library, row, str(n)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.mark.parametrize("library", ["evergreen", "gevent"])
@pytest.mark.parametrize("row", ROWS)
def test_each_row_runs_on_each_library(library, row):
    value = _worker(library, row, 600)
    assert value > 0  # CPU seconds, or for the memory row bytes per parked task


def test_the_table_has_a_ratio_per_row():
    out = subprocess.run([sys.executable, str(CORE), "--quick", "--rows", "ping_pong,queue"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    rows = [line for line in out.stdout.splitlines() if "µs" in line]
    assert [line.split()[0] for line in rows] == ["sleep(0)", "queue"]
    assert all(float(line.split()[-1]) > 0 for line in rows)


def test_an_unknown_row_is_refused():
    out = subprocess.run([sys.executable, str(CORE), "--rows", "nope"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "nope" in out.stderr
