"""evergreen.channel: Stackless-style channels, a rendezvous between tasks.

A :class:`Channel` has no buffer: ``send(value)`` blocks until a receiver has
taken the value, ``receive()`` blocks until a sender offers one. Whichever side
arrives second goes on running; the side that was waiting is resumed through
the loop. ``balance`` tells who waits: positive, that many senders; negative,
that many receivers.

Both sides are served oldest first, and receivers take turns: a receiver that
comes back for more while another has been handed a value and not yet run
lines up behind it instead of taking a waiting sender's value at once, so
several consumers share what several producers send evenly. (A lone receiver
keeps taking from waiting senders without waiting.)

``send_exception(exc)`` makes the receiver raise *exc* instead of returning a
value. ``close()`` refuses further sends; once the senders already waiting have
been served, the channel is closed: ``receive()`` raises :class:`ChannelClosed`
(a ValueError, as Stackless raises) and iteration (``for x in channel``) ends.
"""

from __future__ import annotations

import collections
from collections.abc import Iterator
from typing import Any

from .hub import Waiter, remove_identical

__all__ = ['Channel', 'ChannelClosed']


class ChannelClosed(ValueError):
    """send() on a closing channel, or receive() on a closed one."""


class _Raise:
    """What send_exception() hands over in place of a value: the receiver raises it."""

    __slots__ = ('exc',)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


# What a receiver's slot holds before a sender fills it, and once the channel has closed.
_EMPTY = object()
_CLOSED = object()


class Channel:
    """A synchronous channel between tasks (see the module's documentation)."""

    def __init__(self) -> None:
        # Waiting senders, as (waiter, value) offers; waiting receivers, as [waiter, value]
        # slots (value _EMPTY until a sender fills it). A value sent with send_exception()
        # travels as a _Raise. Tuples and lists, not objects of a class: one is made per
        # value, and a class's __init__ costs a Python call.
        self._senders: collections.deque[tuple[Waiter, Any]] = collections.deque()
        self._receivers: collections.deque[list] = collections.deque()
        # Values whose receiver was interrupted before it could take them.
        self._orphans: collections.deque[Any] = collections.deque()
        # Receivers handed a value (woken) that have not run yet.
        self._in_transit = 0
        self._closing = False

    @property
    def balance(self) -> int:
        """Senders waiting (positive) or receivers waiting (negative)."""
        return len(self._senders) + len(self._orphans) - len(self._receivers)

    @property
    def closing(self) -> bool:
        """True after close(): no more sends are accepted."""
        return self._closing

    @property
    def closed(self) -> bool:
        """True when closing and no value is left to receive."""
        return self._closing and not self._senders and not self._orphans

    def send(self, value: Any) -> None:
        """Hand *value* to a receiver, waiting for one if none waits."""
        if self._closing:
            raise ChannelClosed('send on a closed channel')
        receivers = self._receivers
        if receivers:
            # _fill(), inlined: the hand-over without waiting.
            slot = receivers.popleft()
            slot[1] = value
            self._in_transit += 1
            slot[0].wake()
            return
        waiter = Waiter()
        offer = (waiter, value)
        self._senders.append(offer)
        try:
            waiter.wait()
        finally:
            if not waiter.notified:
                remove_identical(self._senders, offer)
                self._maybe_closed()

    def send_exception(self, exc: BaseException | type[BaseException], *args: Any) -> None:
        """Make a receiver raise *exc* (an instance, or a class called with *args*)."""
        if isinstance(exc, type):
            exc = exc(*args)
        elif args:
            raise TypeError('arguments are only accepted with an exception class')
        if not isinstance(exc, BaseException):
            raise TypeError(f'send_exception() takes an exception, not {type(exc).__name__}')
        self.send(_Raise(exc))

    def receive(self) -> Any:
        """Take a value from a sender, waiting for one if none waits; ChannelClosed once closed."""
        if self._orphans:
            return _unwrap(self._orphans.popleft())
        senders = self._senders
        if senders and not self._in_transit:
            waiter, value = senders.popleft()
            waiter.wake()
            if self._closing:
                self._maybe_closed()
            if value.__class__ is _Raise:
                raise value.exc
            return value
        if self._closing and not senders:
            raise ChannelClosed('receive on a closed channel')
        waiter = Waiter()
        slot = [waiter, _EMPTY]
        receivers = self._receivers
        receivers.append(slot)
        # Receivers handed a value have not run yet: this one lines up behind
        # them, and takes the oldest waiting sender's value in its turn.
        # (_match(), inlined.)
        while senders and receivers:
            sender, value = senders.popleft()
            other = receivers.popleft()
            other[1] = value
            self._in_transit += 1
            other[0].wake()
            sender.wake()
        if self._closing:
            self._maybe_closed()
        try:
            waiter.wait()
        except BaseException:
            value = slot[1]
            if value is not _EMPTY and value is not _CLOSED:
                self._in_transit -= 1
                # A sender already went on believing the value was received:
                # keep it for the next receiver rather than lose it.
                self._pass_on(value)
            elif not waiter.notified:
                remove_identical(self._receivers, slot)
            raise
        value = slot[1]
        if value is _CLOSED:
            raise ChannelClosed('receive on a closed channel')
        self._in_transit -= 1
        if value.__class__ is _Raise:
            raise value.exc
        return value

    def _fill(self, slot: list, value: Any) -> None:
        slot[1] = value
        self._in_transit += 1
        slot[0].wake()

    def _pass_on(self, value: Any) -> None:
        if self._receivers:
            self._fill(self._receivers.popleft(), value)
        else:
            self._orphans.append(value)

    def _maybe_closed(self) -> None:
        if self.closed:
            receivers, self._receivers = self._receivers, collections.deque()
            for slot in receivers:
                slot[1] = _CLOSED
                slot[0].wake()

    def close(self) -> None:
        """Refuse further sends; receivers get ChannelClosed once nothing is left."""
        self._closing = True
        self._maybe_closed()

    def open(self) -> None:
        """Accept sends again after close()."""
        self._closing = False

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        try:
            return self.receive()
        except ChannelClosed:
            raise StopIteration from None

    def __repr__(self) -> str:
        state = 'closed' if self.closed else ('closing' if self._closing else 'open')
        return f'<evergreen.channel.Channel {state} balance={self.balance}>'


def _unwrap(value: Any) -> Any:
    if value.__class__ is _Raise:
        raise value.exc
    return value

