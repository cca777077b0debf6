"""Channels, Timeout, and task-local storage."""

from __future__ import annotations

import time

import pytest

import evergreen
from evergreen import Timeout
from evergreen.channel import Channel, ChannelClosed
from evergreen.local import local
from evergreen.locks import Lock
from evergreen.queue import Queue
from evergreen.timeout import Expired

# ----------------------------------------------------------------------
# Channel


@pytest.mark.parametrize('producers, consumers', [(3, 2), (2, 3), (4, 4)])
def test_channel_consumers_share_the_values_evenly(run, producers, consumers):
    # Senders outpace the receivers, so senders are always waiting: a receiver
    # that took every waiting sender's value in its turn would starve the
    # others (one of two used to get three quarters). Receivers take turns.
    def main():
        ch = Channel()
        counts = [0] * consumers
        per_producer = 600

        def produce():
            for i in range(per_producer):
                ch.send(i)

        def consume(index):
            for _ in ch:
                counts[index] += 1

        senders = [evergreen.spawn(produce) for _ in range(producers)]
        receivers = [evergreen.spawn(consume, i) for i in range(consumers)]
        assert len(evergreen.joinall(senders, timeout=30)) == producers
        ch.close()
        assert len(evergreen.joinall(receivers, timeout=30)) == consumers
        return counts

    counts = run(main)
    share = producers * 600 // consumers
    assert sum(counts) == producers * 600
    # Even up to the start and the end (a few values), where turns begin and stop.
    assert all(abs(count - share) <= share // 100 + consumers for count in counts), counts


def test_channel_value_of_a_receiver_killed_before_it_ran_goes_to_the_next(run):
    # The kill is scheduled first, then a send fills the victim's slot: the
    # victim raises before it runs, and passes the value on. Its turn ends
    # with it, so a lone receiver takes from waiting senders at once again.
    def main():
        ch = Channel()
        victim = evergreen.spawn(ch.receive)
        other = evergreen.spawn(ch.receive)
        evergreen.sleep(0)                  # both wait
        victim.kill(block=False)
        ch.send('a')                        # fills the victim's slot
        assert other.result(timeout=10) == 'a'
        assert victim.cancelled()
        assert ch._in_transit == 0
        sender = evergreen.spawn(lambda: [ch.send(i) for i in range(3)])
        evergreen.sleep(0)                  # the sender waits with 0
        assert [ch.receive() for _ in range(3)] == [0, 1, 2]
        sender.join(timeout=10)
        assert ch.balance == 0

    run(main)


def test_channel_is_a_rendezvous(run):
    def main():
        ch = Channel()
        log = []

        def sender():
            for i in range(3):
                log.append(('send', i))
                ch.send(i)
                log.append(('sent', i))

        s = evergreen.spawn(sender)
        evergreen.sleep(0.01)
        # No receiver yet: the sender waits with its first value.
        assert log == [('send', 0)] and ch.balance == 1
        assert ch.receive() == 0
        assert ch.receive() == 1
        assert ch.receive() == 2
        s.join()
        assert ch.balance == 0

        r = evergreen.spawn(ch.receive)
        evergreen.sleep(0)
        assert ch.balance == -1
        ch.send('to waiting receiver')    # a receiver waits: send does not block
        assert r.result() == 'to waiting receiver'

    run(main)


def test_channel_send_exception(run):
    def main():
        ch = Channel()
        evergreen.spawn(ch.send_exception, KeyError, 'k')
        with pytest.raises(KeyError):
            ch.receive()
        evergreen.spawn(ch.send_exception, ValueError('v'))
        with pytest.raises(ValueError, match='v'):
            ch.receive()
        with pytest.raises(TypeError):
            ch.send_exception(ValueError('x'), 'extra')
        with pytest.raises(TypeError):
            ch.send_exception(42)

    run(main)


def test_channel_iteration_and_close(run):
    def main():
        ch = Channel()

        def producer():
            for word in ('a', 'b', 'c'):
                ch.send(word)
            ch.close()

        evergreen.spawn(producer)
        assert list(ch) == ['a', 'b', 'c']
        assert ch.closed
        with pytest.raises(ChannelClosed):
            ch.send('late')
        with pytest.raises(ChannelClosed):
            ch.receive()
        assert isinstance(ChannelClosed(), ValueError)

        # Receivers blocked when the channel closes are released.
        ch2 = Channel()
        waiting = [evergreen.spawn(ch2.receive) for _ in range(2)]
        evergreen.sleep(0)
        ch2.close()
        for t in waiting:
            with pytest.raises(ChannelClosed):
                t.result()
        ch2.open()
        evergreen.spawn(ch2.send, 'again')
        assert ch2.receive() == 'again'

        # close() while a sender waits: that value is still delivered.
        ch3 = Channel()
        evergreen.spawn(ch3.send, 'last')
        evergreen.sleep(0)
        ch3.close()
        assert ch3.closing and not ch3.closed
        assert ch3.receive() == 'last'
        assert ch3.closed

    run(main)


def test_channel_value_survives_killed_receiver(run):
    def main():
        ch = Channel()
        a = evergreen.spawn(ch.receive)
        b = evergreen.spawn(ch.receive)
        evergreen.sleep(0)
        a.kill(block=False)     # a's kill runs before its wake-up
        ch.send('precious')     # handed to a, who dies before taking it
        assert b.result(timeout=1) == 'precious'

    run(main)


def test_channel_killed_sender_withdraws(run):
    def main():
        ch = Channel()
        s = evergreen.spawn(ch.send, 'withdrawn')
        evergreen.sleep(0)
        assert ch.balance == 1
        s.kill()
        assert ch.balance == 0
        assert 'balance=0' in repr(ch)

    run(main)


# ----------------------------------------------------------------------
# Timeout


def test_timeout_interrupts_a_blocking_call(run):
    def main():
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            with Timeout(0.05) as t:
                evergreen.sleep(5)
        assert t.expired
        assert 0.04 < time.monotonic() - started < 1
        with Timeout(1) as t2:
            evergreen.sleep(0.01)
        assert not t2.expired
        with Timeout(None):
            evergreen.sleep(0.01)

    run(main)


def test_timeout_is_not_swallowed_by_except_exception(run):
    def main():
        q = Queue()
        with pytest.raises(TimeoutError):
            with Timeout(0.02):
                try:
                    q.get()
                except Exception:       # a generic handler in user code
                    pytest.fail('Expired must not be an Exception')

    run(main)


def test_nested_timeouts_convert_only_their_own(run):
    def main():
        with pytest.raises(TimeoutError):
            with Timeout(0.03) as outer:
                with Timeout(1) as inner:
                    evergreen.sleep(5)
        assert outer.expired and not inner.expired
        with Timeout(1) as outer:
            with pytest.raises(TimeoutError):
                with Timeout(0.01) as inner:
                    evergreen.sleep(5)
            evergreen.sleep(0.01)
        assert inner.expired and not outer.expired

    run(main)


def test_timeout_inside_lock_acquire_and_reuse(run):
    def main():
        lock = Lock()
        lock.acquire()
        t = Timeout(0.02)
        with pytest.raises(TimeoutError):
            with t:
                lock.acquire()
        assert not lock._queue           # the interrupted waiter left the line
        lock.release()
        with t:                          # reusable
            lock.acquire()
        with pytest.raises(RuntimeError, match='already in use'):
            with t:
                with t:
                    pass

    run(main)


def test_timeout_in_the_main_greenlet(loop):
    with pytest.raises(TimeoutError):
        with Timeout(0.02):
            evergreen.sleep(5)
    assert not loop.is_running()


def test_timeout_cancel_and_catching_expired(run):
    def main():
        with Timeout(0.01) as t:
            t.cancel()
            evergreen.sleep(0.03)
        assert not t.expired
        with Timeout(0.01) as t:
            try:
                evergreen.sleep(1)
            except Expired as exc:
                assert exc.timeout is t
        assert t.expired and 'expired' in repr(t)
        with pytest.raises(TypeError):
            Timeout('1')

    run(main)


def test_timeout_cannot_be_used_in_the_loop(run):
    def main():
        errors = []

        def callback():
            try:
                with Timeout(1):
                    pass
            except RuntimeError as exc:
                errors.append(exc)

        evergreen.get_loop().call_soon(callback)
        evergreen.sleep(0.01)
        assert errors and 'asyncio.timeout' in str(errors[0])

    run(main)


# ----------------------------------------------------------------------
# local


def test_local_is_per_task(run):
    data = local()

    def worker(n):
        assert not hasattr(data, 'value')
        data.value = n
        evergreen.sleep(0.01)
        return data.value

    def main():
        data.value = 'main'
        tasks = [evergreen.spawn(worker, i) for i in range(5)]
        assert [t.result() for t in tasks] == list(range(5))
        assert data.value == 'main'
        del data.value
        with pytest.raises(AttributeError):
            data.value

    run(main)


def test_local_subclass_init_runs_per_task(run):
    class Counter(local):
        def __init__(self, start):
            self.count = start

        def bump(self):
            self.count += 1
            return self.count

    def main():
        counter = Counter(10)
        assert counter.bump() == 11
        assert evergreen.spawn(counter.bump).result() == 11
        assert counter.count == 11
        with pytest.raises(TypeError):
            local(1)
        with pytest.raises(AttributeError):
            counter.__dict__ = {}

    run(main)


def test_hub_timers_run_by_deadline_and_cancelled_ones_never(loop, run):
    fired = []

    def main():
        timers = {delay: loop.call_later_hub(delay, fired.append, delay) for delay in (0.03, 0.01, 0.02)}
        timers[0.02].cancel()
        evergreen.sleep(0.06)

    run(main)
    assert fired == [0.01, 0.03]


def test_hub_timers_mostly_cancelled_are_dropped_and_the_rest_still_fire(loop, run):
    fired = []

    def main():
        kept = loop.call_later_hub(0.02, fired.append, 'kept')
        for timer in [loop.call_later_hub(10, fired.append, 'never') for _ in range(1000)]:
            timer.cancel()
        # Cancelled timeouts (the usual end of a Timeout) do not pile up in the heap.
        assert len(loop._timers) < 100
        evergreen.sleep(0.05)
        return kept

    run(main)
    assert fired == ['kept']


def test_a_hub_timer_cancelled_by_one_due_in_the_same_turn_does_not_run(loop, run):
    fired = []

    def main():
        # Both due in the same turn of the loop: the first cancels the second.
        second = None

        def first():
            fired.append('first')
            second.cancel()
        loop.call_later_hub(0.01, first)
        second = loop.call_later_hub(0.01, fired.append, 'second')
        evergreen.sleep(0.05)

    run(main)
    assert fired == ['first']
