"""Book-keeping shared by every echo server: who is connected, and telling the operator.

Nothing here knows about event loops. A server adds a connection when it is
accepted and removes it when it is gone; at shutdown it asks the registry to
close (or, past the grace time, abort) whatever is still connected. The
:class:`StatusReporter` turns changes into at most one status line per
interval, so that 10,000 clients arriving at once print a handful of lines,
not 10,000.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol

__all__ = ["Closable", "Connections", "StatusReporter"]


class Closable(Protocol):
    """What the registry needs of a connection: a polite close and a hard abort."""

    def close(self) -> None: ...

    def abort(self) -> None: ...


class Connections:
    """The live connections of one server, with counts for the status line.

    ``connected`` is how many are open now, ``peak`` the most open at once,
    ``served`` how many were ever accepted. ``on_change`` (if given) is called
    after every add and remove; ``on_empty`` callbacks run once when the count
    next drops to zero (or at once if it is zero already).
    """

    def __init__(self, on_change: Callable[[], Any] | None = None) -> None:
        self._live: set[Closable] = set()
        self._on_change = on_change
        self._on_empty: list[Callable[[], Any]] = []
        self.peak = 0
        self.served = 0

    @property
    def connected(self) -> int:
        return len(self._live)

    def __iter__(self) -> Iterator[Closable]:
        return iter(list(self._live))

    def add(self, connection: Closable) -> None:
        self._live.add(connection)
        self.served += 1
        self.peak = max(self.peak, len(self._live))
        if self._on_change is not None:
            self._on_change()

    def remove(self, connection: Closable) -> None:
        if connection not in self._live:
            return
        self._live.discard(connection)
        if self._on_change is not None:
            self._on_change()
        if not self._live:
            callbacks, self._on_empty = self._on_empty, []
            for callback in callbacks:
                callback()

    def call_when_empty(self, callback: Callable[[], Any]) -> None:
        """Run ``callback`` when no connection is left (now, if none is)."""
        if self._live:
            self._on_empty.append(callback)
        else:
            callback()

    def close_all(self) -> None:
        """Ask every connection to close once its pending output is flushed."""
        for connection in self:
            connection.close()

    def abort_all(self) -> None:
        """Drop every connection at once, discarding pending output."""
        for connection in self:
            connection.abort()

    def summary(self) -> str:
        """The end-of-run line: how many were served, and the most at once."""
        noun = "client" if self.served == 1 else "clients"
        return f"served {self.served} {noun}, at most {self.peak} at once"

    def status(self) -> str:
        noun = "client" if self.connected == 1 else "clients"
        return (f"{self.connected} {noun} connected "
                f"(peak {self.peak}, served {self.served})")


class StatusReporter:
    """Prints the registry's status when it changes, at most once per ``interval``.

    ``schedule(delay, callback)`` is the loop's timer (``loop.call_later`` on
    asyncio); ``write`` receives each line. Call :meth:`changed` from the
    registry's ``on_change``.
    """

    def __init__(self, connections: Connections, *,
                 schedule: Callable[[float, Callable[[], Any]], Any],
                 clock: Callable[[], float],
                 write: Callable[[str], Any] = print,
                 interval: float = 1.0) -> None:
        self._connections = connections
        self._schedule = schedule
        self._clock = clock
        self._write = write
        self._interval = interval
        self._last_line = ""
        self._last_time = float("-inf")
        self._pending = False

    def changed(self) -> None:
        if self._pending:
            return
        wait = self._last_time + self._interval - self._clock()
        if wait <= 0:
            self.report()
        else:
            self._pending = True
            self._schedule(wait, self._report_later)

    def _report_later(self) -> None:
        self._pending = False
        self.report()

    def report(self) -> None:
        """Print the status now, unless it is the same as the last line printed."""
        line = self._connections.status()
        self._last_time = self._clock()
        if line != self._last_line:
            self._last_line = line
            self._write(line)
