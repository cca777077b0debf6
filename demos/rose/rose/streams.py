"""Transports on libuv streams: TCP and Unix sockets (and, in ``pipes``, pipes).

A transport owns a ``pyuv.TCP`` or ``pyuv.Pipe`` handle and keeps asyncio's
whole transport contract. The hot path is short on purpose: libuv's read
callback calls ``protocol.data_received`` directly (no ``call_soon`` per read,
no extra buffer), and ``write()`` first tries to send at once (a socket's
``send()``, a write pipe's ``os.write()``); only what the kernel does not take
is queued in libuv (``uv_write``), whose queue is the transport's write buffer for
flow control.

Each protocol callback runs in the protocol's ``contextvars`` context (see
``rose.transports._UVTransport``); for libuv's callbacks the context is
entered at libuv's boundary, by making the pyuv callback a
``functools.partial`` of ``Context.run``, which adds one C call per read,
not a Python one.

The pieces are mixins so that the pipe transports reuse them:
``_Reading`` (read callbacks, pause/resume) and ``_Writing`` (write, flow
control, draining before close), on ``rose.transports._UVTransport``
(closing, errors, the protocol's context), which every transport shares.
"""

from __future__ import annotations

import collections
import contextvars
import errno
import functools
import os
import socket
import warnings
from asyncio import protocols, transports
from asyncio.log import logger
from typing import Any

import pyuv

from . import compat, descriptors, errors
from .transports import (
    _FAILED,
    _keep_alive,
    _UVTransport,
    attach_to_server,
    detach_from_server,
    socket_extra,
)

__all__ = ['StreamTransport', 'open_stream_handle', 'attach_to_server', 'detach_from_server']

_UVError = pyuv.error.UVError
_UV_EOF = errors.UV_EOF
_UV_EAGAIN = errors.UV_EAGAIN
_UV_ECANCELED = errors.UV_ECANCELED
# pyuv reads into one buffer of this size per loop (PYUV_SLAB_SIZE in pyuv.h).
_PYUV_READ_BUFFER = 65536

_WRITE_TYPE_ERROR = compat.WRITE_TYPE_ERROR

def _nonempty_buffer(protocol, sizehint: int):
    buf = protocol.get_buffer(sizehint)
    if not len(buf):
        raise RuntimeError('get_buffer() returned an empty buffer')
    return buf


def open_stream_handle(uv_loop: pyuv.Loop, fd: int, family: int) -> pyuv.Stream:
    """A pyuv stream handle that takes ownership of the connected socket *fd*."""
    handle = pyuv.Pipe(uv_loop, False) if family == socket.AF_UNIX else pyuv.TCP(uv_loop)
    try:
        handle.open(fd)
    except _UVError as exc:
        handle.close()
        raise errors.from_pyuv_error(exc) from None
    return handle


