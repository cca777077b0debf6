"""evergreen: cooperative multitasking and I/O on greenlet and pyuv, with asyncio on the same loop.

Write synchronous-looking code; while one task waits for I/O, the others run::

    import evergreen

    def fetch(n):
        evergreen.sleep(0.1)          # blocks this task only
        return n * n

    def main():
        tasks = [evergreen.spawn(fetch, n) for n in range(10)]
        return [t.result() for t in tasks]

    print(evergreen.run(main))

The API follows the standard library: tasks like ``threading.Thread``
(:mod:`evergreen.tasks`), ``concurrent.futures`` (:mod:`evergreen.futures`),
``threading``'s locks (:mod:`evergreen.locks`), ``queue``
(:mod:`evergreen.queue`); plus Stackless-style channels
(:mod:`evergreen.channel`), :class:`Timeout`, task-local storage
(:mod:`evergreen.local`), native libuv I/O (:mod:`evergreen.io`), cooperative
stdlib modules (:mod:`evergreen.lib`, :mod:`evergreen.patcher`) and
diagnostics (:mod:`evergreen.diagnostics`).

The loop is an asyncio loop (rose's, on libuv), so tasks and coroutines share
it: a task calls ``evergreen.wait_for(awaitable)``; a coroutine awaits a Task
or a Future. See :mod:`evergreen.bridge`.
"""

from .bridge import to_thread, wait_for
from .hub import TIMED_OUT, BlockingInLoopError, Waiter, get_loop
from .loop import EventLoop, HubMixin
from .runner import run
from .tasks import Task, TaskExit, current_task, joinall, sleep, spawn, spawn_later
from .timeout import Timeout

__all__ = [
    'EventLoop', 'HubMixin', 'get_loop', 'Waiter', 'TIMED_OUT', 'BlockingInLoopError',
    'Task', 'TaskExit', 'spawn', 'spawn_later', 'sleep', 'current_task', 'joinall', 'run',
    'wait_for', 'to_thread', 'Timeout',
]

__version__ = '0.1.0'
