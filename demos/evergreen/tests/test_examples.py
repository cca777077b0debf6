"""The examples: the crawler against a local site served by the test, the chat server, interop."""

from __future__ import annotations

import importlib.util
import json
import pathlib
import subprocess
import sys
import threading

import pytest

import evergreen
from evergreen import io

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / 'examples'


def load_example(name: str):
    """Import examples/<name>.py (they are scripts, not a package) once."""
    module_name = f'evergreen_example_{name}'
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, EXAMPLES / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module     # dataclasses look their module up while it runs
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def local_site():
    """The crawler's site, 150 pages, served on 127.0.0.1 by this test (real threads)."""
    site_module = load_example('site')
    server = site_module.SiteServer(site_module.Site(pages=150, seed=7))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def test_crawler_crawls_the_local_site_concurrently(local_site):
    # The crawler patches the standard library: it runs in a process of its own.
    result = subprocess.run([sys.executable, str(EXAMPLES / 'crawler.py'), local_site.url,
                             '--workers', '20', '--json'],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ''
    [report] = json.loads(result.stdout)
    pages, errors = local_site.site.expected_crawl()
    assert report['pages'] == pages
    assert report['errors'] == errors
    assert report['workers'] == 20
    # Every page and error was fetched exactly once...
    assert local_site.served == pages + sum(errors.values())
    # ...and many at the same time: the fetches overlapped.
    assert local_site.peak_in_flight >= 5


@pytest.mark.slow
def test_crawler_reports_pages_errors_time_and_speed_up(local_site):
    result = subprocess.run([sys.executable, str(EXAMPLES / 'crawler.py'), local_site.url,
                             '--workers', '30', '--compare'],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f'crawled {local_site.url}'
    assert ' 30 tasks: ' in lines[1] and '  1 task: ' in lines[2]
    assert 'errors (HTTP 404:' in lines[1] and lines[1].endswith(' s')
    assert lines[3].startswith('  speed-up: ') and lines[3].endswith('x')


def test_crawler_module_runs_on_its_own_site():
    result = subprocess.run([sys.executable, str(EXAMPLES / 'crawler.py'), '--pages', '60', '--json'],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    [report] = json.loads(result.stdout)
    site = load_example('site').Site(pages=60)
    assert (report['pages'], report['errors']) == site.expected_crawl()


class ChatClient:
    """A test client: a connection and the lines it received."""

    def __init__(self, address, nick):
        self.conn = io.TCPClient().connect(address)
        assert self.conn.read_until(b'? ') == b'Welcome! Your nickname? '
        self.conn.write(nick.encode() + b'\n')

    def say(self, line):
        self.conn.write(line.encode() + b'\n')

    def hear(self):
        with evergreen.Timeout(5):
            return self.conn.readline().decode().rstrip('\n')


def test_chat_server(no_fd_leak, uv_run):
    chat = load_example('chat')

    def main():
        server, room = chat.serve()
        address = server.getsockname()
        alice = ChatClient(address, 'alice')
        assert alice.hear() == '* hello alice; here: alice'
        bob = ChatClient(address, 'bob')
        assert bob.hear() == '* hello bob; here: alice, bob'
        assert alice.hear() == '* bob joined'
        alice.say('hi bob')
        assert bob.hear() == '<alice> hi bob'
        bob.say('/who')
        assert bob.hear() == '* here: alice, bob'
        impostor = ChatClient(address, 'alice')
        assert impostor.conn.readline() == b'That nickname is taken or invalid; bye.\n'
        assert impostor.conn.read() == b''
        impostor.conn.close()
        bob.say('/quit')
        assert bob.hear() == '* bye'
        assert bob.conn.read() == b''          # the server closed it
        assert alice.hear() == '* bob left'
        bob.conn.close()
        alice.conn.close()
        server.shutdown(timeout=5)
        assert room.clients == {}

    uv_run(main)


def test_chat_drops_a_client_that_does_not_read(no_fd_leak, uv_run):
    chat = load_example('chat')

    def main():
        server, room = chat.serve()
        address = server.getsockname()
        sleeper = ChatClient(address, 'sleeper')    # never reads again
        talker = ChatClient(address, 'talker')
        assert talker.hear().startswith('* hello talker')
        line = 'x' * 2000
        for _ in range(3000):                       # 6 MB for the sleeper, who reads nothing
            talker.say(line)
            if 'sleeper' not in room.clients:
                break
            evergreen.sleep(0)
        assert 'sleeper' not in room.clients
        talker.say('/who')
        while (heard := talker.hear()) != '* here: talker':
            assert heard == '* sleeper left'
        sleeper.conn.close()
        talker.conn.close()
        server.shutdown(timeout=5)

    uv_run(main)


def test_interop_example():
    result = subprocess.run([sys.executable, str(EXAMPLES / 'interop.py')],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "task -> coroutine server: ['TULIP', 'ROSE', 'EVERGREEN']"
    assert lines[1].startswith('coroutine -> tasks: [0, 1, 4, 9, 16] in ')
