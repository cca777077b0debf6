"""CPython's own lock, queue and executor tests, pointed at evergreen (see cpython_suites.py)."""

from __future__ import annotations

import importlib.util
import json
import pathlib
import subprocess
import sys

import pytest

RUNNER = pathlib.Path(__file__).with_name('cpython_suites.py')

# The CPython test module each suite needs, and a floor on how many of its tests
# run, so that a suite that silently loses its tests fails. CPython's counts vary:
# lock_tests runs 103 tests on 3.11.7 and 97 on 3.12.1.
SUITES = {
    'locks': ('test.lock_tests', 95),
    'queue': ('test.test_queue', 25),
    'futures': ('test.test_concurrent_futures', 60),
}


@pytest.mark.slow
@pytest.mark.parametrize('suite', list(SUITES))
def test_cpython_suite_passes_on_evergreen(suite):
    module, at_least = SUITES[suite]
    if importlib.util.find_spec(module) is None:
        pytest.skip(f'this Python ({sys.version.split()[0]}) ships no {module}: '
                    'its test package is incomplete here (3.13 has it)')
    result = subprocess.run([sys.executable, str(RUNNER), suite], capture_output=True, text=True,
                            timeout=600)
    lines = result.stdout.strip().splitlines()
    assert lines, result.stderr[-3000:]
    summary = json.loads(lines[-1])
    assert result.returncode == 0, result.stderr[-5000:]
    assert summary['failures'] == 0 and summary['errors'] == 0
    assert summary['run'] >= at_least
    # Every test left out says why.
    assert all(reason for reason in summary['excluded'].values())
    assert summary['skipped'] >= len(summary['excluded'])
