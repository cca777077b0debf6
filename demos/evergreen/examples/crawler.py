"""The crawler: plain urllib.request, run by a TaskPoolExecutor under evergreen's patcher.

::

    python crawler.py                      # crawls a local site it starts (site.py)
    python crawler.py --compare            # ...and the same crawl one page at a time
    python crawler.py http://127.0.0.1:8000/ --workers 50 --json

Nothing here is asynchronous-looking: ``fetch`` is the blocking
``urllib.request.urlopen(url).read()`` anyone would write. ``patcher.patch()``,
called before urllib is imported, makes its sockets cooperative, so fifty
fetches run at once in fifty tasks of one thread. It only crawls the host of
the start URL; tests and demos crawl a site on 127.0.0.1, never the internet.
"""

from evergreen import patcher

patcher.patch()  # first: urllib.request, http.client and socket are imported below

import argparse  # noqa: E402
import collections  # noqa: E402
import dataclasses  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import urllib.error  # noqa: E402
import urllib.parse  # noqa: E402
import urllib.request  # noqa: E402

import evergreen  # noqa: E402
from evergreen.futures import FIRST_COMPLETED, TaskPoolExecutor, wait  # noqa: E402

LINK = re.compile(rb'href="([^"#]+)"')


@dataclasses.dataclass
class Report:
    """What a crawl found and how long it took."""

    start: str
    workers: int
    pages: int = 0
    bytes: int = 0
    errors: dict = dataclasses.field(default_factory=dict)
    seconds: float = 0.0

    def __str__(self) -> str:
        errors = sum(self.errors.values())
        kinds = ', '.join(f'{kind}: {count}' for kind, count in sorted(self.errors.items()))
        tasks = 'task' if self.workers == 1 else 'tasks'
        return (f'{self.workers:3d} {tasks}: {self.pages} pages ({self.bytes // 1024} KiB), '
                f'{errors} errors{f" ({kinds})" if kinds else ""} in {self.seconds:.2f} s')


def fetch(url: str, timeout: float) -> bytes:
    """Download one page: the ordinary, blocking way."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


def crawl(start: str, workers: int = 50, timeout: float = 10.0, limit: int = 10_000) -> Report:
    """Crawl every page reachable from *start* on its host, *workers* fetches at a time."""
    report = Report(start, workers)
    errors: collections.Counter = collections.Counter()
    host = urllib.parse.urlsplit(start).netloc
    began = time.monotonic()
    seen = {start}
    with TaskPoolExecutor(workers) as pool:
        pending = {pool.submit(fetch, start, timeout): start}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                url = pending.pop(future)
                try:
                    body = future.result()
                except urllib.error.HTTPError as exc:
                    errors[f'HTTP {exc.code}'] += 1
                    exc.close()     # it holds the response, and so the connection
                    continue
                except (urllib.error.URLError, OSError) as exc:
                    errors[type(getattr(exc, 'reason', exc)).__name__] += 1
                    continue
                report.pages += 1
                report.bytes += len(body)
                for match in LINK.findall(body):
                    link = urllib.parse.urljoin(url, match.decode('ascii', 'replace'))
                    if urllib.parse.urlsplit(link).netloc == host and link not in seen \
                            and len(seen) < limit:
                        seen.add(link)
                        pending[pool.submit(fetch, link, timeout)] = link
    report.errors = dict(errors)
    report.seconds = time.monotonic() - began
    return report


def _start_local_site(pages: int) -> tuple[subprocess.Popen, str]:
    here = os.path.dirname(os.path.abspath(__file__))
    # The site is another process: evergreen.lib.subprocess (patched) starts it.
    process = subprocess.Popen([sys.executable, os.path.join(here, 'site.py'), '--pages', str(pages)],
                               stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    if not line.startswith('serving on '):
        process.kill()
        raise RuntimeError(f'the local site did not start: {line!r}')
    return process, line.split()[-1]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('url', nargs='?', help='start URL (default: a local site started here)')
    parser.add_argument('--workers', type=int, default=50, help='concurrent fetches (default 50)')
    parser.add_argument('--pages', type=int, default=300, help="the local site's size (default 300)")
    parser.add_argument('--compare', action='store_true',
                        help='also crawl one page at a time, and print the speed-up')
    parser.add_argument('--json', action='store_true', help='print the reports as JSON')
    args = parser.parse_args(argv)

    site = None
    url = args.url
    if url is None:
        site, url = evergreen.run(_start_local_site, args.pages)
    try:
        reports = [evergreen.run(crawl, url, args.workers)]
        if args.compare:
            reports.append(evergreen.run(crawl, url, 1))
    finally:
        if site is not None:
            site.terminate()
            site.wait()
            site.stdout.close()
    if args.json:
        print(json.dumps([dataclasses.asdict(r) for r in reports]))
        return
    print(f'crawled {url}')
    for report in reports:
        print(' ', report)
    if args.compare:
        print(f'  speed-up: {reports[1].seconds / reports[0].seconds:.1f}x')


if __name__ == '__main__':
    main()
