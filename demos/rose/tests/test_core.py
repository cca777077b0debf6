"""The loop's core, on rose and on asyncio's loop: running, scheduling, threads, fds, signals."""

import asyncio
import contextlib
import contextvars
import gc
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import greenlet
import pytest
import pyuv

import rose
from rose.testing import loop_test_cases


class RunningBehaviour:

    def test_run_until_complete_returns_result(self):
        async def answer():
            await asyncio.sleep(0)
            return 42
        self.assertEqual(self.run_loop(answer()), 42)

    def test_running_loop_is_registered_while_running(self):
        async def probe():
            return asyncio.get_running_loop(), self.loop.is_running()
        running, is_running = self.run_loop(probe())
        self.assertIs(running, self.loop)
        self.assertTrue(is_running)
        self.assertFalse(self.loop.is_running())
        with self.assertRaises(RuntimeError):
            asyncio.get_running_loop()

    def test_stop_before_run_forever_runs_one_iteration(self):
        calls = []
        self.loop.call_soon(calls.append, 1)
        self.loop.stop()
        self.loop.run_forever()
        self.assertEqual(calls, [1])

    def test_stop_runs_current_batch_only(self):
        calls = []

        def first():
            calls.append('first')
            self.loop.stop()
            self.loop.call_soon(calls.append, 'later')

        self.loop.call_soon(first)
        self.loop.call_soon(calls.append, 'same batch')
        self.loop.run_forever()
        self.assertEqual(calls, ['first', 'same batch'])
        self.loop.call_soon(self.loop.stop)
        self.loop.run_forever()
        self.assertEqual(calls, ['first', 'same batch', 'later'])

    def test_nested_run_is_refused(self):
        async def nested():
            coro = asyncio.sleep(0)
            try:
                self.loop.run_until_complete(coro)
            finally:
                coro.close()

        with self.assertRaisesRegex(RuntimeError, 'already running'):
            self.run_loop(nested())

    def test_run_until_complete_stopped_early(self):
        async def stopper():
            self.loop.stop()
            await asyncio.sleep(0.1)

        with self.assertRaisesRegex(RuntimeError, 'stopped before Future completed'):
            self.loop.run_until_complete(stopper())

    def test_closed_loop_refuses_work(self):
        self.loop.close()
        self.assertTrue(self.loop.is_closed())
        self.loop.close()  # idempotent
        for call in (lambda: self.loop.call_soon(print),
                     lambda: self.loop.call_later(1, print),
                     lambda: self.loop.call_at(0, print),
                     lambda: self.loop.call_soon_threadsafe(print),
                     lambda: self.loop.run_forever(),
                     lambda: self.loop.add_reader(0, print),
                     lambda: self.loop.add_signal_handler(signal.SIGUSR1, print)):
            with self.assertRaisesRegex(RuntimeError, 'closed'):
                call()
        coro = asyncio.sleep(0)
        with self.assertRaises(RuntimeError):
            self.loop.create_task(coro)
        coro.close()

    def test_close_running_loop_is_refused(self):
        async def close_it():
            self.loop.close()

        with self.assertRaisesRegex(RuntimeError, 'running'):
            self.run_loop(close_it())

    def test_keyboard_interrupt_in_callback_leaves_run_forever(self):
        def interrupt():
            raise KeyboardInterrupt

        self.loop.call_soon(interrupt)
        with self.assertRaises(KeyboardInterrupt):
            self.loop.run_forever()
        self.assertFalse(self.loop.is_running())
        # The loop is still usable.
        self.assertEqual(self.run_loop(asyncio.sleep(0, 'again')), 'again')

    def test_exception_in_callback_goes_to_handler(self):
        def broken():
            raise ValueError('boom')

        with self.expect_exception_handler() as calls:
            self.loop.call_soon(broken)
            self.run_loop(asyncio.sleep(0.01))
        self.assertEqual(len(calls), 1)
        self.assertIsInstance(calls[0]['exception'], ValueError)

    def test_unretrieved_task_exception_is_reported_once_the_task_is_dropped(self):
        # Reported when the task is freed; the loop must not keep a finished
        # task alive (through the frame that ran its last step, which the
        # exception's traceback keeps) until the garbage collector runs.
        async def fail():
            1 / 0

        async def main():
            # asyncio's pure-Python Task (as CPython's test_futures2 uses):
            # its steps are Python frames, which the traceback reaches.
            asyncio.tasks._PyTask(fail(), loop=self.loop)
            await asyncio.sleep(0)
            return [c['message'] for c in self.handler_calls]

        gc.collect()
        with self.expect_exception_handler() as calls:
            gc.disable()
            try:
                seen_by_then = self.run_loop(main())
            finally:
                gc.enable()
                gc.collect()  # a task the loop kept alive is reported here: too late
        self.assertEqual(seen_by_then, ['Task exception was never retrieved'])
        self.assertIsInstance(calls[0]['exception'], ZeroDivisionError)

    def test_default_executor_is_readable(self):
        self.assertIsNone(self.loop._default_executor)
        self.assertEqual(self.run_loop(self.loop.run_in_executor(None, sum, [1, 2])), 3)
        self.assertIsNotNone(self.loop._default_executor)
        self.run_loop(self.loop.shutdown_default_executor())

    def test_async_generator_hooks_installed_while_running(self):
        finalized = []

        async def agen():
            try:
                yield 1
                yield 2
            finally:
                finalized.append(True)

        async def main():
            gen = agen()
            await gen.__anext__()
            del gen
            await asyncio.sleep(0.01)

        self.run_loop(main())
        self.run_loop(self.loop.shutdown_asyncgens())
        self.assertEqual(finalized, [True])


