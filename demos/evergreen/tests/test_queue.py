"""evergreen.queue: the queue module's semantics for tasks."""

from __future__ import annotations

import queue as stdlib_queue
import time

import pytest

import evergreen
from evergreen.queue import Empty, Full, LifoQueue, PriorityQueue, Queue, ShutDown, SimpleQueue


def test_exceptions_are_the_stdlib_ones():
    assert Empty is stdlib_queue.Empty
    assert Full is stdlib_queue.Full
    # ShutDown is the queue module's where it has one (3.13+), evergreen's before.
    assert ShutDown is getattr(stdlib_queue, 'ShutDown', ShutDown)
    assert issubclass(ShutDown, Exception)


def test_orders(run):
    def main():
        for cls, expected in ((Queue, [3, 1, 2]), (LifoQueue, [2, 1, 3]), (PriorityQueue, [1, 2, 3])):
            q = cls()
            for item in (3, 1, 2):
                q.put(item)
            assert q.qsize() == 3 and not q.empty()
            assert [q.get() for _ in range(3)] == expected
            assert q.empty()

    run(main)


def test_bounded_put_blocks_until_get(run):
    def main():
        q = Queue(maxsize=2)
        q.put(1)
        q.put(2)
        assert q.full()
        with pytest.raises(Full):
            q.put_nowait(3)
        started = time.monotonic()
        with pytest.raises(Full):
            q.put(3, timeout=0.05)
        assert time.monotonic() - started >= 0.045
        putter = evergreen.spawn(q.put, 3)
        evergreen.sleep(0)
        assert putter.is_alive()
        assert q.get() == 1
        putter.join()
        assert [q.get(), q.get()] == [2, 3]
        with pytest.raises(ValueError, match='non-negative'):
            q.put(4, timeout=-1)

    run(main)


def test_get_blocks_until_put_and_times_out(run):
    def main():
        q = Queue()
        with pytest.raises(Empty):
            q.get_nowait()
        with pytest.raises(Empty):
            q.get(block=False)
        started = time.monotonic()
        with pytest.raises(Empty):
            q.get(timeout=0.05)
        assert time.monotonic() - started >= 0.045
        evergreen.spawn_later(0.01, q.put, 'late')
        assert q.get(timeout=1) == 'late'

    run(main)


def test_getters_are_served_in_fifo_order(run):
    def main():
        q = Queue()
        got = []

        def getter(name):
            got.append((name, q.get()))

        tasks = [evergreen.spawn(getter, i) for i in range(5)]
        evergreen.sleep(0)
        for item in 'abcde':
            q.put(item)
        evergreen.joinall(tasks)
        assert got == list(zip(range(5), 'abcde'))

    run(main)


