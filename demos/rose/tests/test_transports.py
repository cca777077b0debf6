"""Stream and datagram transports, on rose and on asyncio's loop: the transport contract."""

import asyncio
import errno
import os
import socket
import struct
import sys
import tempfile
import time

import pytest

from rose.testing import loop_test_cases

try:
    from test.test_asyncio import utils as cpython_test_utils
except ImportError:  # Python installed without its test suite
    cpython_test_utils = None


class Recorder(asyncio.Protocol):
    """A protocol that records what happens to it."""

    def __init__(self, loop, echo=False, keep_open=False):
        self.loop = loop
        self.echo = echo
        self.keep_open = keep_open
        self.events = []
        self.data = bytearray()
        self.transport = None
        self.made = loop.create_future()
        self.lost = loop.create_future()
        self.eof = loop.create_future()
        self.paused = 0
        self.resumed = 0

    def connection_made(self, transport):
        self.transport = transport
        self.events.append('made')
        self.made.set_result(None)

    def data_received(self, data):
        assert type(data) is bytes and data
        self.data += data
        if self.echo:
            self.transport.write(data)

    def eof_received(self):
        self.events.append('eof')
        self.eof.set_result(None)
        return self.keep_open

    def pause_writing(self):
        self.paused += 1

    def resume_writing(self):
        self.resumed += 1

    def connection_lost(self, exc):
        self.events.append('lost')
        self.lost.set_result(exc)

    async def received(self, size):
        while len(self.data) < size:
            await asyncio.sleep(0.001)
        return bytes(self.data)


class BufferedRecorder(asyncio.BufferedProtocol):

    def __init__(self, loop, chunk=7):
        self.buffer = bytearray(chunk)
        self.data = bytearray()
        self.lost = loop.create_future()
        self.sizehints = []

    def connection_made(self, transport):
        self.transport = transport

    def get_buffer(self, sizehint):
        self.sizehints.append(sizehint)
        return self.buffer

    def buffer_updated(self, nbytes):
        self.data += self.buffer[:nbytes]

    def eof_received(self):
        return False

    def connection_lost(self, exc):
        self.lost.set_result(exc)


# What a stream transport's write() says of a str: asyncio's words changed in a
# 3.14 bugfix release (3.14.10 has the new ones, 3.13.0 the old), so ask asyncio.
WRITE_TYPE_ERRORS = ("data argument must be a bytes-like object, not 'str'",
                     "data argument must be a bytes, bytearray, or memoryview object, not 'str'")


def _asyncio_write_type_error() -> str:
    try:
        asyncio.selector_events._SelectorSocketTransport.write(None, 'text')
    except TypeError as exc:
        return str(exc)
    raise AssertionError("asyncio's write() took a str")


