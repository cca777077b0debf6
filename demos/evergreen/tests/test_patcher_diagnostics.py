"""evergreen.patcher (patch, unpatch, import_patched) and evergreen.diagnostics."""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import tempfile
import textwrap
import threading
import time

import pytest

import evergreen
from evergreen import diagnostics, patcher


def run_python(source: str, timeout: float = 60, env: dict | None = None) -> str:
    """Run *source* in a fresh interpreter (patching is process-wide); return its stdout."""
    with tempfile.TemporaryDirectory() as directory:
        script = os.path.join(directory, 'program.py')
        with open(script, 'w') as f:
            f.write(textwrap.dedent(source))
        result = subprocess.run([sys.executable, script], capture_output=True, text=True,
                                timeout=timeout, env={**os.environ, **(env or {})})
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def rendezvous_site():
    """Start local HTTP servers (real threads) that answer only overlapping requests.

    ``rendezvous_site(n)`` returns the URL of a server whose every page waits until
    *n* requests are in flight at once; a client that fetches one page after the
    other never gets there and receives 503 after 10 s. So a test proves that
    requests overlap without timing anything.
    """
    servers = []

    def start(parties: int) -> str:
        together = threading.Barrier(parties)

        class Rendezvous(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                try:
                    together.wait(timeout=10)
                except threading.BrokenBarrierError:
                    self.send_error(503, f'fewer than {parties} requests arrived together')
                    return
                body = f'page {self.path}'.encode()
                self.send_response(200)
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Rendezvous)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        servers.append((server, thread))
        return f'http://127.0.0.1:{server.server_address[1]}'

    yield start
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join()


def test_patch_makes_urllib_cooperative(rendezvous_site):
    site = rendezvous_site(10)
    out = run_python(f'''
        from evergreen import patcher
        assert patcher.patch() == ['socket', 'select', 'ssl', 'time', 'subprocess']
        assert patcher.patch() == []            # idempotent
        import urllib.request, evergreen
        from evergreen.futures import TaskPoolExecutor

        def fetch(i):
            with urllib.request.urlopen('{site}/%d' % i) as response:
                return response.read().decode()

        def main():
            with TaskPoolExecutor(10) as pool:
                return list(pool.map(fetch, range(10)))

        print(evergreen.run(main))
    ''')
    # The site answers only when all ten requests are in flight together: plain
    # blocking urllib code got them there, in one thread.
    assert out.strip() == str([f'page /{i}' for i in range(10)])


def test_patch_replaces_and_unpatch_restores():
    out = run_python('''
        import select, selectors, socket, ssl, subprocess, time
        originals = (socket.socket, socket.create_connection, select.select, select.poll,
                     select.epoll, time.sleep, subprocess.Popen, ssl.SSLContext.sslsocket_class,
                     selectors.DefaultSelector)
        from evergreen import patcher
        import evergreen.lib.socket, evergreen.lib.subprocess
        patcher.patch()
        assert socket.socket is evergreen.lib.socket.socket
        assert subprocess.Popen is evergreen.lib.subprocess.Popen
        assert not hasattr(select, 'epoll')
        assert selectors.DefaultSelector is selectors.PollSelector
        assert ssl.SSLContext.sslsocket_class.__module__ == 'evergreen.lib.ssl'
        assert all(patcher.is_patched(m) for m in patcher.GREEN_MODULES)
        patcher.unpatch()
        now = (socket.socket, socket.create_connection, select.select, select.poll,
               select.epoll, time.sleep, subprocess.Popen, ssl.SSLContext.sslsocket_class,
               selectors.DefaultSelector)
        assert now == originals
        assert not patcher.is_patched('socket')
        patcher.patch(socket=False, ssl=False, subprocess=False, select=False)
        assert patcher.is_patched('time') and not patcher.is_patched('socket')
        try:
            patcher.is_patched('threading')
        except ValueError as exc:
            print('refused:', exc)
    ''')
    assert out.startswith('refused:')


