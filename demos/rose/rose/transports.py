"""What every rose transport shares: closing, fatal errors, the protocol's context.

``_UVTransport`` holds the state and closing logic of the transports on a
pyuv handle (streams: TCP and Unix sockets; pipes); ``guarded_call``,
``report_fatal_error`` and ``socket_extra`` serve the datagram transport too;
``attach_to_server``/``detach_from_server`` hide the change of
``Server._attach()`` in Python 3.13. Reading and writing on libuv streams are
``rose.streams``' mixins, built on this.
"""

from __future__ import annotations

import contextvars
import socket
from asyncio import trsock
from asyncio.log import logger
from collections.abc import Callable
from typing import Any

import pyuv

from .compat import _set_result_unless_cancelled, attach_to_server, detach_from_server

__all__ = ['attach_to_server', 'detach_from_server', 'guarded_call', 'report_fatal_error', 'socket_extra']

def _keep_alive(obj) -> None:
    """A no-op call_soon callback whose argument stays referenced until it runs."""


# What _guarded() returns when the protocol's method raised.
_FAILED = object()


def guarded_call(transport, message: str, func: Callable[..., Any], *args: Any) -> Any:
    """Call the protocol's *func*; an exception in it ends *transport* (and yields _FAILED)."""
    try:
        return func(*args)
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as exc:
        transport._fatal_error(exc, message)
        return _FAILED


def socket_extra(extra: dict[str, Any], sock: socket.socket) -> None:
    """Fill a transport's extra info for *sock* as asyncio does: socket, sockname, peername."""
    extra['socket'] = trsock.TransportSocket(sock)
    try:
        extra['sockname'] = sock.getsockname()
    except OSError:
        extra['sockname'] = None
    if 'peername' not in extra:
        try:
            extra['peername'] = sock.getpeername()
        except OSError:
            extra['peername'] = None


def report_fatal_error(transport, exc: BaseException, message: str, quiet: bool) -> None:
    """Tell of an error that ends *transport*: a debug log if *quiet*, else the exception handler."""
    loop = transport._loop
    if quiet:
        if loop.get_debug():
            logger.debug('%r: %s', transport, message, exc_info=True)
    else:
        loop.call_exception_handler({
            'message': message,
            'exception': exc,
            'transport': transport,
            'protocol': transport._protocol,
        })


class _UVTransport:
    """State and closing logic shared by rose's stream and pipe transports.

    A subclass sets ``_handle`` (the pyuv handle) and implements
    ``_release()``, which frees what the transport owns once it is closed.

    Contexts: from Python 3.15 on, asyncio hands a transport the
    ``contextvars.Context`` its protocol lives in (the server's, copied per
    connection, or the connecting task's), and every protocol callback runs
    in it. Earlier versions hand none: then, as their selector loop does,
    callbacks scheduled with call_soon run in a copy of the context current
    when they are scheduled, and libuv's callbacks in a copy of the context
    current when reading (or a burst of queued writes) started.
    """

    _handle: pyuv.Stream | None = None
    _server = None
    _empty_waiter = None
    # rose.streams._Writing.write()'s hot path is open (see there): never once
    # the connection is lost or the handle closed.
    _write_direct = False
    _context: contextvars.Context | None = None

    def _init_state(self, loop, handle, protocol, server=None,
                    context: contextvars.Context | None = None) -> None:
        """Set up the state of a transport on *handle*, then of each mixin.

        Each mixin that has state of its own (``rose.streams``' ``_Reading``
        and ``_Writing``) extends this method, setting up its own fields and
        calling ``super()._init_state()``: none knows another's.
        """
        self._loop = loop
        self._handle = handle
        self._context = context
        self._closing = False  # close() or an error: no more reading
        self._conn_lost = 0  # connection_lost() scheduled (and writes after it)
        self._server = server
        self.set_protocol(protocol)
        if server is not None:
            attach_to_server(server, self)
        loop._uv_owners.add(self)

    def _connect_protocol(self, waiter) -> None:
        """Schedule connection_made, then reading, then the waiter, as asyncio does."""
        self._call_soon(self._protocol.connection_made, self)
        self._call_soon(self._start_reading)
        if waiter is not None:
            self._call_soon(_set_result_unless_cancelled, waiter, None)

    def _call_soon(self, callback: Callable[..., object], *args: Any) -> None:
        """call_soon() in the transport's context (None: a copy of the current one)."""
        self._loop.call_soon(callback, *args, context=self._context)

    def _libuv_context(self) -> contextvars.Context:
        """The context for the libuv callbacks being set up now (see the class doc)."""
        context = self._context
        return context if context is not None else contextvars.copy_context()

    def get_protocol(self):
        return self._protocol

    def set_protocol(self, protocol) -> None:
        self._protocol = protocol
        self._protocol_connected = True

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        """Close the transport: buffered data is still sent, then connection_lost(None)."""
        if self._closing:
            return
        self._closing = True
        self._stop_reading()
        if self._loop.is_closed():
            # Too late to tell the protocol: just let go of everything.
            self._release_now()
        elif not self._write_pending():
            self._conn_lost += 1
            self._write_direct = False
            self._call_soon(self._call_connection_lost, None)

    def _write_pending(self) -> int:
        return 0  # a read-only transport never has data to send

    def abort(self) -> None:
        """Close at once, dropping buffered data; connection_lost(None) follows."""
        self._force_close(None)

    def _fatal_error(self, exc: BaseException, message: str = 'Fatal error on transport') -> None:
        report_fatal_error(self, exc, message, self._is_quiet_error(exc))
        self._force_close(exc)

    def _is_quiet_error(self, exc: BaseException) -> bool:
        # As asyncio: a failing connection is the protocol's news, not the log's.
        return isinstance(exc, OSError)

    def _force_close(self, exc: BaseException | None) -> None:
        if self._conn_lost:
            return
        if not self._closing:
            self._closing = True
            self._stop_reading()
        self._conn_lost += 1
        self._write_direct = False
        # Closing the libuv handle drops whatever is still queued.
        self._close_handle()
        if self._loop.is_closed():
            self._release_now()
        else:
            self._call_soon(self._call_connection_lost, exc)

    def _release_now(self) -> None:
        self._close_handle()
        self._release()
        server = self._server
        if server is not None:
            detach_from_server(server, self)
            self._server = None

    def _call_connection_lost(self, exc: BaseException | None) -> None:
        try:
            if self._protocol_connected:
                self._protocol.connection_lost(exc)
        finally:
            self._release_now()
            self._protocol = None
            self._loop = None

    def _close_handle(self) -> None:
        self._write_direct = False
        handle = self._handle
        if handle is not None and not handle.closed:
            handle.close()

    def _loop_closed(self) -> None:
        """The loop is closing with this transport open: free the libuv side only.

        The protocol is not told, as with asyncio's loop; the transport
        still warns about being left open when it is collected.
        """
        self._close_handle()

    def _release(self) -> None:
        raise NotImplementedError

    def _watch_changed(self) -> None:
        """libuv will tell the kernel of a change in what the handle watches, at its next poll.

        Only a transport on a descriptor someone else may close cares (see
        ``StreamTransport``); the pipe transports own theirs (a duplicate).
        """

    def _guarded(self, message: str, func: Callable[..., Any], *args: Any) -> Any:
        return guarded_call(self, message, func, *args)

    def _handle_state(self) -> str:
        handle = self._handle
        if handle is None or handle.closed:
            return 'closed'
        if self._closing:
            return 'closing'
        return 'open'
