"""Run CPython's own generic tests for the shapes evergreen copies, pointed at evergreen.

    python cpython_suites.py locks|queue|futures [-v]

CPython writes its lock, queue and executor tests once, as mixins that take
the class under test from an attribute (``locktype``, ``queue``,
``executor_type``): ``test_threading`` points them at ``threading``,
``test_queue`` at ``queue``, ``test_concurrent_futures`` at its pools. Here
they are pointed at evergreen's, using the test package of the interpreter
that runs this script (Lib/test/lock_tests.py, test_queue.py,
test_concurrent_futures/).

The tests start "threads" and sleep to let them block. This script runs in a
process of its own, so it may make those cooperative: ``time.sleep`` is
patched (evergreen.patcher), and the test modules get a ``threading`` whose
``Thread`` is an evergreen Task, whose locks are evergreen's, and a
``start_new_thread`` that spawns a task. The test bodies run in the main
greenlet; each blocking call there runs the loop until it returns.

Prints a JSON summary as its last line: tests run, failures, errors, skips,
and the tests left out with the reason (EXCLUDED). A test still running after
TEST_TIME_LIMIT seconds ends the run instead (exit status 3, no summary): its
name and every thread's stack go to stderr.
"""

from __future__ import annotations

import faulthandler
import json
import os
import sys
import types
import unittest
import warnings

from evergreen import patcher

patcher.patch(time=True, socket=False, select=False, ssl=False, subprocess=False)

import threading  # noqa: E402

from greenlet import getcurrent  # noqa: E402

import evergreen  # noqa: E402
from evergreen import futures as evergreen_futures  # noqa: E402
from evergreen import locks  # noqa: E402
from evergreen import queue as evergreen_queue  # noqa: E402

# Tests that cannot be pointed at evergreen, and why. Keyed by test method name.
EXCLUDED: dict[str, str] = {}


class Thread(evergreen.Task):
    """threading.Thread's constructor (with its ``group`` argument), on a task."""

    def __init__(self, group: None = None, target=None, name=None, args=(), kwargs=None, *,
                 daemon=None) -> None:
        if group is not None:
            raise ValueError('group argument must be None for now')
        super().__init__(target=target, name=name, args=args, kwargs=kwargs, daemon=daemon)


def _make_threading_shim() -> types.ModuleType:
    shim = types.ModuleType('evergreen_threading_for_tests')
    shim.__dict__.update({k: v for k, v in vars(threading).items() if not k.startswith('__')})
    shim.Thread = Thread
    shim.Lock = locks.Lock
    shim.RLock = locks.RLock
    shim.Condition = locks.Condition
    shim.Semaphore = locks.Semaphore
    shim.BoundedSemaphore = locks.BoundedSemaphore
    shim.Event = locks.Event
    shim.Barrier = locks.Barrier
    shim.BrokenBarrierError = locks.BrokenBarrierError
    shim.get_ident = lambda: id(getcurrent())
    return shim


THREADING = _make_threading_shim()


def _import_with_shim(name: str) -> types.ModuleType:
    """Import test module *name* with ``import threading`` giving THREADING (classes too)."""
    import importlib

    from test import support  # noqa: F401 -- with the real threading, first
    from test.support import threading_helper  # noqa: F401
    real = sys.modules['threading']
    sys.modules['threading'] = THREADING
    try:
        return importlib.import_module(name)
    finally:
        sys.modules['threading'] = real


def start_new_thread(function, args, kwargs=None):
    """_thread.start_new_thread, for the tests: a task."""
    return evergreen.spawn(function, *args, **(kwargs or {})).ident


def _exclude(cls: type, reasons: dict[str, str]) -> type:
    """Skip, with its reason, each test of *cls* named in *reasons* ('method' or 'Class.method')."""
    for key, reason in reasons.items():
        owner, _, name = key.rpartition('.')
        if (not owner or owner == cls.__name__) and hasattr(cls, name):
            EXCLUDED[f'{cls.__name__}.{name}'] = reason
            setattr(cls, name, unittest.skip(f'not usable with evergreen: {reason}')(getattr(cls, name)))
    return cls


# ----------------------------------------------------------------------
# Lib/test/lock_tests.py: what test_threading runs against threading's locks