class SchedulingBehaviour:

    def test_call_soon_is_fifo_with_args(self):
        calls = []
        for i in range(20):
            self.loop.call_soon(calls.append, i)
        self.loop.call_soon(self.loop.stop)
        self.loop.run_forever()
        self.assertEqual(calls, list(range(20)))

    def test_call_soon_context(self):
        var = contextvars.ContextVar('var', default='unset')
        ctx = contextvars.copy_context()
        ctx.run(var.set, 'in context')
        seen = []
        self.loop.call_soon(lambda: seen.append(var.get()), context=ctx)
        self.loop.call_later(0.001, lambda: seen.append(var.get()), context=ctx)
        self.run_loop(asyncio.sleep(0.02))
        self.assertEqual(seen, ['in context', 'in context'])

    def test_timers_run_in_deadline_order(self):
        calls = []
        # One base time: with call_later() a loaded machine (debug mode takes
        # a traceback per call) could put more than 5 ms between two calls.
        start = self.loop.time()
        for delay in (0.03, 0.01, 0.02, 0.0, 0.015):
            self.loop.call_at(start + delay, calls.append, delay)
        self.run_loop(asyncio.sleep(0.06))
        self.assertEqual(calls, [0.0, 0.01, 0.015, 0.02, 0.03])

    def test_timers_never_fire_early(self):
        lateness = []

        def fired(when):
            lateness.append(self.loop.time() - when)

        for delay in (0.0005, 0.001, 0.0015, 0.002, 0.0105, 0.013, 0.0201):
            handle = self.loop.call_later(delay, fired, self.loop.time() + delay)
            self.assertIsInstance(handle, asyncio.TimerHandle)
        self.run_loop(asyncio.sleep(0.05))
        self.assertEqual(len(lateness), 7)
        self.assertTrue(all(late >= 0 for late in lateness), lateness)

    def test_short_sleeps_take_few_iterations(self):
        # asyncio's test_timeout_rounding: timeouts are rounded so the loop
        # does not spin waiting for a deadline a fraction of a millisecond away.
        count = 0
        original = self.loop._run_once

        def counting():
            nonlocal count
            count += 1
            original()

        self.loop._run_once = counting

        async def sleeps():
            for delay in (1e-2, 1e-4, 1e-6, 1e-8, 1e-10):
                await asyncio.sleep(delay)

        self.loop.run_until_complete(sleeps())
        self.assertLessEqual(count, 20)

    def test_cancelled_timers_do_not_run(self):
        calls = []
        handles = [self.loop.call_later(0.001 * i, calls.append, i) for i in range(300)]
        for handle in handles[::2]:
            handle.cancel()
        self.assertTrue(handles[0].cancelled())
        self.run_loop(asyncio.sleep(0.4))
        self.assertEqual(calls, list(range(1, 300, 2)))

    def test_call_at_uses_loop_time(self):
        fired = self.loop.create_future()
        when = self.loop.time() + 0.02
        self.loop.call_at(when, lambda: fired.set_result(self.loop.time()))
        self.assertGreaterEqual(self.run_loop(fired), when)

    def test_time_is_monotonic_clock(self):
        before = time.monotonic()
        now = self.loop.time()
        self.assertLessEqual(before, now)
        self.assertLessEqual(now, time.monotonic())

    def test_bad_delays_are_type_errors(self):
        with self.assertRaises(TypeError):
            self.loop.call_later(None, print)
        with self.assertRaises(TypeError):
            self.loop.call_at(None, print)

    def test_coroutine_callbacks_are_refused_in_debug_mode(self):
        self.loop.set_debug(True)  # asyncio checks callbacks only in debug mode

        async def coro_func():
            pass

        with self.assertRaisesRegex(TypeError, 'coroutines cannot be used'):
            self.loop.call_soon(coro_func)
        with self.assertRaisesRegex(TypeError, 'callable object was expected'):
            self.loop.call_later(0.1, 'not callable')

    def test_long_timer_then_short_timer(self):
        calls = []
        self.loop.call_later(3600, calls.append, 'hour')
        self.loop.call_later(0.01, calls.append, 'short')
        self.run_loop(asyncio.sleep(0.03))
        self.assertEqual(calls, ['short'])

    def test_task_factory_and_names(self):
        created = []

        def factory(loop, coro, **kwargs):
            task = asyncio.Task(coro, loop=loop, **kwargs)
            created.append(task)
            return task

        self.loop.set_task_factory(factory)
        self.assertIs(self.loop.get_task_factory(), factory)

        async def main():
            task = self.loop.create_task(asyncio.sleep(0, 'x'), name='named')
            self.assertEqual(task.get_name(), 'named')
            self.assertIn(task, created)
            return await task

        self.assertEqual(self.run_loop(main()), 'x')
        with self.assertRaises(TypeError):
            self.loop.set_task_factory(1)


