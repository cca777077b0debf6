"""Pipe transports (connect_read_pipe, connect_write_pipe) on ``pyuv.Pipe`` handles.

The pipe object given by the program stays the program's (the transport
closes it after connection_lost, as asyncio does); libuv works on a duplicate
of its descriptor. A write pipe notices that its reader went away the way
asyncio's does: the loop watches the original descriptor for readability,
which on a pipe or socket write end means "closed by peer".

If the program closes its pipe object under the transport, the duplicate
keeps the pipe open, so libuv never sees a closed descriptor (nothing can
abort), but the other end does not see the close either: a read pipe goes on
reading what is written to it, where asyncio's transport goes silent and the
writer gets EPIPE. Where asyncio's transport touches the descriptor, rose's
fails as it does: ``write()`` sends through the program's descriptor first
(EBADF: connection_lost), and ``resume_reading()`` raises OSError(EBADF).
"""

from __future__ import annotations

import errno
import functools
import os
import stat
import warnings
from asyncio import transports
from asyncio.log import logger

import pyuv

from . import compat, descriptors, errors
from .streams import _Reading, _Writing
from .transports import _UVTransport

__all__ = ['PipeMethods', 'ReadPipeTransport', 'WritePipeTransport']


def _pipe_kind(fileno: int) -> str:
    mode = os.fstat(fileno).st_mode
    if stat.S_ISSOCK(mode):
        return 'socket'
    if stat.S_ISFIFO(mode):
        return 'fifo'
    if stat.S_ISCHR(mode):
        return 'char'
    return 'other'


class _PipeTransport(_UVTransport):
    """The pipe object, the libuv handle on a duplicate of its descriptor, the repr."""

    _pipe = None

    def _open_pipe(self, loop, pipe, protocol, extra) -> None:
        self._extra['pipe'] = pipe
        self._pipe = pipe
        self._fileno = pipe.fileno()
        self._file_id = descriptors.file_id(self._fileno)
        os.set_blocking(self._fileno, False)
        dup = os.dup(self._fileno)
        handle = pyuv.Pipe(loop._uv, False)
        try:
            handle.open(dup)
        except pyuv.error.UVError as exc:
            handle.close()
            os.close(dup)
            raise errors.from_pyuv_error(exc) from None
        self._init_state(loop, handle, protocol)

    def __repr__(self) -> str:
        if self._pipe is None:
            state = 'closed'
        elif self._closing:
            state = 'closing'
        else:
            state = 'open'
        return f'<{self.__class__.__name__} {state} fd={self._fileno}>'

    def __del__(self, _warn=warnings.warn) -> None:
        if self._pipe is not None:
            _warn(f'unclosed transport {self!r}', ResourceWarning, source=self)
            self._close_handle()
            self._pipe.close()

    def _release(self) -> None:
        pipe = self._pipe
        self._pipe = None
        if pipe is not None:
            pipe.close()


class ReadPipeTransport(_Reading, _PipeTransport, transports.ReadTransport):
    """The read end of a pipe, a socket or a character device (a pty)."""

    _read_error_message = 'Fatal read error on pipe transport'

    def __init__(self, loop, pipe, protocol, waiter=None, extra=None):
        transports.ReadTransport.__init__(self, extra)
        if _pipe_kind(pipe.fileno()) == 'other':
            raise ValueError('Pipe transport is for pipes/sockets only.')
        self._open_pipe(loop, pipe, protocol, extra)
        self._connect_protocol(waiter)

    def _start_reading(self) -> None:
        if (self.is_reading() and self._handle is not None and not self._stash
                and descriptors.file_id(self._fileno) != self._file_id):
            # The program closed its pipe object: asyncio cannot watch it, nor does rose.
            raise OSError(errno.EBADF, os.strerror(errno.EBADF))
        super()._start_reading()

    def _on_eof(self) -> None:
        if self._loop.get_debug():
            logger.info('%r was closed by peer', self)
        self._closing = True
        self._loop.call_soon(self._protocol.eof_received)
        self._loop.call_soon(self._call_connection_lost, None)

    def _is_quiet_error(self, exc: BaseException) -> bool:
        # As asyncio: EIO (a pty whose other side closed) is an ordinary end;
        # other read errors on a pipe go to the exception handler.
        return isinstance(exc, OSError) and exc.errno == errno.EIO


class WritePipeTransport(_Writing, _PipeTransport, compat._FlowControlMixin,
                         transports.WriteTransport):
    """The write end of a pipe, a socket or a character device (a pty)."""

    _write_error_message = 'Fatal write error on pipe transport'

    def __init__(self, loop, pipe, protocol, waiter=None, extra=None):
        compat._FlowControlMixin.__init__(self, extra, loop)
        kind = _pipe_kind(pipe.fileno())
        if kind == 'other':
            raise ValueError('Pipe transport is only for pipes, sockets and character devices')
        self._open_pipe(loop, pipe, protocol, extra)
        # The first attempt goes to the program's descriptor, as asyncio's
        # os.write() does, so that a pipe the program closed fails the same.
        self._try_write = functools.partial(os.write, self._fileno)
        loop.call_soon(self._protocol.connection_made, self)
        self._watch_peer = kind in ('socket', 'fifo')
        if self._watch_peer:
            loop.call_soon(self._start_watching_peer)
        if waiter is not None:
            loop.call_soon(compat._set_result_unless_cancelled, waiter, None)

    def _start_watching_peer(self) -> None:
        if not self._closing and self._loop is not None:
            self._loop._add_reader(self._fileno, self._peer_closed)

    def _stop_reading(self) -> None:
        if self._watch_peer and self._loop is not None and not self._loop.is_closed():
            self._loop._remove_reader(self._fileno)

    def _peer_closed(self) -> None:
        if self._loop.get_debug():
            logger.info('%r was closed by peer', self)
        self._force_close(BrokenPipeError() if self.get_write_buffer_size() else None)

    _writes_after_close = 0

    def write(self, data) -> None:
        if self._closing:
            # After close()/write_eof(), or once the reader left: dropped, as asyncio does.
            self._writes_after_close += 1
            if self._writes_after_close >= compat.LOG_THRESHOLD_FOR_CONNLOST_WRITES:
                logger.warning('pipe closed by peer or os.write(pipe, data) raised exception.')
            return
        super().write(data)

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        """A pipe cannot half-close: close once buffered data is written."""
        if self._closing:
            return
        self.close()

    def _loop_closed(self) -> None:
        self._close_handle()


class PipeMethods:
    """Mixin for the event loop: connect_read_pipe / connect_write_pipe's transports."""

    def _make_read_pipe_transport(self, pipe, protocol, waiter=None, extra=None):
        return ReadPipeTransport(self, pipe, protocol, waiter, extra)

    def _make_write_pipe_transport(self, pipe, protocol, waiter=None, extra=None):
        return WritePipeTransport(self, pipe, protocol, waiter, extra)
