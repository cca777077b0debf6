"""CPython's own asyncio tests (test.test_asyncio) and peers' suites against rose: `make conformance`.

Each suite runs through demos/rose/conformance/run.py in a child process,
with a per-test timeout; white-box tests listed in whitebox.txt are left out,
and so are the peer suites' tests listed in peer_exclusions.txt. A peer suite
(anyio's, uvloop's AIO classes: conformance/peers.py) runs on asyncio's loop
too, and fails only where rose fails a test that asyncio's loop passes.
"""

import importlib
import importlib.util
import json
import os
import subprocess
import sys
import unittest

import pytest

RUNNER = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'conformance', 'run.py')

_spec = importlib.util.spec_from_file_location('rose_conformance_run', RUNNER)
_runner = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_runner)

if importlib.util.find_spec('test.test_asyncio') is None:
    pytestmark = pytest.mark.skip(
        reason="this Python has no test.test_asyncio (on Debian: apt install libpython3.X-testsuite)")


_peers = _runner.peers


@pytest.mark.slow
@pytest.mark.parametrize('suite', list(_runner.MIXINS) + _runner.MODULES)
def test_cpython_asyncio_suite(suite):
    if not _runner.suite_available(suite):
        pytest.skip(f"this Python's test.test_asyncio has no {_runner.suite_module(suite)}")
    result = subprocess.run([sys.executable, RUNNER, '--suite', suite, '--timeout', '60'],
                            capture_output=True, text=True, timeout=280)
    print(result.stdout)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize('suite', _peers.SUITES)
def test_peer_suite(suite):
    """Every test of the suite that passes on asyncio's loop passes on rose (or is excluded, with its reason)."""
    result = subprocess.run([sys.executable, RUNNER, '--suite', suite, '--timeout', '60'],
                            capture_output=True, text=True, timeout=580)
    print(result.stdout)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


_ANYIO_PROBE_CONFTEST = """
import pytest

@pytest.fixture(params=['asyncio'])
def anyio_backend(request):  # as anyio's own conftest has it: the param is the backend
    return request.param
"""
_ANYIO_PROBE_TEST = """
import asyncio
import pytest

@pytest.mark.anyio
async def test_loop(anyio_backend):
    print('LOOP', type(asyncio.get_running_loop()).__module__)

@pytest.mark.parametrize('anyio_backend', ['asyncio'])
async def test_own_backend(anyio_backend):
    pass

def test_no_backend():
    pass
"""
_ANYIO_PROBE_MAIN = """
import json, sys, pytest
sys.path.insert(0, sys.argv[1])
import peers
events = []
plugin = peers.AnyioBackends(lambda event, **fields: events.append(dict(event=event, **fields)), set(), {})
pytest.main(['-q', '-s', '-p', 'no:cacheprovider', '-p', 'anyio', 'test_probe.py'], plugins=[plugin])
print('EVENTS', json.dumps([e for e in events if e['event'] == 'end']))
"""


