"""Differential fuzzing of timers and cancellation: call_later/call_at, wait_for, timeout, TaskGroup.

Rules schedule callbacks with extreme delays and deadlines (0, negative,
tiny, huge, infinite, not a number), cancel them, start tasks that sleep
under ``wait_for``, ``asyncio.timeout`` or in a ``TaskGroup`` whose children
may fail, and cancel tasks after a random number of loop iterations. A
``run`` rule lets the loop run until nothing is due within the next second.
Each side notes the order in which callbacks ran and tasks ended (with their
outcome: result, exception type, an exception group's member types,
cancelled), what each call raised, and the exception handler's calls; and, on
its own, whether a callback ran before its deadline.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

from differential import LOOP_NAMES, Side, assert_same_traces, ends_as_sets, exc_name
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

# Delays far apart compared with the few loop iterations a step's own work takes
# (cancelling, waking a task), so that what happens first is the same on both
# loops even on a busy machine (0.002 s was not: a run of 400 sequences saw a
# wait_for(..., 0) end after a 2 ms timer on one loop only).
SMALL = [0, 0.02, 0.1]
# NaN is left out: asyncio takes it and its timer heap is no longer ordered (every
# later timer may wait behind it), on either loop alike.
EXTREME = [-1.0, -math.inf, 1e9, 1e300, math.inf, 1e-9]
delays = st.sampled_from(SMALL + EXTREME + ['soon'])
sleeps = st.sampled_from(SMALL + [math.inf, -1.0])
# What is due within this many seconds is waited for by `run`; later is "never" here.
_HORIZON = 1.0
_RUN_LIMIT = 5.0


def outcome(task: asyncio.Task) -> tuple[Any, ...]:
    if task.cancelled():
        return ('cancelled',)
    exc = task.exception()
    if exc is None:
        return ('result', task.result())
    if isinstance(exc, BaseExceptionGroup):
        return ('raised', exc_name(exc), sorted(exc_name(e) for e in exc.exceptions))
    return ('raised', exc_name(exc))


async def sleeper(delay: float, fails: bool) -> str:
    await asyncio.sleep(delay)
    if fails:
        raise ValueError('the fuzzer made a child fail')
    return 'slept'


class TimerSide(Side):
    """One loop, its labelled timer handles and tasks."""

    def __init__(self, loop_name: str) -> None:
        super().__init__(loop_name)
        self.handles: dict[str, asyncio.TimerHandle] = {}
        self.tasks: dict[str, asyncio.Task] = {}
        self.batch: list[tuple[str, Any, tuple[Any, ...]]] = []

    def schedule(self, label: str, how: str, value: Any) -> None:
        loop = self.loop

        def fire() -> None:
            when = self.handles[label].when()
            if loop.time() + loop._clock_resolution < when:
                self.note('contract broken', f'{label} ran before its deadline')
            self.note('ran', label)

        if how == 'call_later':
            self.handles[label] = loop.call_later(value, fire)
        elif how == 'call_at':
            self.handles[label] = loop.call_at(value, fire)
        else:  # call_at, relative to now
            self.handles[label] = loop.call_at(loop.time() + value, fire)

    def start(self, label: str, kind: str, delay: float, limit: float,
              children: list[tuple[float, bool]]) -> None:
        if kind == 'wait_for':
            coro = self._in_wait_for(delay, limit)
        elif kind == 'timeout':
            coro = self._in_timeout(delay, limit)
        else:
            coro = self._in_group(delay, children)
        task = self.loop.create_task(coro)
        self.tasks[label] = task
        task.add_done_callback(lambda t: self.note('ended', label, *outcome(t)))

    # Each form makes its sleeper once it runs: a task cancelled before its
    # first step would otherwise leave a coroutine never awaited.
    @staticmethod
    async def _in_wait_for(delay: float, limit: float) -> str:
        return await asyncio.wait_for(sleeper(delay, False), limit)

    @staticmethod
    async def _in_timeout(delay: float, limit: float) -> str:
        async with asyncio.timeout(limit):
            return await sleeper(delay, False)

    @staticmethod
    async def _in_group(delay: float, children: list[tuple[float, bool]]) -> list[str]:
        async with asyncio.TaskGroup() as group:
            started = [group.create_task(sleeper(d, fails)) for d, fails in children]
            await asyncio.sleep(delay)
        return [t.result() for t in started]

    def cancel_after(self, label: str, hops: int) -> None:
        """Cancel task *label* after *hops* loop iterations (0: now)."""
        def hop(left: int) -> None:
            if left:
                self.loop.call_soon(hop, left - 1)
            else:
                self.note('cancel', label, self.tasks[label].cancel())
        hop(hops)

    def apply(self, name: str, operation: Any, *args: Any) -> None:
        """Queue *operation* for the next `run`.

        Time passes for a side while the other runs: the operations are
        applied just before the side's loop runs, so that the same time
        elapses between scheduling and running on both.
        """
        self.batch.append((name, operation, args))

    def run_until_nothing_due(self) -> None:
        batch, self.batch = self.batch, []
        for name, operation, args in batch:
            self.call_and_note(name, operation, *args)
        self.run(self._until_nothing_due(), timeout=_RUN_LIMIT + 5)

    async def _until_nothing_due(self) -> None:
        loop = self.loop
        deadline = loop.time() + _RUN_LIMIT
        while loop.time() < deadline:
            await asyncio.sleep(0.001)
            horizon = loop.time() + _HORIZON
            # base_events' timer heap and ready queue, which both loops use.
            due = [h for h in loop._scheduled if not h.cancelled() and h.when() <= horizon]
            if not due and not loop._ready:
                break
        else:
            self.note('still busy after the run limit')
        self.note('pending', sorted(label for label, h in self.handles.items()
                                    if not h.cancelled() and h in loop._scheduled),
                  sorted(label for label, t in self.tasks.items() if not t.done()))


class TimerMachine(RuleBasedStateMachine):
    """The same timers and cancellations on rose and on asyncio; the same observations."""

    def __init__(self) -> None:
        super().__init__()
        self.sides = [TimerSide(name) for name in LOOP_NAMES]
        self.count = 0
        self.task_labels: list[str] = []
        self.handle_labels: list[str] = []

    def teardown(self) -> None:
        for side in self.sides:
            side.close()

    def label(self, prefix: str) -> str:
        self.count += 1
        return f'{prefix}#{self.count}'

    @rule(how=st.sampled_from(['call_later', 'call_at', 'call_at now+']), value=delays)
    def schedule(self, how: str, value: Any) -> None:
        if how == 'call_at' and not isinstance(value, float | int):
            # asyncio pushes a deadline it cannot compare onto its heap before failing:
            # the loop's timers are broken from then on, on either loop alike.
            return
        label = self.label(how)
        self.handle_labels.append(label)
        for side in self.sides:
            side.apply(f'schedule {label} {value}', side.schedule, label, how, value)

    @precondition(lambda self: self.handle_labels)
    @rule(data=st.data())
    def cancel_handle(self, data: st.DataObject) -> None:
        label = data.draw(st.sampled_from(self.handle_labels))
        for side in self.sides:
            side.apply(f'cancel {label}', lambda side=side: side.handles[label].cancel())

    @rule(kind=st.sampled_from(['wait_for', 'timeout', 'taskgroup']), delay=sleeps, limit=sleeps,
          # Children sleep for different times: two failing at the same deadline fail
          # in one iteration or two, depending on when the loop wakes, on any loop.
          children=st.lists(st.tuples(sleeps, st.booleans()), max_size=3, unique_by=lambda c: c[0]))
    def start(self, kind: str, delay: float, limit: float, children: list[tuple[float, bool]]) -> None:
        if delay == limit and 0 < delay < math.inf:
            return  # which of two equal deadlines is first depends on timing on any loop
        label = self.label(kind)
        self.task_labels.append(label)
        for side in self.sides:
            side.apply(f'start {label}', side.start, label, kind, delay, limit, children)

    @precondition(lambda self: self.task_labels)
    @rule(data=st.data(), hops=st.integers(0, 4))
    def cancel_task(self, data: st.DataObject, hops: int) -> None:
        label = data.draw(st.sampled_from(self.task_labels))
        for side in self.sides:
            side.apply(f'cancel {label} after {hops}', side.cancel_after, label, hops)

    @rule()
    def run(self) -> None:
        for side in self.sides:
            side.run_until_nothing_due()

    @invariant()
    def same_observations(self) -> None:
        assert_same_traces(self.sides, ends_as_sets)


class TestTimers(TimerMachine.TestCase):
    """rose's timers and cancellation against asyncio's, as many sequences as the profile says."""

    settings = settings(stateful_step_count=25)
