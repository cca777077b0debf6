"""evergreen.futures: Future, the task, thread and process pools, wait, as_completed."""

from __future__ import annotations

import concurrent.futures
import inspect
import os
import subprocess
import threading
import time

import pytest

import evergreen
from evergreen import futures
from evergreen.futures import (
    ALL_COMPLETED,
    FIRST_COMPLETED,
    FIRST_EXCEPTION,
    CancelledError,
    Future,
    ProcessPoolExecutor,
    TaskPoolExecutor,
    ThreadPoolExecutor,
    as_completed,
    wait,
)

# The process's open descriptors: /proc on Linux, /dev/fd on macOS and the BSDs.
FD_DIR = '/proc/self/fd' if os.path.isdir('/proc/self/fd') else '/dev/fd'


def test_future_is_a_stdlib_future_with_cooperative_waits(run):
    def main():
        f = Future()
        assert isinstance(f, concurrent.futures.Future)
        assert not f.done() and not f.running() and not f.cancelled()
        evergreen.spawn_later(0.02, f.set_result, 'value')
        other = evergreen.spawn(evergreen.sleep, 0.01)   # keeps running while we wait
        assert f.result(timeout=1) == 'value'
        assert other.done()
        assert f.exception() is None
        g = Future()
        with pytest.raises(TimeoutError):
            g.result(timeout=0.01)
        with pytest.raises(TimeoutError):
            g.exception(timeout=0.01)
        g.set_exception(OSError('io'))
        with pytest.raises(OSError, match='io'):
            g.result()
        h = Future()
        assert h.cancel()
        with pytest.raises(CancelledError):
            h.result()
        seen = []
        h.add_done_callback(seen.append)
        assert seen == [h]

    run(main)


def test_future_waits_refuse_a_nan_timeout(run):
    # concurrent.futures.Future waits on a threading.Condition, which refuses NaN
    # from 3.14 on; evergreen's waits refuse it on every version.
    def main():
        f = Future()
        with pytest.raises(ValueError, match='NaN'):
            f.result(timeout=float('nan'))
        with pytest.raises(ValueError, match='NaN'):
            f.exception(timeout=float('nan'))
        with pytest.raises(ValueError, match='NaN'):
            wait([f], timeout=float('nan'))
        with pytest.raises(ValueError, match='NaN'):
            next(as_completed([f], timeout=float('nan')))
        f.set_result(1)
        assert f.result(timeout=float('nan')) == 1
        assert f._done_callbacks == [] and f._waiters == []   # the refused waits left nothing

    run(main)


def test_future_in_a_plain_thread_blocks_the_thread():
    f = Future()
    threading.Timer(0.02, f.set_result, ('threaded',)).start()
    assert f.result(timeout=5) == 'threaded'


def test_future_completed_from_a_worker_thread(run):
    def main():
        f = Future()
        ticks = []
        ticker = evergreen.spawn(lambda: [ticks.append(evergreen.sleep(0.005)) for _ in range(5)])
        threading.Timer(0.02, f.set_result, ('from thread',)).start()
        assert f.result(timeout=5) == 'from thread'
        ticker.join()
        assert len(ticks) == 5

    run(main)


def test_task_pool_executor_submit_map_and_limits(run):
    def main():
        active = [0]
        peak = [0]

        def job(x):
            active[0] += 1
            peak[0] = max(peak[0], active[0])
            evergreen.sleep(0.01)
            active[0] -= 1
            return x * 10

        with TaskPoolExecutor(max_workers=4) as pool:
            fs = [pool.submit(job, i) for i in range(12)]
            assert [f.result() for f in fs] == [i * 10 for i in range(12)]
            assert list(pool.map(job, range(5))) == [0, 10, 20, 30, 40]
            assert 'max_workers=4' in repr(pool)
        assert peak[0] == 4
        with pytest.raises(RuntimeError, match='after shutdown'):
            pool.submit(job, 1)
        with pytest.raises(ValueError):
            TaskPoolExecutor(0)
        with pytest.raises(TypeError):
            TaskPoolExecutor(1).submit(42)

    run(main)


def test_task_pool_is_concurrent(run):
    def main():
        started = time.monotonic()
        with TaskPoolExecutor(50) as pool:
            list(pool.map(evergreen.sleep, [0.05] * 50))
        return time.monotonic() - started

    assert run(main) < 0.5