def lock_suites() -> list[type]:
    lock_tests = _import_with_shim('test.lock_tests')
    lock_tests.start_new_thread = start_new_thread

    class LockTests(lock_tests.LockTests):
        locktype = staticmethod(locks.Lock)

    class RLockTests(lock_tests.RLockTests):
        locktype = staticmethod(locks.RLock)

    class ConditionAsRLockTests(lock_tests.RLockTests):
        # A Condition with its default RLock is an RLock (as test_threading checks).
        locktype = staticmethod(locks.Condition)

    class EventTests(lock_tests.EventTests):
        eventtype = staticmethod(locks.Event)

    class ConditionTests(lock_tests.ConditionTests):
        condtype = staticmethod(locks.Condition)

    class SemaphoreTests(lock_tests.SemaphoreTests):
        semtype = staticmethod(locks.Semaphore)

    class BoundedSemaphoreTests(lock_tests.BoundedSemaphoreTests):
        semtype = staticmethod(locks.BoundedSemaphore)

    class BarrierTests(lock_tests.BarrierTests):
        barriertype = staticmethod(locks.Barrier)

    return [LockTests, RLockTests, ConditionAsRLockTests, EventTests, ConditionTests,
            SemaphoreTests, BoundedSemaphoreTests, BarrierTests]


# ----------------------------------------------------------------------
# Lib/test/test_queue.py


def queue_suites() -> list[type]:
    test_queue = _import_with_shim('test.test_queue')
    module = types.ModuleType('evergreen_queue_for_tests')
    module.__dict__.update(vars(evergreen_queue))

    class QueueTest(test_queue.QueueTest, unittest.TestCase):
        queue = module

    class LifoQueueTest(test_queue.LifoQueueTest, unittest.TestCase):
        queue = module

    class PriorityQueueTest(test_queue.PriorityQueueTest, unittest.TestCase):
        queue = module

    class FailingQueueTest(test_queue.FailingQueueTest, unittest.TestCase):
        queue = module

    class SimpleQueueTest(test_queue.BaseSimpleQueueTest, unittest.TestCase):
        queue = module

        def setUp(self):
            self.type2test = evergreen_queue.SimpleQueue
            super().setUp()

    return [_run_bigmem_at_size(cls) for cls in
            (QueueTest, LifoQueueTest, PriorityQueueTest, FailingQueueTest, SimpleQueueTest)]


def _run_bigmem_at_size(cls: type) -> type:
    """Run *cls*'s ``@bigmemtest`` tests at the size they ask for, without regrtest's -M.

    From 3.14 on, test_queue's many-threads tests (50 threads, run unconditionally
    up to 3.13) are marked bigmem at 100 MiB a thread, so without -M they skip
    for want of 5 GiB. Fifty tasks need far less (greenlets, no thread stacks):
    call the tests undecorated, at the size they ask for.
    """
    for name in dir(cls):
        test = getattr(cls, name)
        if name.startswith('test') and hasattr(test, 'memuse') and hasattr(test, '__wrapped__'):
            def at_size(self, _test=test):
                return _test.__wrapped__(self, _test.size)
            at_size.__name__ = at_size.__qualname__ = name
            at_size.__doc__ = test.__doc__
            setattr(cls, name, at_size)
    return cls


# ----------------------------------------------------------------------
# Lib/test/test_concurrent_futures/ (a package from Python 3.12 on)


