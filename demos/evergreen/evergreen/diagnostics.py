"""evergreen.diagnostics: find what holds the loop, see what every task waits for.

A task that computes for a long time, or calls something that blocks the
thread (an unpatched ``time.sleep``, a C library doing I/O), stops every other
task: nothing else runs until it gives the loop back. :class:`Watchdog`
finds it: a timer on the loop beats every ``threshold / 4`` seconds and a
watchdog thread checks the beat; when the loop has not beaten for
``threshold`` seconds it reports the task (or callback) running, with its
stack, while it still runs -- once per stall::

    with evergreen.diagnostics.Watchdog(0.2):
        evergreen.run(main)

or set ``EVERGREEN_WATCHDOG=0.2`` in the environment: ``evergreen.run()``
then watches its loop. Reports go to the ``evergreen.watchdog`` logger
(a warning), or to the ``report`` callable given.

``format_tasks()``/``dump_tasks()`` list the tasks of a loop with where each
is blocked, for a program that seems stuck.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import threading
import time
import traceback
from collections.abc import Callable
from types import FrameType
from typing import Any, TextIO

from .hub import HubCore, get_loop
from .tasks import MACHINERY_CODES, stack_from, task_running_in

__all__ = ['Watchdog', 'StallReport', 'format_tasks', 'dump_tasks']

logger = logging.getLogger('evergreen.watchdog')


@dataclasses.dataclass
class StallReport:
    """What the watchdog saw: who held the loop, for how long so far, doing what."""

    duration: float
    task: Any                 # the evergreen Task running, or None (a callback, a coroutine)
    stack: str                # the formatted stack of the loop's thread at that moment

    def __str__(self) -> str:
        if self.task is not None:
            who = f'task {self.task.name!r}'
        else:
            who = 'the loop itself (a callback or a coroutine)'
        return (f'{who} has held the event loop for {self.duration:.3f} s; it is at:\n'
                f'{self.stack}')


def _format_stack(frames: list[FrameType]) -> str:
    """Format *frames* (outermost first), leaving out the task machinery at the bottom."""
    while frames and frames[0].f_code in MACHINERY_CODES:
        frames = frames[1:]
    summary = traceback.StackSummary.extract((f, f.f_lineno) for f in frames)
    return ''.join(summary.format())




class Watchdog:
    """Report whatever holds *loop* (default: the current one) longer than *threshold* seconds."""

    def __init__(self, threshold: float = 0.5, *, loop: HubCore | None = None,
                 report: Callable[[StallReport], object] | None = None) -> None:
        if threshold <= 0:
            raise ValueError('threshold must be a positive number of seconds')
        self.threshold = float(threshold)
        self._loop = loop if loop is not None else get_loop()
        self._report = report if report is not None else self._log
        self._period = self.threshold / 4
        self._beat = time.monotonic()
        self._handle: Any = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._reported_beat: float | None = None
        self.reports: list[StallReport] = []

    @staticmethod
    def _log(report: StallReport) -> None:
        logger.warning('%s', report)

    def start(self) -> Watchdog:
        """Start watching (from the loop's thread)."""
        if self._thread is not None:
            raise RuntimeError('this watchdog is already started')
        self._beat = time.monotonic()
        self._handle = self._loop.call_soon(self._heartbeat)
        self._thread = threading.Thread(target=self._watch, name='evergreen-watchdog', daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop watching."""
        self._stopping.set()
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> Watchdog:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def _heartbeat(self) -> None:
        self._beat = time.monotonic()
        if not self._stopping.is_set() and not self._loop.is_closed():
            self._handle = self._loop.call_later(self._period, self._heartbeat)

    def _watch(self) -> None:
        loop = self._loop
        while not self._stopping.wait(self._period):
            thread_id = loop.owner_thread if loop.is_running() else None
            beat = self._beat
            stalled = time.monotonic() - beat
            if thread_id is None or stalled < self.threshold or self._reported_beat == beat:
                continue
            frame = sys._current_frames().get(thread_id)
            if frame is None or self._beat != beat:
                continue
            self._reported_beat = beat
            report = StallReport(duration=stalled, task=task_running_in(frame),
                                 stack=_format_stack(stack_from(frame)))
            del frame
            self.reports.append(report)
            try:
                self._report(report)
            except Exception:
                logger.exception('the watchdog report callback failed')


def format_tasks(loop: HubCore | None = None) -> str:
    """Every task alive on *loop* (default: the current one), with where it is blocked."""
    loop = loop if loop is not None else get_loop()
    lines = [f'{loop!r}:']
    for task in sorted(loop.tasks(), key=lambda t: t.ident or 0):
        lines.append(f'  {task!r}')
        stack = _format_stack(task.get_stack())
        lines.extend('    ' + line for line in stack.rstrip().splitlines())
    return '\n'.join(lines)


def dump_tasks(loop: HubCore | None = None, file: TextIO | None = None) -> None:
    """Print format_tasks() to *file* (default: standard error)."""
    print(format_tasks(loop), file=file if file is not None else sys.stderr)
