"""Fixtures for evergreen's tests.

Every behaviour that needs only the standard loop API is run against two
loops: evergreen's own (rose, on libuv) and asyncio's selector loop with
evergreen's hub mixed in. A test fails if the loop's exception handler was
called and the test did not take the report (``loop.reports``).
"""

from __future__ import annotations

import asyncio
import gc
import os

import pytest

import evergreen
from evergreen.hub import thread_state

# The process's open descriptors: /proc on Linux, /dev/fd on macOS and the BSDs.
FD_DIR = '/proc/self/fd' if os.path.isdir('/proc/self/fd') else '/dev/fd'


class SelectorHubLoop(evergreen.HubMixin, asyncio.SelectorEventLoop):
    """asyncio's selector loop run by evergreen's hub (no native I/O)."""


LOOP_FACTORIES = {
    'rose': evergreen.EventLoop,
    'selector': SelectorHubLoop,
}


def _open_fds() -> set[int]:
    return {int(name) for name in os.listdir(FD_DIR)}


def _make_loop(factory):
    loop = factory()
    loop.reports = []
    loop.set_exception_handler(lambda lp, context: lp.reports.append(context))
    return loop


def _close_loop(loop, previous) -> None:
    try:
        if not loop.is_closed():
            loop.close()
    finally:
        thread_state.loop = previous
    gc.collect()  # tasks that failed unobserved report when collected
    reports = loop.reports
    if reports:
        details = '\n'.join(f"{c.get('message')}: {c.get('exception')!r}" for c in reports)
        pytest.fail(f'the loop reported unexpected errors:\n{details}')


@pytest.fixture(params=list(LOOP_FACTORIES))
def loop(request):
    """A fresh evergreen loop (rose, then selector), current for the test's thread."""
    previous = thread_state.loop
    loop = _make_loop(LOOP_FACTORIES[request.param])
    thread_state.loop = loop
    yield loop
    _close_loop(loop, previous)


@pytest.fixture
def uv_loop():
    """A fresh evergreen loop on rose (for native I/O), current for the test's thread."""
    previous = thread_state.loop
    loop = _make_loop(evergreen.EventLoop)
    thread_state.loop = loop
    yield loop
    _close_loop(loop, previous)


def _main_task_runner(loop):
    def run_main(fn, *args, **kwargs):
        task = evergreen.Task(target=fn, args=args, kwargs=kwargs, name='TestMain', loop=loop)
        task.set_main()
        task.start()
        loop.run()
        return task.result(timeout=0)
    return run_main


@pytest.fixture
def run(loop):
    """``run(fn, *args)``: run fn as the main task of the test's loop; return its result."""
    return _main_task_runner(loop)


@pytest.fixture
def uv_run(uv_loop):
    """Like ``run``, on the rose loop."""
    return _main_task_runner(uv_loop)


@pytest.fixture
def no_fd_leak(uv_loop):
    """Fail if the test leaves file descriptors open (the loop's own excepted).

    The loop is warmed up first (its wake-up socket pair, libuv's reserve
    descriptor for EMFILE), so what is counted is what the test opened.
    """
    from evergreen import io
    io.serve_tcp(lambda conn: None).close()
    evergreen.sleep(0.001)
    gc.collect()
    before = _open_fds()
    yield
    if not uv_loop.is_closed():
        evergreen.sleep(0.01)   # libuv finishes closing handles on the next iteration
    gc.collect()
    leaked = _open_fds() - before
    assert not leaked, 'leaked file descriptors: ' + ', '.join(
        f'{fd} -> {os.path.realpath(f"{FD_DIR}/{fd}")}' for fd in sorted(leaked))