def futures_suites() -> list[type]:
    from test.test_concurrent_futures import util
    util.Future = evergreen_futures.Future
    # The module's ready-made futures, made again as evergreen Futures.
    for name, state, kwargs in (
            ('PENDING_FUTURE', util.PENDING, {}), ('RUNNING_FUTURE', util.RUNNING, {}),
            ('CANCELLED_FUTURE', util.CANCELLED, {}),
            ('CANCELLED_AND_NOTIFIED_FUTURE', util.CANCELLED_AND_NOTIFIED, {}),
            ('EXCEPTION_FUTURE', util.FINISHED, {'exception': OSError()}),
            ('SUCCESSFUL_FUTURE', util.FINISHED, {'result': 42})):
        setattr(util, name, util.create_future(state=state, **kwargs))
    # executor.py waits on a threading.Event while the calls run: in tasks, that wait must park.
    executor = _import_with_shim('test.test_concurrent_futures.executor')
    from test.test_concurrent_futures import (
        test_as_completed,
        test_future,
        test_init,
        test_shutdown,
        test_wait,
    )

    namespace = types.ModuleType('evergreen_futures_for_tests')
    import concurrent.futures
    namespace.__dict__.update(vars(concurrent.futures))
    namespace.__dict__.update({name: getattr(evergreen_futures, name) for name in evergreen_futures.__all__})
    for module in (executor, test_as_completed, test_wait, test_shutdown):
        module.futures = namespace
    for module in (test_as_completed, test_wait, test_future):
        for name in ('PENDING_FUTURE', 'RUNNING_FUTURE', 'CANCELLED_FUTURE',
                     'CANCELLED_AND_NOTIFIED_FUTURE', 'EXCEPTION_FUTURE', 'SUCCESSFUL_FUTURE',
                     'create_future', 'Future'):
            if hasattr(module, name):
                setattr(module, name, getattr(util, name))

    # From 3.14 on the tests block calls on an event from create_event() (where 3.13
    # slept): the pool's own kind, which a call can wait on without holding its worker's
    # thread. Worker tasks wait on an evergreen Event (a threading.Event would block the
    # thread, and the loop with it; test_first_exception sets it from a plain thread,
    # whose wake-up goes through call_soon_threadsafe); worker threads on a
    # threading.Event, as the stdlib's.
    class TaskPoolMixin(util.ExecutorMixin):
        executor_type = evergreen_futures.TaskPoolExecutor

        def create_event(self):
            return locks.Event()

    class ThreadPoolMixin(util.ExecutorMixin):
        executor_type = evergreen_futures.ThreadPoolExecutor

        def create_event(self):
            return threading.Event()

    suites = []
    for mixin, label in ((TaskPoolMixin, 'TaskPool'), (ThreadPoolMixin, 'ThreadPool')):
        for tests, kind in ((executor.ExecutorTest, 'Executor'), (test_wait.WaitTests, 'Wait'),
                            (test_as_completed.AsCompletedTests, 'AsCompleted'),
                            (test_shutdown.ExecutorShutdownTest, 'Shutdown')):
            suites.append(type(f'{label}{kind}Tests', (mixin, tests, util.BaseTestCase), {}))
    # Initializers: TaskPoolExecutor has none (its tasks share the thread); the thread pool's.
    for mixin, kind in ((test_init.InitializerMixin, 'Initializer'),
                        (test_init.FailingInitializerMixin, 'FailingInitializer')):
        suites.append(type(f'ThreadPool{kind}Tests', (mixin, ThreadPoolMixin, util.BaseTestCase),
                           {'executor_type': evergreen_futures.ThreadPoolExecutor}))

    class FutureTests(test_future.FutureTests):
        pass

    suites.append(FutureTests)
    return suites


_REPR = ("it matches threading's repr, whose module has no dot ('<threading.Event at ...>'); "
         "evergreen's names its module, evergreen.locks")

_PREEMPTION = ("its reader threads busy-wait (get(block=False) in a loop, never blocking): "
               "they need preemptive threads; cooperative tasks that never block never let "
               "the writers run")

_BY_NAME = ('it runs a pool in a fresh interpreter by importing it by name from '
            'concurrent.futures, so it can only test the stdlib pools')

