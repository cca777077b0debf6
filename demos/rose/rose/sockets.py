"""The loop's low-level socket coroutines (``sock_recv``, ``sock_sendall``, ...).

Each operation is tried at once; if the socket would block, it is retried
whenever libuv reports the descriptor ready (through the loop's
``add_reader``/``add_writer``, i.e. a ``pyuv.Poll``), until it completes, fails
or the waiting task is cancelled. The socket must be non-blocking; in debug
mode that is checked, as asyncio does.
"""

from __future__ import annotations

import errno
import functools
import io
import operator
import os
import socket
from asyncio import exceptions
from collections.abc import Callable
from typing import Any

from . import compat

__all__ = ['SocketMethods']

# Returned by an attempt that made progress but is not finished yet.
_NOT_DONE = object()


def _check_sock(loop, sock: socket.socket) -> None:
    compat._check_ssl_socket(sock)
    if loop._debug and sock.gettimeout() != 0:
        raise ValueError('the socket must be non-blocking')


class SocketMethods:
    """Mixin for the event loop: the ``sock_*`` coroutines of AbstractEventLoop."""

    async def _sock_io(self, sock: socket.socket, writing: bool,
                       attempt: Callable[[socket.socket], Any]) -> Any:
        """Return ``attempt(sock)``, retrying it while it would block.

        *attempt* looks the socket's method up on each try (as asyncio does),
        so a socket whose methods change meanwhile is served correctly.
        """
        try:
            result = attempt(sock)
        except (BlockingIOError, InterruptedError):
            pass
        else:
            if result is not _NOT_DONE:
                return result
        fut = self._sock_wait(sock, writing, attempt, sock)
        try:
            return await fut
        finally:
            fut = None  # see _sock_retry

    def _sock_wait(self, sock: socket.socket, writing: bool,
                   attempt: Callable[..., Any], *args: Any):
        """A future for ``attempt(*args)``, run each time *sock* is ready."""
        fut = self.create_future()
        fd = sock.fileno()
        self._ensure_fd_no_transport(fd)
        if writing:
            handle = self._add_writer(fd, self._sock_retry, fut, attempt, args)
            remove = self._remove_writer
        else:
            handle = self._add_reader(fd, self._sock_retry, fut, attempt, args)
            remove = self._remove_reader
        fut.add_done_callback(functools.partial(_stop_watching, remove, fd, handle))
        return fut

    @staticmethod
    def _sock_retry(fut, attempt: Callable[..., Any], args: tuple) -> None:
        if fut.done():
            return
        try:
            result = attempt(*args)
        except (BlockingIOError, InterruptedError):
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            fut.set_exception(exc)
        else:
            if result is not _NOT_DONE:
                fut.set_result(result)
        finally:
            # The exception's traceback holds this frame: without this, the
            # future would hold the exception that holds the future (a cycle
            # asyncio breaks the same way).
            fut = None

    async def sock_recv(self, sock: socket.socket, n: int) -> bytes:
        """Receive up to *n* bytes from *sock*."""
        _check_sock(self, sock)
        return await self._sock_io(sock, False, operator.methodcaller('recv', n))

    async def sock_recv_into(self, sock: socket.socket, buf) -> int:
        """Receive into the writable buffer *buf*; return the number of bytes."""
        _check_sock(self, sock)
        return await self._sock_io(sock, False, operator.methodcaller('recv_into', buf))

    async def sock_recvfrom(self, sock: socket.socket, bufsize: int) -> tuple[bytes, Any]:
        """Receive a datagram of up to *bufsize* bytes; return (data, address)."""
        _check_sock(self, sock)
        return await self._sock_io(sock, False, operator.methodcaller('recvfrom', bufsize))

    async def sock_recvfrom_into(self, sock: socket.socket, buf, nbytes: int = 0) -> tuple[int, Any]:
        """Receive a datagram into *buf*; return (number of bytes, address)."""
        _check_sock(self, sock)
        if not nbytes:
            nbytes = len(buf)
        return await self._sock_io(sock, False, operator.methodcaller('recvfrom_into', buf, nbytes))

    async def sock_sendto(self, sock: socket.socket, data, address) -> int:
        """Send a datagram to *address*; return the number of bytes sent."""
        _check_sock(self, sock)
        return await self._sock_io(sock, True, operator.methodcaller('sendto', data, address))

    async def sock_sendall(self, sock: socket.socket, data) -> None:
        """Send all of *data* on the connected *sock*."""
        _check_sock(self, sock)
        try:
            sent = sock.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        if sent == len(data):
            return
        rest = [memoryview(data)[sent:]]

        def send_rest():
            view = rest[0]
            rest[0] = view = view[sock.send(view):]
            return _NOT_DONE if view else None

        await self._sock_wait(sock, True, send_rest)

    async def sock_connect(self, sock: socket.socket, address) -> None:
        """Connect *sock* to *address* (resolved first for IP sockets)."""
        _check_sock(self, sock)
        if sock.family == socket.AF_INET or (
                compat._HAS_IPv6 and sock.family == socket.AF_INET6):
            resolved = await self._ensure_resolved(
                address, family=sock.family, type=sock.type, proto=sock.proto, loop=self)
            address = resolved[0][4]
        try:
            sock.connect(address)
            return
        except (BlockingIOError, InterruptedError):
            pass

        def connected():
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err != 0:
                raise OSError(err, f'Connect call failed {address}')

        fut = self._sock_wait(sock, True, connected)
        try:
            await fut
        finally:
            fut = None  # see _sock_retry

    async def sock_accept(self, sock: socket.socket) -> tuple[socket.socket, Any]:
        """Accept a connection on the listening *sock*; return (conn, address)."""
        _check_sock(self, sock)

        def accept(sock):
            conn, address = sock.accept()
            conn.setblocking(False)
            return conn, address

        return await self._sock_io(sock, False, accept)

    # sendfile -----------------------------------------------------------

    async def _sock_sendfile_native(self, sock: socket.socket, file, offset: int,
                                    count: int | None) -> int:
        """os.sendfile() from *file* to *sock*, waiting for writability as needed."""
        fileno, blocksize = _sendfile_source(file, count)
        if not blocksize:
            return 0
        return await self._sendfile_to_fd(sock.fileno(), fileno, offset, count, blocksize)

    async def _sendfile_to_fd(self, fd: int, fileno: int, offset: int,
                              count: int | None, blocksize: int) -> int:
        """Send *count* bytes (all if falsy) of *fileno* from *offset* to socket *fd*.

        Raises SendfileNotAvailableError if nothing could be sent with
        os.sendfile(), so that callers fall back to reading and sending.
        On return (and on cancellation) the file position follows what was
        sent, as this Python's asyncio leaves it (see compat.SENDFILE_ALWAYS_SETS_POSITION).
        """
        total = 0
        try:
            while True:
                if count:
                    blocksize = count - total
                    if blocksize <= 0:
                        return total
                try:
                    sent = os.sendfile(fd, fileno, offset + total, blocksize)
                except (BlockingIOError, InterruptedError):
                    sent = None
                except OSError as exc:
                    if total == 0:
                        raise exceptions.SendfileNotAvailableError('os.sendfile call failed') from exc
                    if exc.errno == errno.ENOTCONN and type(exc) is not ConnectionError:
                        # The peer went away mid-transfer: report it the same
                        # way on every platform.
                        raise ConnectionError('socket is not connected', errno.ENOTCONN) from exc
                    raise
                if sent == 0:
                    return total
                if sent is not None:
                    total += sent
                await self._fd_writable(fd)
        finally:
            if total > 0 or compat.SENDFILE_ALWAYS_SETS_POSITION:
                os.lseek(fileno, offset + total, os.SEEK_SET)

    def _fd_writable(self, fd: int):
        """A future done when *fd* is writable (the watch ends with it)."""
        fut = self.create_future()
        handle = self._add_writer(fd, _set_result_unless_done, fut)
        fut.add_done_callback(functools.partial(_stop_watching, self._remove_writer, fd, handle))
        return fut


def _sendfile_source(file, count: int | None) -> tuple[int, int]:
    """The descriptor of *file* and the size of a sendfile block, or SendfileNotAvailableError."""
    if not hasattr(os, 'sendfile'):
        raise exceptions.SendfileNotAvailableError('os.sendfile() is not available')
    try:
        fileno = file.fileno()
    except (AttributeError, io.UnsupportedOperation):
        raise exceptions.SendfileNotAvailableError('not a regular file') from None
    try:
        fsize = os.fstat(fileno).st_size
    except OSError:
        raise exceptions.SendfileNotAvailableError('not a regular file') from None
    return fileno, (count if count else fsize)


def _set_result_unless_done(fut) -> None:
    if not fut.done():
        fut.set_result(None)


def _stop_watching(remove: Callable[[int], bool], fd: int, handle, fut) -> None:
    if not handle.cancelled():
        remove(fd)