def test_task_pool_exceptions_and_cancel(run):
    def main():
        def boom():
            raise ValueError('in worker')

        pool = TaskPoolExecutor(1)
        bad = pool.submit(boom)
        assert isinstance(bad.exception(), ValueError)
        slow = pool.submit(evergreen.sleep, 0.05)
        evergreen.sleep(0)      # the worker takes it
        assert slow.running()
        queued = [pool.submit(evergreen.sleep, 0) for _ in range(3)]
        assert queued[0].cancel()
        pool.shutdown(wait=True, cancel_futures=True)
        assert slow.done() and not slow.cancelled()
        assert all(f.cancelled() for f in queued)
        # map() raises the first exception when it reaches it
        with TaskPoolExecutor(2) as pool2:
            results = pool2.map(lambda x: 1 / x, [1, 0, 2])
            assert next(results) == 1
            with pytest.raises(ZeroDivisionError):
                next(results)
        # map() with a timeout
        with TaskPoolExecutor(2) as pool3:
            with pytest.raises(TimeoutError):
                list(pool3.map(evergreen.sleep, [0.5, 0.5], timeout=0.02))

    run(main)


def test_idle_task_pool_holds_no_task(run):
    def main():
        pool = TaskPoolExecutor(3)
        pool.submit(lambda: None).result()
        evergreen.sleep(0)
        return len(pool._workers)

    assert run(main) == 0


def test_thread_pool_executor_runs_blocking_calls_off_the_loop(run):
    def main():
        ticks = []
        ticker = evergreen.spawn(lambda: [ticks.append(evergreen.sleep(0.01)) for _ in range(10)])
        with ThreadPoolExecutor(max_workers=2) as pool:
            f = pool.submit(time.sleep, 0.1)   # a real, thread-blocking sleep
            f.result()
            names = list(pool.map(lambda _: threading.current_thread().name, range(4)))
        ticker.join()
        assert len(ticks) == 10
        assert all(name != threading.main_thread().name for name in names)
        assert isinstance(f, Future)

    run(main)


def test_thread_pool_broken_by_initializer(run):
    def main():
        def init():
            raise RuntimeError('no init')
        pool = ThreadPoolExecutor(1, initializer=init)
        f = pool.submit(print, 'never')
        with pytest.raises(concurrent.futures.BrokenExecutor):
            f.result(timeout=5)
        pool.shutdown()

    run(main)


def test_thread_pool_cancel_futures(run):
    def main():
        pool = ThreadPoolExecutor(1)
        gate = threading.Event()
        first = pool.submit(gate.wait, 5)
        rest = [pool.submit(print, i) for i in range(3)]
        evergreen.to_thread(time.sleep, 0.02)
        gate.set()
        pool.shutdown(wait=True, cancel_futures=True)
        assert first.result() is True
        assert all(f.cancelled() or f.done() for f in rest)

    run(main)


def test_wait_conditions(run):
    def main():
        def later(delay, value=None, exc=None):
            evergreen.sleep(delay)
            if exc:
                raise exc
            return value

        with TaskPoolExecutor(10) as pool:
            quick = pool.submit(later, 0.01, 'q')
            slow = pool.submit(later, 0.3, 's')
            bad = pool.submit(later, 0.02, exc=ValueError('x'))
            done, not_done = wait([quick, slow, bad], return_when=FIRST_COMPLETED)
            assert done == {quick} and not_done == {slow, bad}
            done, not_done = wait([quick, slow, bad], return_when=FIRST_EXCEPTION)
            assert done == {quick, bad} and not_done == {slow}
            done, not_done = wait([slow], timeout=0.01)
            assert not done and not_done == {slow}
            done, not_done = wait([quick, slow, bad], return_when=ALL_COMPLETED)
            assert done == {quick, slow, bad} and not not_done
            assert wait([]) == (set(), set())
        with pytest.raises(ValueError):
            wait([quick], return_when='SOMETIMES')

    run(main)


def test_as_completed(run):
    def main():
        with TaskPoolExecutor(10) as pool:
            fs = [pool.submit(evergreen.sleep, d) for d in (0.06, 0.02, 0.04)]
            done_already = Future()
            done_already.set_result(None)
            order = list(as_completed(fs + [done_already, done_already]))
            assert order == [done_already, fs[1], fs[2], fs[0]]
            hanging = Future()
            with pytest.raises(TimeoutError, match=r'1 \(of 2\) futures unfinished'):
                for _ in as_completed([done_already, hanging], timeout=0.02):
                    pass

    run(main)


def _wait_for_file(path):
    """A command that exits 0 once *path* exists, 1 if it does not within 10 s."""
    return ['sh', '-c', f'for _ in $(seq 1000); do [ -e {path} ] && exit 0; sleep 0.01; done; exit 1']