EXCLUSIONS: dict[str, str] = {
    'test_interpreter_shutdown': _BY_NAME,
    'test_submit_after_interpreter_shutdown': _BY_NAME,
    'test_hang_gh83386': _BY_NAME,
    'TaskPoolShutdownTests.test_cancel_futures': (
        'it expects worker threads to have taken some calls before shutdown(cancel_futures=True) '
        'right after submitting; worker tasks start only when the submitting task blocks, '
        'so all are cancelled'),
    # 'method' (in every class that has it) or 'Class.method' -> why it cannot apply
    'ConditionAsRLockTests.test_recursion_count': 'test_threading skips it for threading.Condition '
                                                  'too: a Condition does not expose _recursion_count()',
    # 3.15's lock_tests: Lock() and RLock() take no argument.
    'ConditionAsRLockTests.test_constructor_noargs': 'test_threading skips it for threading.Condition '
                                                     'too: a Condition takes its lock as an argument',
    'EventTests.test_at_fork_reinit': "it inspects threading.Event's internal Condition (_cond), "
                                      "which evergreen's Event does not have",
    'EventTests.test_repr': _REPR,
    # Python 3.13's test_queue: its readers spin on get(False) and never block, so they
    # rely on preemption to let the writers run; cooperative tasks would spin forever.
    'QueueTest.test_shutdown_all_methods_in_many_threads': _PREEMPTION,
    'QueueTest.test_shutdown_immediate_all_methods_in_many_threads': _PREEMPTION,
    'LifoQueueTest.test_shutdown_all_methods_in_many_threads': _PREEMPTION,
    'LifoQueueTest.test_shutdown_immediate_all_methods_in_many_threads': _PREEMPTION,
    'PriorityQueueTest.test_shutdown_all_methods_in_many_threads': _PREEMPTION,
    'PriorityQueueTest.test_shutdown_immediate_all_methods_in_many_threads': _PREEMPTION,
    'SemaphoreTests.test_repr': _REPR,
    'BoundedSemaphoreTests.test_repr': _REPR,
    'BarrierTests.test_repr': _REPR,
}

SUITES = {'locks': lock_suites, 'queue': queue_suites, 'futures': futures_suites}

# No test may hang the run: one still running after this long (the slowest take a few
# seconds) is named, every thread's stack is dumped, and the process exits. Well under
# test_cpython_suites.py's bounds, so the report comes from here, naming the test.
TEST_TIME_LIMIT = 60.0


class _BoundedResult(unittest.TextTestResult):
    """A result that gives up on the whole run if one test outlives TEST_TIME_LIMIT."""

    def startTest(self, test: unittest.TestCase) -> None:
        super().startTest(test)
        # A real thread: a hung test may hold the loop, and the main thread, forever.
        self._watch = threading.Timer(TEST_TIME_LIMIT, _give_up, (test,))
        self._watch.daemon = True
        self._watch.start()

    def stopTest(self, test: unittest.TestCase) -> None:
        self._watch.cancel()
        super().stopTest(test)


def _give_up(test: unittest.TestCase) -> None:
    sys.stderr.write(f'\n{test.id()} is still running after {TEST_TIME_LIMIT:.0f} s: '
                     'giving up; the stacks of every thread:\n')
    sys.stderr.flush()
    faulthandler.dump_traceback(all_threads=True)
    os._exit(3)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in SUITES:
        print(f'usage: {sys.argv[0]} {"|".join(SUITES)} [-v]', file=sys.stderr)
        return 2
    from test import support
    support.verbose = '-v' in argv     # as regrtest sets it (test_concurrent_futures prints timings)
    classes = [_exclude(cls, EXCLUSIONS) for cls in SUITES[argv[0]]()]
    loader = unittest.TestLoader()
    suite = unittest.TestSuite(loader.loadTestsFromTestCase(cls) for cls in classes)
    verbosity = 2 if '-v' in argv else 1
    runner = unittest.TextTestRunner(stream=sys.stderr, verbosity=verbosity,
                                     resultclass=_BoundedResult)
    # As under pytest (pytest.ini): evergreen's and rose's own code uses no deprecated
    # API, so a DeprecationWarning attributed to it fails the test that caused it. The
    # runner would reset the filters to 'default' otherwise.
    runner.warnings = None
    warnings.simplefilter('default')
    warnings.filterwarnings('error', category=DeprecationWarning, module=r'(evergreen|rose)(\.|$)')
    result = runner.run(suite)
    summary = {
        'suite': argv[0],
        'python': sys.version.split()[0],
        'run': result.testsRun,
        'failures': len(result.failures),
        'errors': len(result.errors),
        'skipped': len(result.skipped),
        'excluded': EXCLUDED,
        'skip_reasons': sorted({reason for _, reason in result.skipped}),
    }
    sys.stdout.flush()
    print('\n' + json.dumps(summary))
    return 0 if result.wasSuccessful() else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
