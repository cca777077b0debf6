"""Turning libuv's error codes into the exceptions asyncio's users expect.

pyuv reports failures as negative libuv codes (in callbacks) or as
``pyuv.error.*Error(code, message)`` exceptions. On Unix a libuv code is the
negated ``errno``, so both become the ``OSError`` subclass the standard library
would raise for the same failure (``ConnectionResetError``, ``BrokenPipeError``,
``FileNotFoundError``, ...), with the standard message.
"""

from __future__ import annotations

import errno
import os

import pyuv

__all__ = ['UV_EOF', 'UV_EAGAIN', 'UV_ECANCELED', 'uv_error', 'from_pyuv_error']

UV_EOF: int = pyuv.errno.UV_EOF
UV_EAGAIN: int = pyuv.errno.UV_EAGAIN
UV_ECANCELED: int = pyuv.errno.UV_ECANCELED


def uv_error(code: int, context: str | None = None) -> OSError:
    """Return the OSError for libuv error *code*, optionally naming *context*.

    *context* (an address, a path, a program) is appended to the message the
    way the standard library does, e.g. ``[Errno 111] Connect call failed
    ('127.0.0.1', 9)``.
    """
    if code == UV_EOF:
        return ConnectionResetError(errno.ECONNRESET, 'Connection lost (end of stream)')
    number = -code
    if number in errno.errorcode:
        message = os.strerror(number)
    else:
        message = pyuv.errno.strerror(code)
    if context is not None:
        message = f'{message}: {context}'
    return OSError(number, message)


def from_pyuv_error(exc: pyuv.error.UVError, context: str | None = None) -> OSError:
    """Convert a ``pyuv.error.UVError`` (raised by a pyuv call) into an OSError."""
    args = exc.args
    if len(args) >= 1 and isinstance(args[0], int):
        return uv_error(args[0], context)
    return OSError(errno.EIO, str(exc) if context is None else f'{exc}: {context}')
