"""evergreen.lib.socket: the ``socket`` module, cooperative.

Everything the standard module has, with these made cooperative: the
:class:`socket` class (blocking calls park the task; timeouts behave as the
standard ones: ``settimeout``, ``socket.timeout``/TimeoutError, non-blocking
mode with BlockingIOError), ``socketpair``, ``fromfd``, ``create_connection``,
``create_server``, and name resolution (``getaddrinfo``, ``gethostbyname``,
``gethostbyname_ex``, ``gethostbyaddr``, ``getnameinfo``, ``getfqdn``), which
runs in a thread so that a slow DNS server never holds the loop.

Underneath, the descriptor is always non-blocking: a call is tried at once
and, if it would block, the task waits for libuv to report the descriptor
ready. In a thread without an evergreen loop the sockets block the thread,
as standard sockets do.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket as _std
import time
from socket import *  # noqa: F401,F403 -- the module's constants, exceptions and functions
from typing import Any

from ..hub import find_loop
from . import adopt
from ._wait import READ, WRITE, forget_fd, wait_fd

__all__ = list(_std.__all__)


adopt(_std, globals())

_C = _std.socket.__mro__[1]          # _socket.socket: the C methods, without Python wrappers

# The standard functions, kept before evergreen.patcher may replace them in
# the socket module (calling the module's attribute would then call ours).
_std_getaddrinfo = _std.getaddrinfo
_std_gethostbyname = _std.gethostbyname
_std_gethostbyname_ex = _std.gethostbyname_ex
_std_gethostbyaddr = _std.gethostbyaddr
_std_getnameinfo = _std.getnameinfo
_std_getfqdn = _std.getfqdn
_std_socketpair = _std.socketpair
_std_create_server = _std.create_server
_GLOBAL_DEFAULT_TIMEOUT = _std._GLOBAL_DEFAULT_TIMEOUT
_EAGAIN = (BlockingIOError, InterruptedError)


def _check_timeout(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, (str, bytes, bytearray)):
        raise TypeError('Timeout value must be int, float or None')
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise TypeError('Timeout value must be int, float or None') from None
    if value != value or value < 0:
        raise ValueError('Timeout value out of range')
    return value


class Budget:
    """What is left of a socket timeout across the retries of one call."""

    __slots__ = ('deadline',)

    def __init__(self, timeout: float) -> None:
        self.deadline = time.monotonic() + timeout

    def left(self, message: str = 'timed out') -> float:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(message)
        return remaining


class socket(_std.socket):
    """``socket.socket`` whose blocking calls park the calling task."""

    def __init__(self, family: int = -1, type: int = -1, proto: int = -1,
                 fileno: int | None = None) -> None:
        super().__init__(family, type, proto, fileno)
        # What the program sees; the descriptor itself is always non-blocking.
        self._evergreen_timeout = _std.getdefaulttimeout()
        _C.settimeout(self, 0.0)

    # ------------------------------------------------------------------
    # Timeouts, as the standard socket presents them

    def gettimeout(self) -> float | None:
        return self._evergreen_timeout

    def settimeout(self, value: float | None) -> None:
        self._evergreen_timeout = _check_timeout(value)

    def setblocking(self, flag: bool) -> None:
        self._evergreen_timeout = None if flag else 0.0

    def getblocking(self) -> bool:
        return self._evergreen_timeout != 0.0

    @property
    def timeout(self) -> float | None:
        return self._evergreen_timeout

    # ------------------------------------------------------------------
    # The waiting

    def _wait(self, event: int, timeout: float | None) -> None:
        if not wait_fd(self.fileno(), event, timeout):
            raise TimeoutError('timed out')

    def _io(self, method: Any, event: int, *args: Any) -> Any:
        """Call the non-blocking C *method*; while it would block, wait per the timeout."""
        timeout = self._evergreen_timeout
        budget = None
        while True:
            try:
                return method(self, *args)
            except _EAGAIN:
                if timeout == 0.0:
                    raise
            if timeout is not None and budget is None:
                budget = Budget(timeout)
            self._wait(event, None if budget is None else budget.left())

    # ------------------------------------------------------------------
    # The calls that may block

    def accept(self) -> tuple[socket, Any]:
        fd, address = self._io(_C._accept, READ)
        sock = socket(self.family, self.type, self.proto, fileno=fd)
        if _std.getdefaulttimeout() is None and self.gettimeout():
            sock.setblocking(True)
        return sock, address

    def connect(self, address: Any) -> None:
        address = _resolve_for_connect(self, address)
        try:
            _C.connect(self, address)
            return
        except _EAGAIN:
            # In progress (EINPROGRESS); in non-blocking mode that is the answer.
            if self._evergreen_timeout == 0.0:
                raise
        self._wait(WRITE, self._evergreen_timeout)
        error = self.getsockopt(SOL_SOCKET, SO_ERROR)
        if error:
            raise OSError(error, f'{os.strerror(error)}: connect to {address!r}')

    def connect_ex(self, address: Any) -> int:
        try:
            self.connect(address)
        except BlockingIOError as exc:
            return exc.errno
        except TimeoutError:
            return errno.EAGAIN
        except OSError as exc:
            if exc.errno is None:
                raise
            return exc.errno
        return 0

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        return self._io(_C.recv, READ, bufsize, flags)

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        return self._io(_C.recv_into, READ, buffer, nbytes, flags)

    def recvfrom(self, bufsize: int, flags: int = 0) -> tuple[bytes, Any]:
        return self._io(_C.recvfrom, READ, bufsize, flags)

    def recvfrom_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> tuple[int, Any]:
        return self._io(_C.recvfrom_into, READ, buffer, nbytes, flags)

    def recvmsg(self, *args: Any) -> Any:
        return self._io(_C.recvmsg, READ, *args)

    def recvmsg_into(self, *args: Any) -> Any:
        return self._io(_C.recvmsg_into, READ, *args)

    def send(self, data: Any, flags: int = 0) -> int:
        return self._io(_C.send, WRITE, data, flags)

    def sendto(self, data: Any, flags_or_address: Any, address: Any = None) -> int:
        if address is None:
            return self._io(_C.sendto, WRITE, data, flags_or_address)
        return self._io(_C.sendto, WRITE, data, flags_or_address, address)

    def sendmsg(self, *args: Any) -> int:
        return self._io(_C.sendmsg, WRITE, *args)

    def sendall(self, data: Any, flags: int = 0) -> None:
        """Send all of *data*; the timeout bounds the whole call, as in the standard socket."""
        view = memoryview(data).cast('B')
        timeout = self._evergreen_timeout
        budget = None if timeout is None else Budget(timeout)
        total = len(view)
        sent = 0
        while sent < total:
            try:
                sent += _C.send(self, view[sent:], flags)
                continue
            except _EAGAIN:
                if timeout == 0.0:
                    raise
            self._wait(WRITE, None if budget is None else budget.left())

    def sendfile(self, file: Any, offset: int = 0, count: int | None = None) -> int:
        """Send a file's contents with send() (the zero-copy path would block in select)."""
        return self._sendfile_use_send(file, offset, count)

    def dup(self) -> socket:
        sock = socket(self.family, self.type, self.proto, fileno=os.dup(self.fileno()))
        sock.settimeout(self.gettimeout())
        return sock

    # ------------------------------------------------------------------
    # Closing: drop the libuv watcher before the descriptor goes away

    def _real_close(self, _ss: Any = _std.socket) -> None:
        fd = self.fileno()
        if fd >= 0:
            forget_fd(fd)
        super()._real_close()

    def detach(self) -> int:
        fd = self.fileno()
        if fd >= 0:
            forget_fd(fd)
        return super().detach()

    def __repr__(self) -> str:
        return super().__repr__().replace('<socket.socket', '<evergreen.lib.socket.socket', 1)


