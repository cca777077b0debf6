"""rose: an asyncio event loop whose I/O is done by libuv, through pyuv.

Use it wherever asyncio's loop is used::

    rose.run(main())
    asyncio.Runner(loop_factory=rose.new_event_loop)           # 3.11+
    asyncio.run(main(), loop_factory=rose.new_event_loop)      # 3.12+

Design
------
rose inherits from ``asyncio.base_events.BaseEventLoop`` everything that does
not depend on how a loop waits, and replaces the engine (``rose.loop``):

* an iteration is ``uv_run(ONCE)`` where asyncio calls ``select()``, then
  asyncio's step: due timers join the ready queue, the ready callbacks run;
* timers stay in asyncio's heap; one unref'd ``pyuv.Timer`` wakes libuv for
  the earliest, rounded up to libuv's millisecond and re-checked against
  ``time.monotonic()``, so a timer never fires early;
* ``call_soon_threadsafe`` wakes libuv with a ``pyuv.Async``; add_reader and
  add_writer share one ``pyuv.Poll`` per descriptor; signals arrive through
  ``signal.set_wakeup_fd`` on a socket libuv watches, so Ctrl+C raises
  KeyboardInterrupt even while libuv waits.

Other libraries may put their own pyuv handles on ``loop.uv_loop``.
"""

from .loop import EventLoop
from .runner import EventLoopPolicy, new_event_loop, run

__all__ = ['EventLoop', 'EventLoopPolicy', 'new_event_loop', 'run']

__version__ = '0.1.0'
