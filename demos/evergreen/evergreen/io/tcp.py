"""TCP on libuv: TCPClient, TCPConnection (accepted), TCPServer.

::

    def echo(conn):                      # runs in its own task per connection
        while data := conn.read(65536):
            conn.write(data)

    server = TCPServer(echo)
    server.bind(('127.0.0.1', 0))
    server.listen()
    client = TCPClient().connect(server.getsockname())
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from collections.abc import Callable
from typing import Any

import pyuv

from rose.errors import from_pyuv_error, uv_error

from ..hub import HubCore, get_loop
from ..timeout import Timeout
from .server import StreamServer
from .stream import Stream, wait_for_request

__all__ = ['TCPStream', 'TCPClient', 'TCPConnection', 'TCPServer', 'serve_tcp', 'resolve']


def format_address(address: Any) -> str:
    if isinstance(address, tuple) and len(address) >= 2:
        host = address[0]
        return f'[{host}]:{address[1]}' if ':' in str(host) else f'{host}:{address[1]}'
    return str(address)


def check_address(address: Any) -> tuple[str, int]:
    if not isinstance(address, tuple) or len(address) not in (2, 4):
        raise TypeError(f'a TCP/UDP address must be a (host, port) tuple, not {address!r}')
    host, port = address[0], address[1]
    if not isinstance(host, str):
        raise TypeError(f'host must be a str, not {type(host).__name__}')
    if not isinstance(port, int) or isinstance(port, bool):
        raise TypeError(f'port must be an int, not {type(port).__name__}')
    if not 0 <= port <= 65535:
        raise OverflowError('port must be 0-65535.')
    return host, port


def resolve(address: Any, kind: int = socket.SOCK_STREAM,
            loop: HubCore | None = None) -> list[tuple]:
    """The libuv addresses for a (host, port) pair; names are resolved off the loop.

    An IP literal is used as it is; a name goes through the loop's
    ``getaddrinfo`` (in a thread), and the calling task waits.
    """
    host, port = check_address(address)
    try:
        ip = ipaddress.ip_address(host.split('%', 1)[0])
    except ValueError:
        ip = None
    if ip is not None:
        if ip.version == 6:
            return [(host, port, 0, 0) if len(address) == 2 else tuple(address)]
        return [(host, port)]
    from ..bridge import wait_for
    loop = loop if loop is not None else get_loop()
    try:
        infos = wait_for(loop.getaddrinfo(host, port, type=kind))
    except socket.gaierror as exc:
        raise socket.gaierror(exc.errno, f'{exc.strerror}: {host!r}') from None
    seen = []
    for family, _, _, _, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6) and sockaddr not in seen:
            seen.append(sockaddr)
    if not seen:
        raise socket.gaierror(socket.EAI_NONAME, f'no IPv4/IPv6 address for {host!r}')
    return seen


class TCPStream(Stream):
    """A connected TCP stream (see Stream for reading and writing).

    Nagle's algorithm is off (TCP_NODELAY), as on asyncio's TCP transports: a
    write goes out at once instead of waiting for the peer to acknowledge the
    previous one, which with delayed ACKs stalls request/response traffic for
    tens of milliseconds. ``set_nodelay(False)`` turns it back on.
    """

    def _disable_nagle(self) -> None:
        try:
            self._handle.nodelay(True)
        except pyuv.error.UVError:
            pass  # the peer is already gone: the next read or write says so

    def getpeername(self) -> tuple:
        """The remote address, as a socket's getpeername()."""
        try:
            return self._handle.getpeername()
        except pyuv.error.UVError as exc:
            raise from_pyuv_error(exc, 'getpeername') from None

    def getsockname(self) -> tuple:
        """The local address, as a socket's getsockname()."""
        try:
            return self._handle.getsockname()
        except pyuv.error.UVError as exc:
            raise from_pyuv_error(exc, 'getsockname') from None

    def set_nodelay(self, enable: bool = True) -> None:
        """Disable (True) or enable Nagle's algorithm."""
        self._handle.nodelay(bool(enable))

    def set_keepalive(self, enable: bool = True, delay: int = 60) -> None:
        """Enable TCP keep-alive probes after *delay* seconds of silence."""
        self._handle.keepalive(bool(enable), int(delay))

    def _describe(self) -> str:
        if self._closed:
            return ''
        try:
            return f' peer={format_address(self._handle.getpeername())}'
        except pyuv.error.UVError:
            return ''


