"""asyncio interop, both ways: tasks wait for awaitables, coroutines await tasks and futures."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import threading
import time

import pytest

import evergreen
from evergreen.futures import Future


def test_task_waits_for_a_coroutine(run):
    async def add(a, b):
        await asyncio.sleep(0.01)
        return a + b

    def main():
        return evergreen.wait_for(add(1, 2))

    assert run(main) == 3


def test_task_gets_the_coroutines_exception(run):
    async def fail():
        await asyncio.sleep(0)
        raise ValueError('from asyncio')

    def main():
        with pytest.raises(ValueError, match='from asyncio'):
            evergreen.wait_for(fail())

    run(main)


def test_wait_for_timeout_cancels_the_awaitable(run):
    cancelled = []

    async def slow():
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    def main():
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            evergreen.wait_for(slow(), timeout=0.02)
        assert time.monotonic() - started < 1
        assert cancelled == [True]     # finished cancelling before TimeoutError

    run(main)


def test_killing_the_waiting_task_cancels_the_coroutine(run):
    cancelled = []

    async def slow():
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    def main():
        t = evergreen.spawn(evergreen.wait_for, slow())
        evergreen.sleep(0.01)
        t.kill()
        evergreen.sleep(0.01)
        assert cancelled == [True]

    run(main)


def test_wait_for_accepts_futures_tasks_and_awaitables(run):
    class Awaitable:
        def __await__(self):
            yield from asyncio.sleep(0).__await__()
            return 'custom'

    def main():
        loop = evergreen.get_loop()
        afut = loop.create_future()
        loop.call_later(0.01, afut.set_result, 'asyncio future')
        assert evergreen.wait_for(afut) == 'asyncio future'
        assert evergreen.wait_for(Awaitable()) == 'custom'
        task = evergreen.spawn(lambda: 'evergreen task')
        assert evergreen.wait_for(task) == 'evergreen task'
        f = Future()
        f.set_result('future')
        assert evergreen.wait_for(f) == 'future'
        atask = loop.create_task(asyncio.sleep(0.01, 'asyncio task'))
        assert evergreen.wait_for(atask) == 'asyncio task'

    run(main)


def test_wait_for_a_stdlib_future_lets_other_tasks_run(run):
    # concurrent.futures.Future's own result() blocks the thread, and so the
    # loop. The future here is completed by a task that ticks first: if the
    # wait held the loop, it could never be, and the wait would time out.
    def main():
        future = concurrent.futures.Future()
        ticks = []

        def tick():
            for _ in range(5):
                evergreen.sleep(0.001)
                ticks.append(1)
            future.set_result('stdlib')

        evergreen.spawn(tick)
        assert evergreen.wait_for(future, timeout=10) == 'stdlib'
        assert len(ticks) == 5

        # Completed from another thread, with an exception.
        failing = concurrent.futures.Future()
        ticker = evergreen.spawn(lambda: [ticks.append(evergreen.sleep(0.001)) for _ in range(5)])
        evergreen.spawn(lambda: (ticker.join(10), threading.Thread(
            target=failing.set_exception, args=(KeyError('from a thread'),)).start()))
        with pytest.raises(KeyError, match='from a thread'):
            evergreen.wait_for(failing, timeout=10)
        assert len(ticks) == 10

    run(main)


def test_wait_for_a_stdlib_future_times_out_and_refuses_misuse(run):
    def main():
        future = concurrent.futures.Future()
        ticks = []
        ticker = evergreen.spawn(lambda: [ticks.append(evergreen.sleep(0)) for _ in range(3)])
        with pytest.raises(TimeoutError):
            evergreen.wait_for(future, timeout=0.05)
        ticker.join(10)
        assert len(ticks) == 3
        # Like a Future's result(timeout): the future itself is left alone.
        assert not future.done()
        with pytest.raises(ValueError):
            evergreen.wait_for(future, timeout=float('nan'))
        cancelled = concurrent.futures.Future()
        cancelled.cancel()
        with pytest.raises(concurrent.futures.CancelledError):
            evergreen.wait_for(cancelled, timeout=10)

        async def in_a_coroutine():
            evergreen.wait_for(future)

        with pytest.raises(evergreen.BlockingInLoopError, match='wait_for'):
            evergreen.wait_for(in_a_coroutine())
        # A waiting task that is killed leaves nothing behind on the future.
        waiting = evergreen.spawn(evergreen.wait_for, future)
        evergreen.sleep(0.001)
        waiting.kill()
        future.set_result('late')
        evergreen.sleep(0.001)
        assert evergreen.wait_for(future) == 'late'

    run(main)


def test_coroutine_awaits_a_task(run):
    def blocking(x):
        evergreen.sleep(0.01)
        return x * 2

    async def coro():
        # The usual way to call blocking-style code from asyncio code.
        return await evergreen.spawn(blocking, 21)

    def main():
        return evergreen.wait_for(coro())

    assert run(main) == 42


def test_coroutine_gets_a_tasks_exception_and_kill_becomes_cancel(run):
    def fail():
        raise KeyError('task')

    async def coro():
        with pytest.raises(KeyError):
            await evergreen.spawn(fail)
        sleeper = evergreen.spawn(evergreen.sleep, 10)
        await asyncio.sleep(0)
        sleeper.kill()
        with pytest.raises(asyncio.CancelledError):
            await sleeper
        return 'ok'

    assert run(lambda: evergreen.wait_for(coro())) == 'ok'


def test_cancelling_the_awaiting_coroutine_kills_the_task(run):
    def main():
        killed = []

        def victim():
            try:
                evergreen.sleep(10)
            except evergreen.TaskExit:
                killed.append(True)
                raise

        task = evergreen.spawn(victim)

        async def coro():
            await task

        loop = evergreen.get_loop()
        atask = loop.create_task(coro())
        evergreen.sleep(0.01)
        atask.cancel()
        task.join(1)
        assert killed == [True]

    run(main)


def test_asyncio_runner_with_evergreen_loop():
    async def main():
        def blocking():
            evergreen.sleep(0.01)
            return 'from a task'
        results = await asyncio.gather(evergreen.spawn(blocking), asyncio.sleep(0.01, 'coro'))
        return results

    with asyncio.Runner(loop_factory=evergreen.EventLoop) as runner:
        assert runner.run(main()) == ['from a task', 'coro']


def test_coroutines_and_tasks_interleave_on_one_thread(run):
    log = []

    async def ticker():
        for i in range(3):
            log.append(('coro', i, threading.get_ident()))
            await asyncio.sleep(0.005)

    def main():
        loop = evergreen.get_loop()
        atask = loop.create_task(ticker())
        for i in range(3):
            log.append(('task', i, threading.get_ident()))
            evergreen.sleep(0.005)
        evergreen.wait_for(atask)

    run(main)
    assert {entry[2] for entry in log} == {threading.get_ident()}
    assert [e[0] for e in log[:2]] == ['task', 'coro']


def test_contextvars_flow_from_task_into_coroutine(run):
    var = contextvars.ContextVar('var')

    async def read():
        return var.get()

    def main():
        var.set('task value')
        return evergreen.wait_for(read())

    assert run(main) == 'task value'


def test_to_thread(run):
    var = contextvars.ContextVar('var')

    def main():
        var.set('seen in thread')
        ticks = []
        ticker = evergreen.spawn(lambda: [ticks.append(evergreen.sleep(0.01)) for _ in range(5)])
        value = evergreen.to_thread(lambda: (time.sleep(0.08), var.get(), threading.get_ident())[1:])
        ticker.join()
        assert len(ticks) == 5
        return value

    value, ident = run(main)
    assert value == 'seen in thread'
    assert ident != threading.get_ident()


def test_wait_for_in_a_coroutine_is_a_clear_error(run):
    async def nested():
        evergreen.wait_for(asyncio.sleep(0))

    def main():
        with pytest.raises(evergreen.BlockingInLoopError, match='wait_for'):
            evergreen.wait_for(nested())

    run(main)


def test_wait_for_from_the_main_greenlet(loop):
    assert evergreen.wait_for(asyncio.sleep(0.01, 'main')) == 'main'
    assert not loop.is_running()
