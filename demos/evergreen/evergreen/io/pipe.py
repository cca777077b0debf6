"""Unix domain stream sockets (libuv pipes): PipeClient, PipeConnection, PipeServer, PipeStream.

``PipeStream.open(fd)`` wraps any pipe-like descriptor (``os.pipe()``, one end
of ``socket.socketpair()``, a child process's stdio).
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from typing import Any

import pyuv

from rose.errors import from_pyuv_error, uv_error

from ..hub import HubCore, get_loop
from ..timeout import Timeout
from .server import StreamServer
from .stream import Stream, wait_for_request

__all__ = ['PipeStream', 'PipeClient', 'PipeConnection', 'PipeServer', 'serve_pipe']


def _check_path(path: Any) -> str:
    path = os.fspath(path)
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, str) or not path:
        raise ValueError(f'a pipe address must be a non-empty path, not {path!r}')
    return path


class PipeStream(Stream):
    """A connected pipe stream (see Stream for reading and writing)."""

    @classmethod
    def open(cls, fd: int, loop: HubCore | None = None) -> PipeStream:
        """Wrap the open descriptor *fd*; the stream owns it (closing the stream closes it)."""
        loop = loop if loop is not None else get_loop()
        handle = pyuv.Pipe(loop.uv_loop, False)
        try:
            handle.open(fd)
        except pyuv.error.UVError as exc:
            handle.close()
            raise from_pyuv_error(exc, f'open fd {fd}') from None
        return cls(handle, loop)

    def getpeername(self) -> str:
        return self._handle.getpeername() if hasattr(self._handle, 'getpeername') else ''


class PipeConnection(PipeStream):
    """A connection accepted by a PipeServer, handed to its handler."""


class PipeClient(PipeStream):
    """A pipe stream that connects out: ``PipeClient().connect(path)``."""

    def __init__(self, loop: HubCore | None = None) -> None:
        loop = loop if loop is not None else get_loop()
        super().__init__(pyuv.Pipe(loop.uv_loop, False), loop)
        self._path: str | None = None

    def connect(self, path: Any, timeout: float | None = None) -> PipeClient:
        """Connect to the Unix socket at *path*; return self."""
        path = _check_path(path)
        if self._path is not None:
            raise OSError(errno.EISCONN, 'Transport endpoint is already connected')
        try:
            with Timeout(timeout):
                error = wait_for_request(self._loop, lambda done: self._handle.connect(path, done),
                                         'connect()', f'connect to {path}')
        except TimeoutError:
            self.abort()
            raise TimeoutError(errno.ETIMEDOUT, f'Connection timed out: connect to {path}') from None
        except BaseException:
            self.abort()
            raise
        if error is not None:
            self.abort()
            raise uv_error(error, f'connect to {path}')
        self._path = path
        return self

    def _describe(self) -> str:
        return f' path={self._path}' if self._path else ''


class PipeServer(StreamServer):
    """A Unix socket server: ``PipeServer(handler)``, ``bind(path)``, ``listen()``.

    The socket file is removed when the server closes (if it is still ours).
    """

    _connection_class = PipeConnection

    def _new_handle(self) -> Any:
        return pyuv.Pipe(self._loop.uv_loop, False)

    def bind(self, path: Any) -> None:
        """Create the Unix socket at *path* (it must not exist)."""
        path = _check_path(path)
        try:
            self._handle.bind(path)
        except pyuv.error.UVError as exc:
            raise from_pyuv_error(exc, f'bind to {path}') from None
        self._path = path
        st = os.stat(path)
        self._identity = (st.st_dev, st.st_ino)

    def getsockname(self) -> str:
        return getattr(self, '_path', '')

    def _address_for_errors(self) -> str:
        return getattr(self, '_path', '(unbound)')

    def close(self) -> None:
        was_closed = self._closed
        super().close()
        path = getattr(self, '_path', None)
        if was_closed or path is None:
            return
        try:
            st = os.stat(path)
        except OSError:
            return
        if stat.S_ISSOCK(st.st_mode) and (st.st_dev, st.st_ino) == self._identity:
            os.unlink(path)


def serve_pipe(handler: Callable[[Any], object], path: Any, backlog: int = 511,
               loop: HubCore | None = None) -> PipeServer:
    """A PipeServer bound to *path* and listening."""
    server = PipeServer(handler, loop=loop)
    try:
        server.bind(path)
        server.listen(backlog)
    except BaseException:
        server.close()
        raise
    return server
