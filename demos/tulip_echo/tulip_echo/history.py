"""The 2013 echo server, as a listing for the history slide: NOT RUNNABLE TODAY.

In 2013 both talks ended with "the usual echo server, using rose and
Tulip". :data:`TULIP_2013` is that program written against the Tulip API of
the time (Python 3.3, before asyncio entered the standard library in 3.4):
generator coroutines with ``yield from``, ``start_serving`` (which returned
the listening sockets), ``tulip.async`` to schedule a coroutine, and rose
installed through an event loop policy. It is kept as text, never imported
or run; :data:`WHY_NOT_RUNNABLE` lists what broke since, line by line, and
the runnable modern version is :mod:`tulip_echo.protocol` with
:mod:`tulip_echo.server` (``python -m tulip_echo server --loop rose``).
"""

from __future__ import annotations

__all__ = ["MODERN_EQUIVALENT", "TULIP_2013", "WHY_NOT_RUNNABLE"]

TULIP_2013 = '''\
# NOT RUNNABLE TODAY: the Tulip API of 2013 (Python 3.3), kept for history.
import signal

import rose
import tulip


class EchoProtocol(tulip.Protocol):

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)

    def eof_received(self):
        self.transport.close()


@tulip.coroutine
def start(loop):
    socks = yield from loop.start_serving(EchoProtocol, '127.0.0.1', 1234)
    print('Serving on', socks[0].getsockname())


if __name__ == '__main__':
    tulip.set_event_loop_policy(rose.EventLoopPolicy())
    loop = tulip.get_event_loop()
    loop.add_signal_handler(signal.SIGINT, loop.stop)
    tulip.async(start(loop))
    loop.run_forever()
'''

#: (text in the listing, why it no longer works, what replaced it)
WHY_NOT_RUNNABLE: tuple[tuple[str, str, str], ...] = (
    ("import tulip",
     "Tulip became the standard library's asyncio in Python 3.4",
     "import asyncio"),
    ("@tulip.coroutine",
     "generator-based coroutines (@asyncio.coroutine, yield from) were removed in 3.11",
     "async def and await"),
    ("loop.start_serving(",
     "renamed before 3.4; it returned a list of sockets",
     "await loop.create_server(...), which returns a Server"),
    ("tulip.async(",
     "async is a keyword since 3.7, so this line is a SyntaxError",
     "asyncio.create_task(...) inside a running loop"),
    ("tulip.set_event_loop_policy(rose.EventLoopPolicy())",
     "event loop policies are deprecated in 3.14 and go away in 3.16",
     "asyncio.Runner(loop_factory=rose.new_event_loop)"),
    ("loop.add_signal_handler(signal.SIGINT, loop.stop)",
     "stopping the loop abandons connected clients mid-echo",
     "stop accepting, give clients a bounded grace time, then close"),
)

MODERN_EQUIVALENT = "python -m tulip_echo server --loop rose --style protocol"
