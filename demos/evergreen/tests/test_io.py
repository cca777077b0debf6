"""evergreen.io: TCP, Unix pipes, UDP and TTY streams on libuv."""

from __future__ import annotations

import errno
import os
import socket
import struct
import time

import pytest

import evergreen
from evergreen import Timeout, io
from evergreen.io import IncompleteReadError, LimitOverrunError


def echo(conn):
    while True:
        data = conn.read(65536)
        if not data:
            break
        conn.write(data)


def test_tcp_echo_round_trip(no_fd_leak, uv_run):
    def main():
        with io.serve_tcp(echo) as server:
            host, port = server.getsockname()
            assert host == '127.0.0.1' and port > 0
            with io.TCPClient().connect((host, port)) as client:
                client.write(b'hello')
                assert client.read(100) == b'hello'
                assert client.getpeername() == (host, port)
                assert client.getsockname()[0] == '127.0.0.1'
                client.set_nodelay(True)
                client.set_keepalive(True, 10)
                for size in (1, 1000, 100_000, 1_000_000):
                    payload = os.urandom(size)
                    client.write(payload)
                    assert client.read_exactly(size) == payload
                assert 'peer=127.0.0.1:' in repr(client)
                assert server.connections == 1
            assert 'listening' in repr(server)
        assert 'closed' in repr(server)

    uv_run(main)


def _nodelay(stream) -> bool:
    with socket.socket(fileno=os.dup(stream._handle.fileno())) as sock:
        return bool(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))


def test_tcp_streams_send_at_once_nagle_off(no_fd_leak, uv_run):
    # As asyncio's TCP transports do: with Nagle on, the tail of a large echo
    # waits for the peer's delayed ACK (40 ms on Linux).
    def main():
        seen = []

        def serve(conn):
            seen.append(_nodelay(conn))
            echo(conn)

        with io.serve_tcp(serve) as server:
            with io.TCPClient().connect(server.getsockname()) as client:
                assert _nodelay(client)
                client.write(b'x')
                assert client.read(1) == b'x'
                assert seen == [True]
                client.set_nodelay(False)
                assert not _nodelay(client)

    uv_run(main)


def test_reads_lines_separators_and_eof(no_fd_leak, uv_run):
    def serve(conn):
        conn.write(b'first line\nsecond line\r\nno newline')
        conn.shutdown()          # half-close: the client reads EOF, can still write
        assert conn.read() == b'bye'

    def main():
        with io.serve_tcp(serve) as server:
            client = io.TCPClient().connect(server.getsockname())
            assert client.readline() == b'first line\n'
            assert client.read_until(b'\r\n') == b'second line\r\n'
            with pytest.raises(IncompleteReadError) as info:
                client.read_exactly(100)
            assert info.value.partial == b'no newline' and isinstance(info.value, EOFError)
            assert client.read(10) == b''
            assert client.readline() == b''
            client.write(b'bye')
            client.shutdown()
            assert server.wait_closed(5)
            client.close()

    uv_run(main)


def test_iteration_over_lines_and_read_all(no_fd_leak, uv_run):
    def serve(conn):
        conn.writelines([b'a\n', b'b\n', b'c'])

    def main():
        with io.serve_tcp(serve) as server:
            with io.TCPClient().connect(server.getsockname()) as client:
                assert list(client) == [b'a\n', b'b\n', b'c']
            with io.TCPClient().connect(server.getsockname()) as client:
                assert client.read() == b'a\nb\nc'

    uv_run(main)


def test_read_until_limit_and_separator_across_chunks(no_fd_leak, uv_run):
    def serve(conn):
        conn.write(b'ab')
        evergreen.sleep(0.01)
        conn.write(b'--cd')      # the separator '--' straddles two chunks? no: it starts the second
        evergreen.sleep(0.01)
        conn.write(b'-')
        evergreen.sleep(0.01)
        conn.write(b'-efgh' * 10)
        conn.read()

    def main():
        with io.serve_tcp(serve) as server:
            with io.TCPClient().connect(server.getsockname()) as client:
                assert client.read_until(b'--') == b'ab--'
                assert client.read_until(b'--') == b'cd--'
                with pytest.raises(LimitOverrunError):
                    client.read_until(b'zz', limit=20)
                with pytest.raises(ValueError):
                    client.read_until(b'')
                with pytest.raises(ValueError):
                    client.read_exactly(-1)

    uv_run(main)


