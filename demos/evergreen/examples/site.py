"""A local web site for the crawler to crawl: pages, links, slow pages, failing pages.

``python site.py [--pages 300] [--seed 2013] [--port 0]`` serves it on
127.0.0.1 with real threads (it is the *other side*, not evergreen code),
prints ``serving on http://127.0.0.1:PORT/`` and runs until interrupted.

The site is the same for a given number of pages and seed: page *i* links to
page *i + 1* (so every page is reachable from ``/``) and to four others;
every page takes a few milliseconds, as over a network, some take much
longer, some answer 500, and some links lead nowhere (404). ``/stats`` tells
how many requests were served and the most that were in flight at once.
"""

from __future__ import annotations

import argparse
import http.server
import json
import random
import threading
import time
from dataclasses import dataclass, field

__all__ = ['Site', 'SiteServer', 'main']


@dataclass
class Site:
    """The pages of the site: their links, delays and failures, from a seed."""

    pages: int = 300
    seed: int = 2013
    base_delay: float = 0.02
    links: dict[int, list[int]] = field(default_factory=dict)
    delays: dict[int, float] = field(default_factory=dict)
    failing: set[int] = field(default_factory=set)
    missing_links: int = 0

    def __post_init__(self) -> None:
        if self.pages < 2:
            raise ValueError('a site needs at least 2 pages')
        rng = random.Random(self.seed)
        for page in range(self.pages):
            targets = [page + 1] if page + 1 < self.pages else []
            targets += [rng.randrange(self.pages) for _ in range(4)]
            if rng.random() < 0.03:
                targets.append(self.pages + rng.randrange(1000))   # a broken link: 404
                self.missing_links += 1
            self.links[page] = targets
            roll = rng.random()
            if roll < 0.05:
                self.delays[page] = rng.uniform(0.1, 0.3)            # a slow page
            else:
                self.delays[page] = self.base_delay
            if page and rng.random() < 0.03:
                self.failing.add(page)                               # a server error

    def expected_crawl(self) -> tuple[int, dict[str, int]]:
        """What a correct crawl from ``/`` finds: pages fetched, and errors by kind.

        ``/`` shows page 0; ``/page/0``, if some page links to it, is one more URL.
        """
        fetched = 1
        seen: set[int] = set()
        queue = list(self.links[0])
        errors = {'HTTP 404': 0, 'HTTP 500': 0}
        while queue:
            page = queue.pop()
            if page in seen:
                continue
            seen.add(page)
            if page >= self.pages:
                errors['HTTP 404'] += 1
            elif page in self.failing:
                errors['HTTP 500'] += 1
            else:
                fetched += 1
                queue.extend(self.links[page])
        return fetched, {kind: count for kind, count in errors.items() if count}

    def html(self, page: int) -> str:
        anchors = ''.join(f'<li><a href="/page/{target}">page {target}</a></li>'
                          for target in self.links[page])
        return (f'<!doctype html><html><head><title>Page {page}</title></head>'
                f'<body><h1>Page {page}</h1><ul>{anchors}</ul></body></html>')


class SiteServer(http.server.ThreadingHTTPServer):
    """Serves a Site on 127.0.0.1, counting requests and their peak concurrency."""

    daemon_threads = True
    # socketserver's default backlog (5) would drop the crawler's concurrent
    # connects, and the kernel would retry them a second later.
    request_queue_size = 256

    def __init__(self, site: Site, port: int = 0) -> None:
        super().__init__(('127.0.0.1', port), _Handler)
        self.site = site
        self.served = 0
        self.in_flight = 0
        self.peak_in_flight = 0
        self.counter_lock = threading.Lock()

    @property
    def url(self) -> str:
        return f'http://127.0.0.1:{self.server_address[1]}/'


class _Handler(http.server.BaseHTTPRequestHandler):
    server: SiteServer
    protocol_version = 'HTTP/1.0'

    def do_GET(self) -> None:
        server = self.server
        with server.counter_lock:
            server.in_flight += 1
            server.peak_in_flight = max(server.peak_in_flight, server.in_flight)
        try:
            self._answer()
        finally:
            with server.counter_lock:
                server.in_flight -= 1
                server.served += 1

    def _answer(self) -> None:
        site = self.server.site
        if self.path == '/stats':
            self._send(200, json.dumps({'served': self.server.served,
                                        'peak_in_flight': self.server.peak_in_flight}), 'application/json')
            return
        if self.path == '/':
            page = 0
        elif self.path.startswith('/page/') and self.path[6:].isdigit():
            page = int(self.path[6:])
        else:
            self._send(404, 'no such page')
            return
        if page >= site.pages:
            self._send(404, 'no such page')
            return
        time.sleep(site.delays[page])
        if page in site.failing:
            self._send(500, 'this page is broken')
            return
        self._send(200, site.html(page), 'text/html; charset=utf-8')

    def _send(self, status: int, body: str, content_type: str = 'text/plain; charset=utf-8') -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header('Content-Type', content_type)
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--pages', type=int, default=300)
    parser.add_argument('--seed', type=int, default=2013)
    parser.add_argument('--port', type=int, default=0)
    args = parser.parse_args(argv)
    server = SiteServer(Site(args.pages, args.seed), args.port)
    print(f'serving on {server.url}', flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == '__main__':
    main()
