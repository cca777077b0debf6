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


# -- measuring what a slide shows ----------------------------------------------------
# The checks' one way to measure a deck in a browser, the HTML deck's (reveal.js) and
# the live one's (RISE) alike: the current slide once it has stopped moving, step by
# step (every slide and every fragment), with the sizes and places the screen shows.

#: Resolves once the current slide has stopped moving (reveal.js's transition).
SETTLED_JS = """() => new Promise(resolve => {
    let last = '', same = 0, frames = 0;
    const tick = () => {
        const all = document.querySelectorAll('.reveal .slides section.present');
        const rect = all.length ? JSON.stringify(all[all.length - 1].getBoundingClientRect()) : '';
        same = rect === last ? same + 1 : 0;
        last = rect;
        if (same >= 6 || ++frames > 600) resolve(true); else requestAnimationFrame(tick);
    };
    tick();
})"""

#: The deck's furniture that stays on screen: what a slide's content must not run into.
CHROME_SELECTOR = ("#rise-header, #rise-footer, .deck-header, .deck-footer, "
                   ".reveal > .deck-demo, .reveal .slide-number, .deck-nav a")

# The current slide: the smallest code and text sizes on it (the computed font size
# times reveal.js's scale of the slide: a transform below 1, CSS zoom above), the
# cells that leave the box (the selector's: the screen on stage, the slide in the HTML
# deck) or cut their content off, and the chrome its text or images run into.
MEASURE_SLIDE_JS = """(boxSelector) => {
    const slides = document.querySelector('.reveal .slides');
    const all = slides.querySelectorAll('section.present');
    const slide = all[all.length - 1];
    const screen = document.querySelector(boxSelector).getBoundingClientRect();
    const zoom = parseFloat(getComputedStyle(slides).zoom) || 1;
    const scale = zoom * (slides.offsetHeight
        ? slides.getBoundingClientRect().height / (slides.offsetHeight * zoom) : 1);
    const shown = el => el.getClientRects().length > 0
        && getComputedStyle(el).visibility !== 'hidden';
    const title = (slide.querySelector('h1, h2, h3') || slide).innerText.trim().slice(0, 50);
    const ignored = '.jp-InputPrompt, .jp-OutputPrompt, .jp-Placeholder, .jp-Cell-header, '
                    + '.jp-Cell-footer, .jp-Collapser, aside.notes';
    const code = [], text = [], problems = [], boxes = [];
    const walker = document.createTreeWalker(slide, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const el = node.parentElement;
        if (!node.textContent.trim() || !shown(el) || el.closest(ignored)) continue;
        const px = parseFloat(getComputedStyle(el).fontSize) * scale;
        const what = node.textContent.trim().slice(0, 30);
        if (el.closest('.cm-editor, .jp-OutputArea-output, code, pre')) code.push([px, what]);
        else if (el.closest('.jp-RenderedMarkdown')) text.push([px, what]);
        const range = document.createRange();
        range.selectNodeContents(node);
        for (const r of range.getClientRects()) if (r.width && r.height) boxes.push([r, what]);
    }
    for (const img of slide.querySelectorAll('img'))
        if (shown(img) && !img.closest(ignored)) boxes.push([img.getBoundingClientRect(), 'an image']);
    const cells = [...slide.querySelectorAll('.jp-Cell')].filter(
        cell => !cell.parentElement.closest('.jp-Cell') && !cell.closest('aside.notes'));
    for (const cell of cells) {
        if (!shown(cell)) continue;
        const r = cell.getBoundingClientRect();
        if (r.top < screen.top - 1 || r.bottom > screen.bottom + 1
                || r.left < screen.left - 1 || r.right > screen.right + 1)
            problems.push(`a cell at ${Math.round(r.left)},${Math.round(r.top)}-`
                          + `${Math.round(r.right)},${Math.round(r.bottom)} leaves the `
                          + `${Math.round(screen.width)}x${Math.round(screen.height)} box`);
        // content wider or taller than its box must scroll there, not be cut off
        for (const el of [cell, ...cell.querySelectorAll('*')]) {
            if (!shown(el)) continue;
            const style = getComputedStyle(el);
            for (const [axis, over] of [['x', el.scrollWidth > el.clientWidth + 2],
                                        ['y', el.scrollHeight > el.clientHeight + 2]]) {
                const overflow = axis === 'x' ? style.overflowX : style.overflowY;
                if (over && (overflow === 'hidden' || overflow === 'clip')
                        && el.clientWidth > 0 && el.clientHeight > 0)
                    problems.push(`${el.tagName.toLowerCase()}.${[...el.classList].join('.')} `
                                  + `cuts its content off (${axis})`);
            }
        }
    }
    const chrome = [];
    for (const el of document.querySelectorAll(%CHROME%)) {
        if (!shown(el) || el.closest('[hidden]')) continue;
        const c = el.getBoundingClientRect();
        const hit = boxes.find(([r]) => r.left < c.right - 1 && r.right > c.left + 1
                                        && r.top < c.bottom - 1 && r.bottom > c.top + 1);
        if (hit) chrome.push(`'${hit[1]}' runs into ${el.className || el.id}`);
    }
    const smallest = list => list.reduce((a, b) => (b[0] < a[0] ? b : a), [Infinity, '']);
    return {title, scale, code: smallest(code), text: smallest(text), problems, chrome,
            bottom: Math.max(0, ...boxes.map(([r]) => r.bottom)),
            // RISE names its slides; reveal.js's own decks are told apart by position
            id: slide.id || (window.Reveal && Reveal.getIndices
                             ? `${Reveal.getIndices().h}.${Reveal.getIndices().v || 0}` : ''),
            fragments: slide.querySelectorAll('.fragment.visible').length};
}""".replace("%CHROME%", repr(CHROME_SELECTOR))


def settle(page: playwright.sync_api.Page) -> None:  # noqa: F821
    """Wait until the current slide has stopped moving."""
    page.evaluate(SETTLED_JS)


def measure_steps(page: playwright.sync_api.Page, box: str = ".reveal",  # noqa: F821
                  limit: int = 400) -> Iterator[dict]:
    """Measure the current slide (``MEASURE_SLIDE_JS``, cells held to the ``box``
    selector's rectangle), press Space (the next fragment or slide), and so on to the
    end of the deck: one measurement per step, every fragment of every slide."""
    seen: set[tuple[str, int]] = set()
    for _ in range(limit):
        settle(page)
        measured = page.evaluate(MEASURE_SLIDE_JS, box)
        step = (measured["id"], measured["fragments"])
        if step in seen:
            return
        seen.add(step)
        yield measured
        page.keyboard.press("Space")
    raise BrowserError(f"the deck did not end within {limit} steps")
