"""The base of evergreen's libuv streams: blocking-style reads and writes for tasks.

libuv does the I/O. A task that reads parks; libuv's read callback hands the
bytes straight to it (one greenlet switch, no copy, no extra callback), and
the task's ``write`` tries to write at once (``uv_try_write``) and queues in
libuv only what the kernel did not take. That read-callback-to-task-to-write
path is the whole hot path of an echo server.
"""

from __future__ import annotations

import errno
from asyncio import IncompleteReadError, LimitOverrunError
from collections.abc import Callable, Iterator
from typing import Any

import pyuv

from rose.errors import UV_EAGAIN, UV_ECANCELED, UV_EOF, from_pyuv_error, uv_error

from ..hub import HubCore, Waiter, get_loop, remove_identical

__all__ = ['Stream', 'WaitSlots', 'wait_for_request',
           'IncompleteReadError', 'LimitOverrunError']

# Stop reading from the kernel when this much is buffered and nobody reads.
READ_LIMIT = 256 * 1024
# write() waits while more than WRITE_HIGH bytes are queued, until WRITE_LOW.
WRITE_HIGH = 256 * 1024
WRITE_LOW = 64 * 1024
# A closing stream with unsent data gets this long to send it.
CLOSE_LINGER = 30.0


def _as_bytes_like(data: Any) -> Any:
    if isinstance(data, (bytes, bytearray, memoryview)):
        return data
    if isinstance(data, str):
        raise TypeError('data must be a bytes-like object, not str (encode it first)')
    try:
        return memoryview(data)
    except TypeError:
        raise TypeError(f'data must be a bytes-like object, not {type(data).__name__}') from None


class WaitSlots:
    """The waiters parked on one condition of a stream or server, oldest first."""

    __slots__ = ('items',)

    def __init__(self) -> None:
        self.items: list[Waiter] = []

    def __len__(self) -> int:
        return len(self.items)

    def wait(self, loop: HubCore, what: str) -> Any:
        """Park until woken; return the value of the wake-up."""
        waiter = Waiter(loop)
        items = self.items
        items.append(waiter)
        try:
            return waiter.wait(None, what)
        finally:
            remove_identical(items, waiter)

    def wake_one(self, value: Any = None) -> None:
        """Wake the oldest waiter now (from a loop callback)."""
        self.items.pop(0).switch(value)

    def wake_all(self, value: Any = None) -> None:
        """Wake every waiter now (from a loop callback)."""
        items, self.items = self.items, []
        for waiter in items:
            waiter.switch(value)

    def wake_all_soon(self) -> None:
        """Wake every waiter through the loop (from anywhere in the loop's thread)."""
        for waiter in self.items:
            waiter.wake()


def wait_for_request(loop: HubCore, start: Callable[[Callable[[Any, int | None], None]], object],
                     what: str, context: str) -> int | None:
    """Start a libuv request (``start(callback)``) and park until it completes.

    Returns the error code the callback got (None for success). A pyuv error
    raised by *start* becomes an OSError naming *context*.
    """
    outcome: list = []
    waiting = WaitSlots()

    def done(handle: Any, error: int | None) -> None:
        outcome.append(error)
        waiting.wake_all()

    try:
        start(done)
    except pyuv.error.UVError as exc:
        raise from_pyuv_error(exc, context) from None
    while not outcome:
        waiting.wait(loop, what)
    return outcome[0]


