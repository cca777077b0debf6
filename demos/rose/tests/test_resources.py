"""File descriptors and handles: nothing leaks, closing a busy loop releases everything."""

import asyncio
import gc
import os
import socket
import subprocess
import sys
import warnings
import weakref

import pyuv

import rose
from rose.testing import loop_test_cases

# The process's open descriptors: /proc on Linux, /dev/fd on macOS and the BSDs.
FD_DIR = '/proc/self/fd' if os.path.isdir('/proc/self/fd') else '/dev/fd'


def open_fds() -> set[int]:
    return {int(fd) for fd in os.listdir(FD_DIR)}


class EchoProtocol(asyncio.Protocol):

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)


class ClientProtocol(asyncio.Protocol):

    def __init__(self, loop):
        self.reply = loop.create_future()
        self.lost = loop.create_future()

    def data_received(self, data):
        if not self.reply.done():
            self.reply.set_result(data)

    def connection_lost(self, exc):
        self.lost.set_result(exc)


async def echo_connection(loop):
    """An echo server on *loop* and a connection to it that made one round trip."""
    server = await loop.create_server(EchoProtocol, '127.0.0.1', 0)
    addr = server.sockets[0].getsockname()
    tr, proto = await loop.create_connection(lambda: ClientProtocol(loop), *addr)
    tr.write(b'x')
    await proto.reply
    return server, tr


# asyncio's own transports break their reference cycles on closing from
# Python 3.14 on (its test_sslproto's *_no_cycles tests); rose's always do.
ASYNCIO_TRANSPORTS_FREE_THEMSELVES = sys.version_info >= (3, 14)


class ForgetfulProtocol(asyncio.Protocol):
    """Lets go of its transport when the connection is lost, as a tidy protocol does."""

    def __init__(self, loop, made=None):
        self.lost = loop.create_future()
        self.made = made

    def connection_made(self, transport):
        self.transport = transport
        if self.made is not None:
            self.made.set_result(weakref.ref(transport))

    def data_received(self, data):
        self.transport.write(data)

    def connection_lost(self, exc):
        self.transport = None
        self.lost.set_result(exc)


class ResourceBehaviour:

    def test_closed_transports_are_freed_without_the_gc(self):
        if self.loop_name == 'asyncio' and not ASYNCIO_TRANSPORTS_FREE_THEMSELVES:
            self.skipTest("asyncio's transports keep reference cycles before Python 3.14")

        async def main():
            accepted = self.loop.create_future()
            server = await self.loop.create_server(
                lambda: ForgetfulProtocol(self.loop, accepted), '127.0.0.1', 0)
            tr, proto = await self.loop.create_connection(
                lambda: ForgetfulProtocol(self.loop), *server.sockets[0].getsockname())
            served = await accepted
            served_proto = served().get_protocol()
            tr.write(b'x' * 100_000)  # some of it queues in libuv
            tr.write_eof()
            client = weakref.ref(tr)
            tr.close()
            del tr
            await proto.lost
            await served_proto.lost
            server.close()
            await server.wait_closed()
            await asyncio.sleep(0)  # the handles' close callbacks
            return client, served

        gc.collect()
        gc.disable()
        try:
            client, served = self.run_loop(main())
            self.assertIsNone(client(), 'the client transport is still referenced')
            self.assertIsNone(served(), 'the accepted transport is still referenced')
        finally:
            gc.enable()

    def test_no_leaked_fds_after_1000_connections(self):
        async def main():
            server = await self.loop.create_server(EchoProtocol, '127.0.0.1', 0)
            addr = server.sockets[0].getsockname()
            # Warm up: the loop's own descriptors (executor, self-pipe) exist now.
            await self.one_round_trip(addr)
            before = open_fds()
            for i in range(1000):
                await self.one_round_trip(addr, i % 3 == 0)
            server.close()
            await server.wait_closed()
            await asyncio.sleep(0.01)
            return before

        before = self.run_loop(main(), timeout=120)
        gc.collect()
        leaked = open_fds() - before
        self.assertEqual(leaked, set(), 'descriptors left open')

    async def one_round_trip(self, addr, abort=False):
        tr, proto = await self.loop.create_connection(lambda: ClientProtocol(self.loop), *addr)
        tr.write(b'ping')
        self.assertEqual(await proto.reply, b'ping')
        if abort:
            tr.abort()
        else:
            tr.close()
        await proto.lost

    def test_unclosed_transports_are_released_by_loop_close(self):
        before = open_fds()
        loop = self.new_loop()

        async def main():
            server, tr = await echo_connection(loop)
            r, w = os.pipe()
            await loop.connect_read_pipe(asyncio.Protocol, open(r, 'rb', buffering=0))
            os.close(w)
            loop.add_reader(socket.socket().detach(), print)  # a watcher left behind
            return server, tr

        server, tr = loop.run_until_complete(main())
        server.close()  # the listening socket is the server's to close
        loop.close()
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', ResourceWarning)
            del tr
            gc.collect()
        leaked = open_fds() - before
        # asyncio's loop leaves transports' sockets to the garbage collector,
        # rose closes them with the loop (and lets libuv's loop go): either
        # way nothing stays open but the descriptor given to add_reader,
        # which is the caller's.
        self.assertLessEqual(len(leaked), 1, leaked)
        for fd in leaked:
            os.close(fd)


globals().update(loop_test_cases(ResourceBehaviour))


def test_close_releases_every_libuv_handle():
    loop = rose.new_event_loop()
    uv_loop = loop.uv_loop

    async def main():
        server, _ = await echo_connection(loop)
        loop.call_later(3600, print)
        return server

    server = loop.run_until_complete(main())
    assert any(not h.closed for h in uv_loop.handles)
    loop.close()
    assert all(h.closed for h in uv_loop.handles)
    assert loop.is_closed()
    server.close()


def test_internal_handles_do_not_keep_libuv_alive():
    loop = rose.new_event_loop()
    try:
        loop.call_later(3600, print)
        loop.run_until_complete(asyncio.sleep(0))
        # Outside run_forever() nothing of rose's keeps uv_run() busy.
        assert not loop.uv_loop.alive
        assert loop.uv_loop.run(pyuv.UV_RUN_NOWAIT) is False
    finally:
        loop.close()


def test_close_loop_with_a_running_child_and_its_pipes():
    before = open_fds()
    loop = rose.new_event_loop()

    async def main():
        return await asyncio.create_subprocess_exec(
            sys.executable, '-c', 'import time; time.sleep(30)',
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    proc = loop.run_until_complete(main())
    pid = proc.pid
    proc.kill()
    loop.close()  # the transports are still open
    os.waitpid(pid, 0)  # libuv no longer watches the child: reap it here
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', ResourceWarning)
        del proc
        gc.collect()
    assert open_fds() - before == set()


def test_uv_loop_after_close_is_an_error():
    loop = rose.new_event_loop()
    loop.close()
    try:
        loop.uv_loop
    except RuntimeError as exc:
        assert 'closed' in str(exc)
    else:
        raise AssertionError('uv_loop after close() should raise RuntimeError')
