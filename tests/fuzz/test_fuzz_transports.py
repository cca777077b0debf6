"""Differential fuzzing of a TCP transport: random operations on it and on its peer, rose vs asyncio.

Each side connects ``loop.create_connection()`` to a plain socket (the peer)
that the test drives without a loop. A rule applies one operation, on every
side: a write of a random size (bytes, bytearray or memoryview), writelines,
a write of the wrong type, pause/resume_reading, set_write_buffer_limits
(valid or not), write_eof, close, abort, a protocol whose data_received or
eof_received raises or keeps the connection open; or the peer sending,
pausing, resuming, half-closing, closing or resetting. The loop then runs
until the operation's effects have settled, and the side records what user
code saw: the protocol's calls in order, the exceptions the call raised, the
exception handler's calls, the bytes each end received, is_closing/is_reading.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from typing import Any

from differential import LOOP_NAMES, Side, assert_same_traces, exc_name, rule_applies
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

# Byte i of either stream is i % 251: a dropped, repeated or reordered chunk shows.
_PATTERN = bytes(range(251)) * (400_000 // 251 + 2)
# The peer's receive buffer and our send buffer are small, so that writes of a
# few hundred KiB stay in the transport's buffer while the peer does not read.
_SMALL_BUFFER = 8192
# How long a side waits for effects that must come, and how long nothing more
# must happen before a step is over (loopback delivers within microseconds).
_SETTLE_LIMIT = 3.0
_QUIET = 0.012
_PEER_GONE = ('ConnectionResetError', 'BrokenPipeError')

sizes = st.one_of(st.integers(0, 100), st.integers(0, 300_000), st.sampled_from([0, 1, 8192, 65536]))
limits = st.one_of(st.none(), st.integers(-2, 70_000), st.sampled_from([0, 1, 2**20]))


def stream(offset: int, size: int) -> bytes:
    start = offset % 251
    return _PATTERN[start:start + size]


def is_stream_prefix(data: bytes | bytearray) -> bool:
    """Whether *data* is the start of a stream (bytes 0, 1, 2, ... mod 251)."""
    return data == stream(0, len(data))


def peer_gone(exc: BaseException | None) -> str | None:
    name = exc_name(exc)
    if name in _PEER_GONE:
        return rule_applies('PEER_GONE_ERRNO')
    return name


class RecordingProtocol(asyncio.Protocol):
    """Notes each call in its side's trace; checks the flow-control contract as it goes."""

    def __init__(self, side: TransportSide) -> None:
        self.side = side
        self.paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.side.note('connection_made')

    def data_received(self, data: bytes) -> None:
        side = self.side
        side.received += data
        if side.trace[-1] != ('data_received',):
            side.note('data_received')  # rule STREAM_CHUNKING: consecutive calls merged
        if side.fail_in_data_received:
            side.fail_in_data_received = False
            raise ValueError('the fuzzer made data_received fail')

    def eof_received(self) -> bool:
        side = self.side
        side.note('eof_received')
        if side.fail_in_eof_received:
            raise ValueError('the fuzzer made eof_received fail')
        return side.keep_open_on_eof

    def connection_lost(self, exc: BaseException | None) -> None:
        self.side.lost = True
        self.side.note('connection_lost', peer_gone(exc))

    # Rule FLOW_CONTROL_TIMING: the calls are not in the trace; their contract is.
    def pause_writing(self) -> None:
        transport = self.side.transport
        low, high = transport.get_write_buffer_limits()
        if self.paused:
            self.side.note('contract broken', 'pause_writing while paused')
        elif transport.get_write_buffer_size() <= high:
            self.side.note('contract broken', 'pause_writing at or below the high-water mark')
        self.paused = True

    def resume_writing(self) -> None:
        transport = self.side.transport
        low, high = transport.get_write_buffer_limits()
        if not self.paused:
            self.side.note('contract broken', 'resume_writing while not paused')
        elif transport.get_write_buffer_size() > low:
            self.side.note('contract broken', 'resume_writing above the low-water mark')
        self.paused = False


