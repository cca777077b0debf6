"""evergreen.lib: cooperative socket, select, ssl, time and subprocess."""

from __future__ import annotations

import errno
import os
import shutil
import socket as stdlib_socket
import subprocess as stdlib_subprocess
import sys
import threading
import time

import pytest

import evergreen
from evergreen.lib import select, socket, ssl, subprocess
from evergreen.lib import time as green_time


def _ticker(period=0.01, count=10):
    """A task that proves the loop keeps running: it ticks while others block."""
    ticks = []

    def tick():
        for _ in range(count):
            evergreen.sleep(period)
            ticks.append(time.monotonic())

    return evergreen.spawn(tick), ticks


def _echo_server():
    server = socket.create_server(('127.0.0.1', 0))

    def handle(conn):
        with conn:
            while data := conn.recv(65536):
                conn.sendall(data)

    def accept():
        while True:
            conn, _ = server.accept()
            evergreen.spawn(handle, conn)

    return server, evergreen.spawn(accept)


# ----------------------------------------------------------------------
# socket


def test_socket_echo_with_many_clients(no_fd_leak, uv_run):
    def main():
        server, acceptor = _echo_server()
        port = server.getsockname()[1]

        def client(i):
            with socket.create_connection(('127.0.0.1', port)) as c:
                payload = b'%d' % i * 10000
                c.sendall(payload)
                got = b''
                while len(got) < len(payload):
                    got += c.recv(65536)
                return got == payload

        tasks = [evergreen.spawn(client, i) for i in range(50)]
        assert all(t.result() for t in tasks)
        acceptor.kill()
        server.close()

    uv_run(main)


def test_socket_is_a_socket_with_standard_timeouts(no_fd_leak, uv_run):
    def main():
        a, b = socket.socketpair()
        with a, b:
            assert isinstance(a, stdlib_socket.socket) and isinstance(a, socket.socket)
            assert a.gettimeout() is None and a.getblocking()
            a.settimeout(0.05)
            started = time.monotonic()
            with pytest.raises(TimeoutError, match='timed out'):
                a.recv(1)
            assert 0.04 < time.monotonic() - started < 1
            a.setblocking(False)
            assert a.gettimeout() == 0.0 and not a.getblocking()
            with pytest.raises(BlockingIOError):
                a.recv(1)
            with pytest.raises(ValueError, match='out of range'):
                a.settimeout(-1)
            with pytest.raises(TypeError):
                a.settimeout('1')
            a.setblocking(True)
            b.sendall(b'abc')
            assert a.recv(10) == b'abc'
            c = a.dup()
            b.sendall(b'dup')
            assert c.recv(10) == b'dup'
            c.close()
            assert 'evergreen.lib.socket.socket' in repr(a)

    uv_run(main)


def test_blocked_recv_lets_other_tasks_run(no_fd_leak, uv_run):
    def main():
        a, b = socket.socketpair()
        ticker, ticks = _ticker()
        evergreen.spawn_later(0.15, b.sendall, b'late')
        assert a.recv(10) == b'late'
        ticker.join()
        assert len(ticks) == 10
        a.close()
        b.close()

    uv_run(main)


def test_makefile_and_sendfile(no_fd_leak, uv_run, tmp_path):
    def main():
        server, acceptor = _echo_server()
        with socket.create_connection(server.getsockname()) as c:
            f = c.makefile('rwb')
            f.write(b'one line\n')
            f.flush()
            assert f.readline() == b'one line\n'
            path = tmp_path / 'data'
            path.write_bytes(b'x' * 100_000)
            with open(path, 'rb') as data:
                assert c.sendfile(data) == 100_000
            got = b''
            while len(got) < 100_000:
                got += f.read1(65536)
            f.close()
        acceptor.kill()
        server.close()

    uv_run(main)