class TcpBehaviour:

    async def serve(self, **kwargs):
        protocols = []

        def factory():
            proto = Recorder(self.loop, **kwargs)
            protocols.append(proto)
            return proto

        server = await self.loop.create_server(factory, '127.0.0.1', 0)
        self.addCleanup(self._close_server, server, protocols)
        return server, server.sockets[0].getsockname(), protocols

    def _close_server(self, server, served):
        if not self.loop.is_closed():
            server.close()
            # A test that failed half-way leaves connections open, which
            # wait_closed() waits for (Python 3.12+): end them, and bound the wait.
            for proto in served:
                if proto.transport is not None:
                    proto.transport.abort()
            self.run_loop(server.wait_closed())

    def test_echo_and_extra_info(self):
        async def main():
            server, addr, served = await self.serve(echo=True)
            tr, proto = await self.loop.create_connection(lambda: Recorder(self.loop), *addr)
            self.assertIsInstance(tr, asyncio.Transport)
            self.assertIsInstance(tr, asyncio.WriteTransport)
            self.assertIsInstance(tr, asyncio.ReadTransport)
            self.assertEqual(tr.get_extra_info('peername'), addr)
            self.assertEqual(tr.get_extra_info('sockname')[0], '127.0.0.1')
            sock = tr.get_extra_info('socket')
            self.assertIsInstance(sock, asyncio.trsock.TransportSocket)
            self.assertEqual(sock.getpeername(), addr)
            self.assertEqual(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY), 1)
            self.assertIsNone(tr.get_extra_info('nothing'))
            self.assertEqual(tr.get_extra_info('nothing', 'default'), 'default')
            self.assertIs(tr.get_protocol(), proto)
            tr.write(b'hello ')
            tr.writelines([b'wor', bytearray(b'ld'), memoryview(b'!')])
            self.assertEqual(await proto.received(12), b'hello world!')
            self.assertTrue(tr.is_reading())
            self.assertFalse(tr.is_closing())
            self.assertTrue(tr.can_write_eof())
            tr.close()
            self.assertTrue(tr.is_closing())
            self.assertIsNone(await proto.lost)
            self.assertEqual(proto.events, ['made', 'lost'])
            self.assertIsNone(tr.get_extra_info('socket').fileno() if False else None)
            await served[0].lost

        self.run_loop(main())

    def test_bad_input(self):
        async def main():
            server, addr, served = await self.serve()
            tr, proto = await self.loop.create_connection(lambda: Recorder(self.loop), *addr)
            with self.assertRaises(TypeError) as refused:
                tr.write('text')
            self.assertIn(str(refused.exception), WRITE_TYPE_ERRORS)
            self.assertEqual(str(refused.exception), _asyncio_write_type_error())
            with self.assertRaises(TypeError):
                tr.write(None)
            with self.assertRaisesRegex(ValueError, 'high.*must be >= low'):
                tr.set_write_buffer_limits(high=1, low=2)
            tr.write(b'')  # nothing to do
            tr.write_eof()
            with self.assertRaisesRegex(RuntimeError, 'write_eof'):
                tr.write(b'x')
            tr.close()
            await proto.lost

        self.run_loop(main())

    def test_connection_refused_names_the_address(self):
        sock = socket.socket()
        sock.bind(('127.0.0.1', 0))
        addr = sock.getsockname()
        sock.close()  # nobody listens there now

        async def main():
            with self.assertRaises(ConnectionRefusedError) as caught:
                await self.loop.create_connection(asyncio.Protocol, *addr)
            self.assertIn(str(addr[1]), str(caught.exception))

        self.run_loop(main())

    def test_address_in_use_names_the_address(self):
        listener = self.tcp_listener()
        port = listener.getsockname()[1]

        async def main():
            with self.assertRaises(OSError) as caught:
                await self.loop.create_server(asyncio.Protocol, '127.0.0.1', port)
            self.assertEqual(caught.exception.errno, errno.EADDRINUSE)
            self.assertIn(str(port), str(caught.exception))

        self.run_loop(main())

    def test_write_eof_half_closes(self):
        async def main():
            server, addr, served = await self.serve(keep_open=True)
            tr, proto = await self.loop.create_connection(lambda: Recorder(self.loop), *addr)
            tr.write(b'request')
            tr.write_eof()
            tr.write_eof()  # idempotent
            await served[0].eof
            self.assertEqual(bytes(served[0].data), b'request')
            # The other direction still works.
            served[0].transport.write(b'reply')
            self.assertEqual(await proto.received(5), b'reply')
            served[0].transport.close()
            await proto.lost
            self.assertEqual(proto.events, ['made', 'eof', 'lost'])

        self.run_loop(main())

    def test_write_eof_after_a_reset_raises_at_once(self):
        # Found by tests/fuzz: asyncio shuts the socket down in write_eof(), so
        # a reset that came first is raised there; rose's libuv request used
        # to report it to its callback only, and write_eof() returned.
        listener = self.tcp_listener()

        async def main():
            tr, proto = await self.loop.create_connection(
                lambda: Recorder(self.loop), *listener.getsockname())
            peer, _ = listener.accept()
            tr.pause_reading()  # so that no read learns of the reset first
            peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
            peer.close()  # RST
            sock = tr.get_extra_info('socket')
            for _ in range(1000):
                if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                    break
                await asyncio.sleep(0.001)
            with self.assertRaises(OSError) as caught:
                tr.write_eof()
            self.assertEqual(caught.exception.errno, errno.ENOTCONN)
            tr.close()
            await proto.lost

        self.run_loop(main())

    def test_backpressure_with_a_slow_reader(self):
        async def main():
            server, addr, served = await self.serve()
            tr, proto = await self.loop.create_connection(lambda: Recorder(self.loop), *addr)
            await asyncio.sleep(0.01)
            peer = served[0]
            peer.transport.pause_reading()
            self.assertFalse(peer.transport.is_reading())
            tr.set_write_buffer_limits(high=64 * 1024, low=16 * 1024)
            self.assertEqual(tr.get_write_buffer_limits(), (16 * 1024, 64 * 1024))
            chunk = b'x' * 65536
            sent = 0
            for _ in range(400):
                tr.write(chunk)
                sent += len(chunk)
                if proto.paused:
                    break
                await asyncio.sleep(0)
            self.assertEqual(proto.paused, 1, 'pause_writing() was never called')
            self.assertGreater(tr.get_write_buffer_size(), 64 * 1024)
            self.assertEqual(proto.resumed, 0)
            peer.transport.resume_reading()
            await peer.received(sent)
            for _ in range(1000):
                if proto.resumed:
                    break
                await asyncio.sleep(0.001)
            self.assertEqual(proto.resumed, 1)
            self.assertEqual(tr.get_write_buffer_size(), 0)
            self.assertEqual(len(peer.data), sent)
            tr.close()
            await proto.lost

        self.run_loop(main(), timeout=30)

    def test_close_sends_buffered_data_first(self):
        async def main():
            server, addr, served = await self.serve()
            tr, proto = await self.loop.create_connection(lambda: Recorder(self.loop), *addr)
            await asyncio.sleep(0.01)
            served[0].transport.pause_reading()
            payload = os.urandom(3 * 1024 * 1024)
            tr.write(payload)
            tr.close()
            self.assertTrue(tr.is_closing())
            await asyncio.sleep(0.05)
            served[0].transport.resume_reading()
            self.assertIsNone(await proto.lost)
            await served[0].eof
            self.assertEqual(bytes(served[0].data), payload)

        self.run_loop(main(), timeout=30)

    def test_abort_drops_buffered_data(self):
        async def main():
            server, addr, served = await self.serve()
            tr, proto = await self.loop.create_connection(lambda: Recorder(self.loop), *addr)
            await asyncio.sleep(0.01)
            served[0].transport.pause_reading()
            tr.write(b'x' * (8 * 1024 * 1024))
            tr.abort()
            self.assertIsNone(await proto.lost)
            self.assertEqual(tr.get_write_buffer_size(), 0)
            served[0].transport.resume_reading()
            await served[0].lost
            self.assertLess(len(served[0].data), 8 * 1024 * 1024)

        self.run_loop(main(), timeout=30)

    def test_peer_resets_the_connection(self):
        async def main():
            server, addr, served = await self.serve()
            raw = socket.create_connection(addr)
            await asyncio.sleep(0.02)
            # SO_LINGER 0: close() sends RST.
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b'\x01\x00\x00\x00\x00\x00\x00\x00')
            served_proto = None
            for _ in range(200):
                if served:
                    served_proto = served[0]
                    break
                await asyncio.sleep(0.005)
            await served_proto.made
            raw.close()
            exc = await served_proto.lost
            self.assertIsInstance(exc, ConnectionResetError)
            # Writes after the reset are dropped quietly.
            served_proto.transport.write(b'late')

        self.run_loop(main())

    def test_pause_and_resume_reading_lose_nothing(self):
        async def main():
            server, addr, served = await self.serve()
            tr, proto = await self.loop.create_connection(lambda: Recorder(self.loop), *addr)
            await asyncio.sleep(0.01)
            tr.pause_reading()
            tr.pause_reading()  # idempotent
            self.assertFalse(tr.is_reading())
            served[0].transport.write(b'a' * 100000)
            await asyncio.sleep(0.05)
            self.assertEqual(len(proto.data), 0)
            tr.resume_reading()
            tr.resume_reading()
            self.assertTrue(tr.is_reading())
            self.assertEqual(len(await proto.received(100000)), 100000)
            tr.close()
            await proto.lost

        self.run_loop(main())

    def test_buffered_protocol(self):
        async def main():
            server, addr, served = await self.serve(echo=True)
            payload = bytes(range(256)) * 400
            tr, proto = await self.loop.create_connection(lambda: BufferedRecorder(self.loop), *addr)
            tr.write(payload)
            while len(proto.data) < len(payload):
                await asyncio.sleep(0.001)
            self.assertEqual(bytes(proto.data), payload)
            tr.close()
            self.assertIsNone(await proto.lost)

        self.run_loop(main())

    def test_empty_buffer_from_get_buffer_is_an_error(self):
        async def main():
            server, addr, served = await self.serve(echo=True)
            tr, proto = await self.loop.create_connection(
                lambda: BufferedRecorder(self.loop, chunk=0), *addr)
            with self.expect_exception_handler() as calls:
                tr.write(b'ping')
                exc = await proto.lost
            self.assertIsInstance(exc, RuntimeError)
            self.assertIn('get_buffer', calls[0]['message'])

        self.run_loop(main())

    def test_protocol_error_closes_the_connection(self):
        class Broken(Recorder):
            def data_received(self, data):
                raise ZeroDivisionError

        async def main():
            server, addr, served = await self.serve(echo=True)
            tr, proto = await self.loop.create_connection(lambda: Broken(self.loop), *addr)
            with self.expect_exception_handler() as calls:
                tr.write(b'ping')
                exc = await proto.lost
            self.assertIsInstance(exc, ZeroDivisionError)
            self.assertEqual(len(calls), 1)
            self.assertIn('data_received', calls[0]['message'])

        self.run_loop(main())

    def test_slow_protocol_callbacks_are_reported_in_debug_mode(self):
        self.loop.set_debug(True)  # slow callbacks are reported in debug mode only

        class Slow(Recorder):
            def data_received(self, data):
                super().data_received(data)
                time.sleep(0.15)

        async def main():
            server, addr, served = await self.serve(echo=True)
            tr, proto = await self.loop.create_connection(lambda: Slow(self.loop), *addr)
            with self.assertLogs('asyncio', level='WARNING') as logs:
                tr.write(b'ping')
                await proto.received(4)
                await asyncio.sleep(0)
            self.assertTrue(any('took' in line for line in logs.output), logs.output)
            tr.close()
            await proto.lost

        self.run_loop(main())

    def test_cancelled_connect_leaves_nothing_behind(self):
        async def main():
            listener = self.tcp_listener()
            listener.listen(1)
            addr = listener.getsockname()
            task = self.loop.create_task(self.loop.create_connection(asyncio.Protocol, *addr))
            await asyncio.sleep(0)
            task.cancel()
            with self.assertRaises(asyncio.CancelledError):
                await task

        self.run_loop(main())

    def test_wait_for_timeout_on_a_read(self):
        async def main():
            server, addr, served = await self.serve()
            reader, writer = await asyncio.open_connection(*addr)
            with self.assertRaises(TimeoutError):
                await asyncio.wait_for(reader.read(10), 0.05)
            writer.close()
            await writer.wait_closed()

        self.run_loop(main())

    def test_server_api(self):
        async def main():
            server = await self.loop.create_server(asyncio.Protocol, '127.0.0.1', 0,
                                                   start_serving=False)
            self.assertFalse(server.is_serving())
            self.assertIs(server.get_loop(), self.loop)
            await server.start_serving()
            self.assertTrue(server.is_serving())
            addr = server.sockets[0].getsockname()
            tr, proto = await self.loop.create_connection(lambda: Recorder(self.loop), *addr)
            server.close()
            self.assertFalse(server.is_serving())
            self.assertEqual(server.sockets, ())
            with self.assertRaises(OSError):
                await self.loop.create_connection(asyncio.Protocol, *addr)
            tr.close()
            await proto.lost
            await server.wait_closed()

        self.run_loop(main())

    def test_serve_forever_is_cancellable(self):
        async def main():
            server = await self.loop.create_server(asyncio.Protocol, '127.0.0.1', 0)
            task = self.loop.create_task(server.serve_forever())
            await asyncio.sleep(0.01)
            task.cancel()
            with self.assertRaises(asyncio.CancelledError):
                await task
            self.assertFalse(server.is_serving())

        self.run_loop(main())

    def test_connect_accepted_socket_and_sock_argument(self):
        async def main():
            listener = self.tcp_listener()
            listener.listen(1)
            client = socket.socket()
            client.setblocking(False)
            await self.loop.sock_connect(client, listener.getsockname())
            conn, _ = listener.accept()
            tr1, p1 = await self.loop.connect_accepted_socket(lambda: Recorder(self.loop, echo=True), conn)
            tr2, p2 = await self.loop.create_connection(lambda: Recorder(self.loop), sock=client)
            tr2.write(b'round trip')
            self.assertEqual(await p2.received(10), b'round trip')
            with self.assertRaisesRegex(RuntimeError, 'is used by transport'):
                self.loop.add_reader(client.fileno(), print)
            tr2.close()
            await p1.lost
            await p2.lost
            self.assertEqual(client.fileno(), -1)

        self.run_loop(main())

    def test_sendfile(self):
        async def main():
            server, addr, served = await self.serve()
            tr, proto = await self.loop.create_connection(lambda: Recorder(self.loop), *addr)
            payload = os.urandom(1024 * 1024 + 13)
            with tempfile.TemporaryFile() as f:
                f.write(payload)
                f.seek(0)
                sent = await self.loop.sendfile(tr, f, offset=13)
                self.assertEqual(sent, len(payload) - 13)
                self.assertEqual(f.tell(), len(payload))
            self.assertEqual(await served[0].received(sent), payload[13:])
            tr.write(b'after')
            self.assertEqual((await served[0].received(sent + 5))[-5:], b'after')
            tr.close()
            await proto.lost

        self.run_loop(main())

    def test_sendfile_that_sends_nothing(self):
        # From Python 3.14, asyncio's native sendfile leaves the file at
        # offset + sent even when it sent nothing; before, it left the
        # position alone then.
        expected_position = 100 if sys.version_info >= (3, 14) else 7

        async def main():
            server, addr, served = await self.serve()
            tr, proto = await self.loop.create_connection(lambda: Recorder(self.loop), *addr)
            a, b = socket.socketpair()
            with a, b, tempfile.TemporaryFile() as f:
                a.setblocking(False)
                f.write(b'x' * 100)
                f.seek(7)
                self.assertEqual(await self.loop.sendfile(tr, f, offset=100, fallback=False), 0)
                self.assertEqual(f.tell(), expected_position)
                f.seek(7)
                self.assertEqual(await self.loop.sock_sendfile(a, f, offset=100, fallback=False), 0)
                self.assertEqual(f.tell(), expected_position)
            tr.close()
            await proto.lost

        self.run_loop(main())

    @pytest.mark.skipif(cpython_test_utils is None, reason="needs CPython's test package (test certificates)")
    def test_tls_echo_and_start_tls(self):
        server_ctx = cpython_test_utils.simple_server_sslcontext()
        client_ctx = cpython_test_utils.simple_client_sslcontext()

        async def handle(reader, writer):
            line = await reader.readline()
            writer.write(line.upper())
            await writer.drain()
            if line.startswith(b'starttls'):
                await writer.start_tls(server_ctx)
                writer.write((await reader.readline()).upper())
                await writer.drain()
            writer.close()

        async def main():
            server = await asyncio.start_server(handle, '127.0.0.1', 0, ssl=server_ctx)
            addr = server.sockets[0].getsockname()
            reader, writer = await asyncio.open_connection(*addr, ssl=client_ctx)
            self.assertIsNotNone(writer.get_extra_info('ssl_object'))
            writer.write(b'secret\n')
            self.assertEqual(await reader.readline(), b'SECRET\n')
            writer.close()
            await writer.wait_closed()
            server.close()
            await server.wait_closed()

            plain = await asyncio.start_server(handle, '127.0.0.1', 0)
            addr = plain.sockets[0].getsockname()
            reader, writer = await asyncio.open_connection(*addr)
            writer.write(b'starttls\n')
            self.assertEqual(await reader.readline(), b'STARTTLS\n')
            await writer.start_tls(client_ctx)
            writer.write(b'upgraded\n')
            self.assertEqual(await reader.readline(), b'UPGRADED\n')
            writer.close()
            await writer.wait_closed()
            plain.close()
            await plain.wait_closed()

        self.run_loop(main())


