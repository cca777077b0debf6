"""Descriptors that their owner closes under a libuv handle.

A rose transport made on the user's socket (``create_connection(sock=...)``
and the like) hands libuv that socket's descriptor. If the user closes the
socket, two libuv habits turn into harm:

* libuv tells epoll about a watcher it started or changed only at its next
  poll, and aborts the process if epoll refuses (EBADF: the descriptor is
  closed; ENOENT: closed, and the number since given to another file);
* closing the handle closes the number libuv holds, which by then may name
  someone else's file.

So the loop checks, before each poll, the handles whose watcher changed since
the last one (``EventLoop._check_fds``), and a handle is closed with
``spared()`` around it, which keeps alive a file that took the number since.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

__all__ = ['UserDescriptor', 'file_id', 'spared']


def file_id(fd: int) -> tuple[int, int] | None:
    """The (device, inode) *fd* names now, or None if it is not open."""
    try:
        st = os.fstat(fd)
    except OSError:
        return None
    return st.st_dev, st.st_ino


@contextlib.contextmanager
def spared(fd: int, expected: tuple[int, int] | None) -> Iterator[None]:
    """Keep open the file *fd* names, if it is not *expected*, across closing a handle on *fd*.

    Inside the block libuv may close *fd*; if the number had been given to
    another file meanwhile (the handle's own was closed by its owner), that
    file is put back under the same number afterwards. A thread that opens a
    file between libuv's close() and the restoring dup2() could see its new
    descriptor replaced: the window is two system calls long, and the
    alternative, closing someone else's file, is worse.
    """
    now = file_id(fd)
    if now is None or now == expected:
        # Ours (the usual close) or nobody's (libuv's close() just fails).
        yield
        return
    inheritable = os.get_inheritable(fd)
    saved = os.dup(fd)
    try:
        yield
    finally:
        os.dup2(saved, fd, inheritable=inheritable)
        os.close(saved)


class UserDescriptor:
    """Mixin for a transport whose libuv handle is on a descriptor its user may close.

    The transport sets ``_sock_fd`` and ``_file_id`` (``file_id`` of it) when
    made, calls ``_watch_changed()`` whenever libuv's watch on the handle
    changes, and defines ``_check_fd()``, which the loop calls before its
    next poll (``EventLoop._check_fds``).
    """

    _loop: Any
    _sock_fd: int
    _file_id: tuple[int, int] | None

    def _fd_gone(self) -> bool:
        """Whether the descriptor no longer names the socket the transport was made on."""
        return file_id(self._sock_fd) != self._file_id

    def _watch_changed(self) -> None:
        # libuv tells the kernel at its next poll: the loop checks first.
        loop = self._loop
        if loop is not None:
            loop._note_fd_change(self)