class TCPConnection(TCPStream):
    """A connection accepted by a TCPServer, handed to its handler."""

    def __init__(self, handle: pyuv.TCP, loop: HubCore) -> None:
        super().__init__(handle, loop)
        self._disable_nagle()


class TCPClient(TCPStream):
    """A TCP stream that connects out: ``TCPClient().connect((host, port))``."""

    def __init__(self, loop: HubCore | None = None) -> None:
        loop = loop if loop is not None else get_loop()
        super().__init__(pyuv.TCP(loop.uv_loop), loop)
        self._connected = False

    def connect(self, address: tuple, timeout: float | None = None) -> TCPClient:
        """Connect to *address* (a name is resolved off the loop); return self.

        Each resolved address is tried in turn. Raises the OSError of the
        last attempt (``ConnectionRefusedError``, ...) with the address in its
        message, or TimeoutError after *timeout* seconds in all.
        """
        if self._connected:
            raise OSError(errno.EISCONN, 'Transport endpoint is already connected')
        if self._closed:
            raise self._closed_error()
        try:
            with Timeout(timeout):
                candidates = resolve(address, socket.SOCK_STREAM, self._loop)
                last_error: OSError | None = None
                for sockaddr in candidates:
                    try:
                        self._connect_once(sockaddr)
                        self._connected = True
                        self._disable_nagle()
                        return self
                    except OSError as exc:
                        last_error = exc
                raise last_error
        except TimeoutError:
            if not self._connected:
                self.abort()
            raise TimeoutError(errno.ETIMEDOUT,
                               f'Connection timed out: connect to {format_address(address)}') from None

    def _connect_once(self, sockaddr: tuple) -> None:
        handle = self._handle
        if handle.closed or handle.active:
            # A previous attempt used this handle: start again with a fresh one.
            handle = self._handle = pyuv.TCP(self._loop.uv_loop)
        where = f'connect to {format_address(sockaddr)}'
        try:
            error = wait_for_request(self._loop, lambda done: handle.connect(sockaddr, done),
                                     'connect()', where)
        except BaseException:
            handle.close()
            raise
        if error is not None:
            handle.close()
            raise uv_error(error, where)


class TCPServer(StreamServer):
    """A TCP server: ``TCPServer(handler)``, ``bind((host, port))``, ``listen()``.

    See StreamServer for serving and closing. ``bind`` takes an IP address
    (default to 127.0.0.1, not all interfaces); port 0 picks a free port,
    which ``getsockname()`` tells.
    """

    _connection_class = TCPConnection

    def _new_handle(self) -> Any:
        return pyuv.TCP(self._loop.uv_loop)

    def bind(self, address: tuple = ('127.0.0.1', 0)) -> None:
        """Bind to *address* (host must be an IP address; port 0 picks a free one)."""
        host, port = check_address(address)
        try:
            ipaddress.ip_address(host.split('%', 1)[0])
        except ValueError:
            raise ValueError(f'bind needs an IP address, not {host!r} (resolve names first)') from None
        try:
            self._handle.bind(tuple(address))
        except pyuv.error.UVError as exc:
            raise from_pyuv_error(exc, f'bind to {format_address(address)}') from None
        # libuv may report a bind error (EADDRINUSE) only at listen(), whose
        # message names this address.
        self._address = tuple(address)

    def listen(self, backlog: int = 511) -> None:
        super().listen(backlog)
        # The actual address (port 0 picked one), still known after close().
        self._address = self._handle.getsockname()

    def getsockname(self) -> tuple:
        """The address the server listens (or listened) on."""
        if self._listening:
            return self._address
        try:
            return self._handle.getsockname()
        except pyuv.error.UVError as exc:
            raise from_pyuv_error(exc, f'getsockname of {self._address_for_errors()}') from None

    def _address_for_errors(self) -> str:
        address = getattr(self, '_address', None)
        return format_address(address) if address else '(unbound)'


def serve_tcp(handler: Callable[[Any], object], address: tuple = ('127.0.0.1', 0),
              backlog: int = 511, loop: HubCore | None = None) -> TCPServer:
    """A TCPServer bound to *address* and listening."""
    server = TCPServer(handler, loop=loop)
    try:
        server.bind(address)
        server.listen(backlog)
    except BaseException:
        server.close()
        raise
    return server