class TransportSide(Side):
    """One loop's transport, its protocol and its peer, with what each end received."""

    def __init__(self, loop_name: str) -> None:
        super().__init__(loop_name)
        self.received = bytearray()   # by the protocol
        self.peer_received = bytearray()
        self.written = 0              # bytes offered to write()/writelines(), in stream order
        self.peer_sent = 0
        self.peer_reading = True
        self.peer_eof = False
        self.peer_error: str | None = None
        self.peer_open = True
        self.peer_shut_wr = False
        self.lost = False
        self.close_called = False
        self.abort_called = False
        self.in_flight_lost = False   # rule LOST_IN_FLIGHT
        self.keep_open_on_eof = False
        self.fail_in_data_received = False
        self.fail_in_eof_received = False
        listener = self.listener()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _SMALL_BUFFER)
        self.transport, self.protocol = self.run(self.loop.create_connection(
            lambda: RecordingProtocol(self), *listener.getsockname()[:2]))
        self.transport.get_extra_info('socket').setsockopt(
            socket.SOL_SOCKET, socket.SO_SNDBUF, _SMALL_BUFFER)
        self.peer, _ = listener.accept()
        self.peer.setblocking(False)
        self.on_close(self._close_peer)
        self.on_close(self.transport.abort)
        self.settle()

    def _close_peer(self) -> None:
        self.peer.close()

    # -- the peer, driven without a loop --

    def pump_peer(self) -> None:
        """Read what the peer has, if it reads."""
        while self.peer_open and self.peer_reading and not self.peer_eof and self.peer_error is None:
            try:
                data = self.peer.recv(262144)
            except BlockingIOError:
                return
            except OSError as exc:
                self.peer_error = peer_gone(exc)
                return
            if not data:
                self.peer_eof = True
                return
            self.peer_received += data

    def peer_send(self, size: int) -> None:
        data = stream(self.peer_sent, size)
        try:
            sent = self.peer.send(data)
        except BlockingIOError:
            sent = 0
        except OSError as exc:
            self.note('peer send failed', peer_gone(exc))
            return
        # The test keeps what the peer sends unread by us small enough for the kernel's buffers.
        if sent != len(data):
            self.note('peer send partial')
        self.peer_sent += sent

    def peer_close(self, how: str) -> None:
        if how == 'reset':
            self.peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
            if not self.peer_reading:
                self.in_flight_lost = True
        if how == 'half-close':
            self.peer.shutdown(socket.SHUT_WR)
            self.peer_shut_wr = True
            return
        self.peer.close()
        self.peer_open = False

    # -- running one step --

    def apply(self, name: str, operation: Any, *args: Any) -> None:
        """Call *operation* inside the running loop, note its outcome at once, then settle."""
        async def call() -> None:
            # Noted before the loop runs again: what the call caused comes after it.
            self.call_and_note(name, operation, *args)
        self.run(call())
        self.settle()

    def settle(self) -> None:
        self.run(self._settle(), timeout=_SETTLE_LIMIT + 5)

    def _snapshot(self) -> tuple[Any, ...]:
        return (len(self.trace), len(self.received), len(self.peer_received), self.peer_eof,
                self.peer_error, self.transport.get_write_buffer_size(), self.lost)

    def _must_still_happen(self) -> bool:
        """Whether an effect the step must have is still missing."""
        if self.abort_called and not self.lost:
            return True
        buffered = self.transport.get_write_buffer_size()
        if self.close_called and not self.lost and not buffered:
            return True
        peer_alive = self.peer_open and self.peer_error is None
        if peer_alive and self.peer_reading and buffered and not self.lost:
            return True
        if peer_alive and self.transport.is_reading() and len(self.received) < self.peer_sent:
            return True
        return False

    async def _settle(self) -> None:
        loop = self.loop
        deadline = loop.time() + _SETTLE_LIMIT
        last = self._snapshot()
        quiet_since = loop.time()
        while True:
            self.pump_peer()
            await asyncio.sleep(0.001)
            now = loop.time()
            snapshot = self._snapshot()
            if snapshot != last:
                last, quiet_since = snapshot, now
            elif now - quiet_since >= _QUIET and not self._must_still_happen():
                break
            if now > deadline:
                self.note('did not settle', self._must_still_happen())
                break
        self._note_state()

    def _note_state(self) -> None:
        transport = self.transport
        if self.in_flight_lost:
            # Rule LOST_IN_FLIGHT: how much arrived depends on the kernel.
            peer_got = (rule_applies('LOST_IN_FLIGHT'), is_stream_prefix(self.peer_received))
        else:
            peer_got = (len(self.peer_received), is_stream_prefix(self.peer_received))
        self.note('peer has', peer_got, self.peer_eof, self.peer_error)
        self.note('protocol has', len(self.received) == self.peer_sent, is_stream_prefix(self.received))
        self.note('transport', transport.is_closing(), transport.is_reading())
        if self.peer_reading and self.peer_open and not self.lost:
            # Everything was sent: a paused protocol must have been resumed.
            self.note('flow', self.protocol.paused, transport.get_write_buffer_size())