def test_anyio_backends_plugin_runs_each_test_on_asyncio_then_rose(tmp_path):
    """The asyncio+rose backend really runs on a rose loop; tests that pick their backend are left out."""
    (tmp_path / 'conftest.py').write_text(_ANYIO_PROBE_CONFTEST)
    (tmp_path / 'test_probe.py').write_text(_ANYIO_PROBE_TEST)
    (tmp_path / 'main.py').write_text(_ANYIO_PROBE_MAIN)
    result = subprocess.run([sys.executable, 'main.py', os.path.dirname(RUNNER)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert 'EVENTS' in result.stdout, result.stdout + result.stderr
    events = json.loads(result.stdout.split('EVENTS', 1)[1])
    assert [(e['test'], e['loop'], e['outcome']) for e in events] == [
        ('test_loop[asyncio]', 'asyncio', 'pass'), ('test_loop[asyncio+rose]', 'rose', 'pass')]
    loops = [line.split()[-1] for line in result.stdout.splitlines() if 'LOOP' in line]
    assert loops == ['asyncio.unix_events', 'rose.loop']


def test_peer_exclusions_name_real_suites_with_reasons():
    with open(_runner.PEER_EXCLUSIONS_FILE, encoding='utf-8') as f:
        lines = [line.strip() for line in f if line.strip() and not line.startswith('#')]
    for line in lines:
        entry = _runner.parse_peer_exclusion(line)
        assert entry.suite in _peers.SUITES, line
        assert len(entry.reason) > 20, f'{entry.test} needs its reason'
        # Only rose's run of a test can be excluded: asyncio's is the reference.
        assert _peers.reference_name(entry.suite, entry.test) != entry.test, line


@pytest.mark.parametrize('suite, rose_name, asyncio_name', [
    ('anyio/test_sockets', 'TestTCPStream::test_send_receive[asyncio+rose-ipv4]',
     'TestTCPStream::test_send_receive[asyncio-ipv4]'),
    ('anyio/test_sockets', 'TestTCPStream::test_cancelled_receive_pauses_reading[ipv6-asyncio+rose]',
     'TestTCPStream::test_cancelled_receive_pauses_reading[ipv6-asyncio]'),
    ('anyio/test_taskgroups', 'test_rose_name[asyncio+rose]', 'test_rose_name[asyncio]'),
    ('uvloop/test_tcp', 'Test_Rose_TCP.test_create_server_1', 'Test_AIO_TCP.test_create_server_1'),
    ('uvloop/test_base', 'TestBaseRose.test_call_soon_1', 'TestBaseAIO.test_call_soon_1'),
    ('uvloop/test_sockets', 'TestRoseSockets.test_socket_rose', 'TestAIOSockets.test_socket_rose'),
])
def test_peer_test_names_pair_rose_with_asyncio(suite, rose_name, asyncio_name):
    assert _peers.reference_name(suite, rose_name) == asyncio_name
    assert _peers.reference_name(suite, asyncio_name) == asyncio_name


@pytest.mark.parametrize('line, suite, test, versions', [
    ('anyio/test_sockets TestTCPStream::test_x[asyncio+rose-ipv6]: no IPv6 here', 'anyio/test_sockets',
     'TestTCPStream::test_x[asyncio+rose-ipv6]', ((3, 0), (3, 99))),
    ('uvloop/test_tcp Test_Rose_TCP.test_x [3.14-]: why: with a colon', 'uvloop/test_tcp',
     'Test_Rose_TCP.test_x', ((3, 14), (3, 99))),
])
def test_peer_exclusion_lines(line, suite, test, versions):
    entry = _runner.parse_peer_exclusion(line)
    assert (entry.suite, entry.test, entry.versions) == (suite, test, versions)


@pytest.mark.parametrize('line', ['anyio/test_x test_y[asyncio+rose]', 'anyio/test_x: reason',
                                  'anyio/test_x t [3.x]: r'])
def test_peer_exclusion_bad_lines_are_errors(line):
    with pytest.raises(ValueError):
        _runner.parse_peer_exclusion(line)


def _suite_has_test(suite: str, name: str) -> bool:
    """Whether *suite* on this Python has a test method *name*."""
    module = importlib.import_module(f'test.test_asyncio.{_runner.suite_module(suite)}')
    if suite in _runner.MIXINS:
        return callable(getattr(getattr(module, _runner.MIXINS[suite][1]), name, None))
    return any(isinstance(cls, type) and issubclass(cls, unittest.TestCase)
               and callable(getattr(cls, name, None)) for cls in vars(module).values())


def test_whitebox_list_names_real_tests_with_reasons():
    entries = _runner.read_whitebox_entries()
    assert entries, 'whitebox.txt is empty'
    version = sys.version_info[:2]
    for entry in entries:
        suite, _, name = entry.test_id.rpartition('.')
        assert suite in _runner.MIXINS or suite in _runner.MODULES, entry.test_id
        assert name.startswith('test_'), entry.test_id
        assert len(entry.reason) > 20, f'{entry.test_id} needs its reason'
        if entry.applies_to(version):
            # The line is in force here: the test must exist here.
            assert _runner.suite_available(suite), f'{entry.test_id}: no such suite on {version}'
            assert _suite_has_test(suite, name), f'{entry.test_id}: no such test on {version}'
    assert _runner.read_whitebox() == {e.test_id: e.reason for e in entries if e.applies_to(version)}


@pytest.mark.parametrize('line, versions', [
    ('s.test_a: why', ((3, 0), (3, 99))),
    ('s.test_a [3.14]: why', ((3, 14), (3, 14))),
    ('s.test_a [3.14-]: why', ((3, 14), (3, 99))),
    ('s.test_a [-3.13]: why', ((3, 0), (3, 13))),
    ('s.test_a [3.12-3.13]: why: with a colon', ((3, 12), (3, 13))),
])
def test_whitebox_version_ranges(line, versions):
    entry = _runner.parse_whitebox_line(line)
    assert entry.test_id == 's.test_a'
    assert entry.versions == versions
    assert entry.reason.startswith('why')
    assert entry.applies_to(versions[0]) and entry.applies_to(versions[1])
    assert not entry.applies_to((versions[0][0], versions[0][1] - 1))
    assert not entry.applies_to((versions[1][0], versions[1][1] + 1))


@pytest.mark.parametrize('line', ['s.test_a [3.14-3.12]: backwards', 's.test_a [-]: empty',
                                  's.test_a [3.x]: not a version', 'no reason'])
def test_whitebox_bad_lines_are_errors(line):
    with pytest.raises(ValueError):
        _runner.parse_whitebox_line(line)
