"""rose: an asyncio event loop whose I/O is done by libuv, through pyuv.

For Python 3.11 to 3.15 (Linux). Use it wherever asyncio's loop is used::

    rose.run(main())
    asyncio.Runner(loop_factory=rose.new_event_loop)           # Python 3.11+
    asyncio.run(main(), loop_factory=rose.new_event_loop)      # Python 3.12+
    asyncio.set_event_loop_policy(rose.EventLoopPolicy())     # only while asyncio has policies

Design
------
rose is ``asyncio.base_events.BaseEventLoop`` with a new engine.

Inherited from asyncio, unchanged: futures and tasks, the ready queue and the
timer heap, executors, getaddrinfo/getnameinfo, create_connection (happy
eyeballs) and create_server's socket setup, TLS (``asyncio.sslproto`` on top
of rose's transports, start_tls), the sendfile fallback, subprocess protocol
logic (``base_subprocess``), shutdown_asyncgens/shutdown_default_executor,
exception handlers and debug mode.

Replaced (``rose.loop``): one iteration is ``uv_run()`` where asyncio calls
``select()``, in asyncio's order -- callbacks ready before the poll, then the
poll's I/O callbacks, then due timers; with nothing ready, libuv polls again
without returning to Python until a callback makes work ready, which stops
it (``uv_stop()``). libuv wakes for the earliest timer
through one unref'd ``pyuv.Timer`` (rounded up to libuv's millisecond, due
timers chosen by ``time.monotonic()``, so none runs early), for other threads
through a ``pyuv.Async``, and for signals through ``signal.set_wakeup_fd`` on a
socket it watches, so Ctrl+C interrupts even a loop waiting inside libuv.
``add_reader``/``add_writer`` share one ``pyuv.Poll`` per descriptor.

Native transports (``rose.streams``, ``rose.pipes``, ``rose.datagram``,
``rose.subprocesses``, ``rose.connections``): TCP and Unix sockets on
``pyuv.TCP``/``pyuv.Pipe`` (servers accept with ``uv_listen``), pipes on
``pyuv.Pipe``, UDP on ``pyuv.UDP``, children spawned by ``pyuv.Process``. They
subclass asyncio's transport classes and keep their whole contract; what
they share (closing, fatal errors, the protocol's context) is in
``rose.transports``.

The hot path: libuv's read callback calls ``protocol.data_received`` directly
when nothing else was ready before the poll (else it queues behind what was,
keeping asyncio's order), and ``transport.write`` first sends at once (a
socket's ``send()``), queueing in libuv only what the kernel did not take.

Contexts: protocols run in the ``contextvars`` context asyncio hands the loop
from Python 3.15 on (a server's, copied per connection, or the connecting
task's), and before 3.15 in the copies asyncio's selector loop makes; the
context is entered where libuv calls into Python (see ``rose.streams``).

Versions: the asyncio private names rose relies on, and what differs between
Pythons (found by feature detection: the policy helpers, sendfile's file
position, ``Server._attach``'s argument, ...), are in one module,
``rose.compat``, whose test checks each name on the running Python; policies,
deprecated from 3.14, are touched only by ``rose.EventLoopPolicy``, made on
first use.

Conformance: CPython's own ``test.test_asyncio`` is the oracle
(``make conformance``); the few white-box tests it cannot apply to a
non-selector loop are listed, with reasons, in ``conformance/whitebox.txt``; anyio's and
uvloop's own suites run on asyncio's loop and on rose, and rose passes what
asyncio's loop passes (``conformance/peers.py``).

For libraries built on rose: ``loop.uv_loop`` is the ``pyuv.Loop`` below, to
put their own pyuv handles on; subclasses may override the hooks listed in
``rose.loop``.
"""

from typing import Any

from . import runner as _runner
from .loop import EventLoop
from .runner import new_event_loop, run

# EventLoopPolicy is not listed: it is made on first use, and only where
# asyncio still has policies (deprecated from Python 3.14, which warns).
__all__ = ['EventLoop', 'new_event_loop', 'run']


def __getattr__(name: str) -> Any:
    if name == 'EventLoopPolicy':
        return _runner.event_loop_policy_class(stacklevel=2)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


__version__ = '0.1.0'
