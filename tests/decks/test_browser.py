"""The HTML decks in a real browser (Debian's Chromium driven by playwright), offline:
no request leaves file://, reveal.js gets ready, navigation reaches the last slide,
the speaker view shows the notes, the RISE settings are honoured, both languages
have as many slides, and each demo slide shows the ``make demo`` command that runs it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import re
import sys

import nbformat
import pytest

from decks import LANGUAGES, ROOT
from decks.browser import measure_steps, wait_for_reveal
from decks.render import REVEAL_DIR, demo_slides
from decks.source import slides_of

pytestmark = pytest.mark.timeout(900)  # the first test may pay for the site's build
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")
SCREEN = {"width": 1280, "height": 720}
SHOWS_NOTES = """words => {
    const notes = document.querySelector('.speaker-controls-notes .value');
    return notes !== null && words.every(word => notes.textContent.includes(word));
}"""


@contextlib.contextmanager
def opened(browser, path, requests: list[str] | None = None):
    """The deck at ``path`` in a fresh browser context, reveal.js ready."""
    context = browser.new_context(viewport=SCREEN)
    if requests is not None:
        context.on("request", lambda request: requests.append(request.url))
    try:
        page = context.new_page()
        page.goto(path.resolve().as_uri())
        wait_for_reveal(page)
        yield page
    finally:
        context.close()


def _words(markdown: str, count: int = 4) -> list[str]:
    return re.findall(r"[^\W\d_]{3,}", markdown)[:count]


def test_the_deck_loads_offline_and_reaches_its_last_slide(deck, built_site, browser):
    talk, lang = deck
    slides = built_site.result(talk, lang).slides
    requests: list[str] = []
    with opened(browser, built_site.path(talk, lang, "html"), requests) as page:
        assert page.evaluate("Reveal.getTotalSlides()") == slides
        visited = {page.evaluate("JSON.stringify(Reveal.getIndices())")}
        for _ in range(slides * 20):  # bounded: fragments add steps, never forever
            if page.evaluate("Reveal.isLastSlide() && !Reveal.availableFragments().next"):
                break
            page.keyboard.press("Space")  # "next": fragments, vertical and horizontal
            visited.add(page.evaluate("JSON.stringify(Reveal.getIndices())"))
        assert page.evaluate("Reveal.isLastSlide()")
        slide_positions = {re.sub(r',"f":-?\d+', "", v) for v in visited}
        assert len(slide_positions) == slides
    outside = [url for url in requests if not url.startswith(LOCAL_SCHEMES)]
    assert outside == [], f"the deck fetched {outside}"


# Each step of each slide (every fragment shown in turn) at a 1280 x 720 screen, as
# reveal.js scales the 960 x 700 slide to it: code no smaller than CODE_PX as the
# screen shows it, nothing taller than the slide (reveal.js never shrinks a slide) nor
# cut off, no text running into the header, footer or demo command. Long code is
# revealed in steps (decks/steps.py), not shrunk, so every step is held to this.
CODE_PX = 18
FIND_OVERFLOWS = """() => {
    const slide = Reveal.getCurrentSlide(), height = Reveal.getConfig().height, found = [];
    if (slide.scrollHeight > height)
        found.push(`${slide.scrollHeight}px tall, the slide is ${height}px`);
    for (const pre of slide.querySelectorAll('pre'))
        if (pre.scrollWidth > pre.clientWidth + 1)
            found.push(`a listing is ${pre.scrollWidth}px wide in ${pre.clientWidth}px`);
    return found;
}"""


def test_every_step_of_every_slide_is_readable_and_fits(deck, built_site, browser,
                                                         language_notebooks):
    talk, lang = deck
    with opened(browser, built_site.path(talk, lang, "html")) as page:
        assert page.viewport_size == SCREEN
        page.evaluate("document.fonts.ready")
        steps, found = [], []
        for step in measure_steps(page, box=".reveal .slides"):
            steps.append(step)
            where = f"slide {step['id']}, {step['fragments']} fragments ({step['title']!r})"
            code_px, code_text = step["code"]
            if code_px < CODE_PX:
                found.append(f"{where}: code at {code_px:.1f}px ({code_text!r})")
            found += [f"{where}: {problem}" for problem in step["problems"] + step["chrome"]]
            found += [f"{where}: {problem}" for problem in page.evaluate(FIND_OVERFLOWS)]
    assert found == []
    assert len({s["id"] for s in steps}) == len(slides_of(language_notebooks(talk)[lang]))
    stepped = [s for s in steps if s["fragments"]]
    if talk == "fosdem":  # the tiny loop, rose's timer and the 2013 echo come in steps
        assert len(stepped) >= 3, [s["title"] for s in steps]


def test_the_speaker_view_shows_each_slides_notes(deck, built_site, browser, language_notebooks):
    talk, lang = deck
    slides = slides_of(language_notebooks(talk)[lang])
    requests: list[str] = []
    with opened(browser, built_site.path(talk, lang, "html"), requests) as page:
        with page.context.expect_page() as popup_info:
            page.keyboard.press("s")
        speaker = popup_info.value
        for number in (0, 1):  # the notes follow the deck
            if number:
                page.keyboard.press("ArrowRight")
            speaker.wait_for_function(SHOWS_NOTES, arg=_words(slides[number].notes[0].source),
                                      timeout=15_000)
    outside = [url for url in requests if not url.startswith(LOCAL_SCHEMES)]
    assert outside == [], f"the speaker view fetched {outside}"


def test_the_rise_settings_and_theme_are_honoured(deck, built_site, browser, language_notebooks):
    talk, lang = deck
    rise = language_notebooks(talk)[lang].metadata.rise
    theme_css = (REVEAL_DIR / "dist" / "theme" / f"{rise['theme']}.css").read_text()
    background = re.search(r"--r-background-color:\s*([^;]+);", theme_css)[1].strip()
    with opened(browser, built_site.path(talk, lang, "html")) as page:
        config = page.evaluate("Reveal.getConfig()")
        assert config["transition"] == rise["transition"]
        assert config["slideNumber"] == rise.get("slideNumber", False)
        shown = page.evaluate("getComputedStyle(document.documentElement)"
                              ".getPropertyValue('--r-background-color')").strip()
        assert shown.lower() == background.lower()
        for key in ("header", "footer"):
            if rise.get(key):
                assert page.inner_text(f".deck-{key}").strip() == rise[key]
        main_font = page.evaluate("getComputedStyle(document.documentElement)"
                                  ".getPropertyValue('--r-main-font')").split(",")[0].strip()
        page.evaluate("document.fonts.ready")
        assert page.evaluate(f"document.fonts.check('20px {main_font}')"), main_font


def test_the_language_link_opens_the_same_talk_in_the_other_language(deck, built_site, browser):
    talk, lang = deck
    other = next(code for code in LANGUAGES if code != lang)
    with opened(browser, built_site.path(talk, lang, "html")) as page:
        page.click(".deck-other-language")
        page.wait_for_url(f"**/{talk}.{other}.html*")
        assert page.evaluate("document.documentElement.lang") == other


def test_both_languages_have_the_same_number_of_slides(talk, built_site, browser):
    totals = {}
    for lang in LANGUAGES:
        with opened(browser, built_site.path(talk.name, lang, "html")) as page:
            totals[lang] = page.evaluate("Reveal.getTotalSlides()")
    assert len(set(totals.values())) == 1, totals


def load_demo_tool():
    """tools/demo.py (``make demo``), a script rather than a package module."""
    spec = importlib.util.spec_from_file_location("demo_tool", ROOT / "tools" / "demo.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


SHOWN_COMMANDS = """() => Reveal.getSlides().map(slide => {
    const at = Reveal.getIndices(slide);
    Reveal.slide(at.h, at.v);
    const box = document.querySelector('.reveal > .deck-demo');
    return box.hidden || box.offsetParent === null ? null : box.querySelector('code').textContent;
})"""
COMMAND = re.compile(r"make demo TALK=(?P<talk>\w+) SLIDE=(?P<slide>\d+) LANG=(?P<lang>\w+)")


def test_each_demo_slide_shows_the_command_that_runs_its_code(deck, built_site, browser):
    """What a reader copies from a slide runs that slide's code cells (tools/demo.py)."""
    talk, lang = deck
    demo = load_demo_tool()
    nb = nbformat.read(built_site.path(talk, lang, "ipynb"), as_version=4)
    expected = demo_slides(nb)
    assert expected, "a deck has at least one demo slide"
    with opened(browser, built_site.path(talk, lang, "html")) as page:
        shown = page.evaluate(SHOWN_COMMANDS)
    assert len(shown) == len(slides_of(nb))
    for number, command in enumerate(shown, 1):
        if command is None:
            assert number not in expected, f"slide {number} has a demo but shows no command"
            with pytest.raises(demo.UsageError):  # make demo refuses it too
                demo.choose(talk, str(number), lang)
            continue
        match = COMMAND.fullmatch(command)
        assert match, command
        assert (match["talk"], int(match["slide"]), match["lang"]) == (talk, number, lang)
        _, chosen, chosen_lang = demo.choose(match["talk"], match["slide"], match["lang"])
        assert chosen_lang == lang
        assert [c.source for c in chosen.demo_cells] == [c.source for c in expected[number]]