class _Reading:
    """Reading from a pyuv stream into a Protocol or a BufferedProtocol.

    libuv's read callback delivers at once when the loop allows it (see
    ``EventLoop._run_once``), else it queues the delivery behind the
    callbacks that were ready first. Data that arrives for a protocol that
    has paused reading meanwhile (or that a BufferedProtocol's buffer could
    not take) waits in ``_stash`` until resume_reading().
    """

    max_size = 256 * 1024  # as asyncio: the largest get_buffer() request

    _read_error_message = 'Fatal read error on socket transport'
    _uv_reading = False  # libuv is reading for us
    _stash: collections.deque | None = None  # (data, error) read but not delivered
    _read_deferred = False  # reading stopped until a deferred read is delivered
    # What libuv calls: _on_uv_read inside _read_context (see _UVTransport),
    # which is chosen when reading starts. It applies the loop's rule for I/O
    # events itself (see _on_uv_read); for later, _defer_read queues
    # _on_read_later_cb, which runs _on_read_later inside _read_context (a
    # partial of Context.run is much cheaper to call from Python than
    # Context.run itself: about 25 ns over a plain call, against 170 ns).
    # Entering the context at libuv's boundary costs a C call (functools.partial
    # of Context.run); entering it from _on_uv_read would cost a second
    # C-to-Python call per read.
    _on_read_cb: functools.partial | None = None
    _read_context: contextvars.Context | None = None
    _on_read_later_cb: functools.partial | None = None

    def _init_state(self, loop, handle, protocol, server=None,
                    context: contextvars.Context | None = None) -> None:
        self._paused = False  # pause_reading()
        super()._init_state(loop, handle, protocol, server, context)

    def set_protocol(self, protocol) -> None:
        self._protocol = protocol
        self._protocol_connected = True
        if isinstance(protocol, protocols.BufferedProtocol):
            self._data_received = self._feed_buffered
        else:
            self._data_received = protocol.data_received

    def is_reading(self) -> bool:
        return not self._closing and not self._paused

    def pause_reading(self) -> None:
        if not self.is_reading():
            return
        self._paused = True
        self._stop_reading()
        if self._loop.get_debug():
            logger.debug('%r pauses reading', self)

    def resume_reading(self) -> None:
        if self._closing or not self._paused:
            return
        self._paused = False
        if self._stash:
            self._call_soon(self._deliver_stash)
        else:
            self._start_reading()
        if self._loop.get_debug():
            logger.debug('%r resumes reading', self)

    def _start_reading(self) -> None:
        if not self.is_reading() or self._handle is None or self._stash:
            return
        context = self._libuv_context()
        if context is not self._read_context:
            self._read_context = context
            retired = self._on_read_cb
            # pyuv calls its callback through a borrowed reference: the
            # transport keeps one. The callback replaced here may be the
            # one running now (resume_reading() from data_received), so it
            # is kept until this iteration's callbacks are over.
            self._on_read_later_cb = functools.partial(context.run, self._on_read_later)
            self._on_read_cb = functools.partial(context.run, self._on_uv_read)
            if retired is not None and not self._loop.is_closed():
                self._loop.call_soon(_keep_alive, retired)
        try:
            self._handle.start_read(self._on_read_cb)
        except _UVError as exc:
            self._uv_reading = False
            self._fatal_error(errors.from_pyuv_error(exc), self._read_error_message)
        else:
            self._uv_reading = True
            self._watch_changed()

    def _stop_reading(self) -> None:
        if self._uv_reading:
            self._uv_reading = False
            handle = self._handle
            if not handle.closed:
                handle.stop_read()
                self._watch_changed()

    def _close_handle(self) -> None:
        handle = self._handle
        if handle is not None and not handle.closed:
            # pyuv holds the read callback (a bound method of this transport)
            # until stop_read(), even after EOF stopped libuv reading: let go
            # of it, or the transport and its handle form a reference cycle.
            self._uv_reading = False
            handle.stop_read()
        super()._close_handle()

    def _release_now(self) -> None:
        super()._release_now()
        # Nothing will be read any more: drop the references back to this
        # transport and to its protocol, so that refcounting alone frees
        # them (as asyncio's transports do from Python 3.14 on).
        self._on_read_cb = self._on_read_later_cb = None
        self._data_received = None

    def _on_uv_read(self, handle, data, error):
        # The hot path: libuv's read callback -> protocol.data_received, in
        # the read context. It is the loop's rule for I/O events
        # (EventLoop._io_event: at once while _io_direct, else queued) written
        # out, as _io_event's own frame would be a third of the Python calls
        # rose adds per message to libuv's (the protocol's data_received and
        # the transport's write are the others).
        if not self._loop._io_direct:
            self._defer_read(handle, data, error)
        elif data:
            # An attribute, then a call: CPython specializes loading an
            # instance's attribute, but not a "method" found in the instance.
            data_received = self._data_received
            try:
                data_received(data)
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                self._fatal_error(exc, 'Fatal error: protocol.data_received() call failed.')
        else:
            self._on_read(handle, data, error)

    def _on_read(self, handle, data, error):
        # A read, delivered now: by _on_uv_read, or from the ready queue (_deliver).
        if data:
            try:
                self._data_received(data)
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                self._fatal_error(exc, 'Fatal error: protocol.data_received() call failed.')
        elif data is None:
            if self._read_stopped(error):
                self._on_read_end(error)
        # else: libuv found nothing to read after all

    def _defer_read(self, handle, data, error) -> None:
        """_on_read's 'later' form: queue the read, and read no more until it is delivered.

        libuv reads a socket again in the same poll (up to 32 times) only
        after a read that filled pyuv's buffer, and a queued read reaches the
        protocol only after the poll, too late for its pause_reading() to stop
        the rest: after such a read, like asyncio, read no more in this
        iteration, until this read has been delivered (_deliver_later starts
        reading again). A shorter read already ends libuv's reading for this
        poll: stopping then would only cost two libuv calls per message.
        """
        self._loop._defer_io(self._on_read_later_cb, handle, data, error)
        if data and len(data) >= _PYUV_READ_BUFFER:
            self._stop_reading()
            self._read_deferred = True

    def _on_read_later(self, handle, data, error) -> None:
        """_on_read, from the ready queue: reading may have paused or stopped meanwhile."""
        if data is None:
            if self._loop is None:
                return  # the transport is gone already
            if self._read_stopped(error):
                self._deliver_later(None, error)
        elif data:
            self._deliver_later(data, error)

    def _read_stopped(self, error) -> bool:
        """libuv stopped reading (EOF or an error): whether *error* is to be delivered now.

        asyncio learns of EOF from a recv() of its own, one iteration after
        the last data at the soonest; libuv may report both at once. EOF is
        delivered in the next iteration, keeping asyncio's order of events.
        """
        self._uv_reading = False  # pyuv stops reading on EOF and errors
        self._watch_changed()
        if error == _UV_EOF:
            self._loop.call_soon(self._deliver_later, None, error, context=self._read_context)
            return False
        return True

    def _deliver_later(self, data, error) -> None:
        if self._closing:
            return
        if self._paused or self._stash:
            # Behind what resume_reading()'s _deliver_stash has yet to deliver.
            self._keep(data, error)
        else:
            self._deliver(data, error)
        if self._read_deferred:
            self._read_deferred = False
            try:
                self._start_reading()  # unless the protocol paused reading meanwhile
            except OSError as exc:
                if exc.errno != errno.EBADF:
                    raise
                # The program closed the descriptor under the transport: asyncio's
                # selector stops seeing it without a word, and so does this.

    def _keep(self, data, error, first: bool = False) -> None:
        if self._stash is None:
            self._stash = collections.deque()
        if first:
            self._stash.appendleft((data, error))
        else:
            self._stash.append((data, error))

    def _deliver(self, data, error) -> None:
        if data is None:
            self._on_read_end(error)
        else:
            self._on_read(None, data, None)

    def _deliver_stash(self) -> None:
        stash = self._stash
        while stash and not self._paused and not self._closing:
            self._deliver(*stash.popleft())
        if not stash:
            self._stash = None
            self._start_reading()

    def _feed_buffered(self, data: bytes) -> None:
        """Copy *data* into the BufferedProtocol's buffers, as far as reading goes on."""
        protocol = self._protocol
        view = memoryview(data)
        while view:
            buf = self._guarded('Fatal error: protocol.get_buffer() call failed.',
                                _nonempty_buffer, protocol, len(view))
            if buf is _FAILED:
                return
            size = min(len(buf), len(view))
            memoryview(buf).cast('B')[:size] = view[:size]
            view = view[size:]
            if self._guarded('Fatal error: protocol.buffer_updated() call failed.',
                             protocol.buffer_updated, size) is _FAILED:
                return
            if view and (self._paused or self._closing or self._protocol is not protocol):
                if not self._closing:
                    self._keep(bytes(view), None, first=True)
                    if not self._paused:
                        # The protocol changed (start_tls): it gets the rest.
                        self._call_soon(self._deliver_stash)
                return

    def _on_read_end(self, error: int) -> None:
        if error == _UV_EOF:
            self._on_eof()
        elif error != _UV_ECANCELED:
            self._fatal_error(errors.uv_error(error), self._read_error_message)

    def _on_eof(self) -> None:
        if self._loop.get_debug():
            logger.debug('%r received EOF', self)
        keep_open = self._guarded('Fatal error: protocol.eof_received() call failed.',
                                  self._protocol.eof_received)
        if not keep_open:  # _FAILED is true: the transport is closing already
            self.close()


