"""The build: every deck executes from a fresh kernel, its outputs and the index exist,
PDFs have one page per slide, unchanged decks are not rebuilt, failing demos fail it.
"""

from __future__ import annotations

import re
import time

import nbformat
import pytest
from pypdf import PdfReader

from decks import LANGUAGES
from decks.pipeline import Build
from decks.render import demo_command, demo_slides
from decks.source import slides_of

pytestmark = pytest.mark.timeout(900)  # the first test pays for the whole site's build


def test_every_code_cell_runs_from_a_fresh_kernel(deck, built_site):
    talk, lang = deck
    assert built_site.result(talk, lang).status == "built"
    nb = nbformat.read(built_site.path(talk, lang, "ipynb"), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, "a deck has at least one live demo"
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors


def test_each_deck_has_its_html_pdf_and_notebook(deck, built_site):
    talk, lang = deck
    result = built_site.result(talk, lang)
    html = built_site.path(talk, lang, "html").read_text()
    assert f'<html lang="{lang}">' in html
    other = next(code for code in LANGUAGES if code != lang)
    assert f'href="{talk}.{other}.html"' in html  # the same talk in the other language
    assert 'href="../index.html"' in html
    assert built_site.path(talk, other, "html").is_file()
    assert result.slides == len(slides_of(nbformat.read(built_site.path(talk, lang, "ipynb"), 4)))


def test_the_html_refers_to_nothing_outside_itself(deck, built_site):
    """The markup's part of the offline guarantee (the browser checks the scripts')."""
    talk, lang = deck
    html = built_site.path(talk, lang, "html").read_text()
    html = re.sub(r"<script>.*?</script>", "", html, flags=re.DOTALL)  # inline code, not markup
    fetched = re.findall(r"""<(?:script|link|img|iframe|source|video|audio)\b[^>]*?"""
                         r"""\b(?:src|href)=["']?(?!data:|#|[\w.-]+\.html)([^"' >]+)""", html)
    assert fetched == []
    assert "@import" not in html


def test_each_demo_slide_carries_its_make_demo_command(deck, built_site):
    """Every slide with a demo, and only those, is marked with its command (the browser
    check shows it on screen and runs it through tools/demo.py)."""
    talk, lang = deck
    html = built_site.path(talk, lang, "html").read_text()
    nb = nbformat.read(built_site.path(talk, lang, "ipynb"), as_version=4)
    marked = set(re.findall(r'<section [^>]*data-demo="([^"]+)"', html))
    assert marked == {demo_command(talk, number, lang) for number in demo_slides(nb)}
    assert marked


@pytest.mark.browser  # Chromium prints the PDFs
def test_each_pdf_has_one_page_per_slide(deck, built_site):
    if not built_site.pdf:
        pytest.skip("no PDFs without Chromium (apt install chromium); CI builds them")
    talk, lang = deck
    pages = len(PdfReader(built_site.path(talk, lang, "pdf")).pages)
    assert pages == built_site.result(talk, lang).slides


def test_the_index_lists_every_talk_in_both_languages(built_site):
    index = (built_site.out / "index.html").read_text()
    for talk, lang in built_site.results:
        for suffix in ("html", "pdf", "ipynb") if built_site.pdf else ("html", "ipynb"):
            href = f"{talk}/{talk}.{lang}.{suffix}"
            assert f'href="{href}"' in index
            assert (built_site.out / href).is_file()
    assert ('.pdf"' in index) == built_site.pdf  # no links to handouts not built


def test_unchanged_decks_are_not_rebuilt(built_site):
    started = time.monotonic()
    again = Build(out=built_site.out, state=built_site.state, pdf=built_site.pdf).run()
    assert {r.status for r in again} == {"up to date"}
    assert time.monotonic() - started < 30  # no kernel, no browser: seconds at most


# -- failures -------------------------------------------------------------------------

def _build_one(make_talk, body, tmp_path):
    talk = make_talk(body)
    return Build([talk], out=tmp_path / "site", state=tmp_path / "state", pdf=False).run()


def test_a_failing_demo_fails_its_decks_and_names_the_slide(make_talk, cells, tmp_path):
    body = cells.slide("Works", "Funciona", body=cells.code("print('ok')"))
    body += cells.slide("Breaks", "Falla", body=cells.code("1 / 0"))
    results = _build_one(make_talk, body, tmp_path)
    assert [r.status for r in results] == ["failed", "failed"]
    assert "sample.es: the code cell at slide 2 ('Falla')" in results[0].error
    assert "ZeroDivisionError" in results[0].error
    assert not (tmp_path / "site" / "sample" / "sample.es.html").exists()


def test_a_demo_that_outlives_its_timeout_fails_the_build(make_talk, cells, tmp_path):
    slow = cells.code("import time\ntime.sleep(30)", timeout=1)
    results = _build_one(make_talk, cells.slide(body=slow), tmp_path)
    assert [r.status for r in results] == ["failed", "failed"]
    assert "timed out" in results[0].error


def test_a_cell_tagged_raises_exception_may_fail_on_purpose(make_talk, cells, tmp_path):
    history = cells.code("import asyncio\nasyncio.async", tags=["raises-exception"])
    results = _build_one(make_talk, cells.slide(body=history), tmp_path)
    assert [r.status for r in results] == ["built", "built"]


def test_a_structure_mismatch_fails_the_build(make_talk, cells, tmp_path):
    body = cells.slide() + cells.text("en", "## English only", "slide")
    results = _build_one(make_talk, body, tmp_path)
    assert [r.status for r in results] == ["failed", "failed"]
    assert "en has an extra slide 2" in results[1].error