class ThreadBehaviour:

    def test_call_soon_threadsafe_wakes_waiting_loop(self):
        done = self.loop.create_future()

        def worker():
            time.sleep(0.05)
            self.loop.call_soon_threadsafe(done.set_result, threading.get_ident())

        thread = threading.Thread(target=worker)
        thread.start()
        t0 = time.monotonic()
        ident = self.run_loop(done)
        thread.join()
        self.assertEqual(ident, thread.ident)
        self.assertLess(time.monotonic() - t0, 5)

    def test_many_threads_many_calls(self):
        results = []
        total = 8 * 200
        finished = self.loop.create_future()

        def record(value):
            results.append(value)
            if len(results) == total:
                finished.set_result(None)

        def worker(base):
            for i in range(200):
                self.loop.call_soon_threadsafe(record, base + i)

        threads = [threading.Thread(target=worker, args=(n * 1000,)) for n in range(8)]
        for thread in threads:
            thread.start()
        self.run_loop(finished)
        for thread in threads:
            thread.join()
        self.assertEqual(sorted(results), sorted(n * 1000 + i for n in range(8) for i in range(200)))

    def test_run_in_executor_result_and_error(self):
        def fail():
            raise LookupError('nope')

        self.assertEqual(self.run_loop(self.loop.run_in_executor(None, pow, 2, 10)), 1024)
        with self.assertRaises(LookupError):
            self.run_loop(self.loop.run_in_executor(None, fail))

    def test_to_thread(self):
        async def main():
            return await asyncio.to_thread(threading.get_ident)

        self.assertNotEqual(self.run_loop(main()), threading.get_ident())