def test_connect_errors_and_name_resolution(no_fd_leak, uv_run):
    def main():
        with stdlib_socket.socket() as unused:
            unused.bind(('127.0.0.1', 0))
            port = unused.getsockname()[1]
            with pytest.raises(ConnectionRefusedError) as info:
                socket.create_connection(('127.0.0.1', port))
            assert str(port) in str(info.value)
            s = socket.socket()
            assert s.connect_ex(('127.0.0.1', port)) == errno.ECONNREFUSED
            s.close()
        server, acceptor = _echo_server()
        port = server.getsockname()[1]
        with socket.create_connection(('localhost', port), timeout=5) as c:
            assert c.gettimeout() == 5
            c.sendall(b'by name')
            assert c.recv(100) == b'by name'
        assert socket.getaddrinfo('localhost', port, socket.AF_INET, socket.SOCK_STREAM) == \
            stdlib_socket.getaddrinfo('localhost', port, socket.AF_INET, socket.SOCK_STREAM)
        assert socket.gethostbyname('localhost') == '127.0.0.1'
        assert socket.gethostbyname('127.0.0.1') == '127.0.0.1'
        with pytest.raises(socket.gaierror):
            socket.getaddrinfo('no-such-host.invalid', 80)
        acceptor.kill()
        server.close()

    uv_run(main)


def test_accept_timeout_and_close_while_waiting(no_fd_leak, uv_run):
    def main():
        server = socket.create_server(('127.0.0.1', 0))
        server.settimeout(0.02)
        with pytest.raises(TimeoutError):
            server.accept()
        server.settimeout(None)
        waiting = evergreen.spawn(server.accept)
        evergreen.sleep(0.01)
        server.close()
        with pytest.raises(OSError):
            waiting.result(timeout=1)

    uv_run(main)


def test_cooperative_socket_in_a_plain_thread_blocks_that_thread(no_fd_leak):
    results = []

    def thread_body():
        a, b = socket.socketpair()
        with a, b:
            threading.Timer(0.05, b.sendall, (b'from a timer',)).start()
            results.append(a.recv(100))
            a.settimeout(0.02)
            try:
                a.recv(1)
            except TimeoutError:
                results.append('timeout')

    thread = threading.Thread(target=thread_body)
    thread.start()
    thread.join(10)
    assert results == [b'from a timer', 'timeout']


# ----------------------------------------------------------------------
# select


def test_select_and_poll(no_fd_leak, uv_run):
    def main():
        a, b = socket.socketpair()
        r, w, x = select.select([a], [b], [], 1)
        assert r == [] and w == [b]
        started = time.monotonic()
        assert select.select([a], [], [], 0.05) == ([], [], [])
        assert time.monotonic() - started >= 0.04
        ticker, ticks = _ticker()
        evergreen.spawn_later(0.12, b.sendall, b'!')
        r, w, x = select.select([a], [], [])
        assert r == [a]
        ticker.join()
        assert len(ticks) == 10
        assert a.recv(1) == b'!'

        poller = select.poll()
        poller.register(a, select.POLLIN)
        assert poller.poll(20) == []
        evergreen.spawn_later(0.02, b.sendall, b'?')
        assert poller.poll() == [(a.fileno(), select.POLLIN)]
        poller.modify(a, select.POLLOUT)
        assert poller.poll(0) == [(a.fileno(), select.POLLOUT)]
        poller.unregister(a)
        started = time.monotonic()
        assert poller.poll(30) == []
        assert time.monotonic() - started >= 0.025
        assert not hasattr(select, 'epoll')
        with pytest.raises(ValueError):
            select.select([a], [], [], -1)
        with pytest.raises(TypeError):
            select.select(['not a file'], [], [])
        a.close()
        b.close()
        r_fd, w_fd = os.pipe()
        os.write(w_fd, b'x')
        assert select.select([r_fd], [], [], 1)[0] == [r_fd]
        os.close(r_fd)
        os.close(w_fd)

    uv_run(main)


# ----------------------------------------------------------------------
# time


def test_a_task_and_add_reader_watch_one_descriptor_at_once(run):
    """The loop's one registry: a task waiting on a socket and an asyncio reader of it both run."""
    def main():
        loop = evergreen.get_loop()
        a, b = socket.socketpair()
        with a, b:
            got = []
            loop.add_reader(a.fileno(), lambda: got.append(a.recv(16, stdlib_socket.MSG_PEEK)))
            waiting = evergreen.spawn(a.recv, 16)
            evergreen.sleep(0.01)
            b.sendall(b'ping')
            assert waiting.result(timeout=2) == b'ping'
            assert got and got[0] == b'ping'
            # The task is gone: the reader alone is called again, as usual.
            got.clear()
            b.sendall(b'more')
            for _ in range(100):
                if got:
                    break
                evergreen.sleep(0.01)
            assert got[0] == b'more'
            assert loop.remove_reader(a.fileno()) is True
            assert a.recv(16) == b'more'
            assert loop.remove_reader(a.fileno()) is False

    run(main)


