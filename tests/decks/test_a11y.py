"""Accessibility, measured: axe-core (the npm package in slides/node_modules) in Chromium
over the site's index, every slide of every deck and the speaker view, with zero
violations of impact "serious" or "critical".

A slide is checked as a reader sees it once it has settled: transitions are turned off
(mid-fade, text has a contrast it never keeps) and every fragment is shown, so that
what a fragment reveals is checked too. Everything that stays on screen (the navigation
links, header, footer, controls, slide number, demo command) is checked with the
whole page on the first slide.
"""

from __future__ import annotations

import pytest

from decks import NODE_MODULES
from decks.browser import wait_for_reveal

pytestmark = pytest.mark.timeout(900)  # the first test may pay for the site's build
AXE = NODE_MODULES / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")
SETTLED_CSS = "*, *::before, *::after { transition: none !important; animation: none !important; }"
RUN_AXE = """async ({target, impacts}) => {
    const context = target === 'slide' ? Reveal.getCurrentSlide() : document;
    const result = await axe.run(context, {resultTypes: ['violations']});
    return result.violations.filter(v => impacts.includes(v.impact)).map(v => ({
        rule: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ') + ': ' + n.failureSummary)}));
}"""
SHOW_SLIDE = """(index) => {
    const at = Reveal.getIndices(Reveal.getSlides()[index]);
    Reveal.slide(at.h, at.v, Number.MAX_SAFE_INTEGER);  // its last fragment: all shown
    return Reveal.getIndices().h === at.h && Reveal.getIndices().v === at.v;
}"""


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: make setup installs slides/package-lock.json")
    return AXE.read_text()


def _axe(page, target: str) -> list[dict]:
    """axe-core's serious and critical violations in the current slide or the page."""
    return page.evaluate(RUN_AXE, {"target": target, "impacts": list(BLOCKING)})


def _report(found: list[tuple[str, dict]]) -> str:
    lines = []
    for where, violation in found:
        lines.append(f"{where}: {violation['rule']} ({violation['impact']}): {violation['help']}")
        lines += [f"    {node}" for node in violation["nodes"]]
    return "\n".join(lines)


def _open(browser, path, axe_source):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.goto(path.resolve().as_uri())
    return context, page


def test_the_index_has_no_serious_violations(built_site, browser, axe_source):
    context, page = _open(browser, built_site.out / "index.html", axe_source)
    try:
        page.add_script_tag(content=axe_source)
        found = [("index", v) for v in _axe(page, "document")]
    finally:
        context.close()
    assert found == [], _report(found)


def test_every_slide_has_no_serious_violations(deck, built_site, browser, axe_source):
    talk, lang = deck
    context, page = _open(browser, built_site.path(talk, lang, "html"), axe_source)
    found = []
    try:
        wait_for_reveal(page)
        page.add_style_tag(content=SETTLED_CSS)
        page.evaluate("Reveal.configure({transition: 'none', backgroundTransition: 'none'})")
        page.add_script_tag(content=axe_source)
        assert page.evaluate("document.documentElement.lang") == lang
        found += [("the page, slide 1", v) for v in _axe(page, "document")]
        total = page.evaluate("Reveal.getTotalSlides()")
        assert total == built_site.result(talk, lang).slides
        for index in range(total):
            assert page.evaluate(SHOW_SLIDE, index)
            found += [(f"slide {index + 1}", v) for v in _axe(page, "slide")]
    finally:
        context.close()
    assert found == [], _report(found)


def test_the_speaker_view_has_no_serious_violations(deck, built_site, browser, axe_source):
    talk, lang = deck
    context, page = _open(browser, built_site.path(talk, lang, "html"), axe_source)
    try:
        wait_for_reveal(page)
        with context.expect_page() as popup:
            page.keyboard.press("s")
        speaker = popup.value
        speaker.wait_for_selector(".speaker-controls-notes", state="attached")
        speaker.wait_for_function("document.querySelectorAll('iframe').length === 2")
        speaker.add_style_tag(content=SETTLED_CSS)
        speaker.add_script_tag(content=axe_source)
        found = [("speaker view", v) for v in _axe(speaker, "document")]
    finally:
        context.close()
    assert found == [], _report(found)


OUT_OF_SIGHT = """() => {
    const slide = document.activeElement.closest('.slides section');
    return slide !== null && !slide.contains(Reveal.getCurrentSlide())
        && !Reveal.getCurrentSlide().contains(document.activeElement);
}"""


def test_the_keyboard_reaches_the_links_and_only_the_slide_in_sight(deck, built_site, browser,
                                                                   axe_source):
    """Tab reaches the navigation links first, never a slide out of sight; arrows move."""
    talk, lang = deck
    context, page = _open(browser, built_site.path(talk, lang, "html"), axe_source)
    try:
        wait_for_reveal(page)
        for number in (1, 2):  # from the first slide, and after a move
            if number == 2:
                page.evaluate("document.activeElement.blur()")
                page.keyboard.press("ArrowRight")
                assert page.evaluate("Reveal.getIndices().h") == 1
            focused = []
            for _ in range(6):
                page.keyboard.press("Tab")
                focused.append(page.evaluate("document.activeElement.className"))
                assert not page.evaluate(OUT_OF_SIGHT), f"slide {number}: Tab reached {focused}"
            if number == 1:
                assert focused[:2] == ["deck-index", "deck-other-language"]
    finally:
        context.close()
