"""evergreen's core against gevent's, in the same run: CPU time per operation, as ratios.

    python demos/evergreen/benchmarks/core.py [--rounds 3] [--quick]

Each row runs the same logic on evergreen and on gevent, each in a fresh
process (so neither pays for the other's state), rounds interleaved, and
reports the median CPU time (``time.process_time``: user + system of the
process, which a busy shared machine disturbs far less than wall time).
The ratio is gevent's time over evergreen's: above 1, evergreen is faster.
The memory rows: resident set growth per task parked in ``Event.wait``.
Two rows run a task body written in Python (``spawn_join_py``, ``memory_py``)
beside the same rows with a library callable as the body.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

ROWS = {
    # name: (description, operations in a full run)
    'spawn_join': ('spawn + join of 100,000 tasks', 100_000),
    'ping_pong': ('sleep(0) ping-pong between two tasks', 200_000),
    'channel': ('channel, 3 producers x 2 consumers', 60_000),
    'lock': ('contended lock, 10 tasks', 50_000),
    'queue': ('queue put/get, bounded (100), 1 x 1', 100_000),
    'timeouts': ('10,000 concurrent Timeouts that expire', 10_000),
    'memory': ('memory per sleeping task (10,000 tasks)', 10_000),
    # The same two with a task body written in Python, as real programs spawn. The rows
    # above spawn library callables (int, Event.wait): gevent's are compiled, so its
    # greenlets there run no Python frame and never map CPython 3.11+'s per-greenlet
    # frame stack; evergreen's task wrapper is Python and always does.
    'spawn_join_py': ('spawn + join, 100,000 Python-function tasks', 100_000),
    'memory_py': ('memory per sleeping Python-function task', 10_000),
}


# ----------------------------------------------------------------------
# The workloads: written once, against the few calls both libraries offer.


@dataclass(frozen=True)
class Library:
    """What a workload needs of a green-thread library, under one set of names."""

    spawn: Callable[..., Any]
    joinall: Callable[[list], Any]
    sleep: Callable[[float], None]
    channel: Callable[[], tuple[Callable[[Any], None], Callable[[], Any]]]  # (send, receive)
    lock: Callable[[], Any]
    queue: Callable[[int], Any]
    timeout: Callable[[float], Any]
    timeout_error: type[BaseException]
    event: Callable[[], Any]
    run: Callable[[Callable[[], float]], float]  # runs the callable in a task of the library


def _evergreen_library() -> Library:
    import evergreen
    from evergreen.channel import Channel
    from evergreen.locks import Event, Lock
    from evergreen.queue import Queue

    def channel():
        ch = Channel()
        return ch.send, ch.receive

    return Library(spawn=evergreen.spawn, joinall=evergreen.joinall, sleep=evergreen.sleep,
                   channel=channel, lock=Lock, queue=Queue, timeout=evergreen.Timeout,
                   timeout_error=TimeoutError, event=Event, run=evergreen.run)


def _gevent_library() -> Library:
    import gevent
    import gevent.event
    import gevent.lock
    import gevent.queue

    def channel():
        ch = gevent.queue.Channel()
        return ch.put, ch.get

    return Library(spawn=gevent.spawn, joinall=gevent.joinall, sleep=gevent.sleep,
                   channel=channel,
                   lock=lambda: gevent.lock.Semaphore(1),  # what threading.Lock becomes when patched
                   queue=gevent.queue.Queue, timeout=gevent.Timeout,
                   timeout_error=gevent.Timeout, event=gevent.event.Event,
                   run=lambda work: gevent.spawn(work).get())


LIBRARIES = {'evergreen': _evergreen_library, 'gevent': _gevent_library}


def _workload(lib: Library, row: str, n: int) -> Callable[[], float | None]:
    """The row's work on ``lib``: returns None, or for the memory row the bytes per task."""

    def spawn_join() -> None:
        lib.joinall([lib.spawn(int) for _ in range(n)])

    def spawn_join_py() -> None:
        def work() -> None:
            pass
        lib.joinall([lib.spawn(work) for _ in range(n)])

    def ping_pong() -> None:
        def player() -> None:
            for _ in range(n // 2):
                lib.sleep(0)
        lib.joinall([lib.spawn(player), lib.spawn(player)])

    def channel() -> None:
        send, receive = lib.channel()
        per_producer, per_consumer = n // 6 * 2, n // 6 * 3   # as many received as sent

        def produce() -> None:
            for i in range(per_producer):
                send(i)

        def consume() -> None:
            for _ in range(per_consumer):
                receive()
        lib.joinall([lib.spawn(produce) for _ in range(3)] + [lib.spawn(consume) for _ in range(2)])

    def lock() -> None:
        lk = lib.lock()

        def worker() -> None:
            for _ in range(n // 10):
                with lk:
                    lib.sleep(0)
        lib.joinall([lib.spawn(worker) for _ in range(10)])

    def queue() -> None:
        q = lib.queue(100)

        def produce() -> None:
            for i in range(n):
                q.put(i)

        def consume() -> None:
            for _ in range(n):
                q.get()
        lib.joinall([lib.spawn(produce), lib.spawn(consume)])

    def timeouts() -> None:
        def bounded() -> None:
            try:
                with lib.timeout(0.05):
                    lib.sleep(10)
            except lib.timeout_error:
                pass
        lib.joinall([lib.spawn(bounded) for _ in range(n)])

    def parked_memory(never: Any, body: Callable[..., Any], *args: Any) -> float:
        before = _rss()
        tasks = [lib.spawn(body, *args) for _ in range(n)]
        # Tasks start in the order they were spawned (both libraries): once the last
        # one has run, every task has started and waits. (A fixed sleep does not do:
        # gevent had started only about 4,000 of 10,000 tasks after sleep(0.05).)
        everyone_started = lib.event()
        lib.spawn(everyone_started.set)
        everyone_started.wait(60)
        grown = _rss() - before
        never.set()
        lib.joinall(tasks)
        return grown / n

    def memory() -> float:
        never = lib.event()
        return parked_memory(never, never.wait, 10)

    def memory_py() -> float:
        never = lib.event()

        def park() -> None:
            never.wait(10)
        return parked_memory(never, park)

    return locals()[row]


def _run_row(library: str, row: str, n: int) -> float:
    lib = LIBRARIES[library]()
    work = _workload(lib, row, n)
    return lib.run(lambda: _measure(work, row.startswith('memory')))


def _measure(work, is_memory: bool) -> float:
    if is_memory:
        return work()
    start = time.process_time()
    work()
    return time.process_time() - start


def _rss() -> int:
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * 4096


# ----------------------------------------------------------------------
# The driver.


def _run_worker(library: str, row: str, n: int) -> float:
    out = subprocess.run([sys.executable, __file__, '--worker', library, row, str(n)],
                         capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f'{library} {row} failed:\n{out.stderr}')
    return json.loads(out.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--quick', action='store_true', help='a tenth of the operations, one round')
    parser.add_argument('--rows', default=','.join(ROWS), help='comma-separated rows to run')
    parser.add_argument('--worker', nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        library, row, n = args.worker
        value = _run_row(library, row, int(n))
        print(json.dumps(value))
        return 0
    rows = args.rows.split(',')
    unknown = [row for row in rows if row not in ROWS]
    if unknown:
        parser.error(f"unknown row(s) {', '.join(unknown)}; the rows are {', '.join(ROWS)}")
    if args.rounds < 1:
        parser.error('--rounds must be at least 1')
    rounds = 1 if args.quick else args.rounds
    import gevent
    import greenlet
    print(f'evergreen vs gevent {gevent.__version__} (greenlet {greenlet.__version__}), '
          f'Python {sys.version.split()[0]}: median CPU time of {rounds} round(s), '
          'each library in its own process; ratio = gevent / evergreen (> 1: evergreen faster)')
    print(f'{"row":<44} {"evergreen":>12} {"gevent":>12} {"ratio":>7}')
    for row in rows:
        description, n = ROWS[row]
        if args.quick and row not in ('memory', 'memory_py', 'timeouts'):
            n //= 10
        results: dict[str, list[float]] = {'evergreen': [], 'gevent': []}
        for _ in range(rounds):
            for library in results:
                results[library].append(_run_worker(library, row, n))
        ours, theirs = (statistics.median(results[lib]) for lib in ('evergreen', 'gevent'))
        if row.startswith('memory'):
            print(f'{description:<44} {ours / 1024:>9.1f} KB {theirs / 1024:>9.1f} KB {theirs / ours:>7.2f}')
        else:
            print(f'{description:<44} {ours * 1e6 / n:>9.2f} µs {theirs * 1e6 / n:>9.2f} µs '
                  f'{theirs / ours:>7.2f}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