class FdWatchBehaviour:

    def socketpair(self):
        a, b = socket.socketpair()
        a.setblocking(False)
        b.setblocking(False)
        self.addCleanup(a.close)
        self.addCleanup(b.close)
        return a, b

    def test_reader_sees_data_and_returns_bools(self):
        r, w = self.socketpair()
        got = self.loop.create_future()

        def readable():
            got.set_result(r.recv(100))
            self.assertTrue(self.loop.remove_reader(r))

        self.assertIsNone(self.loop.add_reader(r.fileno(), readable))
        w.send(b'ping')
        self.assertEqual(self.run_loop(got), b'ping')
        self.assertFalse(self.loop.remove_reader(r))
        self.assertFalse(self.loop.remove_writer(r))

    # What an I/O callback makes ready must end the wait for more I/O: rose
    # lets libuv poll again without returning to Python while callbacks
    # make nothing ready (EventLoop._wake_uv). Each test waits behind a
    # timer far in the future, which would be the only wake-up otherwise.

    def _read_then(self, action):
        r, w = self.socketpair()

        def readable():
            r.recv(100)
            self.loop.remove_reader(r)
            action()

        self.loop.add_reader(r, readable)
        # Sent a little later, so that the data arrives while the loop waits.
        self.loop.call_later(0.02, w.send, b'go')

    def test_call_soon_from_an_io_callback_runs_without_more_io(self):
        done = self.loop.create_future()
        self._read_then(lambda: self.loop.call_soon(done.set_result, 'ran'))
        started = time.monotonic()
        self.assertEqual(self.run_loop(done, timeout=10), 'ran')
        self.assertLess(time.monotonic() - started, 5)

    def test_a_timer_an_io_callback_sets_fires_on_time(self):
        done = self.loop.create_future()
        self._read_then(lambda: self.loop.call_later(0.05, done.set_result, 'on time'))
        started = time.monotonic()
        # run_loop's own 10 s timer is the earliest deadline until the read.
        self.assertEqual(self.run_loop(done, timeout=10), 'on time')
        self.assertLess(time.monotonic() - started, 5)

    def test_stop_from_an_io_callback_ends_run_forever(self):
        self._read_then(self.loop.stop)
        guard = self.loop.call_later(10, self.loop.stop)
        started = time.monotonic()
        self.loop.run_forever()
        guard.cancel()
        self.assertLess(time.monotonic() - started, 5)

    def test_reader_and_writer_on_one_fd(self):
        r, w = self.socketpair()
        events = []
        done = self.loop.create_future()

        def writable():
            events.append('w')
            self.loop.remove_writer(w)
            w.send(b'x')

        def readable():
            events.append('r')
            w.recv(10)
            self.loop.remove_reader(w)
            done.set_result(None)

        self.loop.add_writer(w, writable)
        self.loop.add_reader(w, readable)
        r.send(b'y')
        self.run_loop(done)
        self.run_loop(asyncio.sleep(0.01))
        self.assertEqual(sorted(events), ['r', 'w'])
        self.assertEqual(r.recv(10), b'x')

    def test_replacing_a_reader_cancels_the_old_one(self):
        r, w = self.socketpair()
        calls = []
        done = self.loop.create_future()

        def second():
            calls.append('second')
            r.recv(10)
            self.loop.remove_reader(r)
            done.set_result(None)

        self.loop.add_reader(r, calls.append, 'first')
        self.loop.add_reader(r, second)
        w.send(b'z')
        self.run_loop(done)
        self.assertEqual(calls, ['second'])

    def test_bad_file_objects(self):
        with self.assertRaisesRegex(ValueError, 'Invalid file object'):
            self.loop.add_reader('not a file', print)
        with self.assertRaisesRegex(ValueError, 'Invalid file descriptor'):
            self.loop.add_writer(-1, print)
        with self.assertRaisesRegex(ValueError, 'Invalid file object'):
            self.loop.remove_reader(object())

    def test_closed_descriptor_is_an_oserror(self):
        r, w = socket.socketpair()
        fd = r.fileno()
        r.close()
        w.close()
        if self.loop_name == 'asyncio':
            # epoll reports the bad descriptor when it registers it.
            with self.assertRaises(OSError):
                self.loop.add_reader(fd, print)
        else:
            with self.assertRaises(OSError):
                self.loop.add_reader(fd, print)
        self.assertFalse(self.loop.remove_reader(fd))

    def test_watching_again_an_object_closed_since(self):
        # Found by tests/fuzz/test_fuzz_descriptors.py: asyncio's selector finds
        # a closed object's key by identity; the same side is replaced, a new side
        # fails as epoll does on a closed descriptor, and the object is forgotten.
        r, w = self.socketpair()
        self.loop.add_reader(r, print)
        r.close()
        self.loop.add_reader(r, print)
        with self.assertRaises(OSError):
            self.loop.add_writer(r, print)
        with self.assertRaisesRegex(ValueError, 'Invalid file'):
            self.loop.remove_reader(r)
        with self.assertRaisesRegex(ValueError, 'Invalid file'):
            self.loop.add_reader(r, print)

    def test_regular_file_is_refused(self):
        with open(__file__, 'rb') as f:
            with self.assertRaises(PermissionError):
                self.loop.add_reader(f, print)

    def test_fds_after_close(self):
        r, w = self.socketpair()
        self.loop.add_reader(r, print)
        self.loop.add_writer(w, print)
        self.loop.close()
        self.assertFalse(self.loop.remove_reader(r))
        self.assertFalse(self.loop.remove_writer(w))

    def test_cancelled_reader_handle_is_dropped(self):
        r, w = self.socketpair()
        calls = []
        self.loop.add_reader(r, calls.append, 'x')
        # Cancelling the handle that add_reader registered: the loop drops it.
        if self.loop_name == 'rose':
            self.loop._fd_watchers[r.fileno()].reader.cancel()
        else:
            self.loop._selector.get_key(r.fileno()).data[0].cancel()
        w.send(b'1')
        self.run_loop(asyncio.sleep(0.02))
        self.assertEqual(calls, [])
        self.assertFalse(self.loop.remove_reader(r))


