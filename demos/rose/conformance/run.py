"""Run CPython's own asyncio tests (test.test_asyncio) against rose.

Usage: python demos/rose/conformance/run.py [--part mixins|modules|peers|all]
                                           [--timeout S] [--suite NAME ...] [--verbose]

Three parts:

* mixins: CPython's loop-independent test mixins, each given rose as its loop;
* modules: CPython's high-level test modules, run with rose as the default
  policy's loop factory (so asyncio.run, asyncio.Runner and new_event_loop give rose);
* peers: other projects' suites, from their PyPI sdists (peers.py): anyio's,
  with the anyio_backend fixture parametrized by asyncio's loop and rose, and
  uvloop's AIO test classes, as they are and with rose as their loop. Each test
  runs on asyncio's loop first: rose is held to the tests that pass there (the
  others count as ref-fail), bar those in peer_exclusions.txt, each with its reason.

Each suite runs in a child process, in a scratch directory, reporting every
test as it starts and ends. A test that outlives the per-test timeout is
recorded as a timeout, the child is killed, and a new child carries on after
it. Tests listed in whitebox.txt (beside this file, each with its reason) are
not run: they test asyncio's selector internals, not loop behaviour.

Prints pass/fail/error/skip/excluded/timeout per suite and a total; the exit
status is 1 if any test failed, errored or timed out.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import warnings
from typing import NamedTuple

HERE = os.path.dirname(os.path.abspath(__file__))
WHITEBOX_FILE = os.path.join(HERE, 'whitebox.txt')
PEER_EXCLUSIONS_FILE = os.path.join(HERE, 'peer_exclusions.txt')
sys.path.insert(0, HERE)
import peers  # noqa: E402  (beside this file, which is run as a script)

# suite name -> (module, mixin class, how the mixin takes its loop)
MIXINS = {
    'test_events.EventLoopTestsMixin': ('test_events', 'EventLoopTestsMixin', 'create_event_loop'),
    'test_events.SubprocessTestsMixin': ('test_events', 'SubprocessTestsMixin', 'events_subprocess'),
    'test_sock_lowlevel.BaseSockTestsMixin': ('test_sock_lowlevel', 'BaseSockTestsMixin', 'create_event_loop'),
    'test_sendfile.SendfileTestsBase': ('test_sendfile', 'SendfileTestsBase', 'create_event_loop'),
    'test_server.BaseStartServer': ('test_server', 'BaseStartServer', 'new_loop'),
    'test_buffered_proto.BaseTestBufferedProtocol': ('test_buffered_proto', 'BaseTestBufferedProtocol', 'new_loop'),
    'test_sslproto.BaseStartTLS': ('test_sslproto', 'BaseStartTLS', 'new_loop'),
    'test_subprocess.SubprocessMixin': ('test_subprocess', 'SubprocessMixin', 'self_loop'),
    # Python 3.15+: protocols run in the server's or the connecting task's context.
    'test_server_context.ServerContextvarsTestCase': ('test_server_context', 'ServerContextvarsTestCase',
                                                      'loop_factory'),
    'test_server_context.ServerContextvarsTestCase/ssl': ('test_server_context', 'ServerContextvarsTestCase',
                                                          'loop_factory_ssl'),
}
MODULES = ['test_streams', 'test_tasks', 'test_taskgroups', 'test_timeouts', 'test_runners',
           'test_locks', 'test_queues', 'test_waitfor', 'test_futures', 'test_pep492',
           'test_context', 'test_threads',
           # Newer modules, run where this Python has them: 3.11+, 3.12+, 3.13+, 3.14+.
           'test_futures2', 'test_eager_task_factory', 'test_staggered', 'test_graph',
           'test_free_threading']


def suite_module(suite_name: str) -> str:
    return MIXINS[suite_name][0] if suite_name in MIXINS else suite_name


def suite_available(suite_name: str) -> bool:
    """Whether this Python's test.test_asyncio has the suite's module (peers' suites: always)."""
    if suite_name in peers.SUITES:
        return True
    import importlib.util
    return importlib.util.find_spec(f'test.test_asyncio.{suite_module(suite_name)}') is not None

# ref-fail: a peer suite's test that does not pass on asyncio's own loop either.
OUTCOMES = ('pass', 'fail', 'error', 'skip', 'excluded', 'timeout', 'ref-fail')


class WhiteboxEntry(NamedTuple):
    test_id: str  # suite.test_name
    versions: tuple[tuple[int, int], tuple[int, int]]  # first and last minor version, inclusive
    reason: str

    def applies_to(self, version: tuple[int, int]) -> bool:
        return self.versions[0] <= version <= self.versions[1]


_ANY_VERSION = ((3, 0), (3, 99))
_VERSIONS = re.compile(r'^(?P<id>[^\s\[:]+)\s*'
                       r'(?:\[(?P<low>3\.\d+)?(?P<dash>-)?(?P<high>3\.\d+)?\])?\s*:(?P<reason>.*)$')


def _minor(text: str) -> tuple[int, int]:
    major, minor = text.split('.')
    return int(major), int(minor)


def parse_whitebox_line(line: str) -> WhiteboxEntry:
    """One line: ``suite.test [3.12-3.14]: reason``; the range is optional.

    ``[3.14]`` is that version only, ``[3.14-]`` 3.14 and later, ``[-3.13]``
    up to 3.13, ``[3.12-3.13]`` both ends included; no range: every version.
    """
    match = _VERSIONS.match(line)
    if match is None:
        raise ValueError(f'whitebox.txt: not "suite.test [versions]: reason": {line!r}')
    low, dash, high = match['low'], match['dash'], match['high']
    if low is None and high is None:
        if dash:
            raise ValueError(f'whitebox.txt: empty version range: {line!r}')
        versions = _ANY_VERSION
    elif dash:
        versions = (_minor(low) if low else _ANY_VERSION[0], _minor(high) if high else _ANY_VERSION[1])
    else:
        versions = (_minor(low), _minor(low))
    if versions[0] > versions[1]:
        raise ValueError(f'whitebox.txt: backwards version range: {line!r}')
    return WhiteboxEntry(match['id'], versions, match['reason'].strip())


def read_whitebox_entries() -> list[WhiteboxEntry]:
    """Every line of whitebox.txt, whatever versions it applies to."""
    entries = []
    with open(WHITEBOX_FILE, encoding='utf-8') as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith('#'):
                entries.append(parse_whitebox_line(line))
    return entries


class PeerExclusion(NamedTuple):
    suite: str
    test: str  # the test's name on rose, as the table's report prints it
    versions: tuple[tuple[int, int], tuple[int, int]]
    reason: str

    def applies_to(self, version: tuple[int, int]) -> bool:
        return self.versions[0] <= version <= self.versions[1]


_PEER_LINE = re.compile(r'^(?P<suite>\S+)\s+(?P<test>\S+?)'
                        r'(?:\s+\[(?P<low>3\.\d+)?(?P<dash>-)?(?P<high>3\.\d+)?\])?\s*:\s+(?P<reason>\S.*)$')


def parse_peer_exclusion(line: str) -> PeerExclusion:
    """One line: ``suite test [versions]: reason`` (the range as in whitebox.txt)."""
    match = _PEER_LINE.match(line)
    if match is None:
        raise ValueError(f'peer_exclusions.txt: not "suite test [versions]: reason": {line!r}')
    head = f"s.t [{match['low'] or ''}{match['dash'] or ''}{match['high'] or ''}]: r"
    versions = parse_whitebox_line(head).versions if (match['low'] or match['high'] or match['dash']) \
        else _ANY_VERSION
    return PeerExclusion(match['suite'], match['test'], versions, match['reason'].strip())


def read_peer_exclusions(version: tuple[int, int] | None = None) -> dict[tuple[str, str], str]:
    """The peer suites' tests excluded on *version* (default: this Python): {(suite, test): reason}."""
    version = version or sys.version_info[:2]
    excluded = {}
    with open(PEER_EXCLUSIONS_FILE, encoding='utf-8') as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith('#'):
                entry = parse_peer_exclusion(line)
                if entry.applies_to(version):
                    excluded[entry.suite, entry.test] = entry.reason
    return excluded


def read_whitebox(version: tuple[int, int] | None = None) -> dict[str, str]:
    """The tests excluded on *version* (default: this Python): {'suite.test_name': reason}."""
    version = version or sys.version_info[:2]
    return {e.test_id: e.reason for e in read_whitebox_entries() if e.applies_to(version)}


# ---------------------------------------------------------------------------
# Child: build one suite and run it, reporting each test on stdout.

def _test_name(test: unittest.TestCase) -> str:
    return test.id().rsplit('.', 1)[-1] if isinstance(test, unittest.TestCase) else str(test)


def _flatten(suite) -> list:
    tests = []
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            tests.extend(_flatten(item))
        else:
            tests.append(item)
    return tests


def _mixin_suite(suite_name: str):
    import importlib

    from test.test_asyncio import utils as test_utils

    import rose

    module_name, mixin_name, hook = MIXINS[suite_name]
    module = importlib.import_module(f'test.test_asyncio.{module_name}')
    mixin = getattr(module, mixin_name)
    namespace = {'__module__': module.__name__}
    bases = (mixin, unittest.TestCase)
    if hook == 'create_event_loop':
        namespace['create_event_loop'] = lambda self: rose.new_event_loop()
        bases = (mixin, test_utils.TestCase)
    elif hook == 'new_loop':
        namespace['new_loop'] = lambda self: rose.new_event_loop()
    elif hook == 'events_subprocess':
        # SubprocessTestsMixin uses self.loop, set up by EventLoopTestsMixin
        # (as in test_events' own classes); only its own tests are run.
        namespace['create_event_loop'] = lambda self: rose.new_event_loop()
        bases = (mixin, module.EventLoopTestsMixin, test_utils.TestCase)
    elif hook == 'self_loop':
        def setUp(self):
            test_utils.TestCase.setUp(self)
            self.loop = rose.new_event_loop()
            self.set_event_loop(self.loop)
        namespace['setUp'] = setUp
        bases = (mixin, test_utils.TestCase)
    elif hook in ('loop_factory', 'loop_factory_ssl'):
        namespace['loop_factory'] = staticmethod(rose.new_event_loop)
        if hook == 'loop_factory_ssl':
            # As the module's own SSL variant does.
            def setUp(self):
                unittest.TestCase.setUp(self)
                self.server_ssl_context = test_utils.simple_server_sslcontext()
                self.client_ssl_context = test_utils.simple_client_sslcontext()
            namespace['setUp'] = setUp
    cls = type(f'Rose{mixin_name}', bases, namespace)
    loader = unittest.TestLoader()
    names = loader.getTestCaseNames(cls)
    if module_name == 'test_events':
        names = [n for n in names if n in loader.getTestCaseNames(mixin)]
    _reset_policy()
    return [cls(name) for name in names]


# asyncio's policies are deprecated from Python 3.14 on; these helpers use
# the warning-free forms that its own test suite uses there when present.

def _reset_policy() -> None:
    from asyncio import events
    setter = getattr(events, '_set_event_loop_policy', None) or events.set_event_loop_policy
    setter(None)


def _make_rose_the_default_loop() -> None:
    """Make the default policy's loops rose loops, whatever policy instance a test makes."""
    from asyncio import unix_events

    import rose
    # The default policy class: public up to 3.13, private (the public name
    # warns) from 3.14. The modules reset the policy at will, so the factory
    # goes on the class.
    policy_class = (getattr(unix_events, '_DefaultEventLoopPolicy', None)
                    or unix_events.DefaultEventLoopPolicy)
    policy_class._loop_factory = rose.EventLoop


def _module_suite(module_name: str):
    import importlib
    _make_rose_the_default_loop()
    module = importlib.import_module(f'test.test_asyncio.{module_name}')
    return _flatten(unittest.defaultTestLoader.loadTestsFromModule(module))


class _ReportingResult(unittest.TestResult):
    """Writes one JSON line per test event to the parent."""

    def __init__(self, stream, suite_name: str, name_of=None, loop_of=None):
        super().__init__()
        self._out = stream
        self._suite = suite_name
        self._name_of = name_of or _test_name
        self._loop_of = loop_of or (lambda test: 'rose')
        self._current = None
        self._outcome = None

    def _emit(self, **event) -> None:
        self._out.write(json.dumps(event) + '\n')
        self._out.flush()

    def startTest(self, test):
        super().startTest(test)
        self._current = self._name_of(test)
        self._outcome = ('pass', '')
        self._emit(event='start', test=self._current)

    def stopTest(self, test):
        super().stopTest(test)
        outcome, detail = self._outcome
        self._emit(event='end', test=self._current, loop=self._loop_of(test), outcome=outcome,
                   detail=detail[-3000:])

    def addError(self, test, err):
        super().addError(test, err)
        if isinstance(test, unittest.TestCase):
            self._outcome = ('error', self._exc_info_to_string(err, test))
        else:
            # A class or module fixture failed.
            self._emit(event='end', test=str(test), outcome='error',
                       detail=self._exc_info_to_string(err, None)[-3000:])

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._outcome = ('fail', self._exc_info_to_string(err, test))

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            kind = 'fail' if issubclass(err[0], test.failureException) else 'error'
            self._outcome = (kind, f'{subtest}: ' + self._exc_info_to_string(err, test))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._outcome = ('skip', reason)

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._outcome = ('fail', 'unexpected success')


def child_main(suite_name: str, skip: set[str]) -> None:
    # A run started in the background by a non-interactive shell (CI, nohup,
    # `cmd &`) inherits SIGINT ignored, and Python then installs no
    # KeyboardInterrupt handler: the suites' Ctrl+C tests would hang.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    # Report on a dup of stdout: the tests may write to stdout themselves.
    report = os.fdopen(os.dup(1), 'w', buffering=1)
    os.dup2(2, 1)
    # As under pytest (pytest.ini): rose's own code uses no deprecated API, so a
    # DeprecationWarning attributed to it fails the test that caused it.
    warnings.filterwarnings('error', category=DeprecationWarning, module=r'rose(\.|$)')
    if suite_name in peers.SUITES:
        _peer_child_main(suite_name, skip, report)
        return
    excluded = read_whitebox()
    if suite_name in MIXINS:
        tests = _mixin_suite(suite_name)
    else:
        tests = _module_suite(suite_name)
    result = _ReportingResult(report, suite_name)
    runnable = []
    for test in tests:
        name = _test_name(test)
        if name in skip:
            continue
        reason = excluded.get(f'{suite_name}.{name}')
        if reason is not None:
            result._emit(event='end', test=name, outcome='excluded', detail=reason)
            continue
        runnable.append(test)
    unittest.TestSuite(runnable).run(result)
    result._emit(event='done')


def _peer_child_main(suite_name: str, skip: set[str], report) -> None:
    project, _, part = suite_name.partition('/')
    excluded = {test: reason for (suite, test), reason in read_peer_exclusions().items() if suite == suite_name}
    if project == 'anyio':
        def emit(event, **fields):
            report.write(json.dumps(dict(event=event, **fields)) + '\n')
            report.flush()
        plugin = peers.AnyioBackends(emit, skip, excluded)
        peers.run_anyio(part, plugin, per_test_timeout=_PER_TEST_TIMEOUT + 5)
        emit('done')
        return
    tests = peers.uvloop_tests(part)
    loops = {id(test): loop for loop, test in tests}
    result = _ReportingResult(report, suite_name, name_of=lambda test: f'{type(test).__name__}.{_test_name(test)}',
                              loop_of=lambda test: loops[id(test)])
    runnable = []
    for loop, test in tests:
        name = f'{type(test).__name__}.{_test_name(test)}'
        if name in skip:
            continue
        if loop == 'rose' and name in excluded:
            result._emit(event='end', test=name, loop='rose', outcome='excluded', detail=excluded[name])
            continue
        runnable.append(test)
    unittest.TestSuite(runnable).run(result)
    result._emit(event='done')


# The parent's per-test timeout, passed to the child (anyio's pytest gets a
# little more, so that the parent's kill, which reports a timeout, comes first).
_PER_TEST_TIMEOUT = 60.0


# ---------------------------------------------------------------------------
# Parent: run every suite in children, bound each test in time, summarise.

def run_suite(suite_name: str, timeout: float, verbose: bool) -> dict[str, list]:
    results: dict[str, list] = {outcome: [] for outcome in OUTCOMES}
    reference: dict[str, str] = {}  # a peer suite's test on asyncio's loop -> its outcome
    finished: set[str] = set()
    workdir = tempfile.mkdtemp(prefix='rose-conformance-')
    try:
        while True:
            skip_path = os.path.join(workdir, 'skip.json')
            with open(skip_path, 'w') as f:
                json.dump(sorted(finished), f)
            env = dict(os.environ)
            env.pop('PYTHONASYNCIODEBUG', None)
            child = subprocess.Popen(
                [sys.executable, os.path.abspath(__file__), '--child', suite_name, '--skip-file', skip_path,
                 '--timeout', f'{timeout:g}'],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL if not verbose else None,
                cwd=workdir, env=env, start_new_session=True)
            current, done = None, False
            deadline = time.monotonic() + timeout
            buffer = b''
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                ready, _, _ = select.select([child.stdout], [], [], remaining)
                if not ready:
                    continue
                chunk = os.read(child.stdout.fileno(), 65536)
                if not chunk:
                    break
                buffer += chunk
                while b'\n' in buffer:
                    line, buffer = buffer.split(b'\n', 1)
                    event = json.loads(line)
                    if event['event'] == 'start':
                        current = event['test']
                        deadline = time.monotonic() + timeout
                    elif event['event'] == 'end':
                        finished.add(event['test'])
                        current = None
                        deadline = time.monotonic() + timeout
                        if event.get('loop') == 'asyncio':
                            reference[event['test']] = event['outcome']
                            if verbose and event['outcome'] != 'pass':
                                print(f"  {event['outcome'].upper():8} {suite_name}.{event['test']} "
                                      "(asyncio's loop, the reference)", flush=True)
                            continue
                        results[event['outcome']].append((event['test'], event['detail']))
                        if suite_name in peers.SUITES and event['outcome'] in ('fail', 'error') and \
                                reference.get(peers.reference_name(suite_name, event['test']), 'pass') != 'pass':
                            continue  # ref-fail: the summary counts it
                        if verbose or event['outcome'] in ('fail', 'error'):
                            print(f"  {event['outcome'].upper():8} {suite_name}.{event['test']}", flush=True)
                        if verbose and event['outcome'] in ('fail', 'error'):
                            print('    ' + event['detail'].replace('\n', '\n    '), flush=True)
                        current = None
                        deadline = time.monotonic() + timeout
                    elif event['event'] == 'done':
                        done = True
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGKILL)
            child.wait()
            child.stdout.close()
            if done:
                break
            if current is None:
                # The child died between tests (a crash in a fixture or at import).
                results['error'].append(('<child>', f'child exited with {child.returncode}'))
                print(f'  ERROR    {suite_name}: child exited with {child.returncode}', flush=True)
                break
            finished.add(current)
            kind = 'timeout' if child.returncode == -signal.SIGKILL else 'error'
            detail = f'no result after {timeout:g} s' if kind == 'timeout' else f'child died ({child.returncode})'
            if suite_name in peers.SUITES and reference_loop_test(suite_name, current):
                reference[current] = kind
                if verbose:
                    print(f"  {kind.upper():8} {suite_name}.{current}: {detail} (asyncio's loop)", flush=True)
                continue
            results[kind].append((current, detail))
            print(f'  {kind.upper():8} {suite_name}.{current}: {detail}', flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if suite_name in peers.SUITES:
        _hold_to_reference(suite_name, results, reference)
        results['reference'] = sorted(reference.items())
    return results


def reference_loop_test(suite_name: str, test: str) -> bool:
    """Whether a peer suite's test name is the asyncio's-loop run of a test (not rose's)."""
    return peers.reference_name(suite_name, test) == test


def _hold_to_reference(suite_name: str, results: dict[str, list], reference: dict[str, str]) -> None:
    """rose's failures where asyncio's loop does not pass either become ref-fail."""
    for outcome in ('fail', 'error', 'timeout'):
        kept = []
        for test, detail in results[outcome]:
            ref = reference.get(peers.reference_name(suite_name, test))
            if ref is not None and ref != 'pass':
                results['ref-fail'].append((test, f'on asyncio\'s loop: {ref}; on rose: {outcome}'))
            else:
                kept.append((test, detail))
        results[outcome] = kept


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--part', choices=('mixins', 'modules', 'peers', 'all'), default='all')
    parser.add_argument('--suite', action='append', help='run only this suite (repeatable)')
    parser.add_argument('--timeout', type=float, default=60.0, help='seconds per test')
    parser.add_argument('--verbose', action='store_true', help='print every test')
    parser.add_argument('--child', help=argparse.SUPPRESS)
    parser.add_argument('--skip-file', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        global _PER_TEST_TIMEOUT
        _PER_TEST_TIMEOUT = args.timeout
        with open(args.skip_file) as f:
            child_main(args.child, set(json.load(f)))
        return 0

    suites = args.suite or (
        (list(MIXINS) if args.part in ('mixins', 'all') else []) +
        (MODULES if args.part in ('modules', 'all') else []) +
        (list(peers.SUITES) if args.part in ('peers', 'all') else []))
    known = list(MIXINS) + MODULES + list(peers.SUITES)
    unknown = [s for s in suites if s not in known]
    if unknown:
        parser.error(f'unknown suite(s): {", ".join(unknown)}; known: {", ".join(known)}')
    if any(s in peers.SUITES for s in suites):
        for sdist in peers.SDISTS.values():
            print(f'{sdist.name} {sdist.version} tests: {peers.tests_dir(sdist)}', flush=True)

    print(f'rose conformance: CPython {sys.version.split()[0]} test.test_asyncio, '
          f'{args.timeout:g} s per test', flush=True)
    print(_HEADER, flush=True)
    t0 = time.monotonic()
    totals = {outcome: 0 for outcome in OUTCOMES}
    rows = []
    for name in suites:
        if not suite_available(name):
            print(f'{name:50} {"-":>9}  (not in this Python)', flush=True)
            continue
        started = time.monotonic()
        results = run_suite(name, args.timeout, args.verbose)
        counts = {outcome: len(results[outcome]) for outcome in OUTCOMES}
        counts['seconds'] = time.monotonic() - started
        if 'reference' in results:
            counts['asyncio'] = (sum(1 for _, o in results['reference'] if o == 'pass'), len(results['reference']))
        for outcome in OUTCOMES:
            totals[outcome] += counts[outcome]
        rows.append((name, counts))
        print(_row(name, counts), flush=True)
    print('-' * len(_HEADER))
    for part, names in (('mixins', MIXINS), ('modules', MODULES), ('peers', peers.SUITES)):
        part_rows = [counts for name, counts in rows if name in names]
        if part_rows and len(part_rows) < len(rows):
            print(_row(f'{part} ({len(part_rows)} suites)', _sum_counts(part_rows)))
    print(_row('total', _sum_counts([counts for _, counts in rows])))
    print(f'({time.monotonic() - t0:.0f} s)')
    bad = totals['fail'] + totals['error'] + totals['timeout']
    return 1 if bad else 0


_HEADER = (f'{"suite":50} {"passed":>9}  ' + ' '.join(f'{o:>8}' for o in OUTCOMES[1:])
           + f'  {"asyncio":>9} {"seconds":>7}')


def _sum_counts(rows: list[dict]) -> dict:
    total = {o: sum(c[o] for c in rows) for o in OUTCOMES + ('seconds',)}
    references = [c['asyncio'] for c in rows if 'asyncio' in c]
    if references:
        total['asyncio'] = (sum(p for p, _ in references), sum(r for _, r in references))
    return total


def _row(name: str, counts: dict) -> str:
    """passed/run (run = neither skipped, excluded nor ref-fail), then the other outcomes' counts.

    A peer suite's row then gives the reference run: tests passed on asyncio's loop / run there;
    the last cell is the suite's wall-clock time (both runs, for a peer suite).
    """
    ran = counts['pass'] + counts['fail'] + counts['error'] + counts['timeout']
    passed = f'{counts["pass"]}/{ran}'
    cells = ' '.join(f'{counts[o]:8d}' for o in OUTCOMES[1:])
    reference = '{}/{}'.format(*counts['asyncio']) if 'asyncio' in counts else '-'
    return f'{name:50} {passed:>9}  {cells}  {reference:>9} {counts["seconds"]:7.0f}'


if __name__ == '__main__':
    sys.exit(main())
