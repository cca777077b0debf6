"""The contextvars context protocols run in, on rose and on asyncio's loop.

asyncio changed this in Python 3.15: a transport is handed the context its
protocol lives in (a server's context, captured when the server is made and
copied per connection, or a copy of the connecting task's) and runs every
protocol callback in it, so a value set in connection_made is seen by
data_received. Before 3.15 each callback runs in a copy: callbacks scheduled
with call_soon in a copy made when scheduled, reads in a copy made when
reading starts (so after resume_reading, in a copy of the resumer's context).
Both eras agree on the values a protocol sees when nothing is set in its
callbacks, and on no value set in a callback leaking out. The tests state
the common behaviour once and the era-specific part by feature detection.
"""

import asyncio
import contextvars
import inspect
import os
import socket
import tempfile
from asyncio import base_events

from rose.testing import loop_test_cases

try:
    from test.test_asyncio import utils as cpython_test_utils
except ImportError:  # Python installed without its test suite
    cpython_test_utils = None

# Whether this Python's asyncio hands transports the protocol's context (3.15+).
ASYNCIO_PASSES_CONTEXT = 'context' in inspect.signature(
    base_events.BaseEventLoop._create_connection_transport).parameters

# The value the test's task sets before making the server or connection.
WHERE = contextvars.ContextVar('rose_test_where', default='unset')
# The callback of this protocol that ran last in the same context, as far as it can tell.
LAST = contextvars.ContextVar('rose_test_last', default=None)


class Seen:
    """Protocol mixin: each callback notes what it sees (WHERE, LAST), then sets LAST."""

    def __init__(self, loop):
        self.seen = {'factory': (WHERE.get(), LAST.get())}
        self.transport = None
        self.lost = loop.create_future()
        self.reading_paused = loop.create_future()

    def _note(self, name, sets_last=True):
        # The first call of each callback is the one the tests compare.
        self.seen.setdefault(name, (WHERE.get(), LAST.get()))
        if sets_last:
            LAST.set(name)

    def connection_made(self, transport):
        self._note('connection_made')
        self.transport = transport

    def eof_received(self):
        self._note('eof_received')

    def pause_writing(self):
        self._note('pause_writing')

    def resume_writing(self):
        self._note('resume_writing')

    def connection_lost(self, exc):
        self._note('connection_lost')
        self.lost.set_result(exc)


class SeenProtocol(Seen, asyncio.Protocol):

    def __init__(self, loop, pause_after_first=False):
        super().__init__(loop)
        self.data = bytearray()
        self.pause_after_first = pause_after_first
        self.more = loop.create_future()

    def data_received(self, data):
        if self.reading_paused.done() and not self.more.done():
            self.more.set_result((WHERE.get(), LAST.get()))
        self._note('data_received')
        self.data += data
        if self.pause_after_first and not self.reading_paused.done():
            self.transport.pause_reading()
            self.reading_paused.set_result(None)


class SeenBufferedProtocol(Seen, asyncio.BufferedProtocol):

    def __init__(self, loop):
        super().__init__(loop)
        self.buffer = bytearray(64)
        self.data = bytearray()

    def get_buffer(self, sizehint):
        # Not part of the chain: asyncio asks for a buffer before each
        # recv_into(), the last one before learning of EOF; rose does not.
        self._note('get_buffer', sets_last=False)
        return self.buffer

    def buffer_updated(self, nbytes):
        self._note('buffer_updated')
        self.data += self.buffer[:nbytes]


class Sender(asyncio.Protocol):
    """A client that sends *payload*, then EOF (or closes, over TLS), and waits for the end."""

    def __init__(self, loop, payload):
        self.payload = payload
        self.lost = loop.create_future()

    def connection_made(self, transport):
        transport.write(self.payload)
        if transport.can_write_eof():
            transport.write_eof()
        else:
            transport.close()

    def eof_received(self):
        return None

    def connection_lost(self, exc):
        self.lost.set_result(exc)


# What the callbacks after the first see as LAST, in each era (the first sees None).
def _expected_last(order):
    expected = {order[0]: None}
    for previous, name in zip(order, order[1:]):
        expected[name] = previous
    if not ASYNCIO_PASSES_CONTEXT:
        # Before 3.15 reads run in a copy made when reading started, after
        # connection_made was scheduled in a copy of its own.
        expected[order[1]] = None
    return expected


