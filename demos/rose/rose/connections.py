"""Stream connections and servers: the loop's TCP and Unix-socket plumbing.

asyncio's BaseEventLoop creates, binds, connects and listens on the sockets
(create_connection's happy eyeballs, create_server's options) and then asks
the loop for transports through a few hooks; rose answers them with libuv:

* ``_make_socket_transport`` / ``_make_ssl_transport``: a ``StreamTransport``
  on a ``pyuv.TCP`` or ``pyuv.Pipe`` handle (TLS through ``asyncio.sslproto``
  on top, as asyncio's own loop does);
* ``_start_serving`` / ``_stop_serving``: a libuv listener (``uv_listen``) on
  the listening socket itself, whose accepted connections become transports
  without a task per connection;
* ``_sendfile_native``: ``os.sendfile`` on the connection;
* ``create_unix_connection`` / ``create_unix_server``, which BaseEventLoop
  leaves to its subclasses.
"""

from __future__ import annotations

import contextvars
import errno
import functools
import os
import socket
import stat
from asyncio import base_events, sslproto, tasks, trsock
from asyncio.log import logger
from typing import Any

import pyuv

from . import compat, descriptors, errors
from .sockets import _sendfile_source
from .streams import StreamTransport

__all__ = ['ConnectionMethods']

_CLEANUP_SOCKET_DEFAULT = compat.CLEANUP_UNIX_SOCKET_DEFAULT


class _Listener:
    """Accepts connections for one listening socket of a Server, with uv_listen().

    Each connection gets its own copy of the server's context: the protocol
    factory runs in it, and so do the protocol's callbacks when asyncio
    passed that context (Python 3.15+; see ``rose.transports._UVTransport``).
    Before 3.15 the server's context is the one current when serving starts,
    as the accept reader of asyncio's selector loop takes it.

    libuv listens on the server's socket itself, not on a duplicate, so that
    a user who closes that socket (``create_server(sock=...)``) closes the
    port, as with asyncio's loop; libuv's handle then closes the descriptor
    (sparing a file that took its number since, see ``rose.descriptors``)
    and the socket object is detached. A socket closed before libuv first
    polls it is caught by the loop's check (``_check_fd``).
    """

    def __init__(self, loop, sock: socket.socket, protocol_factory, sslcontext, server,
                 backlog: int, ssl_handshake_timeout, ssl_shutdown_timeout,
                 context: contextvars.Context | None):
        self._loop = loop
        self._context = context if context is not None else contextvars.copy_context()
        self._context_for_transports = context is not None
        self._sock = sock
        self._family = sock.family
        self._proto = sock.proto
        self._protocol_factory = protocol_factory
        self._sslcontext = sslcontext
        self._server = server
        self._ssl_timeouts = (ssl_handshake_timeout, ssl_shutdown_timeout)
        self._is_unix = sock.family == socket.AF_UNIX
        self._fd = fd = sock.fileno()
        self._file_id = descriptors.file_id(fd)
        try:
            self._handle = self._new_handle()
            self._handle.open(fd)
        except pyuv.error.UVError as exc:
            # libuv closes nothing it failed to open; the Server closes the socket.
            raise errors.from_pyuv_error(exc, repr(sock.getsockname())) from None
        self._on_connection_cb = self._on_connection
        try:
            self._handle.listen(self._on_connection_cb, backlog)
        except pyuv.error.UVError as exc:
            error = errors.from_pyuv_error(exc, repr(sock.getsockname()))
            self.close()  # the socket with it: the Server's close() finds it closed
            raise error from None
        loop._uv_owners.add(self)
        # libuv tells the kernel at its next poll: the loop checks first.
        loop._note_fd_change(self)

    def _new_handle(self):
        uv = self._loop._uv
        return pyuv.Pipe(uv, False) if self._is_unix else pyuv.TCP(uv)

    def close(self) -> None:
        """Stop listening; the descriptor is closed, the socket object detached from it."""
        if not self._handle.closed:
            with descriptors.spared(self._fd, self._file_id):
                self._handle.close()
        self._loop._fd_changed.discard(self)
        if self._sock.fileno() == self._fd:
            self._sock.detach()

    _loop_closed = close

    def _check_fd(self) -> None:
        """Before libuv's poll: let go of the handle if the user closed the socket (see the class doc)."""
        if not self._handle.closed and descriptors.file_id(self._fd) != self._file_id:
            self.close()

    def _on_connection(self, handle, error) -> None:
        loop = self._loop
        if error is not None:
            exc = errors.uv_error(error)
            if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                message = 'socket.accept() out of system resource'
            else:
                message = 'Error accepting a connection'
            loop.call_exception_handler({
                'message': message,
                'exception': exc,
                'socket': trsock.TransportSocket(self._sock),
            })
            return
        client = self._new_handle()
        try:
            handle.accept(client)
        except pyuv.error.UVError:
            client.close()  # the connection went away before we took it
            return
        conn = socket.socket(self._family, socket.SOCK_STREAM | socket.SOCK_NONBLOCK,
                             self._proto, client.fileno())
        if loop._debug:
            logger.debug('%r got a new connection: %r', self._server, conn)
        loop._io_event(self._serve, functools.partial(loop._defer_io, self._serve),
                       conn, client, self._context.copy())

    def _serve(self, conn: socket.socket, client: pyuv.Stream, conn_context) -> None:
        """Give the accepted connection its protocol and transport, in its own context."""
        conn_context.run(self._loop._serve_connection, conn, client, self._protocol_factory,
                         self._sslcontext, self._server, *self._ssl_timeouts,
                         conn_context if self._context_for_transports else None)


