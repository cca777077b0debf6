"""evergreen.lib.ssl: the ``ssl`` module with cooperative TLS sockets.

:class:`SSLSocket` is the standard one on top of evergreen's cooperative
socket: handshakes, reads and writes that would block park the task instead
(the TLS layer reports "want read"/"want write" on the non-blocking
descriptor, and the task waits for it). :class:`SSLContext` and
``create_default_context()`` make such sockets from ``wrap_socket``;
``evergreen.patcher.patch(ssl=True)`` makes every context do so.
``SSLObject`` and memory BIOs (what asyncio uses) need nothing.
"""

from __future__ import annotations

import ssl as _std
from ssl import *  # noqa: F401,F403 -- the module's constants, exceptions and functions
from typing import Any

from . import adopt
from ._wait import READ, WRITE
from .socket import Budget
from .socket import socket as _cooperative_socket

__all__ = [name for name in dir(_std) if not name.startswith('_') and name.isidentifier()]


adopt(_std, globals())


class SSLSocket(_std.SSLSocket, _cooperative_socket):
    """``ssl.SSLSocket`` whose blocking operations park the calling task."""

    def _tls_io(self, method: Any, *args: Any) -> Any:
        """Call *method* until the TLS layer stops wanting to read or write."""
        timeout = self._evergreen_timeout
        budget = None
        while True:
            try:
                return method(*args)
            except _std.SSLWantReadError:
                event = READ
            except _std.SSLWantWriteError:
                event = WRITE
            if timeout == 0.0:
                raise
            if timeout is not None and budget is None:
                budget = Budget(timeout)
            self._wait(event, None if budget is None else budget.left('The operation timed out'))

    def do_handshake(self, block: bool = False) -> None:
        self._tls_io(super().do_handshake, block)

    def read(self, len: int = 1024, buffer: Any = None) -> Any:
        return self._tls_io(super().read, len, buffer)

    def write(self, data: Any) -> int:
        return self._tls_io(super().write, data)

    def send(self, data: Any, flags: int = 0) -> int:
        return self._tls_io(super().send, data, flags)

    def unwrap(self) -> Any:
        return self._tls_io(super().unwrap)


class SSLContext(_std.SSLContext):
    """``ssl.SSLContext`` whose ``wrap_socket`` makes cooperative sockets."""

    sslsocket_class = SSLSocket


def create_default_context(purpose: Any = _std.Purpose.SERVER_AUTH, *, cafile: Any = None,
                           capath: Any = None, cadata: Any = None) -> _std.SSLContext:
    """``ssl.create_default_context``, making cooperative sockets."""
    context = _std.create_default_context(purpose, cafile=cafile, capath=capath, cadata=cadata)
    context.sslsocket_class = SSLSocket
    return context


def _create_unverified_context(*args: Any, **kwargs: Any) -> _std.SSLContext:
    context = _std._create_unverified_context(*args, **kwargs)
    context.sslsocket_class = SSLSocket
    return context


# What http.client and urllib use to make their contexts.
_create_default_https_context = create_default_context

__all__ += ['SSLSocket', 'SSLContext', 'create_default_context']
__all__ = sorted(set(__all__))
