"""evergreen.locks: threading's semantics, FIFO wake-ups, no lost wake-ups."""

from __future__ import annotations

import time

import pytest

import evergreen
from evergreen import locks
from evergreen.locks import (
    Barrier,
    BoundedSemaphore,
    BrokenBarrierError,
    Condition,
    Event,
    Lock,
    RLock,
    Semaphore,
)


def test_lock_basics_and_errors(run):
    def main():
        lock = Lock()
        assert not lock.locked()
        assert lock.acquire()
        assert lock.locked()
        assert lock.acquire(False) is False
        assert lock.acquire(timeout=0.01) is False
        lock.release()
        with pytest.raises(RuntimeError, match='release unlocked lock'):
            lock.release()
        with pytest.raises(ValueError, match='non-blocking'):
            lock.acquire(False, 1)
        with pytest.raises(ValueError, match='non-negative'):
            lock.acquire(timeout=-2)
        with pytest.raises(OverflowError):
            lock.acquire(timeout=1e300)
        with lock:
            assert 'locked' in repr(lock)
        assert repr(lock).startswith('<unlocked evergreen.locks.Lock object')

    run(main)


@pytest.mark.parametrize('primitive', [Lock, RLock, lambda: Semaphore(2)])
def test_contended_lock_is_shared_evenly(run, primitive):
    # Every worker wants the lock again as soon as it lets go: hand-over to the
    # oldest waiter gives each the same number of turns.
    def main():
        lock = primitive()
        counts = [0] * 3
        turns = 3 * 300

        def worker(index):
            while sum(counts) < turns:
                with lock:
                    if sum(counts) < turns:
                        counts[index] += 1
                    evergreen.sleep(0)

        workers = [evergreen.spawn(worker, i) for i in range(3)]
        assert len(evergreen.joinall(workers, timeout=30)) == 3
        return counts

    counts = run(main)
    assert sum(counts) == 900
    assert all(abs(count - 300) <= 3 for count in counts), counts


def test_event_wakes_its_waiters_in_the_order_they_waited(run):
    def main():
        event = Event()
        order = []

        def waiter(name):
            assert event.wait(10)
            order.append(name)

        tasks = [evergreen.spawn(waiter, i) for i in range(5)]
        evergreen.sleep(0)
        event.set()
        assert len(evergreen.joinall(tasks, timeout=10)) == 5
        return order

    assert run(main) == list(range(5))


def test_lock_wakes_waiters_in_fifo_order_and_hands_over(run):
    order = []

    def worker(lock, name):
        with lock:
            order.append(name)
            evergreen.sleep(0)

    def main():
        lock = Lock()
        lock.acquire()
        tasks = [evergreen.spawn(worker, lock, n) for n in range(10)]
        evergreen.sleep(0.01)
        lock.release()
        # Handed to the first waiter: the releasing task cannot take it back.
        assert lock.acquire(False) is False
        evergreen.joinall(tasks)
        assert not lock.locked()

    run(main)
    assert order == list(range(10))


def test_lock_can_be_released_by_another_task(run):
    def main():
        lock = Lock()
        lock.acquire()
        evergreen.spawn(lock.release)
        assert lock.acquire(timeout=1)

    run(main)


def test_lock_timeout_does_not_lose_a_handover(run):
    def main():
        lock = Lock()
        lock.acquire()
        first = evergreen.spawn(lock.acquire, timeout=0.05)
        second = evergreen.spawn(lock.acquire)
        evergreen.sleep(0.01)
        first.kill()           # interrupted before it is handed the lock...
        lock.release()         # ...so the release goes to the second waiter
        assert second.result(timeout=1) is True
        assert lock.locked()

    run(main)


def test_killed_waiter_passes_the_lock_on(run):
    def main():
        lock = Lock()
        lock.acquire()
        a = evergreen.spawn(lock.acquire)
        b = evergreen.spawn(lock.acquire)
        evergreen.sleep(0)
        a.kill(block=False)         # a's kill is scheduled first...
        lock.release()              # ...then the lock is handed to a: b must get it
        assert b.result(timeout=1) is True
        assert a.cancelled()

    run(main)


def test_rlock_reentrancy_and_ownership(run):
    def main():
        lock = RLock()
        assert lock.acquire() and lock.acquire()
        assert lock._recursion_count() == 2
        other = evergreen.spawn(lock.acquire, timeout=0.01)
        assert other.result() is False
        bad = evergreen.spawn(lock.release)
        with pytest.raises(RuntimeError, match='un-acquired'):
            bad.result()
        lock.release()
        lock.release()
        with pytest.raises(RuntimeError):
            lock.release()
        assert 'TestMain' not in repr(lock)
        with lock:
            assert "owner='TestMain' count=1" in repr(lock)

    run(main)


