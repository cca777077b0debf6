"""Set-up the talks' demos need but the audience need not read.

Like ``listing``, this module belongs to the decks, not to the build: the talks'
cells import it (every kernel the pipeline starts, and ``make demo``'s interpreter,
has ``slides/`` on its ``PYTHONPATH``). It needs only the standard library and the
demo packages, so it runs in the attendees' demos-only venv too.

- ``start_crawl_site``: evergreen's example web site, served on 127.0.0.1 from a
  thread, for the two crawlers to crawl;
- ``busy_process`` and ``pstree``: a child process whose asyncio tasks are waiting,
  and ``python -m asyncio pstree`` run on it (Python 3.14+; older Pythons say so).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import re
import sys
import tempfile
import textwrap
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any

#: The columns a line of demo output may take on a slide (``lint.MAX_COLUMNS``).
COLUMNS = 70
PSTREE_TIMEOUT = 20.0  # seconds for the child to get ready and for pstree to answer


def _evergreen_example(name: str) -> ModuleType:
    """Import ``demos/evergreen/examples/<name>.py``, which is not a package module."""
    import evergreen  # the examples sit next to the installed package's source

    path = Path(evergreen.__file__).resolve().parents[1] / "examples" / f"{name}.py"
    if not path.is_file():
        raise FileNotFoundError(f"evergreen's example {path} is missing; "
                                f"install evergreen from demos/evergreen")
    spec = importlib.util.spec_from_file_location(f"evergreen_example_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def crawler_script() -> Path:
    """The path of evergreen's example crawler (run as a script: it patches the stdlib)."""
    import evergreen

    return Path(evergreen.__file__).resolve().parents[1] / "examples" / "crawler.py"


def start_crawl_site(pages: int = 150) -> tuple[Any, dict[str, int]]:
    """Serve evergreen's example site on 127.0.0.1 from a daemon thread.

    Returns the server (``.url``; stop it with ``shutdown()`` then ``server_close()``)
    and what a correct crawl finds: ``{"HTTP 200": pages, "HTTP 404": n, ...}``.
    """
    site_module = _evergreen_example("site")
    server = site_module.SiteServer(site_module.Site(pages=pages))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    fetched, errors = server.site.expected_crawl()
    return server, {"HTTP 200": fetched, **errors}


_BUSY = textwrap.dedent("""\
    import asyncio

    async def wait(seconds):
        await asyncio.sleep(seconds)

    async def crawl():
        async with asyncio.TaskGroup() as tg:
            tg.create_task(wait(60), name="fetch")
            tg.create_task(wait(60), name="parse")
            print("ready", flush=True)

    asyncio.run(crawl())
""")


@contextlib.asynccontextmanager
async def busy_process() -> AsyncIterator[int]:
    """A child Python whose ``crawl()`` waits in a TaskGroup of two tasks; yields its pid
    once the tasks exist, and kills it on the way out."""
    with tempfile.TemporaryDirectory(prefix="pstree-demo-") as tmp:
        script = Path(tmp) / "crawler.py"
        script.write_text(_BUSY)
        child = await asyncio.create_subprocess_exec(
            sys.executable, str(script), stdout=asyncio.subprocess.PIPE)
        try:
            async with asyncio.timeout(PSTREE_TIMEOUT):
                line = await child.stdout.readline()
            if line.strip() != b"ready":
                raise RuntimeError(f"the demo process did not start (it said {line!r})")
            yield child.pid
        finally:
            if child.returncode is None:
                child.kill()
            await child.wait()


async def pstree(pid: int) -> str:
    """``python -m asyncio pstree PID``'s output, lines cut to the slide's width.

    Before Python 3.14 there is no such command: the answer says so. When the
    command fails (e.g. the system forbids reading another process's memory), the
    answer is its error, so that the demo shows why rather than failing.
    """
    if sys.version_info < (3, 14):
        return (f"Python {sys.version.split()[0]}: python -m asyncio pstree "
                f"needs Python 3.14+")
    tool = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "asyncio", "pstree", str(pid),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        async with asyncio.timeout(PSTREE_TIMEOUT):
            out, err = await tool.communicate()
    finally:
        if tool.returncode is None:
            tool.kill()
            await tool.wait()
    text = out.decode(errors="replace") if tool.returncode == 0 else (
        f"pstree failed (status {tool.returncode}):\n"
        + "\n".join(err.decode(errors="replace").strip().splitlines()[-2:]))
    return "\n".join(_fit(line) for line in text.rstrip().splitlines())


_FOLDERS = re.compile(r"(?<=\s)/\S*/(?=[^/\s]+\.py:)")  # a file's folders, before its name


def _fit(line: str) -> str:
    line = _FOLDERS.sub("", line)
    return line if len(line) <= COLUMNS else line[:COLUMNS - 1] + "…"
