"""Differential fuzzing of evergreen's primitives against the stdlib's, run in threads.

A program is a list of operations, each given to one of three workers: on a
Lock, a Semaphore(2), an Event, a Queue(maxsize=2) and a Future. The same
program runs on evergreen (workers are evergreen tasks, its locks, queue and
futures) and on the stdlib (workers are threads, ``threading``, ``queue``,
``concurrent.futures``). The driver hands one operation at a time to an idle
worker and waits until it has returned or is blocked, then notes which
operations ended (sorted: rule THREAD_WAKE_ORDER, DIFFERENCES.md) with their
result or exception type. Only blocking calls without a timeout and
non-blocking ones are used, so the outcome does not depend on timing.
"""

from __future__ import annotations

import concurrent.futures
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from differential import exc_name, rule_applies
from hypothesis import given
from hypothesis import strategies as st

import evergreen
import evergreen.futures
import evergreen.locks
import evergreen.queue

WORKERS = 3
# A worker that has not returned this long after its operation is blocked. For
# evergreen's tasks this is exact (they run whenever the driver sleeps); a thread
# may just not have been scheduled yet on a busy machine, so a difference is
# checked again with the threads given _PATIENT_QUIET (rule THREAD_LATENCY).
_QUIET = 0.03
_PATIENT_QUIET = 0.4
_EVERGREEN_QUIET = 0.005
_END_LIMIT = 5.0

OPERATIONS = {
    'lock.acquire': lambda p: p['lock'].acquire(),
    'lock.acquire(False)': lambda p: p['lock'].acquire(False),
    'lock.release': lambda p: p['lock'].release(),
    'sem.acquire': lambda p: p['sem'].acquire(),
    'sem.acquire(False)': lambda p: p['sem'].acquire(False),
    'sem.release': lambda p: p['sem'].release(),
    'event.set': lambda p: p['event'].set(),
    'event.clear': lambda p: p['event'].clear(),
    'event.wait': lambda p: p['event'].wait(),
    'event.wait(0)': lambda p: p['event'].wait(0),
    'queue.put': lambda p: p['queue'].put('x'),
    'queue.put_nowait': lambda p: p['queue'].put_nowait('x'),
    'queue.get': lambda p: p['queue'].get(),
    'queue.get_nowait': lambda p: p['queue'].get_nowait(),
    'future.set_result': lambda p: p['future'].set_result(1),
    'future.cancel': lambda p: p['future'].cancel(),
    'future.result': lambda p: p['future'].result(),
    'future.done': lambda p: p['future'].done(),
}
programs = st.lists(st.tuples(st.integers(0, WORKERS - 1), st.sampled_from(sorted(OPERATIONS))),
                    max_size=15)


def describe(call: Callable[[], Any]) -> tuple[Any, ...]:
    try:
        return ('returned', call())
    except Exception as exc:
        return ('raised', exc_name(exc))


class Threads:
    """The stdlib: threads, threading, queue, concurrent.futures."""

    def primitives(self) -> dict[str, Any]:
        return {'lock': threading.Lock(), 'sem': threading.Semaphore(2), 'event': threading.Event(),
                'queue': queue.Queue(2), 'future': concurrent.futures.Future()}

    def spawn(self, target: Callable[[], None]) -> None:
        threading.Thread(target=target, daemon=True).start()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def inbox(self) -> Any:
        return queue.SimpleQueue()


class Evergreen:
    """evergreen: tasks, its locks, queue and futures."""

    def primitives(self) -> dict[str, Any]:
        return {'lock': evergreen.locks.Lock(), 'sem': evergreen.locks.Semaphore(2),
                'event': evergreen.locks.Event(), 'queue': evergreen.queue.Queue(2),
                'future': evergreen.futures.Future()}

    def spawn(self, target: Callable[[], None]) -> None:
        # A daemon, as the threads are: a worker left blocked cannot keep run() waiting.
        evergreen.Task(target=target, daemon=True).start()

    def sleep(self, seconds: float) -> None:
        evergreen.sleep(seconds)

    def inbox(self) -> Any:
        return evergreen.queue.SimpleQueue()


def run_program(backend: Threads | Evergreen, program: list[tuple[int, str]],
                quiet: float = _QUIET) -> list[tuple[Any, ...]]:
    """Run *program* on *backend*; the trace of what each step saw end."""
    trace: list[tuple[Any, ...]] = []
    prims = backend.primitives()
    ended: list[tuple[Any, ...]] = []
    busy = [False] * WORKERS
    inboxes = [backend.inbox() for _ in range(WORKERS)]

    def worker(index: int) -> None:
        while True:
            item = inboxes[index].get()
            if item is None:
                return
            step, name = item
            result = describe(lambda name=name: OPERATIONS[name](prims))
            busy[index] = False
            ended.append((step, name) + result)

    def settle() -> None:
        # Rule THREAD_WAKE_ORDER: the ends of one step are compared as a set.
        seen, quiet_since = len(ended), time.monotonic()
        while time.monotonic() - quiet_since < quiet:
            backend.sleep(0.002)
            if len(ended) != seen:
                seen, quiet_since = len(ended), time.monotonic()
        trace.append(('ended', rule_applies('THREAD_WAKE_ORDER'), sorted(ended, key=repr)))
        ended.clear()

    for index in range(WORKERS):
        backend.spawn(lambda index=index: worker(index))
    for step, (index, name) in enumerate(program):
        if busy[index]:
            trace.append(('busy', index))
            continue
        busy[index] = True
        inboxes[index].put((step, name))
        settle()
    # Free whoever still waits, so that every worker ends; not compared.
    deadline = time.monotonic() + _END_LIMIT
    while any(busy) and time.monotonic() < deadline:
        # One of get and put per round: both would take back the item a getter waits for.
        if prims['queue'].full():
            unblock_queue = prims['queue'].get_nowait
        else:
            def unblock_queue() -> None:
                prims['queue'].put_nowait('x')
        for release in (prims['lock'].release, prims['sem'].release, prims['event'].set, unblock_queue,
                        lambda: prims['future'].set_result(0)):
            describe(release)
        backend.sleep(0.01)
    for box in inboxes:
        box.put(None)
    backend.sleep(0.01)
    return trace


@given(program=programs)
def test_evergreen_primitives_behave_as_the_stdlib_ones(program: list[tuple[int, str]]) -> None:
    observed = evergreen.run(lambda: run_program(Evergreen(), program, quiet=_EVERGREEN_QUIET))
    expected = run_program(Threads(), program)
    if observed != expected:
        rule_applies('THREAD_LATENCY')
        expected = run_program(Threads(), program, quiet=_PATIENT_QUIET)
    assert observed == expected