def test_condition_notify_fifo_and_wait_for_rechecks(run):
    def main():
        cond = Condition()
        state = {'n': 0}
        woken = []

        def waiter(name):
            with cond:
                assert cond.wait(timeout=2)
                woken.append(name)

        tasks = [evergreen.spawn(waiter, i) for i in range(5)]
        evergreen.sleep(0.01)
        with cond:
            cond.notify(2)
        evergreen.sleep(0.01)
        assert woken == [0, 1]
        with cond:
            cond.notify_all()
        evergreen.joinall(tasks)
        assert woken == [0, 1, 2, 3, 4]

        checks = []

        def predicate():
            checks.append(state['n'])
            return state['n'] >= 3

        def consumer():
            with cond:
                return cond.wait_for(predicate, timeout=2)

        c = evergreen.spawn(consumer)
        for _ in range(3):
            evergreen.sleep(0.01)
            with cond:
                state['n'] += 1
                cond.notify()
        assert c.result() is True
        # Checked once at first, then after each notification.
        assert checks == [0, 1, 2, 3]
        with cond:
            started = time.monotonic()
            assert cond.wait_for(lambda: False, timeout=0.05) is False
            assert time.monotonic() - started >= 0.04
            assert cond.wait(0.01) is False
        with pytest.raises(RuntimeError, match='un-acquired'):
            cond.wait()
        with pytest.raises(RuntimeError, match='un-acquired'):
            cond.notify()

    run(main)


def test_condition_with_plain_lock(run):
    def main():
        cond = Condition(Lock())
        hits = []

        def waiter():
            with cond:
                cond.wait()
                hits.append(1)

        t = evergreen.spawn(waiter)
        evergreen.sleep(0)
        with cond:
            cond.notify()
        t.join()
        assert hits == [1]

    run(main)


def test_condition_passes_notification_of_killed_waiter(run):
    def main():
        cond = Condition()
        got = []

        def waiter(name):
            with cond:
                cond.wait()
                got.append(name)

        a = evergreen.spawn(waiter, 'a')
        b = evergreen.spawn(waiter, 'b')
        evergreen.sleep(0)
        a.kill(block=False)        # a's kill is scheduled first...
        with cond:
            cond.notify()          # ...then it is notified: the wake-up must reach b
        b.join(1)
        assert got == ['b']

    run(main)


def test_semaphore_counts_and_is_fifo(run):
    order = []

    def worker(sem, i):
        with sem:
            order.append(('in', i))
            evergreen.sleep(0.01)
            order.append(('out', i))

    def main():
        sem = Semaphore(2)
        tasks = [evergreen.spawn(worker, sem, i) for i in range(6)]
        evergreen.joinall(tasks)
        assert sem._value == 2
        with pytest.raises(ValueError):
            Semaphore(-1)
        with pytest.raises(ValueError, match='non-blocking'):
            sem.acquire(False, 1)
        with pytest.raises(ValueError):
            sem.release(0)
        s0 = Semaphore(0)
        assert s0.acquire(False) is False
        assert s0.acquire(timeout=0.01) is False
        s0.release(3)
        assert s0._value == 3

    run(main)
    inside = 0
    peak = 0
    for kind, _ in order:
        inside += 1 if kind == 'in' else -1
        peak = max(peak, inside)
    assert peak == 2
    assert [i for kind, i in order if kind == 'in'] == list(range(6))


def test_bounded_semaphore_refuses_extra_release(run):
    def main():
        sem = BoundedSemaphore(2)
        sem.acquire()
        sem.release()
        with pytest.raises(ValueError, match='too many'):
            sem.release()
        sem.acquire()
        sem.acquire()
        waiter = evergreen.spawn(sem.acquire)
        evergreen.sleep(0)
        sem.release()              # handed to the waiter: still none free
        assert sem._value == 0
        sem.release()
        sem.release()              # as threading's: bounded by the initial value
        with pytest.raises(ValueError):
            sem.release()
        assert waiter.result() is True

    run(main)