class _Writing:
    """Writing to a pyuv stream: ``_try_write`` first, then libuv's write queue.

    ``_try_write(data)`` sends what the kernel takes at once and returns its
    size: ``uv_try_write`` unless the transport sets another (a socket's
    ``send``, a write pipe's ``os.write`` on the program's descriptor).
    """

    _write_error_message = 'Fatal write error on socket transport'
    # What libuv calls when a queued write is done: the loop's _io_event
    # inside _write_context (see _UVTransport), chosen when writes start to
    # queue, with _on_write_done for now and, for later, in the same context.
    _on_write_done_cb: functools.partial | None = None
    _write_context: contextvars.Context | None = None
    # Bytes queued in libuv when the handle had to be let go (see
    # StreamTransport._check_fd): they count as still waiting, as asyncio's
    # buffer waits for ever on a descriptor closed under it.
    _stranded = 0

    def _init_state(self, loop, handle, protocol, server=None,
                    context: contextvars.Context | None = None) -> None:
        self._eof = False  # write_eof()
        # sendfile()'s: set here, not only on the class, as write() reads it
        # on every call (an instance attribute is the faster lookup).
        self._empty_waiter = None
        # libuv's uv_try_write, unless the transport sets another (see the class doc).
        self._try_write = handle.try_write
        super()._init_state(loop, handle, protocol, server, context)
        self._write_direct = True

    # write()'s checks, folded into one flag for its hot path: true while
    # nothing stands between write() and the kernel -- nothing queued in
    # libuv, no write_eof(), no sendfile, the connection not lost, the handle
    # open. Whatever may end one of these sets it false at once; it turns
    # true again only when the write queue empties or sendfile ends.
    def _refresh_write_direct(self) -> None:
        handle = self._handle
        self._write_direct = (not self._eof and self._empty_waiter is None and not self._conn_lost
                              and handle is not None and not handle.closed
                              and not handle.write_queue_size)

    def write(self, data) -> None:
        """Write *data* (bytes-like); what the kernel does not take is queued."""
        if not self._write_direct or type(data) is not bytes:
            data = self._checked_for_write(data)
            if data is None:
                return  # nothing to send now, or queued behind earlier writes
        size = len(data)
        if not size:
            return
        try_write = self._try_write  # (see _on_uv_read's data_received)
        try:
            sent = try_write(data)
        except BlockingIOError:
            sent = 0
        except _UVError as exc:
            if exc.args[0] != _UV_EAGAIN:
                self._fatal_error(errors.from_pyuv_error(exc), self._write_error_message)
                return
            sent = 0
        except OSError as exc:
            # Without its traceback, which holds this frame (and so the
            # transport) for as long as the protocol keeps the error.
            self._fatal_error(exc.with_traceback(None), self._write_error_message)
            return
        if sent != size:
            self._queue_write(memoryview(data)[sent:] if sent else data, start=True)

    def _checked_for_write(self, data):
        """write()'s checks, when its flag does not vouch for them: the data to try, or None.

        Raises as asyncio's write() does. None when there is nothing to send
        now: empty data, a lost connection (the write is counted, as asyncio
        counts it), or writes queued in libuv (*data* is queued behind them).
        """
        if type(data) is not bytes:
            if not isinstance(data, (bytes, bytearray, memoryview)):
                raise TypeError(_WRITE_TYPE_ERROR.format(type(data).__name__))
            data = memoryview(data).cast('B')
        if self._eof:
            raise RuntimeError('Cannot call write() after write_eof()')
        if self._empty_waiter is not None:
            raise RuntimeError('unable to write; sendfile is in progress')
        if not data:
            return None
        if self._conn_lost:
            if self._conn_lost >= compat.LOG_THRESHOLD_FOR_CONNLOST_WRITES:
                logger.warning('socket.send() raised exception.')
            self._conn_lost += 1
            return None
        if self._handle.write_queue_size:
            self._queue_write(data, start=False)
            return None
        return data

    def _queue_write(self, data, *, start: bool) -> None:
        """Queue *data* in libuv, behind what is queued; *start*: nothing was."""
        self._write_direct = False
        if start:
            # A burst of queued writes starts: choose where its completions run
            # (pyuv keeps the callback with each write: no lifetime to manage).
            context = self._libuv_context()
            if context is not self._write_context:
                self._write_context = context
                # An event is three values (see _io_event): the transport
                # first, then pyuv's two, for _Writing._on_write_done(self, ...).
                loop = self._loop
                on_write_done = _Writing._on_write_done
                self._on_write_done_cb = functools.partial(
                    context.run, loop._io_event, on_write_done,
                    functools.partial(loop._defer_io,
                                      functools.partial(context.run, on_write_done)),
                    self)
        if type(data) is not bytes:
            # Queued data must not change if the caller reuses its buffer.
            data = bytes(data)
        try:
            self._handle.write(data, self._on_write_done_cb)
        except _UVError as exc:
            self._fatal_error(errors.from_pyuv_error(exc), self._write_error_message)
            return
        self._watch_changed()
        self._maybe_pause_protocol()

    def writelines(self, list_of_data) -> None:
        """Write every bytes-like object of *list_of_data*, in order."""
        if self._eof:
            raise RuntimeError('Cannot call writelines() after write_eof()')
        if self._empty_waiter is not None:
            raise RuntimeError('unable to writelines; sendfile is in progress')
        data = b''.join(list_of_data)
        if data:
            self.write(data)

    def get_write_buffer_size(self) -> int:
        """Bytes written but not yet taken by the kernel (libuv's write queue)."""
        handle = self._handle
        if handle is None or handle.closed:
            return self._stranded
        return handle.write_queue_size

    _write_pending = get_write_buffer_size

    def _release_now(self) -> None:
        super()._release_now()
        # They point back at the transport: no cycle once it is done.
        self._on_write_done_cb = self._write_context = None

    def _on_write_done(self, handle, error) -> None:
        # At once or from the ready queue (see _io_event): the transport may be gone by then.
        if error == _UV_ECANCELED or self._loop is None:
            return  # the handle was closed with writes queued
        self._watch_changed()  # libuv stops watching for writability when its queue empties
        if error is not None:
            exc = errors.uv_error(error)
            self._fatal_error(exc, self._write_error_message)
            if self._empty_waiter is not None and not self._empty_waiter.done():
                self._empty_waiter.set_exception(exc)
            return
        if self._conn_lost:
            return
        self._maybe_resume_protocol()  # may write more
        if self.get_write_buffer_size():
            return
        if self._empty_waiter is not None and not self._empty_waiter.done():
            self._empty_waiter.set_result(None)
        if self._closing:
            if not self._conn_lost:
                self._conn_lost += 1
                self._call_connection_lost(None)
        elif self._eof:
            self._write_eof_now()
        else:
            self._refresh_write_direct()  # the queue is empty

    def _make_empty_waiter(self):
        if self._empty_waiter is not None:
            raise RuntimeError('Empty waiter is already set')
        self._empty_waiter = self._loop.create_future()
        self._write_direct = False
        if not self.get_write_buffer_size():
            self._empty_waiter.set_result(None)
        return self._empty_waiter

    def _reset_empty_waiter(self) -> None:
        self._empty_waiter = None
        self._refresh_write_direct()