def test_patched_socketserver_serves_tasks():
    out = run_python('''
        from evergreen import patcher
        patcher.patch()
        import socket, socketserver, evergreen

        class Upper(socketserver.StreamRequestHandler):
            def handle(self):
                self.wfile.write(self.rfile.readline().upper())

        def main():
            server = socketserver.TCPServer(('127.0.0.1', 0), Upper)
            # handle_request() waits in a patched selector: other tasks run meanwhile.
            # (Not server.shutdown(): it waits on a threading.Event, which is not patched.)
            serving = evergreen.spawn(lambda: [server.handle_request() for _ in range(2)])
            replies = []
            for word in (b'one', b'two'):
                with socket.create_connection(server.server_address) as c:
                    c.sendall(word + b'\\n')
                    replies.append(c.makefile('rb').readline())
            serving.join()
            server.server_close()
            return replies

        print(evergreen.run(main))
    ''')
    assert out.strip() == "[b'ONE\\n', b'TWO\\n']"


def test_import_patched_leaves_the_rest_alone(rendezvous_site):
    site = rendezvous_site(5)
    import http.client
    import socket
    import urllib.request
    green_request = patcher.import_patched('urllib.request')
    assert green_request is not urllib.request
    assert sys.modules['urllib.request'] is urllib.request
    assert urllib.request.http.client is http.client
    assert http.client.socket is socket
    assert green_request.http.client is not http.client
    assert green_request.http.client.socket.__name__ == 'evergreen.lib.socket'
    assert not patcher.is_patched('socket')

    def main():
        tasks = [evergreen.spawn(lambda i=i: green_request.urlopen(f'{site}/{i}').read())
                 for i in range(5)]
        return [t.result() for t in tasks]

    # All five in flight at once, or the site answers 503 (see rendezvous_site).
    assert evergreen.run(main) == [f'page /{i}'.encode() for i in range(5)]


# ----------------------------------------------------------------------
# diagnostics


def test_watchdog_reports_the_task_that_holds_the_loop(uv_run):
    def spin(seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            pass

    def hog():
        evergreen.sleep(0.01)
        spin(0.4)      # computes without yielding

    def polite():
        for _ in range(20):
            evergreen.sleep(0.01)

    def main():
        reports = []
        with diagnostics.Watchdog(0.1, report=reports.append):
            evergreen.spawn(polite).join()
            assert reports == []
            evergreen.spawn(hog).join()
        return reports

    reports = uv_run(main)
    assert len(reports) == 1
    report = reports[0]
    assert report.task.name.endswith('(test_watchdog_reports_the_task_that_holds_the_loop.<locals>.hog)')
    assert report.duration >= 0.1
    # Where in the loop the sample falls (the while line or its body) varies: hog's
    # own line does not.
    assert 'in hog' in report.stack and 'spin(0.4)' in report.stack and 'in spin' in report.stack
    assert 'has held the event loop for' in str(report)


def test_watchdog_from_the_environment_logs_a_warning():
    out = run_python('''
        import logging, sys, time, evergreen
        logging.basicConfig(stream=sys.stdout, format='%(name)s %(levelname)s %(message)s')
        def main():
            time.sleep(0.3)     # the standard, blocking sleep: holds the loop
        evergreen.run(main)
    ''', env={'EVERGREEN_WATCHDOG': '0.1'})
    assert "evergreen.watchdog WARNING task 'MainTask' has held the event loop" in out
    assert 'time.sleep(0.3)' in out


def test_watchdog_argument_errors(loop):
    with pytest.raises(ValueError):
        diagnostics.Watchdog(0)
    dog = diagnostics.Watchdog(1).start()
    with pytest.raises(RuntimeError):
        dog.start()
    dog.stop()


def test_format_tasks(run):
    def napper():
        evergreen.sleep(10)

    def main():
        t = evergreen.Task(target=napper, name='napper').start()
        evergreen.sleep(0)
        text = diagnostics.format_tasks()
        t.kill()
        return text

    text = run(main)
    assert "<evergreen.Task 'napper' blocked in sleep() at test_patcher_diagnostics.py:" in text
    assert 'in napper' in text and "<evergreen.Task 'TestMain' running>" in text