def test_a_task_reads_while_an_asyncio_writer_watches(run):
    """Opposite sides of one descriptor: a task's recv() and add_writer's callback."""
    def main():
        loop = evergreen.get_loop()
        a, b = socket.socketpair()
        with a, b:
            writable = []
            loop.add_writer(a.fileno(), lambda: (writable.append(True), loop.remove_writer(a.fileno())))
            waiting = evergreen.spawn(a.recv, 16)
            evergreen.sleep(0.01)
            assert writable == [True]
            b.sendall(b'x')
            assert waiting.result(timeout=2) == b'x'
            # And the other way round: the writer registered while the task waits.
            waiting = evergreen.spawn(a.recv, 16)
            evergreen.sleep(0.01)
            loop.add_writer(a.fileno(), lambda: (writable.append(True), loop.remove_writer(a.fileno())))
            evergreen.sleep(0.01)
            assert writable == [True, True]
            b.sendall(b'y')
            assert waiting.result(timeout=2) == b'y'
            assert loop.remove_writer(a.fileno()) is False

    run(main)


def test_time_sleep_is_cooperative(uv_run):
    def main():
        started = time.monotonic()
        tasks = [evergreen.spawn(green_time.sleep, 0.1) for _ in range(20)]
        evergreen.joinall(tasks)
        return time.monotonic() - started

    assert uv_run(main) < 1.0
    assert green_time.monotonic() > 0 and green_time.time() > 0
    started = time.monotonic()
    green_time.sleep(0.01)   # outside a task, with a thread loop: still sleeps
    assert time.monotonic() - started >= 0.009


# ----------------------------------------------------------------------
# ssl


@pytest.fixture(scope='module')
def certificate(tmp_path_factory):
    if shutil.which('openssl') is None:
        pytest.skip('openssl is needed to make a test certificate')
    directory = tmp_path_factory.mktemp('tls')
    cert, key = directory / 'cert.pem', directory / 'key.pem'
    stdlib_subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1',
                           '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
                           '-keyout', str(key), '-out', str(cert)],
                          check=True, capture_output=True)
    return str(cert), str(key)


def test_tls_echo_between_tasks(no_fd_leak, uv_run, certificate):
    cert, key = certificate

    def main():
        server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_context.load_cert_chain(cert, key)
        client_context = ssl.create_default_context(cafile=cert)
        listener = socket.create_server(('127.0.0.1', 0))
        tls_listener = server_context.wrap_socket(listener, server_side=True)
        port = tls_listener.getsockname()[1]

        def handle(conn):
            with conn:
                while data := conn.recv(65536):
                    conn.sendall(data)

        def accept():
            while True:
                conn, _ = tls_listener.accept()
                evergreen.spawn(handle, conn)

        acceptor = evergreen.spawn(accept)
        ticker, ticks = _ticker(0.005, 5)

        def client(i):
            with socket.create_connection(('127.0.0.1', port)) as raw:
                with client_context.wrap_socket(raw, server_hostname='localhost') as tls:
                    assert isinstance(tls, ssl.SSLSocket)
                    payload = b'secret %d ' % i * 5000
                    tls.sendall(payload)
                    got = b''
                    while len(got) < len(payload):
                        got += tls.recv(65536)
                    return got == payload and tls.version() is not None

        tasks = [evergreen.spawn(client, i) for i in range(5)]
        assert all(t.result(timeout=30) for t in tasks)
        ticker.join()
        acceptor.kill()
        tls_listener.close()

    uv_run(main)