class UnixBehaviour:

    def test_unix_echo_and_socket_cleanup(self):
        async def main():
            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, 'sock')

                async def handle(reader, writer):
                    writer.write(await reader.read(100))
                    await writer.drain()
                    writer.close()

                server = await asyncio.start_unix_server(handle, path)
                reader, writer = await asyncio.open_unix_connection(path)
                self.assertEqual(writer.get_extra_info('peername'), path)
                writer.write(b'over unix')
                self.assertEqual(await reader.read(100), b'over unix')
                writer.close()
                await writer.wait_closed()
                server.close()
                await server.wait_closed()
                removed = not os.path.exists(path)
                self.assertEqual(removed, sys.version_info >= (3, 13))

        self.run_loop(main())

    def test_unix_bad_input(self):
        async def main():
            with self.assertRaisesRegex(ValueError, 'path and sock'):
                await self.loop.create_unix_connection(asyncio.Protocol, '/x', sock=socket.socket())
            with self.assertRaisesRegex(ValueError, 'no path and sock'):
                await self.loop.create_unix_connection(asyncio.Protocol)
            with socket.socket() as tcp:
                with self.assertRaisesRegex(ValueError, 'UNIX Domain Stream Socket'):
                    await self.loop.create_unix_server(asyncio.Protocol, sock=tcp)
            with self.assertRaises(FileNotFoundError):
                await self.loop.create_unix_connection(asyncio.Protocol, '/nonexistent/rose.sock')
            with self.assertRaisesRegex(TypeError, 'ssl argument'):
                await self.loop.create_unix_server(asyncio.Protocol, '/x', ssl=True)

        self.run_loop(main())

    def test_socketpair_transports(self):
        async def main():
            a, b = socket.socketpair()
            ta, pa = await self.loop.create_connection(lambda: Recorder(self.loop), sock=a)
            tb, pb = await self.loop.create_connection(lambda: Recorder(self.loop, echo=True), sock=b)
            ta.write(b'pair')
            self.assertEqual(await pa.received(4), b'pair')
            ta.write_eof()
            await pb.eof
            tb.close()
            await pa.lost
            await pb.lost
            ta.close()

        self.run_loop(main())


