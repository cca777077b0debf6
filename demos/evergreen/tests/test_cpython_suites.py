"""CPython's own lock, queue and executor tests, pointed at evergreen (see cpython_suites.py)."""

from __future__ import annotations

import importlib.util
import json
import pathlib
import subprocess
import sys

import pytest

RUNNER = pathlib.Path(__file__).with_name('cpython_suites.py')

# The CPython test module each suite needs.
MODULES = {
    'locks': 'test.lock_tests',
    'queue': 'test.test_queue',
    'futures': 'test.test_concurrent_futures',
}

# A floor on how many of a suite's tests must pass (run, not left out), per Python,
# so that a suite that silently loses tests fails. CPython's suites differ from one
# version to the next; the README's table gives what each version measured here runs
# (3.11.7, 3.12.1, 3.13.0, 3.14.x, 3.15.2). Each floor is that count less two, so that
# a patch release dropping or merging a test or two still passes, but not a lost class.
# A version not listed (a newer one) is held to the newest floor.
FLOORS = {
    (3, 11): {'locks': 95, 'queue': 24},
    (3, 12): {'locks': 89, 'queue': 24},
    (3, 13): {'locks': 96, 'queue': 72, 'futures': 71},
    (3, 14): {'locks': 104, 'queue': 73, 'futures': 91},
    (3, 15): {'locks': 106, 'queue': 73, 'futures': 92},
}

# The runner stops itself after one test runs for 60 s (cpython_suites.TEST_TIME_LIMIT),
# naming it; this bounds the whole suite (about a minute, more on a busy machine).
SUITE_TIME_LIMIT = 360


def floor(suite: str, version: tuple[int, int] = sys.version_info[:2]) -> int:
    known = [v for v in FLOORS if v <= version] or [min(FLOORS)]
    return FLOORS[max(known)][suite]


@pytest.mark.slow
@pytest.mark.timeout(SUITE_TIME_LIMIT + 60)
@pytest.mark.parametrize('suite', list(MODULES))
def test_cpython_suite_passes_on_evergreen(suite):
    module = MODULES[suite]
    if importlib.util.find_spec(module) is None:
        pytest.skip(f'this Python ({sys.version.split()[0]}) ships no {module}: '
                    'its test package is incomplete here (3.13 has it)')
    try:
        result = subprocess.run([sys.executable, str(RUNNER), suite], capture_output=True,
                                text=True, timeout=SUITE_TIME_LIMIT)
    except subprocess.TimeoutExpired as exc:
        stderr = exc.stderr.decode(errors='replace') if isinstance(exc.stderr, bytes) else exc.stderr
        pytest.fail(f'the {suite} suite did not finish within {SUITE_TIME_LIMIT} s:\n'
                    f'{(stderr or "")[-5000:]}')
    lines = result.stdout.strip().splitlines()
    assert lines, result.stderr[-5000:]
    summary = json.loads(lines[-1])
    assert result.returncode == 0, result.stderr[-5000:]
    assert summary['failures'] == 0 and summary['errors'] == 0
    # Every test that did not run is one left out here, with its reason: none was
    # skipped by CPython's own conditions (resources, memory, platform) unnoticed.
    assert all(reason for reason in summary['excluded'].values())
    assert summary['skipped'] == len(summary['excluded']), summary['skip_reasons']
    passed = summary['run'] - summary['skipped']
    assert passed >= floor(suite), (passed, floor(suite))