def test_tls_handshake_timeout(no_fd_leak, uv_run, certificate):
    cert, _ = certificate

    def main():
        silent = socket.create_server(('127.0.0.1', 0))   # accepts, never answers TLS
        context = ssl.create_default_context(cafile=cert)
        raw = socket.create_connection(silent.getsockname())
        raw.settimeout(0.05)
        with pytest.raises(TimeoutError):
            context.wrap_socket(raw, server_hostname='localhost')
        raw.close()
        silent.close()

    uv_run(main)


# ----------------------------------------------------------------------
# subprocess


def test_subprocesses_run_concurrently(tmp_path, uv_run):
    # Each child checks in, then waits (10 s at most) until all five have: they
    # exit 0 only if they ran at the same time, however slow the machine is.
    waits_for_all = (f'touch {tmp_path}/$0; for _ in $(seq 100); do '
                     f'[ $(ls {tmp_path} | wc -l) -ge 5 ] && exit 0; sleep 0.1; done; exit 1')

    def main():
        ticker, ticks = _ticker(0.02, 5)
        tasks = [evergreen.spawn(subprocess.run, ['sh', '-c', waits_for_all, f'child{i}'])
                 for i in range(5)]
        codes = [t.result().returncode for t in tasks]
        ticker.join()
        return codes, len(ticks)

    codes, ticks = uv_run(main)
    assert codes == [0] * 5
    assert ticks == 5


def test_run_capture_input_text_and_errors(uv_run):
    def main():
        done = subprocess.run([sys.executable, '-c', 'import sys; data = sys.stdin.read(); '
                               'print(data.upper()); print("warn", file=sys.stderr)'],
                              input='hello\r\nworld', capture_output=True, text=True)
        assert done.returncode == 0
        assert done.stdout == 'HELLO\nWORLD\n' and done.stderr == 'warn\n'
        big = subprocess.check_output(['cat'], input=b'x' * 1_000_000)
        assert len(big) == 1_000_000
        with pytest.raises(subprocess.CalledProcessError) as info:
            subprocess.run(['sh', '-c', 'echo out; exit 3'], stdout=subprocess.PIPE, check=True)
        assert info.value.returncode == 3 and info.value.output == b'out\n'
        assert subprocess.call(['true']) == 0
        assert subprocess.check_call(['true']) == 0
        with pytest.raises(subprocess.CalledProcessError):
            subprocess.check_call(['false'])
        assert subprocess.getoutput('echo hi') == 'hi'
        assert subprocess.getstatusoutput('exit 2') == (2, '')
        with pytest.raises(ValueError):
            subprocess.run(['true'], input=b'', stdin=subprocess.PIPE)
        with pytest.raises(FileNotFoundError):
            subprocess.run(['/no/such/program'])

    uv_run(main)


def test_timeouts_kill_and_continue(uv_run):
    def main():
        started = time.monotonic()
        with pytest.raises(subprocess.TimeoutExpired) as info:
            subprocess.run([sys.executable, '-c', 'import time; print("partial", flush=True); '
                            'time.sleep(30)'], capture_output=True, timeout=1)
        assert time.monotonic() - started < 10
        assert info.value.stdout == b'partial\n'
        proc = subprocess.Popen(['sh', '-c', 'sleep 0.2; echo done'], stdout=subprocess.PIPE)
        with pytest.raises(subprocess.TimeoutExpired):
            proc.communicate(timeout=0.01)
        out, err = proc.communicate()        # goes on where it stopped
        assert out == b'done\n' and err is None and proc.returncode == 0
        with pytest.raises(ValueError, match='after starting'):
            proc.communicate(b'late input')
        sleeper = subprocess.Popen(['sleep', '30'])
        with pytest.raises(subprocess.TimeoutExpired):
            sleeper.wait(timeout=0.05)
        sleeper.kill()
        assert sleeper.wait() == -9

    uv_run(main)


def test_popen_pipes_are_cooperative(uv_run):
    def main():
        proc = subprocess.Popen([sys.executable, '-u', '-c',
                                 'import time\nfor i in range(3):\n    print(i)\n    time.sleep(0.05)'],
                                stdout=subprocess.PIPE, text=True)
        ticker, ticks = _ticker(0.01, 10)
        lines = list(proc.stdout)
        proc.wait()
        proc.stdout.close()
        ticker.join()
        assert lines == ['0\n', '1\n', '2\n'] and len(ticks) == 10
        with subprocess.Popen(['cat'], stdin=subprocess.PIPE, stdout=subprocess.PIPE) as cat:
            cat.stdin.write(b'through cat')
            cat.stdin.close()
            assert cat.stdout.read() == b'through cat'

    uv_run(main)


