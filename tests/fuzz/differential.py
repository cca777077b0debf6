"""What the differential fuzzers share: one loop per side, its observations, their comparison.

A fuzzer is a Hypothesis ``RuleBasedStateMachine`` holding one :class:`Side`
per loop (rose's, asyncio's ``SelectorEventLoop``). Each rule applies the same
operation to every side, letting each loop run until the operation's effects
have settled, and each side appends what user code observed to its ``trace``;
an invariant asserts the traces are equal. Observations are plain tuples of
names, counts and exception type names, so a failure prints as a readable diff.

Where a loop may legitimately differ (timing, how the kernel splits a stream),
the fuzzers normalise or leave out that part of the observation under a named
rule listed in :data:`RULES`, each pointing at DIFFERENCES.md.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from rose.testing import LOOP_FACTORIES

__all__ = ['LOOP_NAMES', 'RULES', 'Side', 'assert_same_traces', 'ends_as_sets', 'exc_name', 'rule_applies']

_T = TypeVar('_T')

LOOP_NAMES = tuple(LOOP_FACTORIES)  # ('rose', 'asyncio'): rose first, asyncio the reference

#: The normalisation rules: name -> what it leaves out and why (DIFFERENCES.md has the detail).
RULES = {
    'STREAM_CHUNKING': 'how a byte stream is split into data_received calls depends on the '
                       'kernel and timing, not the loop: consecutive calls are merged',
    'FLOW_CONTROL_TIMING': 'whether pause_writing happens depends on how much the kernel took '
                           'while the peer does not read: each loop checks the protocol contract '
                           'itself, and the traces keep the state where it is determined',
    'PEER_GONE_ERRNO': 'a peer that closed or reset is seen as EPIPE or ECONNRESET depending '
                       'on which packet the kernel had when the loop wrote or read',
    'LOST_IN_FLIGHT': 'after abort() or a reset with data queued, how much of it the peer got '
                      'depends on the kernel: only that it is a prefix of what was written',
    'REUSED_NUMBER_REWATCH': 'add_reader/add_writer on a descriptor number reused since it was '
                             'watched: asyncio fails (ENOENT) or watches nothing; rose watches the '
                             'new file',
    'THREAD_WAKE_ORDER': 'threads woken by one call (Event.set, a release) run in the order '
                         'the OS picks: the operations one step ends are compared as a set',
    'THREAD_LATENCY': 'a thread not yet scheduled looks blocked: a difference is checked again '
                      'with the threads given more time',
    'END_ORDER': 'independent operations that complete in the same poll or timer pass (or in '
                 'one pass or two, depending on when the loop wakes) end in the kernel\'s or the '
                 'clock\'s order: consecutive task ends are compared as a set',
}


def rule_applies(name: str) -> str:
    """The name of a normalisation rule, checked to exist (so each use points at DIFFERENCES.md)."""
    if name not in RULES:
        raise KeyError(f'unknown normalisation rule {name!r}: add it to RULES and DIFFERENCES.md')
    return name


def exc_name(exc: BaseException | None) -> str | None:
    """What the traces keep of an exception: its type's name (messages are worded per loop)."""
    return None if exc is None else type(exc).__name__


class Side:
    """One loop of the comparison, with its trace and its exception handler's calls."""

    def __init__(self, loop_name: str) -> None:
        self.name = loop_name
        self.loop = LOOP_FACTORIES[loop_name]()
        self.trace: list[tuple[Any, ...]] = []
        self.loop.set_exception_handler(self._record_handler_call)
        self._closers: list[Callable[[], object]] = []

    def _record_handler_call(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        self.trace.append(('exception_handler', exc_name(context.get('exception'))))

    def note(self, *event: Any) -> None:
        self.trace.append(event)

    def call_and_note(self, name: str, operation: Callable[..., object], *args: Any) -> None:
        """Call *operation* and note its result, or the type of what it raised, under *name*."""
        try:
            result = operation(*args)
        except Exception as exc:
            self.note(name, 'raised', exc_name(exc))
        else:
            self.note(name, result)

    def on_close(self, closer: Callable[[], object]) -> None:
        """Call *closer* when the side is closed (sockets, threads), last registered first."""
        self._closers.append(closer)

    def run(self, aw: Awaitable[_T], timeout: float = 10.0) -> _T:
        """Run *aw* on this side's loop, bounded by *timeout* seconds."""
        return self.loop.run_until_complete(asyncio.wait_for(aw, timeout))

    def listener(self) -> socket.socket:
        """A TCP listener on 127.0.0.1 and a free port, closed with the side."""
        sock = socket.create_server(('127.0.0.1', 0))
        self.on_close(sock.close)
        return sock

    def close(self) -> None:
        loop = self.loop
        try:
            if not loop.is_closed():
                # Let closing transports and cancelled tasks finish, bounded.
                loop.run_until_complete(_drain_tasks(loop))
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            for closer in reversed(self._closers):
                closer()
            self._closers.clear()
            loop.close()


async def _drain_tasks(loop: asyncio.AbstractEventLoop) -> None:
    current = asyncio.current_task()
    tasks = [t for t in asyncio.all_tasks(loop) if t is not current]
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=5)
    for _ in range(3):
        await asyncio.sleep(0)


def ends_as_sets(trace: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """*trace* with each run of consecutive ``('ended', ...)`` events sorted (rule END_ORDER)."""
    rule_applies('END_ORDER')
    result: list[tuple[Any, ...]] = []
    run: list[tuple[Any, ...]] = []
    for event in trace:
        if event[0] == 'ended':
            run.append(event)
            continue
        result.extend(sorted(run, key=repr))
        run = []
        result.append(event)
    return result + sorted(run, key=repr)


def assert_same_traces(sides: list[Side],
                       normalise: Callable[[list[tuple[Any, ...]]], list[tuple[Any, ...]]] = list,
                       ) -> None:
    """Fail, showing where they part, unless every side observed what asyncio's loop did."""
    reference = sides[-1]  # asyncio's loop
    expected = normalise(reference.trace)
    for side in sides[:-1]:
        observed = normalise(side.trace)
        if observed != expected:
            at = next((i for i, (a, b) in enumerate(zip(observed, expected)) if a != b),
                      min(len(observed), len(expected)))
            lo = max(0, at - 6)
            raise AssertionError(
                f'{side.name} and {reference.name} part at event {at}:\n'
                f'  {side.name}: {observed[lo:at + 3]}\n'
                f'  {reference.name}: {expected[lo:at + 3]}')
