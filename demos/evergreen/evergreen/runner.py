"""``evergreen.run()``: the top of evergreen, as ``asyncio.run`` is of asyncio.

It makes a fresh :class:`evergreen.EventLoop`, runs a main task on it until
that task and every task it spawned (daemons excepted) have ended, handles
Ctrl+C, optionally starts a watchdog, then cleans up as ``asyncio.run()``
does (pending asyncio tasks cancelled, async generators and the default
executor shut down) and closes the loop.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections.abc import Callable
from typing import Any

from .diagnostics import Watchdog
from .hub import thread_state
from .loop import EventLoop, HubMixin
from .tasks import Task, current_task, kill_all

__all__ = ['run']


def _cancel_asyncio_tasks(loop: HubMixin) -> None:
    """Cancel the asyncio tasks left on *loop* and wait for them, as asyncio.run() does."""
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    if not pending:
        return
    for t in pending:
        t.cancel()
    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    for t in pending:
        if not t.cancelled() and t.exception() is not None:
            loop.call_exception_handler({
                'message': 'unhandled exception during evergreen.run() shutdown',
                'exception': t.exception(),
                'task': t,
            })


def run(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run ``fn(*args, **kwargs)`` as the main task of a fresh loop; return its result.

    The loop runs until the main task and every task it spawned (directly or
    not) have ended -- daemon tasks excepted: they are killed at the end, as
    are asyncio tasks still pending (as ``asyncio.run()`` does). The main
    task's exception is raised here. Ctrl+C raises KeyboardInterrupt in the
    main task where it blocks; if it is not caught there, the other tasks are
    killed and ``run()`` raises it. *fn* may be an ``async def`` function.
    With ``EVERGREEN_WATCHDOG=seconds`` in the environment, a
    :class:`evergreen.diagnostics.Watchdog` reports tasks that hold the loop.
    """
    if asyncio._get_running_loop() is not None:
        raise RuntimeError('evergreen.run() cannot be called from a running event loop')
    if current_task() is not None:
        raise RuntimeError('evergreen.run() cannot be called from a task; use spawn()')
    previous = thread_state.loop
    loop = EventLoop()
    thread_state.loop = loop
    main = Task(target=fn, args=args, kwargs=kwargs, name='MainTask', loop=loop)
    main.set_main()
    sigint_handled = False
    watchdog = None
    try:
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            def on_sigint() -> None:
                # One Ctrl+C goes to the main task; the next one to Python's handler.
                loop.remove_signal_handler(signal.SIGINT)
                if main.is_alive():
                    main.kill(KeyboardInterrupt(), block=False)
                else:
                    loop.propagate(KeyboardInterrupt())
            try:
                loop.add_signal_handler(signal.SIGINT, on_sigint)
                sigint_handled = True
            except (RuntimeError, ValueError, NotImplementedError):
                pass
        watchdog = _watchdog_from_environment(loop)
        main.start()
        try:
            loop.run()
        except BaseException:
            kill_all(loop, timeout=5.0)
            raise
        kill_all(loop, timeout=5.0)
        _cancel_asyncio_tasks(loop)
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
        return main.result(timeout=0)
    finally:
        if watchdog is not None:
            watchdog.stop()
        if sigint_handled and not loop.is_closed():
            loop.remove_signal_handler(signal.SIGINT)
        loop.close()
        thread_state.loop = previous


def _watchdog_from_environment(loop: HubMixin) -> Any:
    """A started Watchdog if EVERGREEN_WATCHDOG holds a threshold in seconds."""
    setting = os.environ.get('EVERGREEN_WATCHDOG')
    if not setting:
        return None
    try:
        threshold = float(setting)
    except ValueError:
        raise ValueError(f'EVERGREEN_WATCHDOG must be a number of seconds, not {setting!r}') from None
    return Watchdog(threshold, loop=loop).start()

