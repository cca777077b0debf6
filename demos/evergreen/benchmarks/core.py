"""evergreen's core against gevent's, in the same run: CPU time per operation, as ratios.

    python demos/evergreen/benchmarks/core.py [--rounds 3] [--quick]

Each row runs the same logic on evergreen and on gevent, each in a fresh
process (so neither pays for the other's state), rounds interleaved, and
reports the median CPU time (``time.process_time``: user + system of the
process, which a busy shared machine disturbs far less than wall time).
The ratio is gevent's time over evergreen's: above 1, evergreen is faster.
The last row is memory: resident set growth per task parked in ``sleep``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

ROWS = {
    # name: (description, operations in a full run)
    'spawn_join': ('spawn + join of 100,000 tasks', 100_000),
    'ping_pong': ('sleep(0) ping-pong between two tasks', 200_000),
    'channel': ('channel, 3 producers x 2 consumers', 60_000),
    'lock': ('contended lock, 10 tasks', 50_000),
    'queue': ('queue put/get, bounded (100), 1 x 1', 100_000),
    'timeouts': ('10,000 concurrent Timeouts that expire', 10_000),
    'memory': ('memory per sleeping task (10,000 tasks)', 10_000),
}


# ----------------------------------------------------------------------
# The workloads: one function per library, same logic.


def _evergreen(row: str, n: int) -> float:
    import evergreen
    from evergreen.channel import Channel
    from evergreen.locks import Event, Lock
    from evergreen.queue import Queue

    def spawn_join() -> None:
        tasks = [evergreen.spawn(int) for _ in range(n)]
        evergreen.joinall(tasks)

    def ping_pong() -> None:
        def player() -> None:
            for _ in range(n // 2):
                evergreen.sleep(0)
        evergreen.joinall([evergreen.spawn(player), evergreen.spawn(player)])

    def channel() -> None:
        ch = Channel()
        per_producer, per_consumer = n // 6 * 2, n // 6 * 3   # as many received as sent

        def produce() -> None:
            for i in range(per_producer):
                ch.send(i)

        def consume() -> None:
            for _ in range(per_consumer):
                ch.receive()
        evergreen.joinall([evergreen.spawn(produce) for _ in range(3)]
                          + [evergreen.spawn(consume) for _ in range(2)])

    def lock() -> None:
        lk = Lock()

        def worker() -> None:
            for _ in range(n // 10):
                with lk:
                    evergreen.sleep(0)
        evergreen.joinall([evergreen.spawn(worker) for _ in range(10)])

    def queue() -> None:
        q = Queue(100)

        def produce() -> None:
            for i in range(n):
                q.put(i)

        def consume() -> None:
            for _ in range(n):
                q.get()
        evergreen.joinall([evergreen.spawn(produce), evergreen.spawn(consume)])

    def timeouts() -> None:
        def bounded() -> None:
            try:
                with evergreen.Timeout(0.05):
                    evergreen.sleep(10)
            except TimeoutError:
                pass
        evergreen.joinall([evergreen.spawn(bounded) for _ in range(n)])

    def memory() -> float:
        never = Event()
        before = _rss()
        tasks = [evergreen.spawn(never.wait, 10) for _ in range(n)]
        evergreen.sleep(0.05)
        grown = _rss() - before
        never.set()
        evergreen.joinall(tasks)
        return grown / n

    work = locals()[row]
    return evergreen.run(_measure, work, row == 'memory')


def _gevent(row: str, n: int) -> float:
    import gevent
    import gevent.event
    import gevent.lock
    import gevent.queue

    def spawn_join() -> None:
        tasks = [gevent.spawn(int) for _ in range(n)]
        gevent.joinall(tasks)

    def ping_pong() -> None:
        def player() -> None:
            for _ in range(n // 2):
                gevent.sleep(0)
        gevent.joinall([gevent.spawn(player), gevent.spawn(player)])

    def channel() -> None:
        ch = gevent.queue.Channel()
        per_producer, per_consumer = n // 6 * 2, n // 6 * 3   # as many received as sent

        def produce() -> None:
            for i in range(per_producer):
                ch.put(i)

        def consume() -> None:
            for _ in range(per_consumer):
                ch.get()
        gevent.joinall([gevent.spawn(produce) for _ in range(3)]
                       + [gevent.spawn(consume) for _ in range(2)])

    def lock() -> None:
        lk = gevent.lock.Semaphore(1)   # what threading.Lock becomes under gevent's patching

        def worker() -> None:
            for _ in range(n // 10):
                with lk:
                    gevent.sleep(0)
        gevent.joinall([gevent.spawn(worker) for _ in range(10)])

    def queue() -> None:
        q = gevent.queue.Queue(100)

        def produce() -> None:
            for i in range(n):
                q.put(i)

        def consume() -> None:
            for _ in range(n):
                q.get()
        gevent.joinall([gevent.spawn(produce), gevent.spawn(consume)])

    def timeouts() -> None:
        def bounded() -> None:
            try:
                with gevent.Timeout(0.05):
                    gevent.sleep(10)
            except gevent.Timeout:
                pass
        gevent.joinall([gevent.spawn(bounded) for _ in range(n)])

    def memory() -> float:
        never = gevent.event.Event()
        before = _rss()
        tasks = [gevent.spawn(never.wait, 10) for _ in range(n)]
        gevent.sleep(0.05)
        grown = _rss() - before
        never.set()
        gevent.joinall(tasks)
        return grown / n

    work = locals()[row]
    return gevent.spawn(_measure, work, row == 'memory').get()


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
        value = (_evergreen if library == 'evergreen' else _gevent)(row, int(n))
        print(json.dumps(value))
        return 0
    rounds = 1 if args.quick else args.rounds
    import gevent
    import greenlet
    print(f'evergreen vs gevent {gevent.__version__} (greenlet {greenlet.__version__}), '
          f'Python {sys.version.split()[0]}: median CPU time of {rounds} round(s), '
          'each library in its own process; ratio = gevent / evergreen (> 1: evergreen faster)')
    print(f'{"row":<44} {"evergreen":>12} {"gevent":>12} {"ratio":>7}')
    for row in args.rows.split(','):
        description, n = ROWS[row]
        if args.quick and row not in ('memory', 'timeouts'):
            n //= 10
        results: dict[str, list[float]] = {'evergreen': [], 'gevent': []}
        for _ in range(rounds):
            for library in results:
                results[library].append(_run_worker(library, row, n))
        ours, theirs = (statistics.median(results[lib]) for lib in ('evergreen', 'gevent'))
        if row == 'memory':
            print(f'{description:<44} {ours / 1024:>9.1f} KB {theirs / 1024:>9.1f} KB {theirs / ours:>7.2f}')
        else:
            print(f'{description:<44} {ours * 1e6 / n:>9.2f} µs {theirs * 1e6 / n:>9.2f} µs '
                  f'{theirs / ours:>7.2f}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