def test_connect_refused_names_the_address(uv_run):
    def main():
        with socket.socket() as s:
            s.bind(('127.0.0.1', 0))
            port = s.getsockname()[1]     # bound, not listening: refused
            with pytest.raises(ConnectionRefusedError) as info:
                io.TCPClient().connect(('127.0.0.1', port))
            assert f'127.0.0.1:{port}' in str(info.value)
        with pytest.raises(TypeError):
            io.TCPClient().connect('127.0.0.1:80')
        with pytest.raises(OverflowError):
            io.TCPClient().connect(('127.0.0.1', 70000))

    uv_run(main)


def test_connect_resolves_names_off_the_loop(no_fd_leak, uv_run):
    def main():
        with io.serve_tcp(echo) as server:
            port = server.getsockname()[1]
            with io.TCPClient().connect(('localhost', port)) as client:
                client.write(b'by name')
                assert client.read(100) == b'by name'

    uv_run(main)


def test_bind_errors_name_the_address(uv_run):
    def main():
        with io.serve_tcp(echo) as first:
            address = first.getsockname()
            second = io.TCPServer(echo)
            with pytest.raises(OSError) as info:
                second.bind(address)
                second.listen()
            assert info.value.errno == errno.EADDRINUSE
            assert f'{address[0]}:{address[1]}' in str(info.value)
            second.close()
        with pytest.raises(ValueError, match='IP address'):
            io.TCPServer(echo).bind(('localhost', 0))
        with pytest.raises(TypeError):
            io.TCPServer('not callable')

    uv_run(main)


def test_write_type_errors_and_writes_after_shutdown(no_fd_leak, uv_run):
    def main():
        with io.serve_tcp(echo) as server:
            with io.TCPClient().connect(server.getsockname()) as client:
                with pytest.raises(TypeError, match='not str'):
                    client.write('text')
                with pytest.raises(TypeError):
                    client.write(42)
                client.write(bytearray(b'ba'))
                client.write(memoryview(b'mv'))
                client.write(b'')
                assert client.read_exactly(4) == b'bamv'
                client.shutdown()
                with pytest.raises(BrokenPipeError):
                    client.write(b'late')

    uv_run(main)


def test_write_waits_while_the_peer_does_not_read(no_fd_leak, uv_run):
    def main():
        release = evergreen.locks.Event()
        received = []

        def slow_reader(conn):
            release.wait()
            received.append(len(conn.read()))

        with io.serve_tcp(slow_reader) as server:
            client = io.TCPClient().connect(server.getsockname())
            chunk = b'x' * 65536
            sent = 0
            # The kernel buffers some, libuv queues up to 256 KiB: then write() waits.
            with pytest.raises(TimeoutError):
                with Timeout(0.5):
                    while True:
                        # Counted first: an interrupted write() has queued its data already.
                        sent += len(chunk)
                        client.write(chunk)
            assert sent >= 256 * 1024
            release.set()
            client.write(chunk)
            sent += len(chunk)
            client.close()       # graceful: the queued data still goes out
            assert server.wait_closed(10)
            assert received == [sent]

    import evergreen.locks  # noqa: F401
    uv_run(main)


def test_close_wakes_a_blocked_reader_and_kill_frees_the_reader_slot(no_fd_leak, uv_run):
    def main():
        with io.serve_tcp(echo) as server:
            client = io.TCPClient().connect(server.getsockname())
            reader = evergreen.spawn(client.read, 10)
            evergreen.sleep(0.01)
            with pytest.raises(RuntimeError, match='already reading'):
                client.read(10)
            reader.kill()
            assert reader.cancelled()
            client.write(b'still usable')
            assert client.read(100) == b'still usable'
            blocked = evergreen.spawn(client.read, 10)
            evergreen.sleep(0.01)
            client.close()
            with pytest.raises(OSError) as info:
                blocked.result(timeout=1)
            assert info.value.errno == errno.EBADF
            with pytest.raises(OSError):
                client.write(b'x')
            client.close()   # idempotent

    uv_run(main)


def test_peer_reset_is_connection_reset_error(no_fd_leak, uv_run):
    def main():
        got = []

        def serve(conn):
            try:
                conn.read(10)
            except ConnectionResetError as exc:
                got.append(exc)
                raise   # the server treats its own connection's reset quietly

        with io.serve_tcp(serve) as server:
            sock = socket.create_connection(server.getsockname())
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
            evergreen.sleep(0.05)
            sock.close()     # RST
            assert server.wait_closed(5)
        assert len(got) == 1 and got[0].errno == errno.ECONNRESET

    uv_run(main)


