"""Other projects' test suites, fetched from their PyPI sdists, for rose's conformance run.

anyio's and uvloop's suites were written against asyncio's own loop by people
who never heard of rose; run.py runs them twice, once on asyncio's loop (the
reference) and once on rose, and holds rose to every test the reference passes.

Each sdist is pinned (version and sha256), fetched only through pip
(``pip download --no-deps --no-binary NAME``, so only the package index is
contacted), checked, then kept unpacked in a cache, as tools/pyuv_build.py keeps
pyuv's: ``$ROSE_PEERS_CACHE``, else ``$XDG_CACHE_HOME/asyncio-talks/peers``
(``~/.cache/asyncio-talks/peers``). The tests run against the installed
packages (anyio, uvloop: the lock pins the same versions), never against the
sdist's sources, so the version check below keeps the two in step.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Sdist:
    name: str
    version: str
    sha256: str

    @property
    def filename(self) -> str:
        return f'{self.name}-{self.version}.tar.gz'

    @property
    def tree_name(self) -> str:
        return f'{self.name}-{self.version}'


ANYIO = Sdist('anyio', '4.16.0', '59bb03251907983d1603d27c3087ddb1e93299ea2163adcdba37899a4fb12ffb')
UVLOOP = Sdist('uvloop', '0.23.0', '28d160f51ab4da3b187063652e643dea6831072add4adc1e6d62afbe73b6be27')
SDISTS = {s.name: s for s in (ANYIO, UVLOOP)}

_UNPACKED_MARK = '.unpacked-ok'


class PeerSuiteError(RuntimeError):
    """A peer's sdist or installed package is not what the conformance run expects."""


def cache_root() -> Path:
    explicit = os.environ.get('ROSE_PEERS_CACHE')
    if explicit:
        return Path(explicit)
    base = os.environ.get('XDG_CACHE_HOME') or os.path.join(Path.home(), '.cache')
    return Path(base) / 'asyncio-talks' / 'peers'


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def fetch(sdist: Sdist, cache: Path | None = None) -> Path:
    """The sdist's tarball in the cache, downloaded by pip first if missing; its hash checked every time."""
    cache = cache or cache_root()
    target = cache / sdist.filename
    if not target.exists():
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cache) as tmp:
            # pip reads the sdist's metadata (in an isolated build environment:
            # anyio's version comes from setuptools_scm) but builds nothing.
            cmd = [sys.executable, '-m', 'pip', 'download', '--quiet', '--no-deps',
                   '--no-binary', sdist.name, f'{sdist.name}=={sdist.version}', '-d', tmp]
            result = subprocess.run(cmd, capture_output=True, text=True)
            downloaded = Path(tmp) / sdist.filename
            if result.returncode != 0 or not downloaded.exists():
                raise PeerSuiteError(f'pip could not download {sdist.filename} (is the package index '
                                     f'reachable?):\n{result.stdout}{result.stderr}')
            os.replace(downloaded, target)
    actual = _sha256_of(target)
    if actual != sdist.sha256:
        target.unlink()
        raise PeerSuiteError(f'{target}: sha256 {actual}, expected {sdist.sha256}; the file was removed '
                             'from the cache, run again to download it anew')
    return target