SocketType = _std.SocketType


def _is_ip_literal(host: Any) -> bool:
    if not isinstance(host, str):
        return False
    try:
        ipaddress.ip_address(host.split('%', 1)[0])
    except ValueError:
        return False
    return True


def _resolve_for_connect(sock: _std.socket, address: Any) -> Any:
    """Resolve a host name in an INET address off the loop (the C connect would block)."""
    if sock.family in (AF_INET, AF_INET6) and isinstance(address, tuple) and len(address) >= 2:
        host = address[0]
        if isinstance(host, str) and not _is_ip_literal(host):
            infos = getaddrinfo(host, address[1], sock.family, sock.type, sock.proto)
            if not infos:
                raise gaierror(EAI_NONAME, f'Name or service not known: {host!r}')
            return infos[0][4]
    return address


def _off_the_loop(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a blocking resolver call in a thread if this thread runs evergreen; else call it."""
    if find_loop() is None:
        return fn(*args, **kwargs)
    from ..bridge import to_thread
    return to_thread(fn, *args, **kwargs)


def getaddrinfo(host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0,
                flags: int = 0) -> list:
    """``socket.getaddrinfo``, resolving names in a thread (numeric addresses directly)."""
    if (host is None or _is_ip_literal(host)) and (port is None or isinstance(port, int)):
        return _std_getaddrinfo(host, port, family, type, proto, flags)
    return _off_the_loop(_std_getaddrinfo, host, port, family, type, proto, flags)


def gethostbyname(hostname: str) -> str:
    if _is_ip_literal(hostname):
        return _std_gethostbyname(hostname)
    return _off_the_loop(_std_gethostbyname, hostname)


def gethostbyname_ex(hostname: str) -> tuple:
    return _off_the_loop(_std_gethostbyname_ex, hostname)


def gethostbyaddr(ip_address: str) -> tuple:
    return _off_the_loop(_std_gethostbyaddr, ip_address)


def getnameinfo(sockaddr: tuple, flags: int) -> tuple:
    return _off_the_loop(_std_getnameinfo, sockaddr, flags)


def getfqdn(name: str = '') -> str:
    return _off_the_loop(_std_getfqdn, name)


def _wrap(std_sock: _std.socket) -> socket:
    """Our socket for the descriptor of a standard one (which gives it up)."""
    timeout = std_sock.gettimeout()
    sock = socket(std_sock.family, std_sock.type, std_sock.proto, fileno=std_sock.detach())
    sock.settimeout(timeout)
    return sock


def socketpair(family: int = AF_UNIX, type: int = SOCK_STREAM, proto: int = 0) -> tuple[socket, socket]:
    a, b = _std_socketpair(family, type, proto)
    return _wrap(a), _wrap(b)


def fromfd(fd: int, family: int, type: int, proto: int = 0) -> socket:
    return socket(family, type, proto, os.dup(fd))


def create_server(address: tuple, *, family: int = AF_INET, backlog: int | None = None,
                  reuse_port: bool = False, dualstack_ipv6: bool = False) -> socket:
    """``socket.create_server`` (binding and listening never block), as a cooperative socket."""
    return _wrap(_std_create_server(address, family=family, backlog=backlog,
                                    reuse_port=reuse_port, dualstack_ipv6=dualstack_ipv6))


def create_connection(address: tuple, timeout: Any = _GLOBAL_DEFAULT_TIMEOUT,
                      source_address: tuple | None = None, *, all_errors: bool = False) -> socket:
    """``socket.create_connection``: try each address the name resolves to, in order.

    The name is resolved off the loop; connecting parks the task. Raises the
    last error (or, with *all_errors*, an ExceptionGroup of all of them).
    """
    host, port = address
    errors: list[OSError] = []
    for family, kind, proto, _, sockaddr in getaddrinfo(host, port, 0, SOCK_STREAM):
        sock = None
        try:
            sock = socket(family, kind, proto)
            if timeout is not _GLOBAL_DEFAULT_TIMEOUT:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            errors.clear()
            return sock
        except OSError as exc:
            errors.append(exc)
            if sock is not None:
                sock.close()
    if not errors:
        raise OSError('getaddrinfo returns an empty list')
    try:
        if all_errors:
            raise ExceptionGroup('create_connection failed', errors)
        raise errors[-1]
    finally:
        errors = []


__all__ += ['socket', 'SocketType', 'getaddrinfo', 'gethostbyname', 'gethostbyname_ex',
            'gethostbyaddr', 'getnameinfo', 'getfqdn', 'socketpair', 'fromfd',
            'create_server', 'create_connection']
__all__ = sorted(set(__all__))