class StreamTransport(descriptors.UserDescriptor, _Reading, _Writing, _UVTransport,
                      compat._FlowControlMixin, transports.Transport):
    """A TCP or Unix-socket connection on a ``pyuv.TCP``/``pyuv.Pipe`` handle.

    The handle owns the socket's descriptor; the ``socket.socket`` object is
    kept for ``get_extra_info('socket')`` and detached when the handle closes.

    The socket may be the user's (``create_connection(sock=...)``,
    ``connect_accepted_socket``...), and the user may close it underneath.
    The transport then behaves as asyncio's selector transport does, whose
    descriptor the kernel forgets: nothing more is read or sent, and the
    protocol is not told; ``write()`` fails with EBADF (connection_lost),
    ``resume_reading()`` raises OSError(EBADF), ``close()`` calls
    connection_lost(None), or raises OSError(EBADF) and leaves the data
    waiting for ever if writes were queued while reading. Sending goes
    through the socket object (``send``), so a closed socket fails as
    asyncio's does. libuv's handle is let go of, sparing whatever file took
    the number since (see ``rose.descriptors``), when the loop finds the
    descriptor gone before a poll at which libuv would have aborted.
    """

    _start_tls_compatible = True
    _sendfile_compatible = compat._SendfileMode.TRY_NATIVE
    _sock: socket.socket | None = None

    def __init__(self, loop, sock: socket.socket, protocol, waiter=None,
                 extra: dict[str, Any] | None = None, server=None,
                 handle: pyuv.Stream | None = None,
                 context: contextvars.Context | None = None):
        compat._FlowControlMixin.__init__(self, extra, loop)
        socket_extra(self._extra, sock)
        self._sock = sock
        self._sock_fd = sock.fileno()
        compat._set_nodelay(sock)
        # What the descriptor names, to know it again (see _check_fd).
        self._file_id = descriptors.file_id(self._sock_fd)
        if handle is None:
            handle = open_stream_handle(loop._uv, self._sock_fd, sock.family)
        self._init_state(loop, handle, protocol, server, context)
        # A closed socket object fails (EBADF) as asyncio's send() does,
        # and a successful send leaves libuv's watcher alone.
        self._try_write = sock.send
        loop._transports[self._sock_fd] = self
        self._connect_protocol(waiter)

    def __repr__(self) -> str:
        info = [self.__class__.__name__, self._handle_state(), f'fd={self._sock_fd}']
        if self._loop is not None and not self._loop.is_closed():
            info.append('read=polling' if self._uv_reading else 'read=idle')
            info.append(f'write=<bufsize={self.get_write_buffer_size()}>')
        return '<{}>'.format(' '.join(info))

    def __del__(self, _warn=warnings.warn) -> None:
        if self._sock is not None:
            _warn(f'unclosed transport {self!r}', ResourceWarning, source=self)
            self._release_now()

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        """Shut down the sending side once buffered data is sent."""
        if self._closing or self._eof:
            return
        self._eof = True
        self._write_direct = False
        if not self.get_write_buffer_size():
            # At once, by the socket, as asyncio does: an error (the peer has
            # reset the connection) is raised here, where libuv's shutdown
            # request would report it only to its callback.
            self._sock.shutdown(socket.SHUT_WR)

    def _write_eof_now(self) -> None:
        """Shut down the sending side after the last queued write (libuv's request, in order)."""
        try:
            self._handle.shutdown(self._on_shutdown)
        except _UVError as exc:
            self._fatal_error(errors.from_pyuv_error(exc), 'Fatal error on shutdown')
        else:
            self._watch_changed()

    def _start_reading(self) -> None:
        if self.is_reading() and self._handle is not None and not self._stash and self._fd_gone():
            # asyncio's selector cannot watch a descriptor closed since: neither can this.
            raise OSError(errno.EBADF, os.strerror(errno.EBADF))
        super()._start_reading()

    def close(self) -> None:
        """Close the transport: buffered data is still sent, then connection_lost(None)."""
        if not self._closing and self._stranded_by_close():
            # asyncio's selector fails (EBADF) to stop reading a descriptor
            # closed under it while a write waits, and the data waits for ever.
            self._closing = True
            self._stop_reading()
            raise OSError(errno.EBADF, os.strerror(errno.EBADF))
        super().close()

    def _stranded_by_close(self) -> bool:
        """Whether the descriptor was closed under the transport while reading, with writes queued."""
        handle = self._handle
        if handle is None:
            return False
        if handle.closed:
            return bool(self._stranded) and self._stranded_reading
        return self._uv_reading and bool(handle.write_queue_size) and self._fd_gone()

    _stranded_reading = False  # reading when the handle was let go of

    def _check_fd(self) -> None:
        """Before libuv's poll: let go of the handle if the descriptor is gone (see the class doc)."""
        handle = self._handle
        if handle is None or handle.closed or not self._fd_gone():
            return
        self._stranded = handle.write_queue_size
        self._stranded_reading = self._uv_reading
        self._close_handle()

    def _on_shutdown(self, handle, error) -> None:
        if error is not None and error != _UV_ECANCELED and self._loop is not None:
            if self._loop.get_debug():
                logger.debug('%r: shutdown failed: %s', self, errors.uv_error(error))

    def _close_handle(self) -> None:
        handle = self._handle
        if handle is not None and not handle.closed:
            with descriptors.spared(self._sock_fd, self._file_id):
                super()._close_handle()
        loop = self._loop
        if loop is not None:
            # Nothing left to check; and no reference kept until the next poll.
            loop._fd_changed.discard(self)
        # The handle closed the descriptor: the socket object must not close it again.
        sock = self._sock
        if sock is not None and sock.fileno() != -1:
            sock.detach()

    def _release(self) -> None:
        self._sock = None

    def _call_connection_lost(self, exc: BaseException | None) -> None:
        super()._call_connection_lost(exc)
        if self._empty_waiter is not None and not self._empty_waiter.done():
            self._empty_waiter.set_exception(ConnectionError('Connection is closed by peer'))