class SignalBehaviour:

    def test_signal_handler_runs_in_loop(self):
        got = self.loop.create_future()
        self.loop.add_signal_handler(signal.SIGUSR1, got.set_result, 'usr1')
        self.addCleanup(self.loop.remove_signal_handler, signal.SIGUSR1)
        self.loop.call_later(0.01, os.kill, os.getpid(), signal.SIGUSR1)
        self.assertEqual(self.run_loop(got), 'usr1')

    def test_signal_while_waiting_in_the_loop(self):
        caught = []
        self.loop.add_signal_handler(signal.SIGALRM, lambda: (caught.append(1), self.loop.stop()))
        self.addCleanup(self.loop.remove_signal_handler, signal.SIGALRM)
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        guard = self.loop.call_later(10, self.loop.stop)
        t0 = time.monotonic()
        self.loop.run_forever()
        guard.cancel()
        self.assertEqual(caught, [1])
        self.assertLess(time.monotonic() - t0, 5)

    def test_bad_signals(self):
        with self.assertRaises(TypeError):
            self.loop.add_signal_handler('INT', print)
        with self.assertRaises(TypeError):
            self.loop.remove_signal_handler('INT')
        for bad in (0, -1, signal.NSIG + 1):
            with self.assertRaises(ValueError):
                self.loop.add_signal_handler(bad, print)
            with self.assertRaises(ValueError):
                self.loop.remove_signal_handler(bad)
        with self.assertRaises(RuntimeError):
            self.loop.add_signal_handler(signal.SIGKILL, print)
        self.assertFalse(self.loop.remove_signal_handler(signal.SIGKILL))

        async def coro():
            pass

        with self.assertRaises(TypeError):
            self.loop.add_signal_handler(signal.SIGUSR2, coro)

    def test_remove_restores_default_handler(self):
        self.loop.add_signal_handler(signal.SIGINT, print)
        self.assertTrue(self.loop.remove_signal_handler(signal.SIGINT))
        self.assertIs(signal.getsignal(signal.SIGINT), signal.default_int_handler)
        self.assertFalse(self.loop.remove_signal_handler(signal.SIGINT))

    def test_add_signal_handler_outside_main_thread(self):
        errors = []

        def worker():
            try:
                self.loop.add_signal_handler(signal.SIGUSR1, print)
            except RuntimeError as exc:
                errors.append(exc)

        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
        self.assertEqual(len(errors), 1)

    def test_close_removes_signal_handlers(self):
        self.loop.add_signal_handler(signal.SIGUSR2, print)
        self.loop.close()
        self.assertEqual(signal.getsignal(signal.SIGUSR2), signal.SIG_DFL)


