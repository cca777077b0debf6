"""tulip_echo: the echo server and client of the talks, on every loop, and their benchmark.

Both talks end with "the usual echo server, using rose and Tulip". This
package is that demo done right, in the three styles the talks compare:

- :mod:`tulip_echo.protocol`: transports and protocols (the layer an event
  loop implements), the server's protocol never touching the loop;
- :mod:`tulip_echo.streams`: asyncio streams with async/await, how one
  writes it today;
- :mod:`tulip_echo.green`: blocking-style code in evergreen tasks.

The two asyncio styles run on any loop, picked by name through a loop
factory (:mod:`tulip_echo.loops`: ``asyncio``, ``rose``, ``uvloop``), never by
an event loop policy. Every server handles clients concurrently, reports how
many are connected, honours half-close, echoes messages of any size intact
under backpressure, shuts down gracefully on SIGINT and SIGTERM
(:mod:`tulip_echo.server`), and holds 10,000 connections at once.

:mod:`tulip_echo.history` keeps the 2013 Tulip version as a listing (not
runnable today); :mod:`tulip_echo.bench` measures every server kind side by
side. The command line is ``python -m tulip_echo server|client|bench``
(:mod:`tulip_echo.cli`).
"""

from .client import EchoMismatch, connect, exchange
from .loops import LOOPS, LoopUnavailable, available_loops, loop_factory, run
from .server import EchoServer

__version__ = "0.1.0"

__all__ = ["LOOPS", "EchoMismatch", "EchoServer", "LoopUnavailable", "available_loops",
           "connect", "exchange", "loop_factory", "run"]
