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

from .hub import Waiter

__all__ = ['Channel', 'ChannelClosed']


class ChannelClosed(ValueError):
    """send() on a closing channel, or receive() on a closed one."""


class _Offer:
    """A value (or exception) in transit, and the waiter on the other side."""

    __slots__ = ('waiter', 'value', 'exc', 'filled')

    def __init__(self, waiter: Waiter | None, value: Any = None,
                 exc: BaseException | None = None, filled: bool = False) -> None:
        self.waiter, self.value, self.exc, self.filled = waiter, value, exc, filled

    def deliver(self) -> Any:
        if self.exc is not None:
            exc, self.exc = self.exc, None
            raise exc
        return self.value


class Channel:
    """A synchronous channel between tasks (see the module's documentation)."""

    def __init__(self) -> None:
        # Waiting senders (with their offers) and waiting receivers (with empty slots).
        self._senders: collections.deque[_Offer] = collections.deque()
        self._receivers: collections.deque[_Offer] = collections.deque()
        # Offers whose receiver was interrupted before it could take them.
        self._orphans: collections.deque[_Offer] = collections.deque()
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
        self._send(_Offer(None, value=value, filled=True))

    def send_exception(self, exc: BaseException | type[BaseException], *args: Any) -> None:
        """Make a receiver raise *exc* (an instance, or a class called with *args*)."""
        if isinstance(exc, type):
            exc = exc(*args)
        elif args:
            raise TypeError('arguments are only accepted with an exception class')
        if not isinstance(exc, BaseException):
            raise TypeError(f'send_exception() takes an exception, not {type(exc).__name__}')
        self._send(_Offer(None, exc=exc, filled=True))

    def _send(self, offer: _Offer) -> None:
        if self._closing:
            raise ChannelClosed('send on a closed channel')
        if self._receivers:
            self._fill(self._receivers.popleft(), offer.value, offer.exc)
            return
        waiter = Waiter()
        offer.waiter = waiter
        self._senders.append(offer)
        try:
            waiter.wait()
        finally:
            if not waiter.notified:
                self._senders.remove(offer)
                self._maybe_closed()

    def receive(self) -> Any:
        """Take a value from a sender, waiting for one if none waits; ChannelClosed once closed."""
        if self._orphans:
            return self._orphans.popleft().deliver()
        if self._senders and not self._in_transit:
            offer = self._senders.popleft()
            offer.waiter.wake()
            self._maybe_closed()
            return offer.deliver()
        if self._closing and not self._senders:
            raise ChannelClosed('receive on a closed channel')
        slot = _Offer(Waiter())
        self._receivers.append(slot)
        # Receivers handed a value have not run yet: this one lines up behind
        # them, and takes the oldest waiting sender's value in its turn.
        self._match()
        try:
            slot.waiter.wait()
        except BaseException:
            if slot.filled:
                self._in_transit -= 1
                # A sender already went on believing the value was received:
                # keep it for the next receiver rather than lose it.
                self._pass_on(slot)
            elif not slot.waiter.notified:
                self._receivers.remove(slot)
            raise
        if slot.filled:
            self._in_transit -= 1
        if slot.exc is _CLOSED_ERROR:
            raise ChannelClosed('receive on a closed channel')
        return slot.deliver()

    def _match(self) -> None:
        """Hand the oldest waiting senders' values to the oldest waiting receivers."""
        while self._senders and self._receivers:
            offer = self._senders.popleft()
            self._fill(self._receivers.popleft(), offer.value, offer.exc)
            offer.waiter.wake()
        self._maybe_closed()

    def _fill(self, slot: _Offer, value: Any, exc: BaseException | None) -> None:
        slot.value, slot.exc, slot.filled = value, exc, True
        self._in_transit += 1
        slot.waiter.wake()

    def _pass_on(self, slot: _Offer) -> None:
        if self._receivers:
            self._fill(self._receivers.popleft(), slot.value, slot.exc)
        else:
            self._orphans.append(_Offer(None, slot.value, slot.exc, True))

    def _maybe_closed(self) -> None:
        if self.closed:
            receivers, self._receivers = self._receivers, collections.deque()
            for slot in receivers:
                slot.exc, slot.filled = _CLOSED_ERROR, False
                slot.waiter.wake()

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


_CLOSED_ERROR = ChannelClosed('receive on a closed channel')