def test_event(run):
    def main():
        ev = Event()
        assert not ev.is_set()
        assert ev.wait(0.01) is False
        assert ev.wait(0) is False
        waiters = [evergreen.spawn(ev.wait) for _ in range(3)]
        evergreen.sleep(0)
        ev.set()
        ev.clear()   # cleared before the waiters run: they were still notified
        assert [w.result() for w in waiters] == [True, True, True]
        ev.set()
        assert ev.wait() is True
        assert 'set' in repr(ev)

    run(main)


def test_barrier(run):
    def main():
        actions = []
        barrier = Barrier(3, action=lambda: actions.append('action'))
        tasks = [evergreen.spawn(barrier.wait) for _ in range(3)]
        assert sorted(t.result() for t in tasks) == [0, 1, 2]
        assert actions == ['action']
        # A second round works the same way.
        tasks = [evergreen.spawn(barrier.wait) for _ in range(3)]
        assert sorted(t.result() for t in tasks) == [0, 1, 2]
        assert barrier.n_waiting == 0 and barrier.parties == 3

        # A timeout breaks it for everyone, until reset().
        b2 = Barrier(2)
        with pytest.raises(BrokenBarrierError):
            b2.wait(timeout=0.01)
        assert b2.broken
        with pytest.raises(BrokenBarrierError):
            b2.wait()
        b2.reset()
        assert not b2.broken
        pair = [evergreen.spawn(b2.wait) for _ in range(2)]
        assert sorted(t.result() for t in pair) == [0, 1]

        # abort() breaks waiting tasks; reset() breaks them too.
        b3 = Barrier(3)
        waiting = [evergreen.spawn(b3.wait) for _ in range(2)]
        evergreen.sleep(0)
        assert b3.n_waiting == 2
        b3.abort()
        for t in waiting:
            with pytest.raises(BrokenBarrierError):
                t.result()
        b3.reset()
        waiting = [evergreen.spawn(b3.wait) for _ in range(2)]
        evergreen.sleep(0)
        b3.reset()
        for t in waiting:
            with pytest.raises(BrokenBarrierError):
                t.result()
        assert not b3.broken
        with pytest.raises(ValueError):
            Barrier(0)

    run(main)


def test_barrier_action_failure_breaks_it(run):
    def main():
        def action():
            raise ZeroDivisionError

        barrier = Barrier(2, action=action)
        a = evergreen.spawn(barrier.wait)
        b = evergreen.spawn(barrier.wait)
        outcomes = sorted(type(t.exception()).__name__ for t in (a, b))
        assert outcomes == ['BrokenBarrierError', 'ZeroDivisionError']
        assert barrier.broken

    run(main)


def test_nan_timeouts_are_refused(run):
    # A NaN timeout never expires: _thread's locks refuse it, and threading.Condition
    # (so Event, Semaphore, queue) from 3.14 on; evergreen refuses it on every version
    # rather than wait forever. Refused only where a wait would begin, as threading does.
    nan = float('nan')

    def main():
        lock = Lock()
        with pytest.raises(ValueError, match='NaN'):
            lock.acquire(timeout=nan)          # even when free, as _thread checks first
        assert not lock.locked()
        rlock = RLock()
        with pytest.raises(ValueError, match='NaN'):
            rlock.acquire(timeout=nan)
        assert not rlock.locked()

        event = Event()
        with pytest.raises(ValueError, match='NaN'):
            event.wait(nan)
        assert event._waiters == []
        event.set()
        assert event.wait(nan) is True

        cond = Condition()
        with cond:
            with pytest.raises(ValueError, match='NaN'):
                cond.wait(nan)
            with pytest.raises(ValueError, match='NaN'):
                cond.wait_for(lambda: False, nan)
            assert cond.wait_for(lambda: 'ready', nan) == 'ready'
            assert len(cond._waiters) == 0
            assert cond._is_owned()           # the lock was taken back

        sem = Semaphore(1)
        assert sem.acquire(timeout=nan) is True
        with pytest.raises(ValueError, match='NaN'):
            sem.acquire(timeout=nan)
        sem.release()
        assert sem.acquire(timeout=0) is True   # the refused wait did not keep a place in line

    run(main)


def test_condition_exports_its_locks_locked(run):
    # threading.Condition has locked() from 3.14 on; evergreen's on every version.
    def main():
        for lock in (None, Lock(), RLock()):
            cond = Condition(lock)
            assert cond.locked() is False
            with cond:
                assert cond.locked() is True
            assert cond.locked() is False

    run(main)


def test_all_names_exported():
    for name in locks.__all__:
        assert hasattr(locks, name)