def _close_process(proc):
    """Kill *proc* if it still runs, reap it and close its pipes (a test's cleanup)."""
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()


def test_pipeline_hands_the_next_child_a_blocking_read_end(uv_run):
    # The standard library's pipeline recipe: the second child reads the pipe
    # the first writes, through the parent's end. That end's open file
    # description is shared with the child, so it must stay blocking: wc would
    # otherwise read EAGAIN and give up, and seq would die of SIGPIPE.
    def main():
        seq = subprocess.Popen(['seq', '100000'], stdout=subprocess.PIPE)
        try:
            wc = subprocess.Popen(['wc', '-l'], stdin=seq.stdout, stdout=subprocess.PIPE)
            try:
                seq.stdout.close()       # so that seq gets SIGPIPE if wc exits early
                out, _ = wc.communicate(timeout=30)
                return out, wc.returncode, seq.wait(timeout=30)
            finally:
                _close_process(wc)
        finally:
            _close_process(seq)

    out, wc_code, seq_code = uv_run(main)
    assert (out.strip(), wc_code, seq_code) == (b'100000', 0, 0)


def test_pipeline_hands_the_next_child_a_blocking_write_end(uv_run):
    # The other direction: a child writes into the pipe that feeds another
    # child, through the parent's write end. seq fills the pipe faster than
    # cat empties it, so a non-blocking description would fail its write.
    def main():
        cat = subprocess.Popen(['cat'], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        try:
            seq = subprocess.Popen(['seq', '100000'], stdout=cat.stdin)
            try:
                cat.stdin.close()
                out, _ = cat.communicate(timeout=30)
                return out, cat.returncode, seq.wait(timeout=30)
            finally:
                _close_process(seq)
        finally:
            _close_process(cat)

    out, cat_code, seq_code = uv_run(main)
    assert (cat_code, seq_code) == (0, 0)
    assert out.split() == [str(n).encode() for n in range(1, 100001)]


def test_popen_pipes_stay_blocking_for_other_processes(uv_run):
    def main():
        proc = subprocess.Popen(['cat'], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        try:
            # Park on the pipe first: libuv's poll handle for it, made then,
            # must not leave the descriptor non-blocking either.
            # The reader runs first, while cat has nothing to say.
            reader = evergreen.spawn(proc.stdout.read, 1)
            evergreen.sleep(0)
            proc.stdin.write(b'x')
            proc.stdin.flush()
            assert reader.result(timeout=10) == b'x'
            return [os.get_blocking(pipe.fileno())
                    for pipe in (proc.stdin, proc.stdout, proc.stderr)]
        finally:
            _close_process(proc)

    assert uv_run(main) == [True, True, True]


def test_writing_to_a_full_pipe_parks_the_task(tmp_path, uv_run):
    # The child reads nothing until the ticker has ticked (it waits 10 s at
    # most for the flag file); meanwhile the parent writes far more than a pipe
    # holds. If that write blocked the loop, the ticker could never set the
    # flag, and the child would give up and close the pipe (BrokenPipeError).
    flag = tmp_path / 'ticked'
    reader = (f'for _ in $(seq 1000); do [ -e {flag} ] && exec cat >/dev/null; sleep 0.01; done; '
              'exit 1')

    def main():
        proc = subprocess.Popen(['sh', '-c', reader], stdin=subprocess.PIPE)
        try:
            ticks = []

            def tick():
                for _ in range(5):
                    evergreen.sleep(0.001)
                    ticks.append(1)
                flag.touch()

            ticker = evergreen.spawn(tick)
            proc.stdin.write(b'x' * 1_000_000)
            proc.stdin.close()
            ticker.join(timeout=10)
            return len(ticks), proc.wait(timeout=30)
        finally:
            _close_process(proc)

    assert uv_run(main) == (5, 0)