class Stream:
    """A connected byte stream on a libuv handle (TCP, pipe or TTY).

    Reads: ``read(n)``, ``read_exactly(n)``, ``read_until(separator)``,
    ``readline()`` and iteration over lines. Writes: ``write(data)`` (waits
    only while much data is queued), ``drain()``, ``shutdown()`` (half-close),
    ``close()``/``abort()``. One task may read at a time; any number may write.
    Errors are ``OSError`` subclasses, as with sockets. Use
    ``evergreen.Timeout`` to bound any of these calls.
    """

    def __init__(self, handle: Any, loop: HubCore | None = None) -> None:
        self._loop = loop if loop is not None else get_loop()
        self._handle = handle
        self._buffer = bytearray()
        self._eof = False
        self._read_error: OSError | None = None
        self._reading = False
        self._reader: Waiter | None = None
        self._read_waiter: Waiter | None = None
        self._write_error: OSError | None = None
        self._drainers = WaitSlots()
        self._drain_level = 0
        self._shut = False
        self._closed = False
        # pyuv keeps callbacks by borrowed reference in places: keep them here.
        self._on_read = self._read_callback
        self._on_write = self._write_callback

    # ------------------------------------------------------------------
    # Reading

    def _wait_data(self) -> bytes | None:
        """Wait for the next chunk (returned), or for EOF/error (None)."""
        if self._reader is not None:
            raise RuntimeError('another task is already reading from this stream')
        if self._closed:
            raise self._closed_error()
        if not self._reading:
            self._start_reading()
        # libuv's read callback hands the chunk straight to this waiter. One
        # per stream, reused: reads take turns, and the only wake-up that can
        # come late (close()'s) finds no read after it (a closed stream
        # refuses to wait).
        waiter = self._read_waiter
        if waiter is None:
            waiter = self._read_waiter = Waiter(self._loop)
        self._reader = waiter
        try:
            return waiter.wait(None, 'reading a stream')
        finally:
            if self._reader is waiter:
                self._reader = None

    def _start_reading(self) -> None:
        try:
            self._handle.start_read(self._on_read)
        except pyuv.error.UVError as exc:
            raise from_pyuv_error(exc) from None
        self._reading = True

    def _read_callback(self, handle: Any, data: bytes | None, error: int | None) -> None:
        if error is None:
            if not data:
                # libuv read nothing (EAGAIN) and only hands the buffer back: not EOF.
                return
            reader = self._reader
            if reader is not None and not self._buffer:
                self._reader = None
                reader.switch(data)
                return
            self._buffer += data
            if len(self._buffer) >= READ_LIMIT and self._reading:
                self._reading = False
                handle.stop_read()
        else:
            # pyuv has stopped reading.
            self._reading = False
            if error == UV_EOF:
                self._eof = True
            else:
                self._read_error = uv_error(error, 'read')
        reader = self._reader
        if reader is not None:
            self._reader = None
            reader.switch(None)

    def _no_more_data(self) -> bytes:
        """What a read returns once the buffer is empty and nothing more will come."""
        if self._read_error is not None:
            raise self._read_error
        if self._eof:
            return b''
        raise self._closed_error()

    def read(self, n: int = -1) -> bytes:
        """Return up to *n* bytes, waiting until some arrive; b'' at end of stream.

        With *n* < 0, read until the end of the stream.
        """
        buffer = self._buffer
        if buffer or n <= 0 or self._eof or self._read_error is not None or self._closed:
            return self._read_buffered(n)
        # The hot path: nothing buffered, so park until libuv's read callback
        # hands this task the next chunk.
        data = self._wait_data()
        if data is None:
            return self._read_buffered(n)
        if len(data) <= n:
            return data
        buffer += memoryview(data)[n:]
        return data[:n]

    def _read_buffered(self, n: int) -> bytes:
        if n < 0:
            return self._read_all()
        if n == 0:
            return b''
        buffer = self._buffer
        if not buffer:
            if self._eof or self._read_error is not None:
                return self._no_more_data()
            data = self._wait_data()
            if data is not None:
                if len(data) <= n:
                    return data
                buffer += memoryview(data)[n:]
                return data[:n]
            if not buffer:
                return self._no_more_data()
        if len(buffer) <= n:
            data = bytes(buffer)
            buffer.clear()
        else:
            data = bytes(buffer[:n])
            del buffer[:n]
        return data

    def _fill(self) -> bool:
        """Wait for more data into the buffer; False at end of stream."""
        before = len(self._buffer)
        while True:
            if len(self._buffer) > before:
                # The read callback buffered data (and woke us with None).
                return True
            if self._read_error is not None:
                raise self._read_error
            if self._eof:
                return False
            data = self._wait_data()
            if data is not None:
                self._buffer += data
                return True

    def _read_all(self) -> bytes:
        while self._fill():
            pass
        data = bytes(self._buffer)
        self._buffer.clear()
        return data

    def read_exactly(self, n: int) -> bytes:
        """Return exactly *n* bytes; IncompleteReadError (an EOFError) if the stream ends first."""
        if n < 0:
            raise ValueError('read_exactly size can not be less than zero')
        buffer = self._buffer
        while len(buffer) < n:
            if not self._fill():
                partial = bytes(buffer)
                buffer.clear()
                raise IncompleteReadError(partial, n)
        data = bytes(buffer[:n])
        del buffer[:n]
        return data

    def read_until(self, separator: bytes = b'\n', limit: int = READ_LIMIT) -> bytes:
        """Return the data up to and including *separator*.

        IncompleteReadError if the stream ends first; LimitOverrunError if
        *limit* bytes arrive without it (the data stays buffered).
        """
        if not separator:
            raise ValueError('separator should be at least one-byte string')
        buffer = self._buffer
        start = 0
        while True:
            index = buffer.find(separator, start)
            if index >= 0:
                end = index + len(separator)
                if end > limit:
                    raise LimitOverrunError('separator is found, but chunk is longer than limit', index)
                data = bytes(buffer[:end])
                del buffer[:end]
                return data
            if len(buffer) > limit:
                raise LimitOverrunError('separator is not found, and chunk exceed the limit', len(buffer))
            # The separator may straddle the old end and the new data.
            start = max(0, len(buffer) - len(separator) + 1)
            if not self._fill():
                partial = bytes(buffer)
                buffer.clear()
                raise IncompleteReadError(partial, None)

    def readline(self, limit: int = READ_LIMIT) -> bytes:
        """Return one line including b'\\n'; at the end of the stream, what is left (b'' if nothing)."""
        try:
            return self.read_until(b'\n', limit)
        except IncompleteReadError as exc:
            return exc.partial

    def __iter__(self) -> Iterator[bytes]:
        """Iterate over lines until the end of the stream."""
        while True:
            line = self.readline()
            if not line:
                return
            yield line

    # ------------------------------------------------------------------
    # Writing

    def write(self, data: Any) -> None:
        """Send *data*; wait (cooperatively) only while too much is already queued.

        The data is queued before that wait: a write interrupted there (by a
        Timeout or a kill) is still sent.
        """
        if self._closed:
            raise self._closed_error()
        if self._shut:
            raise BrokenPipeError(errno.EPIPE, 'Broken pipe: the stream was shut down for writing')
        if self._write_error is not None:
            raise self._write_error
        if type(data) is bytes:
            size = len(data)
        else:
            data = _as_bytes_like(data)
            size = len(data) if isinstance(data, (bytes, bytearray)) else data.nbytes
        if not size:
            return
        handle = self._handle
        if not handle.write_queue_size:
            try:
                sent = handle.try_write(data)
            except pyuv.error.UVError as exc:
                if exc.args[0] != UV_EAGAIN:
                    self._write_error = from_pyuv_error(exc, 'write')
                    raise self._write_error from None
                sent = 0
            if sent == size:
                return
            data = memoryview(data).cast('B')[sent:]
        if not isinstance(data, bytes):
            # libuv sends it later: the caller may reuse its buffer meanwhile.
            data = bytes(data)
        try:
            handle.write(data, self._on_write)
        except pyuv.error.UVError as exc:
            self._write_error = from_pyuv_error(exc, 'write')
            raise self._write_error from None
        if handle.write_queue_size > WRITE_HIGH:
            self._wait_written(WRITE_LOW)

    def writelines(self, lines: Any) -> None:
        """Write each bytes-like object of *lines*."""
        for line in lines:
            self.write(line)

    def _write_callback(self, handle: Any, error: int | None) -> None:
        if error is not None and error != UV_ECANCELED and self._write_error is None:
            self._write_error = uv_error(error, 'write')
        if self._drainers and (error is not None or handle.write_queue_size <= self._drain_level):
            self._drainers.wake_all()

    def _wait_written(self, level: int) -> None:
        """Wait until at most *level* bytes are queued (or a write failed)."""
        handle = self._handle
        while handle.write_queue_size > level and self._write_error is None and not self._closed:
            self._drain_level = level
            self._drainers.wait(self._loop, 'writing to a stream')
        if self._write_error is not None:
            raise self._write_error
        if self._closed and handle.write_queue_size > level:
            raise self._closed_error()

    def drain(self) -> None:
        """Wait until everything written has been handed to the kernel."""
        self._wait_written(0)

    flush = drain

    def shutdown(self) -> None:
        """Send what is queued, then close the writing side (the peer reads EOF). Waits for it."""
        if self._closed:
            raise self._closed_error()
        if self._shut:
            return
        self._shut = True
        error = wait_for_request(self._loop, self._handle.shutdown, 'shutting a stream down', 'shutdown')
        if error is not None and error != UV_ECANCELED:
            raise uv_error(error, 'shutdown')

    # ------------------------------------------------------------------
    # Closing

    def _closed_error(self) -> OSError:
        return OSError(errno.EBADF, 'Bad file descriptor: the stream is closed')

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Close the stream. Data already written is still sent (for a while); does not wait."""
        if self._closed:
            return
        handle = self._handle
        if handle.closed:
            self._mark_closed()
            return
        if self._write_error is None and not self._shut and handle.write_queue_size:
            self._mark_closed()
            timer = self._loop.call_later(CLOSE_LINGER, _close_handle, handle)

            def shut(h: Any, error: int | None) -> None:
                timer.cancel()
                _close_handle(h)

            try:
                handle.shutdown(shut)
                return
            except pyuv.error.UVError:
                timer.cancel()
        self._mark_closed()
        _close_handle(handle)

    def abort(self) -> None:
        """Close the stream at once, dropping data not sent yet."""
        if not self._handle.closed:
            _close_handle(self._handle)
        self._mark_closed()

    def _mark_closed(self) -> None:
        self._closed = True
        if self._reading and not self._handle.closed:
            self._handle.stop_read()
        self._reading = False
        # Wake whoever waits, through the loop: they see the stream closed.
        if self._reader is not None:
            self._reader.wake()
        self._drainers.wake_all_soon()

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def fileno(self) -> int:
        return self._handle.fileno()

    def __repr__(self) -> str:
        state = 'closed' if self._closed else ('eof' if self._eof else 'open')
        return f'<evergreen.io.{type(self).__name__} {state} buffered={len(self._buffer)}{self._describe()}>'

    def _describe(self) -> str:
        return ''


def _close_handle(handle: Any) -> None:
    if not handle.closed:
        handle.close()