def _ticker_then_touch(path, ticks=5):
    """A task that ticks *ticks* times, then creates *path*: proof the loop ran meanwhile."""
    seen = []

    def tick():
        for _ in range(ticks):
            evergreen.sleep(0.001)
            seen.append(1)
        path.touch()

    return evergreen.spawn(tick), seen


def test_process_pool_submit_map_and_exceptions(tmp_path, run):
    # The calls are the standard library's own functions, so any start method
    # (fork before 3.14, forkserver from then on) finds them in the workers.
    def main():
        with ProcessPoolExecutor(max_workers=2) as pool:
            pid = pool.submit(os.getpid)
            assert isinstance(pid, Future)
            assert pid.result(timeout=60) != os.getpid()
            # The worker's call ends only once the ticker has ticked: if
            # result() held the loop, the ticker could not, and it would fail.
            ticker, ticks = _ticker_then_touch(tmp_path / 'ticked')
            waiting = pool.submit(subprocess.run, _wait_for_file(tmp_path / 'ticked'))
            assert waiting.result(timeout=60).returncode == 0
            assert len(ticks) == 5
            ticker.join(10)
            assert list(pool.map(pow, [2, 3, 4], [5, 5, 5], timeout=60)) == [32, 243, 1024]
            assert list(pool.map(abs, range(-5, 5), chunksize=3)) == [abs(n) for n in range(-5, 5)]
            bad = pool.submit(int, 'not a number')
            with pytest.raises(ValueError, match='not a number'):
                bad.result(timeout=60)
            assert isinstance(bad.exception(), ValueError)
            with pytest.raises(ValueError):
                list(pool.map(int, ['1', 'x'], timeout=60))
            done, not_done = wait([pool.submit(abs, -1), pool.submit(abs, -2)], timeout=60)
            assert {f.result() for f in done} == {1, 2} and not not_done
            assert sorted(f.result() for f in as_completed(
                [pool.submit(abs, n) for n in (-3, -4)], timeout=60)) == [3, 4]

    run(main)


def test_process_pool_shutdown_waits_cooperatively_and_cleans_up(tmp_path, run):
    def open_fds():
        return set(os.listdir(FD_DIR))

    def main():
        # The first pool starts what lives as long as the interpreter (the
        # forkserver, multiprocessing's resource tracker): count after it.
        with ProcessPoolExecutor(max_workers=1) as pool:
            pool.submit(abs, -1).result(timeout=60)
        before = open_fds()
        pool = ProcessPoolExecutor(max_workers=1)
        first = pool.submit(subprocess.run, _wait_for_file(tmp_path / 'ticked'))
        rest = [pool.submit(abs, -n) for n in range(5)]
        # shutdown() waits for `first`, which ends only once the ticker has
        # ticked: a shutdown that held the loop would see it fail after 10 s.
        ticker, ticks = _ticker_then_touch(tmp_path / 'ticked')
        pool.shutdown(wait=True, cancel_futures=True)
        assert first.done() and first.result(timeout=0).returncode == 0
        assert len(ticks) == 5
        ticker.join(10)
        # Calls already handed to the workers' queue run; the rest are cancelled.
        assert all(f.done() for f in rest)
        assert any(f.cancelled() for f in rest)
        with pytest.raises(RuntimeError, match='after shutdown'):
            pool.submit(abs, -1)
        pool.shutdown()      # again: nothing to do
        assert open_fds() == before
        with pytest.raises(ValueError):
            ProcessPoolExecutor(max_workers=0)

    run(main)


@pytest.mark.parametrize('executor', [TaskPoolExecutor, ThreadPoolExecutor, ProcessPoolExecutor])
def test_map_takes_buffersize_where_the_stdlib_does(run, executor):
    # map() is concurrent.futures.Executor's: buffersize= from 3.14, TypeError before.
    has_buffersize = 'buffersize' in inspect.signature(concurrent.futures.Executor.map).parameters

    def main():
        with executor(max_workers=2) as pool:
            if not has_buffersize:
                with pytest.raises(TypeError):
                    pool.map(str, range(3), buffersize=2)
                return
            inputs = iter(range(6))
            results = pool.map(str, inputs, buffersize=2)
            # Only two calls were submitted: the input's next item is still there.
            assert next(inputs) == 2
            assert list(results) == ['0', '1', '3', '4', '5']
            with pytest.raises(ValueError):
                pool.map(str, range(3), buffersize=0)

    run(main)


def test_futures_are_awaitable(run):
    def main():
        f = Future()

        async def coro():
            return await f

        evergreen.spawn_later(0.01, f.set_result, 'awaited')
        return evergreen.wait_for(coro())

    assert run(main) == 'awaited'


def test_all_exports():
    for name in futures.__all__:
        assert hasattr(futures, name)
