"""Timeout: bound the time a block of blocking calls may take.

::

    with evergreen.Timeout(5):
        data = conn.read(1024)      # interrupted if the block is still here after 5 s
    # ...or TimeoutError is raised at the end of the block

When the time is up, :class:`Expired` is raised inside the block at whatever
blocking call the task is waiting in; it derives from BaseException (so a
generic ``except Exception`` in the block does not swallow it) and the
``with`` statement turns it into the standard ``TimeoutError``, as
``asyncio.timeout()`` does. Nested timeouts each convert only their own.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from greenlet import getcurrent

from .hub import HubCore, current_owner, get_loop

__all__ = ['Timeout', 'Expired']


class Expired(BaseException):
    """Raised inside a ``with Timeout(...)`` block when its time is up."""

    def __init__(self, timeout: Timeout) -> None:
        super().__init__(f'{timeout.seconds} seconds elapsed')
        self.timeout = timeout


class Timeout:
    """``with Timeout(seconds):`` -- interrupt the block after *seconds* (None: never).

    ``expired`` tells afterwards whether the time ran out. The object may be
    reused for another ``with`` once the previous one has ended.
    """

    def __init__(self, seconds: float | None) -> None:
        if seconds is not None:
            if isinstance(seconds, (str, bytes)):
                raise TypeError(f'seconds must be a number or None, not {type(seconds).__name__}')
            seconds = float(seconds)
            if seconds != seconds:
                raise ValueError('seconds must not be NaN')
        self.seconds = seconds
        self.expired = False
        self._loop: HubCore | None = None
        self._greenlet: Any = None
        self._owner: Any = None
        self._handle: Any = None
        self._error: Expired | None = None

    def __enter__(self) -> Timeout:
        if self._greenlet is not None:
            raise RuntimeError('this Timeout is already in use')
        current = getcurrent()
        try:
            # get_loop()'s first case, inlined: a task's greenlet knows its loop.
            loop = current.evergreen_loop
        except AttributeError:
            loop = get_loop()
        if current is loop.hub:
            raise RuntimeError('Timeout cannot be used in the event loop itself '
                               '(a callback or a coroutine): use asyncio.timeout() there')
        self._loop = loop
        self._greenlet = current
        self._owner = current_owner()
        self.expired = False
        self._error = None
        if self.seconds is not None:
            self._handle = loop.call_later_hub(max(self.seconds, 0.0), self._expire)
        return self

    def _expire(self) -> None:
        self._handle = None
        g = self._greenlet
        if g is None or g.dead or (getattr(g, 'task', None) or g) is not self._owner:
            # (A block left without __exit__, by a task that has ended: its greenlet
            # may run another task now.)
            return
        self.expired = True
        self._error = Expired(self)
        self._loop.interrupt(g, self._error)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> bool | None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._greenlet = self._owner = None
        error, self._error = self._error, None
        if exc is not None and exc is error:
            raise TimeoutError(f'timed out after {self.seconds} seconds') from exc
        return None

    def cancel(self) -> None:
        """Stop the clock: the block may take as long as it needs."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def __repr__(self) -> str:
        state = 'expired' if self.expired else ('active' if self._greenlet is not None else 'inactive')
        return f'<evergreen.Timeout seconds={self.seconds} {state}>'
