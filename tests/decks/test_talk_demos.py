"""The demos' helper module (slides/decks/talk_demos.py): the crawl site and pstree."""

from __future__ import annotations

import asyncio
import os
import sys
import urllib.request

from decks import talk_demos


def test_the_crawl_site_serves_on_loopback_and_knows_what_a_crawl_finds():
    site, expected = talk_demos.start_crawl_site(pages=20)
    try:
        assert site.url.startswith("http://127.0.0.1:")
        assert expected["HTTP 200"] > 1
        with urllib.request.urlopen(site.url, timeout=5) as response:
            assert response.status == 200 and b"href" in response.read()
    finally:
        site.shutdown()
        site.server_close()
    assert talk_demos.crawler_script().is_file()


def test_pstree_shows_the_busy_process_tasks_or_says_why_not():
    async def look() -> tuple[int, str]:
        async with talk_demos.busy_process() as pid:
            os.kill(pid, 0)  # alive while the block runs
            return pid, await talk_demos.pstree(pid)

    pid, tree = asyncio.run(look())
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        pass
    else:
        raise AssertionError(f"the demo process {pid} outlived busy_process()")
    assert all(len(line) <= talk_demos.COLUMNS for line in tree.splitlines())
    if sys.version_info < (3, 14):
        assert "needs Python 3.14+" in tree
    elif not tree.startswith("pstree failed"):
        assert "fetch" in tree and "parse" in tree and "crawl" in tree