def test_handler_errors_are_reported(no_fd_leak, uv_loop, uv_run):
    def serve(conn):
        raise ValueError('handler bug')

    def main():
        with io.serve_tcp(serve) as server:
            with io.TCPClient().connect(server.getsockname()) as client:
                assert client.read() == b''     # the server closed the connection
            server.wait_closed(5)

    uv_run(main)
    import gc
    gc.collect()
    assert [type(r['exception']) for r in uv_loop.reports] == [ValueError]
    uv_loop.reports.clear()


def test_timeout_on_read(no_fd_leak, uv_run):
    def main():
        with io.serve_tcp(lambda conn: conn.read()) as server:
            with io.TCPClient().connect(server.getsockname()) as client:
                started = time.monotonic()
                with pytest.raises(TimeoutError):
                    with Timeout(0.05):
                        client.read(1)
                assert time.monotonic() - started < 1

    uv_run(main)


def test_server_shutdown_is_graceful_then_kills(no_fd_leak, uv_run):
    def main():
        finished = []

        def slow(conn):
            evergreen.sleep(0.05)
            finished.append('slow')

        def stuck(conn):
            conn.read()     # until killed

        with io.serve_tcp(slow) as server:
            client = io.TCPClient().connect(server.getsockname())
            evergreen.sleep(0.01)
            server.close()
            with pytest.raises(ConnectionRefusedError):
                io.TCPClient().connect(server.getsockname())
            assert server.wait_closed(5)
            assert finished == ['slow']
            client.close()
        with io.serve_tcp(stuck) as server:
            clients = [io.TCPClient().connect(server.getsockname()) for _ in range(3)]
            evergreen.sleep(0.01)
            assert server.connections == 3
            started = time.monotonic()
            server.shutdown(timeout=0.05)
            assert server.connections == 0
            assert time.monotonic() - started < 2
            for c in clients:
                assert c.read() == b''
                c.close()

    uv_run(main)


def test_serve_forever_returns_when_closed(no_fd_leak, uv_run):
    def main():
        server = io.serve_tcp(echo)
        evergreen.spawn_later(0.02, server.close)
        started = time.monotonic()
        server.serve_forever()
        assert time.monotonic() - started < 2
        server.close()

    uv_run(main)


def test_a_thousand_concurrent_connections(no_fd_leak, uv_run):
    def main():
        counts = {'peak': 0}

        def serve(conn):
            counts['peak'] = max(counts['peak'], server.connections)
            line = conn.readline()
            conn.write(line.upper())

        def client(i, all_connected):
            with io.TCPClient().connect(address) as c:
                all_connected.wait()
                c.write(b'client %d\n' % i)
                return c.readline()

        server = io.serve_tcp(serve, backlog=1024)
        address = server.getsockname()
        gate = evergreen.locks.Event()
        tasks = [evergreen.spawn(client, i, gate) for i in range(1000)]
        while server.connections < 1000:
            evergreen.sleep(0.01)
        gate.set()
        replies = [t.result(timeout=60) for t in tasks]
        assert replies == [b'CLIENT %d\n' % i for i in range(1000)]
        assert counts['peak'] == 1000
        server.shutdown(5)

    import evergreen.locks  # noqa: F401
    uv_run(main)


def test_streams_from_the_main_greenlet(no_fd_leak, uv_loop):
    server = io.serve_tcp(echo)
    with io.TCPClient().connect(server.getsockname()) as client:
        client.write(b'from main')
        assert client.read(100) == b'from main'
        assert not uv_loop.is_running()
    server.shutdown(5)


def test_blocking_io_in_a_coroutine_is_a_clear_error(no_fd_leak, uv_run):
    def main():
        with io.serve_tcp(echo) as server:
            client = io.TCPClient().connect(server.getsockname())

            async def misuse():
                client.read(1)

            with pytest.raises(evergreen.BlockingInLoopError):
                evergreen.wait_for(misuse())
            client.close()

    uv_run(main)


# ----------------------------------------------------------------------
# Unix pipes


def test_pipe_server_and_client(no_fd_leak, uv_run, tmp_path):
    path = tmp_path / 'echo.sock'

    def main():
        with io.serve_pipe(echo, path) as server:
            assert server.getsockname() == str(path)
            with io.PipeClient().connect(path) as client:
                client.write(b'over a unix socket')
                assert client.read(100) == b'over a unix socket'
                assert 'echo.sock' in repr(client)
            with pytest.raises(OSError) as info:
                io.serve_pipe(echo, path)
            assert info.value.errno == errno.EADDRINUSE and str(path) in str(info.value)
        assert not path.exists()
        with pytest.raises(OSError) as info:
            io.PipeClient().connect(path)
        assert isinstance(info.value, (FileNotFoundError, ConnectionRefusedError))
        assert str(path) in str(info.value)

    uv_run(main)