def unpacked(sdist: Sdist, cache: Path | None = None) -> Path:
    """The sdist's unpacked tree in the cache (fetched and unpacked once)."""
    cache = cache or cache_root()
    tree = cache / sdist.tree_name
    if (tree / _UNPACKED_MARK).exists():
        return tree
    tarball = fetch(sdist, cache)
    shutil.rmtree(tree, ignore_errors=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        with tarfile.open(tarball) as tar:
            tar.extractall(tmp, filter='data')
        os.replace(Path(tmp) / sdist.tree_name, tree)
    (tree / _UNPACKED_MARK).write_text(sdist.sha256 + '\n')
    return tree


def check_installed(sdist: Sdist) -> None:
    """The suite's tests run against the installed package: it must be the sdist's version."""
    try:
        installed = importlib.metadata.version(sdist.name)
    except importlib.metadata.PackageNotFoundError:
        raise PeerSuiteError(f'{sdist.name} is not installed; run make setup') from None
    if installed != sdist.version:
        raise PeerSuiteError(f'{sdist.name} {installed} is installed but its tests are pinned at '
                             f'{sdist.version}: change the pin in peers.py (and its sha256) with the lock')


def tests_dir(sdist: Sdist) -> Path:
    check_installed(sdist)
    return unpacked(sdist) / 'tests'


# ---------------------------------------------------------------------------
# The suites: one per test file, so that each row of the table, and each
# child process, stays small.

# anyio's test files (those with tests that take the anyio_backend fixture).
ANYIO_FILES = (
    'streams/test_buffered', 'streams/test_file', 'streams/test_memory', 'streams/test_stapled',
    'streams/test_text', 'streams/test_tls', 'test_concurrency_utils', 'test_contextmanagers',
    'test_debugging', 'test_eventloop', 'test_fileio', 'test_from_thread', 'test_functools',
    'test_futures', 'test_itertools', 'test_lowlevel', 'test_signals', 'test_sockets',
    'test_subprocesses', 'test_synchronization', 'test_taskgroups', 'test_tempfile',
    'test_to_interpreter', 'test_to_process', 'test_to_thread',
)
# uvloop's test modules with AIO classes (the uvloop-only ones test libuv handles rose has not).
UVLOOP_MODULES = ('test_base', 'test_context', 'test_dns', 'test_executors', 'test_pipes',
                  'test_process', 'test_signals', 'test_sockets', 'test_tcp', 'test_udp', 'test_unix')

SUITES = tuple([f'anyio/{f}' for f in ANYIO_FILES] + [f'uvloop/{m}' for m in UVLOOP_MODULES])

# In a suite, a test's name on rose and on asyncio's loop differ by one word:
# anyio's backend id (``test_x[asyncio+rose-ipv4]`` / ``test_x[asyncio-ipv4]``,
# named as anyio's own suite names its ``asyncio+uvloop`` backend) and
# uvloop's class (``Test_Rose_TCP.test_x`` / ``Test_AIO_TCP.test_x``).
_ANYIO_ROSE_ID = re.compile(r'(?<=[\[-])asyncio\+rose(?=[\]-])')
_UVLOOP_ROSE_CLASS = re.compile(r'Rose(?=[^.]*\.)')


def reference_name(suite: str, rose_name: str) -> str:
    """The name, on asyncio's loop, of the test called *rose_name* on rose."""
    if suite.startswith('anyio/'):
        return _ANYIO_ROSE_ID.sub('asyncio', rose_name, count=1)
    return _UVLOOP_ROSE_CLASS.sub('AIO', rose_name, count=1)


# --- uvloop: unittest classes; each AIO class is run as it is (asyncio's
# loop) and as a subclass whose new_loop() makes a rose loop.

def uvloop_tests(module_name: str) -> list[tuple[str, object]]:
    """[(loop, test)]: every test of the module's AIO classes, on asyncio's loop, then on rose."""
    import importlib
    import unittest

    from uvloop import _testbase

    import rose

    tests = tests_dir(UVLOOP)
    # The tests import each other as the ``tests`` package; the sdist's root
    # also holds uvloop's uncompiled sources, so only the tests folder goes on
    # the path, under a directory of its own.
    parent = tempfile.mkdtemp(prefix='uvloop-tests-')
    os.symlink(tests, os.path.join(parent, 'tests'))
    sys.path.insert(0, parent)
    module = importlib.import_module(f'tests.{module_name}')
    loader = unittest.TestLoader()
    result = []
    for name, cls in sorted(vars(module).items()):
        if not (isinstance(cls, type) and issubclass(cls, _testbase.AIOTestCase)
                and cls.__module__ == module.__name__ and 'AIO' in name):
            continue
        # rose keeps the AIO class's implementation = 'asyncio', and so
        # is_asyncio_loop() (which looks at the loop's module) says True too:
        # where uvloop's tests expect asyncio and uvloop to differ, rose is
        # held to asyncio's behaviour, the one it is a drop-in for.
        rose_cls = type(cls)(name.replace('AIO', 'Rose', 1), (cls,), {
            '__module__': cls.__module__,
            'new_loop': lambda self: rose.new_event_loop(),
            'is_asyncio_loop': lambda self: True,
        })
        for method in loader.getTestCaseNames(cls):
            result.append(('asyncio', cls(method)))
        for method in loader.getTestCaseNames(rose_cls):
            result.append(('rose', rose_cls(method)))
    return result


def localhost_has_ipv6() -> bool:
    """Whether the name ``localhost`` resolves to an IPv6 address here (many /etc/hosts give only 127.0.0.1)."""
    try:
        return bool(socket.getaddrinfo('localhost', 0, socket.AF_INET6, socket.SOCK_STREAM))
    except OSError:
        return False


# anyio's tests that need an IPv6 address for the name localhost (its own
# has_ipv6 check only binds ::1). Where there is none they fail on every loop,
# and the sockets their failed setups leave open make random later tests fail
# with a ResourceWarning: so they are skipped there, on both loops.
_ANYIO_NEEDS_LOCALHOST_IPV6 = re.compile(
    r'\[(?:[^\]]*-)?(?:ipv6|dualstack)(?:-[^\]]*)?\]$'
    r'|^TestTCPStream::test_connection_refused\[multi-'
    r'|^TestTCPListener::test_tcp_listener_same_port\[localhost-'
    r'|^TestTCPListener::test_tcp_listener_(?:retry_after_partial|total_bind)_failure\['
    r'|^test_getaddrinfo\[')


# --- anyio: pytest, with the anyio_backend fixture parametrized by two
# backends, asyncio's loop and rose's, in place of the suite's own list.

class AnyioBackends:
    """A pytest plugin: every test that takes anyio_backend runs on asyncio and on rose.

    Tests that parametrize anyio_backend themselves (a few pick one backend)
    and tests without it are deselected: they do not exercise the loop.
    ``report(event, **fields)`` gets start and end events, as run.py's unittest
    children send them; *skip* (test names already run) and *excluded* (rose
    test name -> reason) are left out, the excluded reported as such.
    """

    REFERENCE = ('asyncio', {'debug': True})

    def __init__(self, report, skip: set[str], excluded: dict[str, str]):
        import rose
        self.rose = ('asyncio', {'debug': True, 'loop_factory': rose.new_event_loop})
        self._report = report
        self._skip = skip
        self._excluded = excluded
        self._outcomes: dict[str, tuple[str, str]] = {}

    def _params(self):
        import pytest
        return [pytest.param(self.REFERENCE, id='asyncio'), pytest.param(self.rose, id='asyncio+rose')]

    @staticmethod
    def _name(nodeid: str) -> str:
        return nodeid.split('::', 1)[1] if '::' in nodeid else nodeid

    def _loop_of(self, item) -> str | None:
        callspec = getattr(item, 'callspec', None)
        backend = callspec.params.get('anyio_backend') if callspec else None
        if backend is self.REFERENCE:
            return 'asyncio'
        if backend is self.rose:
            return 'rose'
        return None

    def pytest_generate_tests(self, metafunc):
        import pytest
        if 'anyio_backend' not in metafunc.fixturenames:
            return
        for mark in metafunc.definition.iter_markers('parametrize'):
            names = mark.args[0] if mark.args else mark.kwargs.get('argnames', '')
            if 'anyio_backend' in (names.replace(' ', '').split(',') if isinstance(names, str) else names):
                return
        # A parametrize mark takes precedence over the fixture's own params
        # (pytest's rule for a test that parametrizes a fixture directly).
        metafunc.definition.add_marker(pytest.mark.parametrize('anyio_backend', self._params(), indirect=True))

    pytest_generate_tests.tryfirst = True

    def pytest_collection_modifyitems(self, config, items):
        import pytest
        no_localhost_ipv6 = not localhost_has_ipv6()
        kept, dropped = [], []
        for item in items:
            loop = self._loop_of(item)
            name = self._name(item.nodeid)
            if loop is None or name in self._skip:
                dropped.append(item)
            elif loop == 'rose' and name in self._excluded:
                self._report('end', test=name, loop='rose', outcome='excluded', detail=self._excluded[name])
                dropped.append(item)
            else:
                if no_localhost_ipv6 and _ANYIO_NEEDS_LOCALHOST_IPV6.search(name):
                    item.add_marker(pytest.mark.skip(reason='needs an IPv6 address for localhost, '
                                                            'which this machine does not have'))
                kept.append(item)
        items[:] = kept
        config.hook.pytest_deselected(items=dropped)

    pytest_collection_modifyitems.trylast = True

    def pytest_runtest_logstart(self, nodeid, location):
        self._outcomes[nodeid] = ('pass', '')
        self._report('start', test=self._name(nodeid))

    def pytest_runtest_logreport(self, report):
        if report.failed:
            outcome = 'fail' if report.when == 'call' else 'error'
        elif report.skipped and not hasattr(report, 'wasxfail'):
            outcome = 'skip'
        else:
            return
        if self._outcomes.get(report.nodeid, ('pass', ''))[0] in ('pass', 'skip'):
            detail = report.longreprtext if outcome != 'skip' else str(report.longrepr[-1])
            self._outcomes[report.nodeid] = (outcome, detail)

    def pytest_runtest_logfinish(self, nodeid, location):
        outcome, detail = self._outcomes.pop(nodeid, ('pass', ''))
        loop = 'rose' if _ANYIO_ROSE_ID.search(self._name(nodeid)) else 'asyncio'
        self._report('end', test=self._name(nodeid), loop=loop, outcome=outcome, detail=detail[-3000:])


def run_anyio(test_file: str, plugin: AnyioBackends, per_test_timeout: float) -> int:
    """Run one anyio test file under pytest with *plugin*; pytest's own output goes to stdout."""
    import pytest
    tests = tests_dir(ANYIO)
    root = tests.parent
    return pytest.main(['-c', str(root / 'pyproject.toml'), '--rootdir', str(root), '-p', 'no:cacheprovider',
                        '-q', '--timeout', f'{per_test_timeout:g}', '--timeout-method', 'thread',
                        str(tests / f'{test_file}.py')], plugins=[plugin])


if __name__ == '__main__':
    for s in SDISTS.values():
        print(tests_dir(s))
