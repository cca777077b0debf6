"""Datagram transports: UDP on ``pyuv.UDP``, other families on a ``pyuv.Poll``.

Sending tries the socket at once (``send``/``sendto``, so addresses and errors
behave exactly as with asyncio's loop); only a datagram the kernel refuses
for now is queued, in libuv's send queue for UDP. Receiving is libuv's
``uv_udp_recv_start`` for IP sockets; Unix datagram sockets, which libuv's UDP
handle does not cover, are read when the loop's poll watcher says so.
"""

from __future__ import annotations

import collections
import contextvars
import errno
import functools
import os
import socket
import warnings
from asyncio import transports
from asyncio.log import logger
from typing import Any

import pyuv

from . import compat, descriptors, errors
from .transports import guarded_call, report_fatal_error, socket_extra

__all__ = ['DatagramMethods']

_SENDS_EMPTY = compat.SENDS_EMPTY_DATAGRAMS
_HEADER_SIZE = compat.DATAGRAM_HEADER_SIZE


class _DatagramTransport(compat._FlowControlMixin, transports.DatagramTransport):
    """What UDP and Unix datagram transports share: sending, closing, errors."""

    max_size = 256 * 1024
    _sock: socket.socket | None = None

    def __init__(self, loop, sock: socket.socket, protocol, address=None, waiter=None,
                 extra: dict[str, Any] | None = None):
        super().__init__(extra, loop)
        socket_extra(self._extra, sock)
        self._sock = sock
        self._sock_fd = sock.fileno()
        self._protocol = protocol
        self._address = address
        self._closing = False
        self._conn_lost = 0
        self._buffer_size = 0
        self._open_io()
        loop._transports[self._sock_fd] = self
        loop._uv_owners.add(self)
        loop.call_soon(protocol.connection_made, self)
        loop.call_soon(self._start_receiving)
        if waiter is not None:
            loop.call_soon(compat._set_result_unless_cancelled, waiter, None)

    def __repr__(self) -> str:
        state = 'closed' if self._sock is None else 'closing' if self._closing else 'open'
        return f'<{self.__class__.__name__} {state} fd={self._sock_fd} bufsize={self._buffer_size}>'

    def __del__(self, _warn=warnings.warn) -> None:
        if self._sock is not None:
            _warn(f'unclosed transport {self!r}', ResourceWarning, source=self)
            self._close_io()
            self._release_sock()

    def get_protocol(self):
        return self._protocol

    def set_protocol(self, protocol) -> None:
        self._protocol = protocol

    def is_closing(self) -> bool:
        return self._closing

    def get_write_buffer_size(self) -> int:
        return self._buffer_size

    # Reading pauses and resumes as on asyncio's selector transports: a
    # resumed transport receives in a copy of the resumer's context.
    _paused = False

    def is_reading(self) -> bool:
        """True unless the transport is closing or reading is paused."""
        return not self._closing and not self._paused

    def pause_reading(self) -> None:
        """Stop calling datagram_received() until resume_reading(); no-op if not reading."""
        if not self.is_reading():
            return
        self._paused = True
        self._stop_receiving()

    def resume_reading(self) -> None:
        """Receive again after pause_reading(); no-op if not paused or closing."""
        if self._closing or not self._paused:
            return
        self._paused = False
        self._start_receiving()

    def sendto(self, data, addr=None) -> None:
        """Send *data* to *addr* (or to the connected peer when *addr* is None)."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f'data argument must be a bytes-like object, '
                            f'not {type(data).__name__!r}')
        if not data and not _SENDS_EMPTY:
            return
        if self._address:
            if addr not in (None, self._address):
                raise ValueError(f'Invalid address: must be None or {self._address}')
            addr = self._address
        if self._conn_lost and self._address:
            if self._conn_lost >= compat.LOG_THRESHOLD_FOR_CONNLOST_WRITES:
                logger.warning('socket.send() raised exception.')
            self._conn_lost += 1
            return
        if self._sock is None:
            return
        if not self._buffer_size:
            try:
                if self._extra['peername']:
                    self._sock.send(data)
                else:
                    self._sock.sendto(data, addr)
                return
            except (BlockingIOError, InterruptedError):
                pass
            except OSError as exc:
                self._protocol.error_received(exc)
                return
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                self._fatal_error(exc, 'Fatal write error on datagram transport')
                return
        data = bytes(data)  # what waits must not change
        self._buffer_size += len(data) + _HEADER_SIZE
        self._queue(data, addr if addr is not None else self._extra['peername'])
        self._maybe_pause_protocol()

    def _sent(self, size: int) -> None:
        """A queued datagram of *size* bytes left the queue."""
        self._buffer_size -= size + _HEADER_SIZE
        self._maybe_resume_protocol()
        if not self._buffer_size and self._closing and not self._conn_lost:
            self._conn_lost += 1
            self._call_connection_lost(None)

    def _received(self, data: bytes, addr) -> None:
        guarded_call(self, 'Fatal error: protocol.datagram_received() call failed.',
                     self._protocol.datagram_received, data, addr)

    def _error_received(self, exc: OSError) -> None:
        guarded_call(self, 'Fatal error: protocol.error_received() call failed.',
                     self._protocol.error_received, exc)

    def close(self) -> None:
        """Close once queued datagrams are sent; connection_lost(None) follows."""
        if self._closing:
            return
        self._closing = True
        self._stop_receiving()
        if not self._buffer_size:
            self._conn_lost += 1
            self._loop.call_soon(self._call_connection_lost, None)

    def abort(self) -> None:
        """Close at once, dropping queued datagrams."""
        self._force_close(None)

    def _fatal_error(self, exc: BaseException, message: str = 'Fatal error on transport') -> None:
        report_fatal_error(self, exc, message, isinstance(exc, OSError))
        self._force_close(exc)

    def _force_close(self, exc: BaseException | None) -> None:
        if self._conn_lost:
            return
        if not self._closing:
            self._closing = True
            self._stop_receiving()
        self._conn_lost += 1
        self._drop_queue()
        self._loop.call_soon(self._call_connection_lost, exc)

    def _call_connection_lost(self, exc: BaseException | None) -> None:
        try:
            self._protocol.connection_lost(exc)
        finally:
            self._close_io()
            self._release_sock()
            self._protocol = None
            self._loop = None

    def _loop_closed(self) -> None:
        self._close_io()

    # Provided by the subclasses.
    def _open_io(self) -> None: raise NotImplementedError
    def _start_receiving(self) -> None: raise NotImplementedError
    def _stop_receiving(self) -> None: raise NotImplementedError
    def _queue(self, data: bytes, addr) -> None: raise NotImplementedError
    def _drop_queue(self) -> None: raise NotImplementedError
    def _close_io(self) -> None: raise NotImplementedError
    def _release_sock(self) -> None: raise NotImplementedError


class UDPTransport(descriptors.UserDescriptor, _DatagramTransport):
    """UDP on a ``pyuv.UDP`` handle, which owns the socket's descriptor.

    The socket may be the user's (``create_datagram_endpoint(sock=...)``),
    closed by the user underneath. As with asyncio's selector transport, whose
    descriptor the kernel then forgets, nothing more is received, sending
    reports EBADF to error_received() (the socket object's own error), and
    ``resume_reading()`` raises OSError(EBADF); libuv's handle is let go of
    before a poll at which libuv would abort (see ``rose.descriptors``).
    """

    def _open_io(self) -> None:
        # What the descriptor names, to know it again (see _check_fd).
        self._file_id = descriptors.file_id(self._sock_fd)
        self._handle = pyuv.UDP(self._loop._uv)
        try:
            self._handle.open(self._sock_fd)
        except pyuv.error.UVError as exc:
            self._handle.close()
            raise errors.from_pyuv_error(exc) from None
        # pyuv calls them through borrowed references: the transport keeps
        # them. Each is the loop's _io_event (the rule for running at once or
        # later) inside a copy of the context current when receiving or a run
        # of queued sends starts, as asyncio's reader and writer handles do
        # (asyncio passes datagram transports no context of their own).
        self._on_recv_cb = self._on_recv_later_cb = self._on_send_cb = None
        self._queued_sizes: collections.deque = collections.deque()

    def _start_receiving(self) -> None:
        # When the transport is made and on resume_reading().
        if self._closing or self._paused:
            return
        if self._fd_gone():
            # asyncio's selector cannot watch a descriptor closed since: neither can this.
            raise OSError(errno.EBADF, os.strerror(errno.EBADF))
        if self._handle.closed:
            return
        run = contextvars.copy_context().run
        self._on_recv_cb = functools.partial(run, self._on_recv_event)
        self._on_recv_later_cb = functools.partial(self._loop._defer_io,
                                                   functools.partial(run, self._on_recv_later))
        try:
            self._handle.start_recv(self._on_recv_cb)
        except pyuv.error.UVError as exc:
            self._fatal_error(errors.from_pyuv_error(exc), 'Fatal read error on datagram transport')
        else:
            self._watch_changed()

    def _stop_receiving(self) -> None:
        if not self._handle.closed:
            self._handle.stop_recv()
            self._watch_changed()

    def _check_fd(self) -> None:
        """Before libuv's poll: let go of the handle if the descriptor is gone (see the class doc)."""
        if not self._handle.closed and self._fd_gone():
            self._close_io()

    def _on_recv_event(self, handle, addr, flags, data, error) -> None:
        # An event is three values (see _io_event).
        self._loop._io_event(self._on_recv, self._on_recv_later_cb, addr, data, error)

    def _on_recv_later(self, addr, data, error) -> None:
        """_on_recv, from the ready queue: the transport may be closing by then."""
        if not self._closing:
            self._on_recv(addr, data, error)

    def _on_recv(self, addr, data, error) -> None:
        if error is None:
            self._received(data, addr)
        elif error != errors.UV_ECANCELED:
            self._error_received(errors.uv_error(error))

    def _queue(self, data: bytes, addr) -> None:
        if not self._queued_sizes:
            # An event is three values (see _io_event): the transport first,
            # then pyuv's two, for UDPTransport._on_send(self, ...).
            run = contextvars.copy_context().run
            on_send = UDPTransport._on_send
            later = functools.partial(self._loop._defer_io, functools.partial(run, on_send))
            self._on_send_cb = functools.partial(run, self._loop._io_event, on_send, later, self)
        try:
            try:
                self._handle.send(addr, data, self._on_send_cb)
            except (TypeError, ValueError):
                # pyuv takes numeric addresses only; resolve as sendto() would.
                numeric = socket.getaddrinfo(addr[0], addr[1], self._sock.family,
                                             socket.SOCK_DGRAM)[0][4]
                self._handle.send(numeric, data, self._on_send_cb)
        except (pyuv.error.UVError, OSError) as exc:
            self._buffer_size -= len(data) + _HEADER_SIZE
            if isinstance(exc, pyuv.error.UVError):
                exc = errors.from_pyuv_error(exc)
            self._error_received(exc)
            return
        self._queued_sizes.append(len(data))
        self._watch_changed()

    def _on_send(self, handle, error) -> None:
        # At once or from the ready queue (see _io_event).
        if error == errors.UV_ECANCELED:
            return
        self._watch_changed()  # libuv stops watching for writability when its queue empties
        sizes = self._queued_sizes
        size = sizes.popleft() if sizes else 0
        if error is not None:
            self._error_received(errors.uv_error(error))
        if self._loop is not None:
            self._sent(size)

    def _drop_queue(self) -> None:
        # Closing the handle cancels what libuv still holds.
        self._buffer_size = 0
        self._queued_sizes.clear()
        self._close_io()

    def _close_io(self) -> None:
        if not self._handle.closed:
            # pyuv keeps the receive callback until stop_recv(): let it go.
            self._handle.stop_recv()
            with descriptors.spared(self._sock_fd, self._file_id):
                self._handle.close()
        if self._loop is not None:
            # Nothing left to check; and no reference kept until the next poll.
            self._loop._fd_changed.discard(self)
        # The handle closed the descriptor: the socket object must not close
        # it again (when collected after the loop closed, by then perhaps
        # someone else's descriptor of the same number).
        sock = self._sock
        if sock is not None and sock.fileno() != -1:
            sock.detach()

    def _release_sock(self) -> None:
        sock = self._sock
        self._sock = None
        if sock is not None and sock.fileno() != -1:
            sock.detach()  # the handle closed the descriptor
        # They point back at the transport: no cycle once it is done.
        self._on_recv_cb = self._on_recv_later_cb = self._on_send_cb = None


class PollDatagramTransport(_DatagramTransport):
    """Datagrams of families libuv's UDP handle lacks (AF_UNIX), via the loop's poll watcher."""

    def _open_io(self) -> None:
        self._waiting: collections.deque = collections.deque()

    def _start_receiving(self) -> None:
        if not self._closing and not self._paused:
            self._loop._add_reader(self._sock_fd, self._read_ready)

    def _stop_receiving(self) -> None:
        self._loop._remove_reader(self._sock_fd)

    def _read_ready(self) -> None:
        if self._conn_lost:
            return
        try:
            data, addr = self._sock.recvfrom(self.max_size)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._error_received(exc)
            return
        self._received(data, addr)

    def _queue(self, data: bytes, addr) -> None:
        if not self._waiting:
            self._loop._add_writer(self._sock_fd, self._write_ready)
        self._waiting.append((data, addr))

    def _write_ready(self) -> None:
        while self._waiting:
            data, addr = self._waiting[0]
            try:
                if self._extra['peername']:
                    self._sock.send(data)
                else:
                    self._sock.sendto(data, addr)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self._error_received(exc)
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                self._fatal_error(exc, 'Fatal write error on datagram transport')
                return
            self._waiting.popleft()
            if not self._waiting:
                self._loop._remove_writer(self._sock_fd)
            self._sent(len(data))

    def _drop_queue(self) -> None:
        if self._waiting:
            self._waiting.clear()
            self._loop._remove_writer(self._sock_fd)
        self._buffer_size = 0

    def _close_io(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop._remove_reader(self._sock_fd)
            loop._remove_writer(self._sock_fd)

    def _release_sock(self) -> None:
        sock = self._sock
        self._sock = None
        if sock is not None:
            sock.close()


class DatagramMethods:
    """Mixin for the event loop: the transport behind create_datagram_endpoint()."""

    def _make_datagram_transport(self, sock: socket.socket, protocol, address=None,
                                 waiter=None, extra: dict[str, Any] | None = None):
        self._ensure_fd_no_transport(sock)
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            return UDPTransport(self, sock, protocol, address, waiter, extra)
        return PollDatagramTransport(self, sock, protocol, address, waiter, extra)