class UdpProtocol(asyncio.DatagramProtocol):

    def __init__(self, loop, echo=False):
        self.echo = echo
        self.datagrams = []
        self.errors = []
        self.lost = loop.create_future()
        self.got = asyncio.Event()

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        self.datagrams.append((data, addr))
        self.got.set()
        if self.echo:
            self.transport.sendto(data, addr)

    def error_received(self, exc):
        self.errors.append(exc)
        self.got.set()

    def connection_lost(self, exc):
        self.lost.set_result(exc)


class UdpBehaviour:

    def test_udp_echo(self):
        async def main():
            server_tr, server = await self.loop.create_datagram_endpoint(
                lambda: UdpProtocol(self.loop, echo=True), local_addr=('127.0.0.1', 0))
            addr = server_tr.get_extra_info('sockname')
            if self.loop_name == 'rose' or sys.version_info >= (3, 13):
                # asyncio's own is a DatagramTransport from 3.13 on.
                self.assertIsInstance(server_tr, asyncio.DatagramTransport)
            client_tr, client = await self.loop.create_datagram_endpoint(
                lambda: UdpProtocol(self.loop), remote_addr=addr)
            self.assertEqual(client_tr.get_extra_info('peername'), addr)
            for i in range(5):
                client_tr.sendto(b'datagram %d' % i)
            while len(client.datagrams) < 5:
                client.got.clear()
                await client.got.wait()
            self.assertEqual(sorted(d for d, _ in client.datagrams), [b'datagram %d' % i for i in range(5)])
            self.assertTrue(all(a == addr for _, a in client.datagrams))
            with self.assertRaisesRegex(ValueError, 'Invalid address'):
                client_tr.sendto(b'x', ('127.0.0.1', 1))
            with self.assertRaises(TypeError):
                client_tr.sendto('text')
            self.assertEqual(client_tr.get_write_buffer_size(), 0)
            client_tr.close()
            server_tr.close()
            self.assertIsNone(await client.lost)
            self.assertIsNone(await server.lost)

        self.run_loop(main())

    def test_udp_unreachable_peer_is_an_error_received(self):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(('127.0.0.1', 0))
        addr = sock.getsockname()
        sock.close()

        async def main():
            tr, proto = await self.loop.create_datagram_endpoint(
                lambda: UdpProtocol(self.loop), remote_addr=addr)
            tr.sendto(b'anyone?')
            await asyncio.wait_for(proto.got.wait(), 5)
            self.assertIsInstance(proto.errors[0], ConnectionRefusedError)
            tr.close()
            await proto.lost

        self.run_loop(main())

    def test_unix_datagrams(self):
        async def main():
            with tempfile.TemporaryDirectory() as tmp:
                server_path = os.path.join(tmp, 'server')
                client_path = os.path.join(tmp, 'client')
                server_tr, server = await self.loop.create_datagram_endpoint(
                    lambda: UdpProtocol(self.loop, echo=True), local_addr=server_path,
                    family=socket.AF_UNIX)
                client_tr, client = await self.loop.create_datagram_endpoint(
                    lambda: UdpProtocol(self.loop), local_addr=client_path,
                    remote_addr=server_path, family=socket.AF_UNIX)
                client_tr.sendto(b'local')
                await client.got.wait()
                self.assertEqual(client.datagrams, [(b'local', server_path)])
                client_tr.close()
                server_tr.close()
                await client.lost
                await server.lost

        self.run_loop(main())


for _mixin in (TcpBehaviour, UnixBehaviour, UdpBehaviour):
    globals().update(loop_test_cases(_mixin))
