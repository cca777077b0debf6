"""CPython's own asyncio tests (test.test_asyncio) against rose: `make conformance`, one suite per test.

Each suite runs through demos/rose/conformance/run.py in a child process,
with a per-test timeout; white-box tests listed in whitebox.txt are left out.
"""

import importlib.util
import os
import subprocess
import sys

import pytest

RUNNER = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'conformance', 'run.py')

_spec = importlib.util.spec_from_file_location('rose_conformance_run', RUNNER)
_runner = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_runner)

if importlib.util.find_spec('test.test_asyncio') is None:
    pytestmark = pytest.mark.skip(
        reason="this Python has no test.test_asyncio (on Debian: apt install libpython3.X-testsuite)")


@pytest.mark.slow
@pytest.mark.parametrize('suite', list(_runner.MIXINS) + _runner.MODULES)
def test_cpython_asyncio_suite(suite):
    result = subprocess.run([sys.executable, RUNNER, '--suite', suite, '--timeout', '60'],
                            capture_output=True, text=True, timeout=280)
    print(result.stdout)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def test_whitebox_list_names_real_tests_with_reasons():
    excluded = _runner.read_whitebox()
    assert excluded, 'whitebox.txt is empty'
    for test_id, reason in excluded.items():
        suite, _, name = test_id.rpartition('.')
        assert suite in _runner.MIXINS or suite in _runner.MODULES, test_id
        assert name.startswith('test_'), test_id
        assert len(reason) > 20, f'{test_id} needs its reason'
