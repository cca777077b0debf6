"""Debian's Chromium, driven by playwright: PDF handouts and preview images for the
build, and the checks.

Playwright is only the driver: it never downloads a browser. It launches the system
``chromium`` with the flags that keep it quiet and offline-friendly (no background
networking, no component updates) and, as root, without the sandbox. Each launch
gets a private profile (playwright's temporary user-data dir) and a private $HOME,
so nothing is written under the user's own.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser")
CHROMIUM_FLAGS = [
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--no-first-run",
    "--no-default-browser-check",
    "--metrics-recording-only",
]
READY_TIMEOUT_MS = 20_000


class BrowserError(RuntimeError):
    """Chromium is missing or a page misbehaved; the message says which and how."""


def find_chromium() -> str | None:
    """The system Chromium (``$CHROMIUM`` overrides), or None."""
    explicit = os.environ.get("CHROMIUM")
    if explicit:
        return shutil.which(explicit) or (explicit if os.access(explicit, os.X_OK) else None)
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


@contextlib.contextmanager
def chromium(executable: str | None = None
             ) -> Iterator[playwright.sync_api.Browser]:  # noqa: F821
    """A headless Chromium for the duration of the block."""
    from playwright.sync_api import sync_playwright

    executable = executable or find_chromium()
    if executable is None:
        raise BrowserError("Chromium is not installed; the PDF handouts and the deck checks "
                           "need it (Debian/Ubuntu: apt install chromium)")
    flags = list(CHROMIUM_FLAGS)
    if os.geteuid() == 0:
        flags.append("--no-sandbox")  # Chromium refuses to start its sandbox as root
    with tempfile.TemporaryDirectory(prefix="deck-chromium-home-") as home:
        env = dict(os.environ, HOME=home, XDG_CONFIG_HOME=f"{home}/.config",
                   XDG_CACHE_HOME=f"{home}/.cache")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=executable, args=flags, env=env,
                                         headless=True)
            try:
                yield browser
            finally:
                browser.close()


def wait_for_reveal(page: playwright.sync_api.Page) -> None:  # noqa: F821
    """Wait until reveal.js says it is ready."""
    page.wait_for_function("() => window.Reveal && Reveal.isReady()", timeout=READY_TIMEOUT_MS)


def print_pdf(browser: playwright.sync_api.Browser, html: Path, pdf: Path) -> int:  # noqa: F821
    """Print a deck to a PDF handout, one page per slide; return the number of slides.

    reveal.js lays the deck out for print when the URL asks for ``?print-pdf``, and
    sets the CSS page size to its slide size.
    """
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(html.resolve().as_uri() + "?print-pdf")
        wait_for_reveal(page)
        page.wait_for_selector(".reveal .pdf-page", state="attached", timeout=READY_TIMEOUT_MS)
        page.evaluate("document.fonts.ready")
        slides = page.evaluate("Reveal.getTotalSlides()")
        tmp = pdf.with_name(f".{pdf.name}.tmp")
        page.pdf(path=str(tmp), print_background=True, prefer_css_page_size=True)
        os.replace(tmp, pdf)
        return slides
    finally:
        context.close()


#: The size of a deck's preview image: what Open Graph and Twitter cards show best.
PREVIEW_SIZE = (1200, 630)
# On the preview, the title slide alone: no navigation links, arrows, progress bar or number.
_PREVIEW_CSS = (".deck-nav, .deck-demo, .reveal .controls, .reveal .progress, .reveal .slide-number "
                "{ display: none !important; }")


def screenshot_title(browser: playwright.sync_api.Browser, html: Path, png: Path,  # noqa: F821
                     size: tuple[int, int] = PREVIEW_SIZE) -> None:
    """Render a deck's first slide to a PNG of *size*: the preview a shared link shows."""
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    try:
        page = context.new_page()
        page.goto(html.resolve().as_uri())
        wait_for_reveal(page)
        page.add_style_tag(content=_PREVIEW_CSS)
        page.evaluate("document.fonts.ready")
        tmp = png.with_name(f".{png.name}.tmp")
        page.screenshot(path=str(tmp), type="png")
        os.replace(tmp, png)
    finally:
        context.close()
