"""Terminals on libuv: TTYStream reads and writes a terminal without blocking the loop."""

from __future__ import annotations

import os

import pyuv

from rose.errors import from_pyuv_error

from ..hub import HubCore, get_loop
from .stream import Stream

__all__ = ['TTYStream', 'stdin', 'stdout']


class TTYStream(Stream):
    """A terminal as a stream: ``TTYStream(0)`` reads the terminal on stdin, ``TTYStream(1)`` writes.

    *fd* must be a terminal (see ``os.isatty``); libuv reopens it, so the
    descriptor given stays the caller's. ``readable`` defaults to True for
    fd 0 only.
    """

    def __init__(self, fd: int, readable: bool | None = None, loop: HubCore | None = None) -> None:
        if not isinstance(fd, int):
            raise TypeError(f'fd must be an int, not {type(fd).__name__}')
        if not os.isatty(fd):
            raise OSError(25, f'Inappropriate ioctl for device: fd {fd} is not a terminal')
        loop = loop if loop is not None else get_loop()
        if readable is None:
            readable = fd == 0
        try:
            handle = pyuv.TTY(loop.uv_loop, fd, bool(readable))
        except pyuv.error.UVError as exc:
            raise from_pyuv_error(exc, f'open terminal fd {fd}') from None
        super().__init__(handle, loop)
        self._fd = fd

    def get_winsize(self) -> tuple[int, int]:
        """The terminal's size as (columns, rows)."""
        try:
            return self._handle.get_winsize()
        except pyuv.error.UVError as exc:
            raise from_pyuv_error(exc, 'get_winsize') from None

    def set_raw(self, raw: bool = True) -> None:
        """Switch the terminal to raw mode (True) or back to normal mode."""
        try:
            self._handle.set_mode(1 if raw else 0)
        except pyuv.error.UVError as exc:
            raise from_pyuv_error(exc, 'set_mode') from None

    @staticmethod
    def reset_mode() -> None:
        """Restore every terminal's original mode (call before the program exits after set_raw)."""
        pyuv.TTY.reset_mode()

    def _describe(self) -> str:
        return f' fd={self._fd}'

    def shutdown(self) -> None:
        """Terminals cannot be half-closed: wait for the written data to go out instead."""
        self.drain()


def stdin(loop: HubCore | None = None) -> TTYStream:
    """The terminal on standard input, for reading."""
    return TTYStream(0, True, loop)


def stdout(loop: HubCore | None = None) -> TTYStream:
    """The terminal on standard output, for writing."""
    return TTYStream(1, False, loop)