def test_pipe_stream_over_os_pipe(no_fd_leak, uv_run):
    def main():
        r, w = os.pipe()
        reader = io.PipeStream.open(r)
        writer = io.PipeStream.open(w)
        writer.write(b'through os.pipe')
        writer.close()
        assert reader.read() == b'through os.pipe'
        reader.close()

    uv_run(main)


# ----------------------------------------------------------------------
# UDP


def test_udp_send_and_receive(no_fd_leak, uv_run):
    def main():
        with io.UDPEndpoint() as a, io.UDPEndpoint() as b:
            a.bind(('127.0.0.1', 0))
            b.bind(('127.0.0.1', 0))
            assert a.sendto(b'ping', b.getsockname()) == 4
            data, sender = b.recvfrom()
            assert data == b'ping' and sender == a.getsockname()
            b.sendto(b'pong', sender)
            assert a.recv() == b'pong'
            for i in range(5):
                a.sendto(b'%d' % i, b.getsockname())
            assert [b.recv() for _ in range(5)] == [b'0', b'1', b'2', b'3', b'4']
            with pytest.raises(TimeoutError):
                with Timeout(0.02):
                    b.recvfrom()
            waiting = evergreen.spawn(b.recvfrom)
            evergreen.sleep(0.01)
            b.close()
            with pytest.raises(OSError):
                waiting.result(timeout=1)
            with pytest.raises(TypeError):
                a.sendto('text', ('127.0.0.1', 9))
            assert 'UDPEndpoint' in repr(a)

    uv_run(main)


# ----------------------------------------------------------------------
# TTY


def test_tty_stream_on_a_pseudo_terminal(no_fd_leak, uv_run):
    def main():
        master, slave = os.openpty()
        try:
            import tty
            tty.setraw(slave)
            stream = io.TTYStream(slave, readable=True)
            cols, rows = stream.get_winsize()
            assert cols >= 0 and rows >= 0
            stream.write(b'to the terminal')
            stream.drain()
            deadline = time.monotonic() + 5
            got = b''
            while len(got) < 15 and time.monotonic() < deadline:
                evergreen.sleep(0.01)
                try:
                    got += os.read(master, 100)
                except BlockingIOError:
                    pass
            assert got == b'to the terminal'
            os.write(master, b'typed\n')
            assert stream.readline() == b'typed\n'
            stream.close()
        finally:
            os.close(master)
            os.close(slave)
        r, w = os.pipe()
        try:
            with pytest.raises(OSError, match='not a terminal'):
                io.TTYStream(r)
        finally:
            os.close(r)
            os.close(w)

    uv_run(main)


def test_an_empty_read_from_libuv_is_not_eof(no_fd_leak, uv_run):
    # libuv calls the read callback with nothing read (EAGAIN) to hand its buffer
    # back; pyuv passes b''. That must not look like the end of the stream.
    def main():
        with io.serve_tcp(echo) as server:
            with io.TCPClient().connect(server.getsockname()) as client:
                reader = evergreen.spawn(client.read, 100)
                evergreen.sleep(0.01)
                evergreen.get_loop().call_soon(client._read_callback, client._handle, b'', None)
                evergreen.sleep(0.01)
                assert reader.is_alive()
                client.write(b'real data')
                assert reader.result(timeout=5) == b'real data'

    uv_run(main)


def test_large_transfer_between_loops_in_two_threads(no_fd_leak, uv_loop):
    """A server on a loop of its own thread, a client here: 32 MiB each way, concurrently."""
    import threading
    ready = threading.Event()
    address = []
    stop = []

    def server_thread():
        def main():
            server = io.serve_tcp(echo)
            stop.append((evergreen.get_loop(), server))
            address.append(server.getsockname())
            ready.set()
            server.serve_forever()
            server.shutdown(5)
        evergreen.run(main)

    thread = threading.Thread(target=server_thread)
    thread.start()
    try:
        assert ready.wait(10)
        payload = os.urandom(32 * 1024 * 1024)

        def main():
            with io.TCPClient().connect(address[0]) as client:
                def send():
                    view = memoryview(payload)
                    for offset in range(0, len(view), 256 * 1024):
                        client.write(view[offset:offset + 256 * 1024])
                    client.shutdown()
                sender = evergreen.spawn(send)
                received = client.read()
                sender.result()
                return received

        task = uv_loop.spawn(main)
        uv_loop.run()
        assert task.result(timeout=0) == payload
    finally:
        if stop:
            server_loop, server = stop[0]
            server_loop.call_soon_threadsafe(server.close)
        thread.join(30)