class CtrlCBehaviour:
    """Ctrl+C reaches the program even while the loop waits for I/O."""

    PROGRAMS = {
        'runner': 'asyncio.Runner(loop_factory=factory).run(asyncio.sleep(30))',
        'run_forever': 'loop = factory(); loop.run_forever()',
    }

    def test_ctrl_c_while_waiting(self):
        factory = 'rose.new_event_loop' if self.loop_name == 'rose' else 'asyncio.SelectorEventLoop'
        for name, statement in self.PROGRAMS.items():
            code = ('import asyncio, sys, rose\n'
                    f'factory = {factory}\n'
                    'print("waiting", flush=True)\n'
                    'try:\n'
                    f'    {statement}\n'
                    'except KeyboardInterrupt:\n'
                    '    print("KeyboardInterrupt", flush=True)\n')
            child = subprocess.Popen([sys.executable, '-c', code], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
            try:
                self.assertEqual(child.stdout.readline().strip(), 'waiting')
                time.sleep(0.3)  # let the loop settle into its wait
                child.send_signal(signal.SIGINT)
                out, _ = child.communicate(timeout=10)
            finally:
                if child.poll() is None:
                    child.kill()
                    child.wait()
            self.assertIn('KeyboardInterrupt', out, f'{name}: {out}')


for _mixin in (RunningBehaviour, SchedulingBehaviour, ThreadBehaviour, FdWatchBehaviour,
               SignalBehaviour, CtrlCBehaviour):
    globals().update(loop_test_cases(_mixin))


# rose-only: the contract other libraries (evergreen) build on.

def test_uv_loop_is_the_pyuv_loop_and_read_only():
    loop = rose.new_event_loop()
    try:
        assert isinstance(loop.uv_loop, pyuv.Loop)
        with pytest.raises(AttributeError):
            loop.uv_loop = pyuv.Loop()
    finally:
        loop.close()


def test_native_handles_on_uv_loop_are_served_and_closed():
    loop = rose.new_event_loop()
    fired = []
    timer = pyuv.Timer(loop.uv_loop)
    timer.start(lambda handle: fired.append(loop.time()), 0.01, 0)
    loop.run_until_complete(asyncio.sleep(0.05))
    assert len(fired) == 1
    idle_timer = pyuv.Timer(loop.uv_loop)
    idle_timer.start(lambda handle: None, 100, 0)
    loop.close()
    assert timer.closed and idle_timer.closed


def test_callbacks_may_switch_greenlets():
    loop = rose.new_event_loop()
    hub = greenlet.getcurrent()
    log = []

    def task(name, count):
        for i in range(count):
            loop.call_later(0.001 * (i % 3), greenlet.getcurrent().switch)
            hub.switch()
            log.append((name, i))
        if name == 'a':
            loop.stop()

    tasks = [greenlet.greenlet(lambda: task('a', 30), parent=hub),
             greenlet.greenlet(lambda: task('b', 10), parent=hub)]
    for g in tasks:
        loop.call_soon(g.switch)
    # A pyuv callback resuming a greenlet that was waiting on the hub.
    waiter = greenlet.greenlet(lambda: (hub.switch(), log.append(('c', 'timer'))), parent=hub)
    waiter.switch()
    timer = pyuv.Timer(loop.uv_loop)
    timer.start(lambda handle: waiter.switch(), 0.005, 0)
    try:
        loop.run_forever()
    finally:
        loop.close()
    assert [entry for entry in log if entry[0] == 'a'] == [('a', i) for i in range(30)]
    assert [entry for entry in log if entry[0] == 'b'] == [('b', i) for i in range(10)]
    assert ('c', 'timer') in log


def test_exception_in_a_native_handle_callback_reaches_the_handler():
    loop = rose.new_event_loop()
    seen = []
    loop.set_exception_handler(lambda loop, context: seen.append(context))
    timer = pyuv.Timer(loop.uv_loop)
    timer.start(lambda handle: 1 / 0, 0.001, 0)
    try:
        loop.run_until_complete(asyncio.sleep(0.02))
    finally:
        loop.close()
    assert len(seen) == 1 and isinstance(seen[0]['exception'], ZeroDivisionError)


def test_work_a_native_callback_makes_ready_before_the_poll_runs_at_once():
    # libuv runs due timers before it polls. A native timer that schedules an
    # asyncio callback there must keep libuv from blocking in that poll, also
    # right after a busy stretch (callbacks ready every iteration), when rose
    # does not need the check and turns it off.
    loop = rose.new_event_loop()
    done = loop.create_future()
    timer = pyuv.Timer(loop.uv_loop)

    def busy(iterations):
        if iterations:
            loop.call_soon(busy, iterations - 1)
        else:   # due at once: libuv runs it first thing in the next iteration
            timer.start(lambda handle: loop.call_soon(done.set_result, 'ran'), 0, 0)

    loop.call_soon(busy, 5)
    started = time.monotonic()
    try:
        # Without the check, libuv would sleep until wait_for's 10 s timer.
        assert loop.run_until_complete(asyncio.wait_for(done, 10)) == 'ran'
        assert time.monotonic() - started < 5
    finally:
        loop.close()


def test_keyboard_interrupt_in_a_native_handle_callback_leaves_run_forever():
    loop = rose.new_event_loop()
    timer = pyuv.Timer(loop.uv_loop)

    def interrupt(handle):
        raise KeyboardInterrupt

    timer.start(interrupt, 0.001, 0)
    try:
        with pytest.raises(KeyboardInterrupt):
            loop.run_forever()
        assert not loop.is_running()
    finally:
        loop.close()


# asyncio.Runner.run() takes any awaitable from Python 3.14 on, and refuses
# anything else with TypeError; before, it took coroutines only (ValueError).
RUNNER_TAKES_AWAITABLES = sys.version_info >= (3, 14)


class _Awaitable:
    def __await__(self):
        return (yield from asyncio.sleep(0, 'awaited').__await__())


def test_run_and_runner():
    async def main():
        return type(asyncio.get_running_loop())

    assert rose.run(main()) is rose.EventLoop
    with asyncio.Runner(loop_factory=rose.new_event_loop) as runner:
        assert runner.run(main()) is rose.EventLoop
    with pytest.raises(TypeError if RUNNER_TAKES_AWAITABLES else ValueError):
        rose.run(42)
    if RUNNER_TAKES_AWAITABLES:
        assert rose.run(_Awaitable()) == 'awaited'
    else:
        with pytest.raises(ValueError):
            rose.run(_Awaitable())


# asyncio deprecates policies from Python 3.14 (removal planned for 3.16);
# _get_event_loop_policy() is the warning-free accessor it added then.
POLICIES_DEPRECATED = hasattr(asyncio.events, '_get_event_loop_policy')


def _deprecated_from_3_14(match=None):
    """Expect a DeprecationWarning where asyncio deprecates policies, none elsewhere."""
    if POLICIES_DEPRECATED:
        return pytest.warns(DeprecationWarning, match=match)
    return contextlib.nullcontext()


def test_policy_while_asyncio_has_policies():
    # The only test that touches policies. Importing rose never warns (the
    # whole suite runs with DeprecationWarnings from rose as errors);
    # asking for rose.EventLoopPolicy warns where asyncio deprecates policies.
    with _deprecated_from_3_14(match='rose.EventLoopPolicy is deprecated'):
        policy_class = rose.EventLoopPolicy
    assert 'EventLoopPolicy' not in rose.__all__
    assert 'deprecated' in policy_class.__doc__
    loop = policy_class().new_event_loop()
    try:
        assert isinstance(loop, rose.EventLoop)
    finally:
        loop.close()

    async def main():
        return type(asyncio.get_running_loop())

    # It serves where asyncio's own policy is expected.
    with _deprecated_from_3_14():
        asyncio.set_event_loop_policy(policy_class())
    try:
        assert asyncio.run(main()) is rose.EventLoop
    finally:
        with _deprecated_from_3_14():
            asyncio.set_event_loop_policy(None)


def test_run_refuses_a_running_loop():
    async def main():
        coro = asyncio.sleep(0)
        try:
            rose.run(coro)
        finally:
            coro.close()

    with pytest.raises(RuntimeError, match='running event loop'):
        rose.run(main())


def test_every_abstract_event_loop_method_is_implemented():
    abstract = asyncio.AbstractEventLoop
    missing = [name for name, member in vars(abstract).items()
               if callable(member) and not name.startswith('__')
               and getattr(rose.EventLoop, name) is member]
    assert missing == []


def test_descriptor_closed_and_reused_without_remove_reader():
    # The kernel forgets a closed descriptor's registration, libuv (like a
    # selector) does not: rose renews the watcher when a reader is set again,
    # so the new socket with the old number is heard. (asyncio's selector
    # loop keeps the stale registration and waits forever here.)
    loop = rose.new_event_loop()
    try:
        r1, w1 = socket.socketpair()
        fd = r1.fileno()
        loop.add_reader(fd, print)
        r1.close()
        w1.close()
        r2, w2 = socket.socketpair()
        with r2, w2:
            assert r2.fileno() == fd
            got = loop.create_future()
            loop.add_reader(r2, lambda: got.done() or got.set_result(r2.recv(10)))
            w2.send(b'new')
            assert loop.run_until_complete(asyncio.wait_for(got, 5)) == b'new'
            assert loop.remove_reader(r2)
    finally:
        loop.close()
