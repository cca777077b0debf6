"""UDP on libuv: UDPEndpoint sends and receives datagrams for tasks."""

from __future__ import annotations

import collections
import errno
import socket
from typing import Any

import pyuv

from rose.errors import UV_EAGAIN, from_pyuv_error, uv_error

from ..hub import HubCore, get_loop
from .stream import WaitSlots, wait_for_request
from .tcp import check_address, format_address, resolve

__all__ = ['UDPEndpoint']

# Datagrams kept for a task that does not receive; beyond, the kernel's buffer fills and drops.
MAX_QUEUED = 1024


class UDPEndpoint:
    """A UDP socket: ``bind(address)``, ``sendto(data, address)``, ``recvfrom()``.

    ``recvfrom()`` waits for a datagram and returns ``(data, address)``.
    Datagrams that arrive while no task receives are queued (up to 1024);
    after that libuv stops reading and the kernel drops, as UDP does.
    """

    def __init__(self, loop: HubCore | None = None) -> None:
        self._loop = loop if loop is not None else get_loop()
        self._handle = pyuv.UDP(self._loop.uv_loop)
        self._queue: collections.deque = collections.deque()
        self._receivers = WaitSlots()
        self._receiving = False
        self._error: OSError | None = None
        self._closed = False
        self._on_datagram = self._datagram_callback

    def bind(self, address: tuple = ('127.0.0.1', 0)) -> None:
        """Bind to *address* (an IP address; port 0 picks a free one)."""
        check_address(address)
        try:
            self._handle.bind(tuple(address))
        except pyuv.error.UVError as exc:
            raise from_pyuv_error(exc, f'bind to {format_address(address)}') from None

    def getsockname(self) -> tuple:
        try:
            return self._handle.getsockname()
        except pyuv.error.UVError as exc:
            raise from_pyuv_error(exc, 'getsockname') from None

    def set_broadcast(self, enable: bool = True) -> None:
        self._handle.set_broadcast(bool(enable))

    def sendto(self, data: Any, address: tuple) -> int:
        """Send one datagram to *address* (a name is resolved off the loop); return its size."""
        if self._closed:
            raise OSError(errno.EBADF, 'Bad file descriptor: the endpoint is closed')
        if isinstance(data, str):
            raise TypeError('data must be a bytes-like object, not str (encode it first)')
        size = memoryview(data).nbytes
        target = resolve(address, socket.SOCK_DGRAM, self._loop)[0]
        try:
            sent = self._handle.try_send(target, data)
        except pyuv.error.UVError as exc:
            if exc.args[0] != UV_EAGAIN:
                raise from_pyuv_error(exc, f'sendto {format_address(target)}') from None
        else:
            if sent == size:
                return size
        # The kernel's buffer is full: queue it in libuv and wait for the outcome.
        where = f'sendto {format_address(target)}'
        payload = bytes(data)
        error = wait_for_request(self._loop, lambda done: self._handle.send(target, payload, done),
                                 'sendto()', where)
        if error is not None:
            raise uv_error(error, where)
        return size

    def _datagram_callback(self, handle: Any, address: Any, flags: int, data: bytes | None,
                           error: int | None) -> None:
        if error is not None:
            self._error = uv_error(error, 'recvfrom')
        else:
            self._queue.append((data, address))
            if len(self._queue) >= MAX_QUEUED and self._receiving:
                self._receiving = False
                handle.stop_recv()
        if self._receivers:
            self._receivers.wake_one()

    def recvfrom(self) -> tuple[bytes, tuple]:
        """Wait for a datagram; return ``(data, sender_address)``."""
        while not self._queue:
            if self._closed:
                raise OSError(errno.EBADF, 'Bad file descriptor: the endpoint is closed')
            if self._error is not None:
                error, self._error = self._error, None
                raise error
            if not self._receiving:
                try:
                    self._handle.start_recv(self._on_datagram)
                except pyuv.error.UVError as exc:
                    raise from_pyuv_error(exc, 'recvfrom') from None
                self._receiving = True
            self._receivers.wait(self._loop, 'recvfrom()')
        return self._queue.popleft()

    def recv(self) -> bytes:
        """Wait for a datagram; return its data."""
        return self.recvfrom()[0]

    def close(self) -> None:
        """Close the endpoint; tasks waiting in recvfrom() get OSError (EBADF)."""
        if self._closed:
            return
        self._closed = True
        if not self._handle.closed:
            self._handle.close()
        self._receivers.wake_all_soon()

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> UDPEndpoint:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        where = ''
        if not self._closed:
            try:
                where = ' ' + format_address(self._handle.getsockname())
            except pyuv.error.UVError:
                pass
        return f'<evergreen.io.UDPEndpoint{" closed" if self._closed else ""}{where} queued={len(self._queue)}>'
