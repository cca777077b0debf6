"""``make present`` on stage, in a real browser at a projector's 1280 x 720: every slide
of every deck readable (code 20 px, text 24 px) and inside the screen, the live deck
dressed as the HTML deck, the speaker view, and a demo that hangs interrupted by one key.

One JupyterLab (with RISE) serves every deck, prepared as ``make present`` prepares
it (``present.prepare``: the notebook, its notes, RISE's stylesheet).
"""

from __future__ import annotations

import importlib.util
import io
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from PIL import Image, ImageChops, ImageStat
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from decks import ROOT
from decks.browser import measure_steps, settle, wait_for_reveal
from decks.execute import sandbox_environment
from decks.lab import INTERRUPT_KEY, Lab, jupyter_lab
from decks.notes import EXPECTED_LABELS
from decks.source import find_talks, slides_of

pytestmark = pytest.mark.timeout(1500)
PROJECTOR = {"width": 1280, "height": 720}
CODE_PX, TEXT_PX = 20, 24
CHECKS = ROOT / "build" / "stage-checks"  # notebooks of these checks only (under Lab's root)

def _load_present():
    spec = importlib.util.spec_from_file_location("present_stage", ROOT / "slides" / "present.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class Stage:
    lab: Lab
    decks: dict[tuple[str, str], Path]  # what make present shows: no demo has run yet
    ran: dict[tuple[str, str], Path]  # the same decks once every demo has run

    def open(self, browser, path: Path):
        context = browser.new_context(viewport=PROJECTOR)
        page = context.new_page()
        page.goto(self.lab.rise_url(path))
        page.wait_for_selector(".reveal .slides section.present", timeout=120_000)
        page.wait_for_selector("#rise-overlay", state="attached", timeout=60_000)
        page.evaluate("document.fonts.ready")
        settle(page)
        return context, page


@pytest.fixture(scope="module")
def stage(built_site, browser, tmp_path_factory):
    """Every deck written as make present writes it, and one JupyterLab to show them.

    The "ran" copies are the built notebooks (every demo's output in place) with the
    same stylesheet: the deck as it looks at the end of the talk."""
    present = _load_present()
    decks, ran = {}, {}
    shutil.rmtree(CHECKS, ignore_errors=True)
    CHECKS.mkdir(parents=True)
    for talk in find_talks():
        for lang in ("es", "en"):
            decks[talk.name, lang] = present.prepare(talk, lang, built_site.out)
            # beside the talk's source: the notebooks' images and diagrams are relative
            copy = talk.directory / f"{talk.name}.{lang}.ran.ipynb"
            shutil.copyfile(built_site.path(talk.name, lang, "ipynb"), copy)
            present.write_stage_css(copy)
            ran[talk.name, lang] = copy
    state = tmp_path_factory.mktemp("stage")
    env = dict(os.environ, **sandbox_environment(state / "jupyter"))
    try:
        with jupyter_lab(ROOT, env, state / "jupyterlab.log") as lab:
            yield Stage(lab, decks, ran)
    finally:
        for path in ran.values():
            path.unlink(missing_ok=True)
            path.with_suffix(".css").unlink(missing_ok=True)


# -- 1. readable on a projector, nothing off the screen --------------------------------

@pytest.mark.parametrize("when", ["before the demos", "after the demos"])
def test_every_slide_is_readable_on_a_projector_and_stays_on_the_screen(
        deck, when, stage, browser, language_notebooks):
    talk, lang = deck
    path = (stage.decks if when == "before the demos" else stage.ran)[deck]
    context, page = stage.open(browser, path)
    try:
        steps, found = 0, []
        for step in measure_steps(page):  # the screen: the RISE slide is the window
            steps += 1
            where = f"{step['id']} ({step['title']!r})"
            code_px, code_text = step["code"]
            text_px, text_text = step["text"]
            if code_px < CODE_PX - 0.05:
                found.append(f"{where}: code at {code_px:.1f}px ({code_text!r})")
            if text_px < TEXT_PX - 0.05:
                found.append(f"{where}: text at {text_px:.1f}px ({text_text!r})")
            found.extend(f"{where}: {problem}" for problem in step["problems"])
        assert found == []
        assert steps >= len(slides_of(language_notebooks(talk)[lang]))
    finally:
        context.close()


# -- 2. dressed as the HTML deck --------------------------------------------------------

CHROME = """() => {
    const box = el => { if (!el) return null; const r = el.getBoundingClientRect(),
                                                     c = getComputedStyle(el);
        return {text: el.innerText.trim().replace(/\\s+/g, ' '), left: r.left, top: r.top,
                right: r.right, bottom: r.bottom, size: c.fontSize, color: c.color,
                background: c.backgroundColor}; };
    const all = document.querySelectorAll('.reveal .slides section.present');
    const slide = all[all.length - 1];
    const heading = slide.querySelector('h1, h2');
    const hs = heading && getComputedStyle(heading);
    return {
        header: box(document.querySelector('#rise-header, .deck-header')),
        footer: box(document.querySelector('#rise-footer, .deck-footer')),
        number: box(document.querySelector('.reveal .slide-number')),
        heading: heading && {...box(heading), font: hs.fontFamily.split(',')[0],
                             transform: hs.textTransform, weight: hs.fontWeight},
        background: getComputedStyle(document.querySelector('.reveal-viewport')
                                     || document.body).backgroundColor,
    };
}"""


def _crop(png: bytes, box: dict, pad: int = 4) -> Image.Image:
    image = Image.open(io.BytesIO(png)).convert("L")
    return image.crop((int(box["left"]) - pad, int(box["top"]) - pad,
                       int(box["right"]) + pad, int(box["bottom"]) + pad))


def _difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute difference of two crops (0: identical, 255: inverted)."""
    b = b.resize(a.size)
    return ImageStat.Stat(ImageChops.difference(a, b)).mean[0]


def test_the_live_deck_is_dressed_as_the_html_deck(deck, stage, browser, built_site,
                                                    language_notebooks, tmp_path):
    talk, lang = deck
    total = len(slides_of(language_notebooks(talk)[lang]))
    html = browser.new_context(viewport=PROJECTOR)
    context, live = stage.open(browser, stage.decks[deck])
    try:
        static = html.new_page()
        static.goto(built_site.path(talk, lang, "html").resolve().as_uri())
        wait_for_reveal(static)
        static.evaluate("document.fonts.ready")
        for number in (1, 2, 3):  # the title slide, then the two after it
            if number > 1:
                live.keyboard.press("PageDown")
                static.evaluate(f"Reveal.slide({number - 1})")
            settle(live)
            settle(static)
            seen = {"live": live.evaluate(CHROME), "html": static.evaluate(CHROME)}
            shots = {"live": live.screenshot(), "html": static.screenshot()}
            for name, png in shots.items():
                (tmp_path / f"{talk}.{lang}.{number}.{name}.png").write_bytes(png)
            a, b = seen["live"], seen["html"]
            assert a["number"]["text"] == b["number"]["text"] == f"{number} / {total}"
            assert a["background"] == b["background"]
            for part in ("header", "footer", "number"):
                assert a[part]["text"] == b[part]["text"], part
                for key in ("size", "color", "background"):
                    assert a[part][key] == b[part][key], (part, key)
                for edge in ("left", "top", "right", "bottom"):
                    assert abs(a[part][edge] - b[part][edge]) <= 2, (part, edge, a[part], b[part])
                drawn = _difference(_crop(shots["live"], a[part]), _crop(shots["html"], b[part]))
                assert drawn < 12, f"{part} of slide {number} drawn differently ({drawn:.1f}); " \
                                   f"see {tmp_path}"
            for key in ("font", "transform", "weight", "color"):
                assert a["heading"][key] == b["heading"][key], (key, a["heading"], b["heading"])
            if number == 1:  # the title slide: a column in the middle, as the HTML deck's
                assert abs(a["heading"]["left"] - b["heading"]["left"]) <= 24
                middle = [(s["heading"]["top"] + s["heading"]["bottom"]) / 2 for s in (a, b)]
                assert abs(middle[0] - middle[1]) <= 60, middle
    finally:
        context.close()
        html.close()


# -- 3. the speaker view ----------------------------------------------------------------

SPEAKER = """words => {
    const notes = document.querySelector('.speaker-controls-notes');
    const time = document.querySelector('.speaker-controls-time .timer');
    const upcoming = document.querySelector('#upcoming-slide iframe');
    return notes !== null && time !== null && upcoming !== null
        && words.every(w => notes.textContent.includes(w)) ? time.textContent : null;
}"""


@pytest.mark.parametrize("name, lang", [("fosdem", "en"), ("pycones", "es")])
def test_the_speaker_view_shows_the_notes_the_next_slide_and_a_timer(
        name, lang, stage, browser, language_notebooks):
    slides = slides_of(language_notebooks(name)[lang])
    context, page = stage.open(browser, stage.decks[name, lang])
    try:
        page.locator(".reveal .slides section.present .jp-MarkdownCell").first.click()
        with context.expect_page(timeout=30_000) as opened:
            page.keyboard.press("t")  # RISE's key for reveal.js's speaker view
        speaker = opened.value
        for number in (0, 1):  # the notes follow the deck
            if number:
                page.keyboard.press("PageDown")
            words = re.findall(r"[^\W\d_]{4,}", slides[number].notes[0].source)[:5]
            timer = speaker.wait_for_function(SPEAKER, arg=words, timeout=60_000).json_value()
            assert re.fullmatch(r"\d\d:\d\d:\d\d", timer.strip())
        upcoming = speaker.frame_locator("iframe[src*='controls=false']")
        next_words = re.findall(r"[^\W\d_]{4,}", slides[2].title)[:2]
        for word in next_words:
            upcoming.locator("body").filter(has_text=re.compile(word, re.IGNORECASE)).wait_for(
                timeout=60_000)
        speaker.wait_for_timeout(1500)
        later = speaker.evaluate(SPEAKER, words)
        assert later != timer, "the timer does not run"
    finally:
        context.close()


# -- 4. a demo that hangs: one key, and the next cell runs --------------------------------

def _hanging_deck(lang: str = "en") -> nbformat.NotebookNode:
    slide = {"slideshow": {"slide_type": "slide"}}
    cells = [
        nbformat.v4.new_markdown_cell("## A demo that hangs", metadata=slide),
        nbformat.v4.new_code_cell("import time\nprint('waiting', flush=True)\n"
                                  "time.sleep(600)"),
        nbformat.v4.new_code_cell("print('the next cell ran')"),
    ]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["rise"] = {"theme": "white", "width": "100%", "height": "100%", "margin": 0,
                           "minScale": 1}
    nb.metadata["deck"] = {"lang": lang}
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nb


OUTPUT_OF = """index => {
    const cells = document.querySelectorAll('.reveal .slides section.present .jp-CodeCell');
    return cells[index] ? cells[index].querySelector('.jp-OutputArea').innerText : '';
}"""


def test_a_demo_that_hangs_stops_at_one_key_and_the_next_cell_runs(stage, browser):
    present = _load_present()
    path = CHECKS / "hang.en.ipynb"
    nbformat.write(_hanging_deck(), path)
    present.write_stage_css(path)
    context, page = stage.open(browser, path)
    try:
        first = page.locator(".reveal .slides section.present .jp-CodeCell").first
        first.locator(".jp-InputArea-editor").click()
        page.keyboard.press("Shift+Enter")  # runs it, selects the next cell
        page.wait_for_function(f"() => ({OUTPUT_OF})(0).includes('waiting')", timeout=90_000)
        page.keyboard.press("Escape")  # command mode, if the click left the editor on
        page.keyboard.press(INTERRUPT_KEY.lower())
        page.wait_for_function(f"() => ({OUTPUT_OF})(0).includes('KeyboardInterrupt')",
                               timeout=30_000)
        # the next cell, as the speaker runs it (a click during RISE's re-selection can
        # miss: click and press again, a few times at most)
        second = page.locator(".reveal .slides section.present .jp-CodeCell").nth(1)
        for _ in range(3):
            second.locator(".jp-InputArea-editor").click()
            page.keyboard.press("Shift+Enter")
            try:
                page.wait_for_function(
                    f"() => ({OUTPUT_OF})(1).includes('the next cell ran')", timeout=30_000)
                break
            except PlaywrightTimeout:
                continue
        else:
            raise AssertionError("the cell after the interrupted one did not run")
    finally:
        context.close()


def test_present_puts_each_demos_output_in_the_notes(deck, stage, built_site):
    talk, lang = deck
    presented = nbformat.read(stage.decks[deck], as_version=4)
    built = nbformat.read(built_site.path(talk, lang, "ipynb"), as_version=4)
    with_block = [s.number for s in slides_of(presented)
                  if s.notes and EXPECTED_LABELS[lang] in s.notes[0].source]
    expected = [s.number for s in slides_of(built)
                if s.notes and EXPECTED_LABELS[lang] in s.notes[0].source]
    assert with_block == expected and with_block
    demos = [c for c in presented.cells if c.cell_type == "code"
             and not c.metadata.get("jupyter", {}).get("source_hidden")]
    assert all(not c.outputs for c in demos)  # the demos still run live