class ContextBehaviour:

    def setUp(self):
        super().setUp()
        # The thread's own context, where the loop runs: a loop that ran a
        # callback there (rather than in a copy) would have left values behind.
        WHERE.set('unset')
        LAST.set(None)

    def run_main(self, main, timeout=None):
        """Run *main* on the loop; then check that no callback set anything in the loop's context."""
        result = self.run_loop(main, timeout)
        self.assertEqual((WHERE.get(), LAST.get()), ('unset', None),
                         "a callback ran in the loop's own context")
        return result

    async def _server(self, kind, factory):
        """A server of *kind* (tcp, unix, tls) and a coroutine function to connect to it."""
        loop = self.loop
        if kind == 'unix':
            tmp = tempfile.TemporaryDirectory()
            self.addCleanup(tmp.cleanup)
            path = os.path.join(tmp.name, 'sock')
            server = await loop.create_unix_server(factory, path)
            connect = lambda client: loop.create_unix_connection(client, path)
        else:
            ssl_server = ssl_client = None
            if kind == 'tls':
                if cpython_test_utils is None:
                    self.skipTest('needs test.test_asyncio (the CPython test suite) for its certificates')
                ssl_server = cpython_test_utils.simple_server_sslcontext()
                ssl_client = cpython_test_utils.simple_client_sslcontext()
            server = await loop.create_server(factory, '127.0.0.1', 0, ssl=ssl_server)
            host, port = server.sockets[0].getsockname()[:2]
            connect = lambda client: loop.create_connection(
                client, host, port, ssl=ssl_client, server_hostname='' if ssl_client else None)
        self.addCleanup(self._close_server, server)
        return server, connect

    def _close_server(self, server):
        if not self.loop.is_closed():
            server.close()
            self.run_loop(server.wait_closed())

    def _check_served(self, kind, protocol_class, order):
        async def main():
            served = []

            def factory():
                proto = protocol_class(self.loop)
                served.append(proto)
                return proto

            WHERE.set('server')
            server, connect = await self._server(kind, factory)
            WHERE.set('task')
            for count in (1, 2):
                tr, client = await connect(lambda: Sender(self.loop, b'hello'))
                while len(served) < count:  # asyncio accepts in a task of its own
                    await asyncio.sleep(0.001)
                await served[-1].lost
                await client.lost
                tr.close()
            # Nothing a callback set reached the task.
            self.assertEqual((WHERE.get(), LAST.get()), ('task', None))
            return served

        served = self.run_main(main())
        for proto in served:
            self.assertEqual(bytes(proto.data), b'hello')
            # Every connection starts from the server's context as it was when
            # the server was made, untouched by the connections before it.
            self.assertEqual(proto.seen['factory'], ('server', None))
            for name in order:
                self.assertEqual(proto.seen[name][0], 'server', name)
            if kind != 'tls' or ASYNCIO_PASSES_CONTEXT:
                # (Before 3.15, which of sslproto's callbacks share a copy is
                # sslproto's business.)
                expected = _expected_last(order)
                self.assertEqual({name: proto.seen[name][1] for name in order}, expected)
                if 'get_buffer' in proto.seen:
                    self.assertEqual(proto.seen['get_buffer'], ('server', expected['buffer_updated']))

    def test_tcp_server_protocols_live_in_the_servers_context(self):
        self._check_served('tcp', SeenProtocol,
                           ['connection_made', 'data_received', 'eof_received', 'connection_lost'])

    def test_unix_server_protocols_live_in_the_servers_context(self):
        self._check_served('unix', SeenProtocol,
                           ['connection_made', 'data_received', 'eof_received', 'connection_lost'])

    def test_tls_server_protocols_live_in_the_servers_context(self):
        self._check_served('tls', SeenProtocol,
                           ['connection_made', 'data_received', 'eof_received', 'connection_lost'])

    def test_buffered_protocols_live_in_the_servers_context(self):
        self._check_served('tcp', SeenBufferedProtocol,
                           ['connection_made', 'buffer_updated', 'eof_received', 'connection_lost'])

    def test_client_protocol_lives_in_the_connecting_context(self):
        order = ['connection_made', 'data_received', 'eof_received', 'connection_lost']

        class Echo(asyncio.Protocol):
            def connection_made(self, transport):
                self.transport = transport

            def data_received(self, data):
                self.transport.write(data)

            def eof_received(self):
                return None

        async def main():
            server = await self.loop.create_server(Echo, '127.0.0.1', 0)
            self.addCleanup(self._close_server, server)
            WHERE.set('client')
            tr, proto = await self.loop.create_connection(
                lambda: SeenProtocol(self.loop), *server.sockets[0].getsockname())
            WHERE.set('task')
            tr.write(b'ping')
            tr.write_eof()
            self.assertIsNone(await proto.lost)
            self.assertEqual((WHERE.get(), LAST.get()), ('task', None))
            return proto

        proto = self.run_main(main())
        self.assertEqual(bytes(proto.data), b'ping')
        for name in order:
            self.assertEqual(proto.seen[name][0], 'client', name)
        self.assertEqual({name: proto.seen[name][1] for name in order}, _expected_last(order))

    def test_reading_resumed_from_a_task(self):
        # asyncio's gh-140947: before 3.15 reads after resume_reading() run in
        # a copy of the context of whoever resumed; from 3.15 on, in the protocol's.
        async def main():
            served = []

            def factory():
                served.append(SeenProtocol(self.loop, pause_after_first=True))
                return served[-1]

            WHERE.set('server')
            server, connect = await self._server('tcp', factory)
            tr, client = await connect(asyncio.Protocol)
            tr.write(b'first')
            await served[0].reading_paused

            async def resume():
                WHERE.set('resumer')
                served[0].transport.resume_reading()

            await self.loop.create_task(resume())
            tr.write(b'second')
            seen = await served[0].more
            tr.close()
            await served[0].lost
            return seen

        where, last = self.run_main(main())
        self.assertEqual(where, 'server' if ASYNCIO_PASSES_CONTEXT else 'resumer')
        self.assertEqual(last, 'data_received' if ASYNCIO_PASSES_CONTEXT else None)

    def test_flow_control_callbacks(self):
        # pause_writing() is called from write(), so it runs where write() is
        # called; resume_writing() runs where the transport's write
        # completions do: in the protocol's context from 3.15 on, before that
        # in a copy of the context where the writes began to queue.
        async def main():
            served = []

            def factory():
                served.append(SeenProtocol(self.loop))
                return served[-1]

            server, connect = await self._server('tcp', factory)
            WHERE.set('client')
            tr, proto = await connect(lambda: SeenProtocol(self.loop))
            await asyncio.sleep(0)
            peer = served[0].transport
            peer.pause_reading()
            WHERE.set('writer')
            tr.set_write_buffer_limits(high=64 * 1024, low=16 * 1024)
            chunk = b'x' * 65536
            for _ in range(400):
                tr.write(chunk)
                if 'pause_writing' in proto.seen:
                    break
                await asyncio.sleep(0)
            self.assertIn('pause_writing', proto.seen)
            peer.resume_reading()
            for _ in range(2000):
                if 'resume_writing' in proto.seen:
                    break
                await asyncio.sleep(0.001)
            tr.close()
            await proto.lost
            return proto.seen

        seen = self.run_main(main(), timeout=30)
        self.assertEqual(seen['pause_writing'][0], 'writer')
        self.assertIn('resume_writing', seen)
        self.assertEqual(seen['resume_writing'][0], 'client' if ASYNCIO_PASSES_CONTEXT else 'writer')

    def test_datagram_protocols(self):
        # asyncio passes datagram transports no context, on any version:
        # connection_made runs in a copy made when it is scheduled, and
        # datagram_received, every time, in one copy made when receiving starts.
        class Datagrams(asyncio.DatagramProtocol):
            def __init__(self, loop):
                self.seen = []
                self.got = asyncio.Queue()

            def connection_made(self, transport):
                self.seen.append(('connection_made', WHERE.get(), LAST.get()))
                LAST.set('connection_made')

            def datagram_received(self, data, addr):
                self.seen.append(('datagram_received', WHERE.get(), LAST.get()))
                LAST.set('datagram_received')
                self.got.put_nowait(data)

        async def main():
            WHERE.set('endpoint')
            tr, proto = await self.loop.create_datagram_endpoint(
                lambda: Datagrams(self.loop), local_addr=('127.0.0.1', 0))
            WHERE.set('task')
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer:
                for payload in (b'one', b'two'):
                    peer.sendto(payload, tr.get_extra_info('sockname'))
                    self.assertEqual(await proto.got.get(), payload)
            tr.close()
            self.assertEqual((WHERE.get(), LAST.get()), ('task', None))
            return proto.seen

        self.assertEqual(self.run_main(main()), [
            ('connection_made', 'endpoint', None),
            ('datagram_received', 'endpoint', None),
            ('datagram_received', 'endpoint', 'datagram_received'),
        ])


globals().update(loop_test_cases(ContextBehaviour))