class ConnectionMethods:
    """Mixin for the event loop: stream transports, servers, Unix sockets, sendfile."""

    # The hooks below take *context* (the protocol's, see rose.streams), which
    # asyncio passes from Python 3.15 on.

    def _make_socket_transport(self, sock: socket.socket, protocol, waiter=None, *,
                               extra: dict[str, Any] | None = None, server=None,
                               context: contextvars.Context | None = None):
        self._ensure_fd_no_transport(sock)
        return StreamTransport(self, sock, protocol, waiter, extra, server, context=context)

    def _make_ssl_transport(self, rawsock: socket.socket, protocol, sslcontext, waiter=None, *,
                            server_side: bool = False, server_hostname: str | None = None,
                            extra: dict[str, Any] | None = None, server=None,
                            ssl_handshake_timeout: float | None = None,
                            ssl_shutdown_timeout: float | None = None,
                            call_connection_made: bool = True,
                            context: contextvars.Context | None = None, _handle=None):
        if _handle is None:
            self._ensure_fd_no_transport(rawsock)
        ssl_protocol = sslproto.SSLProtocol(
            self, protocol, sslcontext, waiter, server_side, server_hostname,
            ssl_handshake_timeout=ssl_handshake_timeout,
            ssl_shutdown_timeout=ssl_shutdown_timeout,
            call_connection_made=call_connection_made)
        StreamTransport(self, rawsock, ssl_protocol, extra=extra, server=server, handle=_handle,
                        context=context)
        return ssl_protocol._app_transport

    # Serving ------------------------------------------------------------

    def _start_serving(self, protocol_factory, sock: socket.socket, sslcontext=None,
                       server=None, backlog: int = 100, ssl_handshake_timeout=None,
                       ssl_shutdown_timeout=None,
                       context: contextvars.Context | None = None) -> None:
        if sock in self._listeners:
            return
        self._listeners[sock] = _Listener(self, sock, protocol_factory, sslcontext, server,
                                          backlog, ssl_handshake_timeout, ssl_shutdown_timeout,
                                          context)

    def _stop_serving(self, sock: socket.socket) -> None:
        fd = sock.fileno()
        path = None
        inode = self._unix_server_sockets.pop(sock, None)
        if inode is not None and fd != -1:
            try:
                path = sock.getsockname()
            except OSError:
                path = None
        listener = self._listeners.pop(sock, None)
        if listener is not None:
            listener.close()  # closes the descriptor
        if fd == -1 and not self.is_closed():
            # The user closed the socket under the server: asyncio's loop
            # fails here as its selector does for fileno() -1.
            raise ValueError(f'Invalid file descriptor: {fd}')
        sock.close()
        if path:
            try:
                if os.stat(path).st_ino == inode:
                    os.unlink(path)
            except FileNotFoundError:
                pass
            except OSError as err:
                logger.error('Unable to clean up listening UNIX socket %r: %r', path, err)

    def _serve_connection(self, conn: socket.socket, handle, protocol_factory, sslcontext,
                          server, ssl_handshake_timeout, ssl_shutdown_timeout,
                          context: contextvars.Context | None) -> None:
        """Make the transport and protocol for an accepted connection.

        Runs in the connection's context; *context* is that context when the
        transport is to run the protocol in it, else None.
        """
        protocol = transport = None
        try:
            protocol = protocol_factory()
            if sslcontext:
                waiter = self.create_future()
                transport = self._make_ssl_transport(
                    conn, protocol, sslcontext, waiter, server_side=True, server=server,
                    ssl_handshake_timeout=ssl_handshake_timeout,
                    ssl_shutdown_timeout=ssl_shutdown_timeout, context=context, _handle=handle)
                self.create_task(self._finish_accept(waiter, transport, protocol), context=context)
            else:
                transport = StreamTransport(self, conn, protocol, server=server, handle=handle,
                                            context=context)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            if transport is None:
                handle.close()
                conn.detach()
            else:
                transport.close()
            self._report_accept_error(exc, protocol, transport)

    async def _finish_accept(self, waiter, transport, protocol) -> None:
        """Close an accepted TLS connection whose handshake fails."""
        try:
            await waiter
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            transport.close()
            waiter = None  # the exception would keep the protocol alive
            self._report_accept_error(exc, protocol, transport)

    def _report_accept_error(self, exc, protocol, transport) -> None:
        # As asyncio: nowhere to send the error but the log, and only in debug mode.
        if self._debug:
            context = {'message': 'Error on transport creation for incoming connection',
                       'exception': exc}
            if protocol is not None:
                context['protocol'] = protocol
            if transport is not None:
                context['transport'] = transport
            self.call_exception_handler(context)

    # Unix sockets ---------------------------------------------------------

    async def create_unix_connection(self, protocol_factory, path=None, *, ssl=None, sock=None,
                                     server_hostname: str | None = None,
                                     ssl_handshake_timeout: float | None = None,
                                     ssl_shutdown_timeout: float | None = None):
        """Connect to the Unix socket *path* (or use the connected *sock*)."""
        if ssl:
            if server_hostname is None:
                raise ValueError('you have to pass server_hostname when using ssl')
        else:
            if server_hostname is not None:
                raise ValueError('server_hostname is only meaningful with ssl')
            if ssl_handshake_timeout is not None:
                raise ValueError('ssl_handshake_timeout is only meaningful with ssl')
            if ssl_shutdown_timeout is not None:
                raise ValueError('ssl_shutdown_timeout is only meaningful with ssl')
        if path is not None:
            if sock is not None:
                raise ValueError('path and sock can not be specified at the same time')
            path = os.fspath(path)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM, 0)
            try:
                sock.setblocking(False)
                await self.sock_connect(sock, path)
            except BaseException:
                sock.close()
                raise
        else:
            if sock is None:
                raise ValueError('no path and sock were specified')
            _check_unix_stream_socket(sock)
            sock.setblocking(False)
        return await self._create_connection_transport(
            sock, protocol_factory, ssl, server_hostname,
            ssl_handshake_timeout=ssl_handshake_timeout,
            ssl_shutdown_timeout=ssl_shutdown_timeout)

    async def create_unix_server(self, protocol_factory, path=None, *, sock=None,
                                 backlog: int = 100, ssl=None,
                                 ssl_handshake_timeout: float | None = None,
                                 ssl_shutdown_timeout: float | None = None,
                                 start_serving: bool = True,
                                 cleanup_socket: bool = _CLEANUP_SOCKET_DEFAULT):
        """Serve on the Unix socket *path* (a stale socket file there is replaced)."""
        if isinstance(ssl, bool):
            raise TypeError('ssl argument must be an SSLContext or None')
        if ssl_handshake_timeout is not None and not ssl:
            raise ValueError('ssl_handshake_timeout is only meaningful with ssl')
        if ssl_shutdown_timeout is not None and not ssl:
            raise ValueError('ssl_shutdown_timeout is only meaningful with ssl')
        if path is not None:
            if sock is not None:
                raise ValueError('path and sock can not be specified at the same time')
            path = os.fspath(path)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            if path[0] not in (0, '\x00'):  # not an abstract socket
                _remove_stale_socket(path)
            try:
                sock.bind(path)
            except OSError as exc:
                sock.close()
                if exc.errno == errno.EADDRINUSE:
                    raise OSError(errno.EADDRINUSE, f'Address {path!r} is already in use') from None
                raise
            except BaseException:
                sock.close()
                raise
        else:
            if sock is None:
                raise ValueError('path was not specified, and no sock specified')
            _check_unix_stream_socket(sock)
        if cleanup_socket:
            bound = sock.getsockname()
            if bound and bound[0] not in (0, '\x00'):
                try:
                    self._unix_server_sockets[sock] = os.stat(bound).st_ino
                except FileNotFoundError:
                    pass
        sock.setblocking(False)
        server = base_events.Server(self, [sock], protocol_factory, ssl, backlog,
                                    ssl_handshake_timeout, ssl_shutdown_timeout)
        if start_serving:
            server._start_serving()
            await tasks.sleep(0)
        return server

    # sendfile on a transport ------------------------------------------------

    async def _sendfile_native(self, transp, file, offset: int, count: int | None) -> int:
        fileno, blocksize = _sendfile_source(file, count)
        fd = transp._sock_fd
        del self._transports[fd]
        resume_reading = transp.is_reading()
        transp.pause_reading()
        await transp._make_empty_waiter()
        # libuv owns the connection's descriptor and allows one watcher per
        # descriptor: sendfile() goes through a duplicate, watched on its own.
        dup = os.dup(fd)
        try:
            if not blocksize:
                return 0
            return await self._sendfile_to_fd(dup, fileno, offset, count, blocksize)
        finally:
            self._remove_writer(dup)
            os.close(dup)
            transp._reset_empty_waiter()
            if resume_reading:
                transp.resume_reading()
            self._transports[fd] = transp


def _check_unix_stream_socket(sock: socket.socket) -> None:
    if sock.family != socket.AF_UNIX or sock.type != socket.SOCK_STREAM:
        raise ValueError(f'A UNIX Domain Stream Socket was expected, got {sock!r}')


def _remove_stale_socket(path) -> None:
    try:
        if stat.S_ISSOCK(os.stat(path).st_mode):
            os.remove(path)
    except FileNotFoundError:
        pass
    except OSError as err:
        # The directory may allow creating the socket but not checking it.
        logger.error('Unable to check or remove stale UNIX socket %r: %r', path, err)