@pytest.mark.parametrize('producers, consumers, maxsize', [(2, 3, 5), (3, 2, 1), (3, 3, 10)])
def test_consumers_share_a_bounded_queue_evenly(run, producers, consumers, maxsize):
    # A put wakes getters oldest first; one woken too late (another took the
    # item) waits again in its old place. With several such getters coming
    # back in one turn, each used to go to the very front, reversing their
    # order: with 2 producers, 3 consumers and maxsize 5 one consumer got nothing.
    def main():
        q = Queue(maxsize)
        counts = [0] * consumers

        def produce():
            for i in range(600):
                q.put(i, timeout=10)

        def consume(index):
            while q.get(timeout=10) is not None:
                counts[index] += 1

        receivers = [evergreen.spawn(consume, i) for i in range(consumers)]
        senders = [evergreen.spawn(produce) for _ in range(producers)]
        assert len(evergreen.joinall(senders, timeout=30)) == producers
        for _ in receivers:
            q.put(None, timeout=10)
        assert len(evergreen.joinall(receivers, timeout=30)) == consumers
        return counts

    counts = run(main)
    share = producers * 600 // consumers
    assert sum(counts) == producers * 600
    assert all(abs(count - share) <= share // 100 + consumers for count in counts), counts


def test_getters_woken_too_late_keep_their_order(run):
    def main():
        q = Queue()
        got = []

        def getter(name):
            got.append((name, q.get(timeout=10)))

        tasks = [evergreen.spawn(getter, i) for i in range(3)]
        evergreen.sleep(0)
        for item in 'ab':
            q.put(item)          # wakes getters 0 and 1
        q.get()                  # ...and takes an item before they run
        q.get()
        evergreen.sleep(0)       # 0 and 1 wait again, ahead of 2, in their order
        for item in 'xyz':
            q.put(item)
        assert len(evergreen.joinall(tasks, timeout=10)) == 3
        assert got == [(0, 'x'), (1, 'y'), (2, 'z')]

    run(main)


def test_killed_getter_does_not_lose_an_item(run):
    def main():
        q = Queue()
        a = evergreen.spawn(q.get)
        b = evergreen.spawn(q.get)
        evergreen.sleep(0)
        a.kill(block=False)     # a's kill runs before its wake-up...
        q.put('item')           # ...so the item must go to b
        assert b.result(timeout=1) == 'item'

    run(main)


def test_task_done_and_join(run):
    def main():
        q = Queue()
        processed = []

        def worker():
            while True:
                item = q.get()
                evergreen.sleep(0.001)
                processed.append(item)
                q.task_done()

        workers = [evergreen.spawn(worker) for _ in range(3)]
        for i in range(20):
            q.put(i)
        q.join()
        assert sorted(processed) == list(range(20))
        for w in workers:
            w.kill()
        with pytest.raises(ValueError, match='too many'):
            q.task_done()

    run(main)


def test_shutdown(run):
    def main():
        q = Queue()
        getter = evergreen.spawn(q.get)
        evergreen.sleep(0)
        q.put('x')
        q.put('y')
        assert getter.result() == 'x'
        q.shutdown()
        with pytest.raises(ShutDown):
            q.put('z')
        assert q.get() == 'y'           # items left are still served
        with pytest.raises(ShutDown):
            q.get()
        q2 = Queue(maxsize=1)
        q2.put(1)
        blocked_put = evergreen.spawn(q2.put, 2)
        blocked_get = evergreen.spawn(Queue().get)
        evergreen.sleep(0)
        q2.shutdown(immediate=True)
        with pytest.raises(ShutDown):
            blocked_put.result()
        assert q2.empty()
        blocked_get.kill()

    run(main)


def test_nan_timeout_is_refused_where_a_wait_would_begin(run):
    # As queue.Queue from 3.14 on (its Condition refuses NaN); on every version here.
    nan = float('nan')

    def main():
        q = Queue(maxsize=1)
        with pytest.raises(ValueError, match='NaN'):
            q.get(timeout=nan)
        q.put('x', timeout=nan)                 # room: no wait, no error
        with pytest.raises(ValueError, match='NaN'):
            q.put('y', timeout=nan)
        assert q.get(timeout=nan) == 'x'
        assert len(q._getters) == 0 and len(q._putters) == 0
        simple = SimpleQueue()
        with pytest.raises(ValueError, match='NaN'):
            simple.get(timeout=nan)
        with pytest.raises(Empty):
            simple.get(block=False, timeout=nan)  # not blocking: the timeout is ignored

    run(main)


def test_simple_queue(run):
    def main():
        q = SimpleQueue()
        assert q.empty()
        with pytest.raises(Empty):
            q.get_nowait()
        with pytest.raises(Empty):
            q.get(timeout=0.01)
        consumer = evergreen.spawn(lambda: [q.get() for _ in range(3)])
        for i in range(3):
            q.put(i)
        assert consumer.result() == [0, 1, 2]
        q.put_nowait('x')
        assert q.qsize() == 1 and q.get() == 'x'

    run(main)


def test_producer_consumer_with_timeouts(run):
    def main():
        q = Queue(maxsize=3)
        received = []

        def producer():
            for i in range(50):
                q.put(i, timeout=5)

        def consumer():
            while True:
                try:
                    received.append(q.get(timeout=0.2))
                except Empty:
                    return

        tasks = [evergreen.spawn(producer)] + [evergreen.spawn(consumer) for _ in range(4)]
        evergreen.joinall(tasks)
        assert sorted(received) == list(range(50))
        assert 'maxsize=3' in repr(q)

    run(main)