class TransportMachine(RuleBasedStateMachine):
    """The same operations on a rose transport and an asyncio transport; the same observations."""

    def __init__(self) -> None:
        super().__init__()
        self.sides: list[TransportSide] = []
        for name in LOOP_NAMES:
            self.sides.append(TransportSide(name))

    def teardown(self) -> None:
        for side in self.sides:
            side.close()

    def each(self, name: str, method: str, *args: Any) -> None:
        for side in self.sides:
            side.apply(name, getattr(side.transport, method), *args)

    @property
    def peer_open(self) -> bool:
        return self.sides[0].peer_open

    # -- the transport --

    @rule(size=sizes, kind=st.sampled_from(['bytes', 'bytearray', 'memoryview']))
    def write(self, size: int, kind: str) -> None:
        for side in self.sides:
            data = stream(side.written, size)
            side.written += size
            if kind == 'bytearray':
                data = bytearray(data)
            elif kind == 'memoryview':
                data = memoryview(bytearray(data))
            side.apply('write', side.transport.write, data)

    @rule(parts=st.lists(st.integers(0, 40_000), max_size=5))
    def writelines(self, parts: list[int]) -> None:
        for side in self.sides:
            chunks = []
            for size in parts:
                chunks.append(stream(side.written, size))
                side.written += size
            side.apply('writelines', side.transport.writelines, chunks)

    @rule(data=st.sampled_from(['text', 42, None]))
    def write_wrong_type(self, data: Any) -> None:
        self.each('write wrong type', 'write', data)

    @rule()
    def pause_reading(self) -> None:
        self.each('pause_reading', 'pause_reading')

    @rule()
    def resume_reading(self) -> None:
        self.each('resume_reading', 'resume_reading')

    @rule(high=limits, low=limits)
    def set_write_buffer_limits(self, high: int | None, low: int | None) -> None:
        self.each('set_write_buffer_limits', 'set_write_buffer_limits', high, low)

    @rule()
    def write_eof(self) -> None:
        self.each('write_eof', 'write_eof')

    # close and abort are one rule, so that most sequences go on a while before the end.
    @rule(how=st.sampled_from(['close', 'abort']))
    def finish(self, how: str) -> None:
        for side in self.sides:
            if how == 'close':
                side.close_called = True
            else:
                side.abort_called = True
                if not side.peer_reading and not side.lost:
                    side.in_flight_lost = True  # rule LOST_IN_FLIGHT
        self.each(how, how)

    @rule(keep_open=st.booleans(), fail=st.booleans())
    def eof_received_returns(self, keep_open: bool, fail: bool) -> None:
        for side in self.sides:
            side.keep_open_on_eof = keep_open
            side.fail_in_eof_received = fail

    @rule()
    def data_received_fails_next(self) -> None:
        for side in self.sides:
            side.fail_in_data_received = True

    # -- the peer --

    @precondition(lambda self: self.peer_open and not self.sides[0].peer_shut_wr)
    @rule(size=st.integers(1, 16_384))
    def peer_sends(self, size: int) -> None:
        # The protocol's unread bytes stay under 64 KiB: the kernel takes each send whole.
        if all(side.peer_sent - len(side.received) + size <= 65536 for side in self.sides):
            for side in self.sides:
                side.apply('peer sends', side.peer_send, size)

    @precondition(lambda self: self.peer_open)
    @rule(reading=st.booleans())
    def peer_reads(self, reading: bool) -> None:
        for side in self.sides:
            side.peer_reading = reading
            side.settle()

    @precondition(lambda self: self.peer_open and not self.sides[0].peer_shut_wr)
    @rule()
    def peer_half_closes(self) -> None:
        for side in self.sides:
            side.apply('peer half-closes', side.peer_close, 'half-close')

    @precondition(lambda self: self.peer_open)
    @rule(how=st.sampled_from(['close', 'reset']))
    def peer_closes(self, how: str) -> None:
        for side in self.sides:
            if how == 'close':
                # It reads what is on its way first: a socket closed with unread data resets.
                side.peer_reading = True
                side.settle()
            side.apply(f'peer {how}s', side.peer_close, how)

    @invariant()
    def same_observations(self) -> None:
        assert_same_traces(self.sides)


class TestTransports(TransportMachine.TestCase):
    """rose's TCP transport against asyncio's, as many sequences as the profile says (conftest.py)."""

    settings = settings(stateful_step_count=25)
