"""``decks.listing``, the decks' helper for showing real source on a slide: it shows the
real text at the deck's code font, in steps that each fit the slide (``decks.steps``),
and fails loudly when what it should show is gone; and every kernel the pipeline
starts can import it.
"""

from __future__ import annotations

import os
import re
import shutil
import textwrap

import nbformat
import pytest

from decks import CODE_FONT_PX, SLIDE_SIZE, SLIDES_DIR, fingerprint
from decks.execute import execute, jupyter_sandbox
from decks.listing import Listing, listing, script_source, show, show_script, source_of
from decks.steps import (
    CHAR_WIDTH,
    MAX_HEIGHT,
    MAX_WIDTH,
    columns_that_fit,
    cut,
    print_zoom,
    rows_of,
    rows_that_fit,
)


def _step_rows(shown: Listing) -> list[int]:
    lines = shown.text.split("\n")
    return [sum(rows_of(line, shown.columns) for line in lines[a:b]) for a, b in shown.steps]


def _steps_html(html: str) -> list[str]:
    return re.findall(r"<pre[^>]*>(.*?)</pre>", html, re.DOTALL)


def _plain(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html).replace("&lt;", "<").replace("&gt;", ">").replace(
        "&amp;", "&").replace("&#39;", "'").replace("&quot;", '"')


# -- sizing: never shrunk; in steps; wrapped ---------------------------------------------

def test_a_short_listing_is_one_step_at_the_decks_code_font():
    shown = listing("x = 1\nprint(x)")
    assert shown.font_size == CODE_FONT_PX and shown.steps == ((0, 2),)
    assert "deck-step" not in shown._repr_html_()
    assert MAX_WIDTH < SLIDE_SIZE[0] and MAX_HEIGHT < SLIDE_SIZE[1]
    assert shown.columns == columns_that_fit() == int(MAX_WIDTH // (CHAR_WIDTH * CODE_FONT_PX))


@pytest.mark.parametrize("count", [25, 40, 60])
def test_a_long_listing_keeps_its_font_and_comes_in_steps_that_each_fit(count):
    text = "\n\n".join(f"def step_{n}():\n    return {n}" for n in range(count // 3))
    shown = listing(text)
    rows = rows_that_fit()
    assert shown.font_size == CODE_FONT_PX
    assert len(shown.steps) == -(-len(text.splitlines()) // rows) or len(shown.steps) > 1
    assert all(tall <= rows for tall in _step_rows(shown))
    assert shown.steps[0][0] == 0 and shown.steps[-1][1] == len(text.splitlines())
    assert all(a[1] == b[0] for a, b in zip(shown.steps, shown.steps[1:]))  # nothing lost
    for start, _ in shown.steps:  # each step starts at a definition
        assert text.splitlines()[start].startswith("def step_")
    html = shown._repr_html_()
    parts = _steps_html(html)
    assert len(parts) == len(shown.steps) and 'class="highlight deck-listing deck-steps"' in html
    assert "\n".join(_plain(part) for part in parts).replace("\n\n", "\n") == \
        shown.text.replace("\n\n", "\n")
    zoom = float(re.search(r"--deck-print-zoom: ([0-9.]+)", html)[1])
    assert zoom == pytest.approx(print_zoom(sum(_step_rows(shown)), rows), abs=1e-3)
    assert zoom * sum(_step_rows(shown)) <= rows  # the handout's page holds every step


def test_steps_cut_at_the_outermost_pause_then_evenly():
    method = "    def m_{0}(self):\n        return {0}\n"
    text = "class A:\n" + "".join(method.format(n) for n in range(6)) + "\n" + \
        "def after():\n    return 1\n" + "class B:\n" + "".join(
            method.format(n) for n in range(6, 9))
    lines = text.rstrip("\n").split("\n")
    steps = cut(text.rstrip("\n"), 16, 77)
    assert len(steps) == 2 and lines[steps[1][0]] in ("def after():", "class B:")
    assert cut("a = 1\nb = 2", 16, 77) == [(0, 2)]


def test_code_that_cannot_be_cut_says_where_to_add_a_pause():
    with pytest.raises(ValueError, match="add a blank line"):
        listing("\n".join(f"x_{n} = {n}" for n in range(40)))
    with pytest.raises(ValueError, match="steps of 4 to"):  # an import alone is no step
        cut("import os\n\n" + "\n".join(f"x_{n} = {n}" for n in range(12)), 12, 77)
    with pytest.raises(ValueError, match="positive size"):
        listing("x = 1", max_height=0)


def test_a_lower_box_gives_more_steps():
    text = "\n\n".join(f"value_{n} = {n}" for n in range(10))
    assert len(listing(text, max_height=300).steps) > len(listing(text).steps)
    assert all(tall <= rows_that_fit(300) for tall in _step_rows(listing(text, max_height=300)))


def test_a_step_never_starts_inside_a_triple_quoted_string():
    text = ('def f():\n    """Doc\n\ndef not_here():\n    """\n    return 1\n\n'
            'def g():\n    a = 1\n    b = 2\n    return a + b')
    steps = cut(text, 7, 77)
    starts = [text.split("\n")[a] for a, _ in steps]
    assert "def not_here():" not in starts and "def g():" in starts


@pytest.mark.parametrize("columns", [80, 100, 140])
def test_a_wide_line_wraps_with_a_hanging_indent_and_counts_its_rows(columns):
    wide = "    y = '" + "w " * ((columns - 10) // 2) + "'"
    shown = listing("def f():\n" + wide)
    assert shown.font_size == CODE_FONT_PX
    html = shown._repr_html_()
    assert "white-space: pre-wrap" in html and "padding-left: 8ch; text-indent: -8ch" in html
    assert rows_of(wide, shown.columns) > 1
    assert rows_of("\t" * 9 + "x = 1", 77) == rows_of(" " * 72 + "x = 1", 77)


def test_runs_of_blank_lines_show_as_one_and_the_text_is_otherwise_untouched():
    shown = listing("\n\nimport os\n\n\n\ndef f():\n    return os.sep\n  \n\n")
    assert shown.text == "import os\n\ndef f():\n    return os.sep"


def test_the_html_is_highlighted_inline_at_the_code_font_and_the_plain_text_is_the_source():
    shown = listing("if a < b:\n    print('<&>')\n" + "z = 0  # " + "x" * 90)
    html = shown._repr_html_()
    assert f"font-size: {CODE_FONT_PX}px" in html and "white-space: pre" in html
    assert "<style" not in html and "class=\"k\"" not in html  # no stylesheet needed
    assert "&lt;&amp;&gt;" in html and "<&>" not in html
    assert _plain(html).strip() == shown.text
    assert repr(shown) == shown.text
    with pytest.raises(TypeError, match="use show"):
        listing(test_runs_of_blank_lines_show_as_one_and_the_text_is_otherwise_untouched)


# -- the real source -------------------------------------------------------------------

def test_show_is_the_real_source_of_functions_and_methods():
    """Read back from the file: the function as it is, the method as it is once
    indented back into its class."""
    shown = show(Listing._wrapped, listing)
    method, function = shown.text.split("\n\n", 1)
    in_file = (SLIDES_DIR / "decks" / "listing.py").read_text()
    assert function.startswith("def listing(") and f"\n{function}\n" in in_file
    assert method.startswith("def _wrapped(self")
    assert f"\n{textwrap.indent(method, '    ')}\n" in in_file


MODULE = '''\
import functools


def serve(loop):
    """A server made of callbacks."""

    def on_connection(server, error):
        server.accept()

    @functools.lru_cache
    def on_read(handle, data, error):
        handle.write(data)

    async def on_close(handle):
        pass

    return on_connection, on_read


if __name__ == "__main__":
    print("started")
    serve(None)
'''


@pytest.fixture
def module(tmp_path, monkeypatch):
    """A small module on disk (inspect reads the source from the file)."""
    (tmp_path / "callbacks_demo.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib
    yield importlib.import_module("callbacks_demo")
    import sys
    sys.modules.pop("callbacks_demo", None)


def test_only_shows_the_nested_functions_named_decorators_included(module):
    text = source_of(module.serve, only=("on_read", "on_connection", "on_close"))
    assert text == ("@functools.lru_cache\ndef on_read(handle, data, error):\n"
                    "    handle.write(data)\n\n"
                    "def on_connection(server, error):\n    server.accept()\n\n"
                    "async def on_close(handle):\n    pass")
    assert source_of(module.serve, only="on_connection").startswith("def on_connection")


def test_only_raises_lookup_error_naming_a_renamed_function(module):
    with pytest.raises(LookupError, match=r"serve defines no on_write, on_data"):
        show(module.serve, only=("on_read", "on_write", "on_data"))
    with pytest.raises(LookupError, match="defines no serve"):  # not itself
        source_of(module.serve, only=("serve",))


def test_script_source_reads_statements_without_importing_the_script(tmp_path):
    script = tmp_path / "crawler.py"
    script.write_text(MODULE.replace('print("started")', 'raise SystemExit("imported!")'))
    assert script_source(script, "import functools", "serve").startswith(
        'import functools\n\ndef serve(loop):\n    """A server made of callbacks."""')
    assert script_source(script, "on_read", inside="serve") == (
        "@functools.lru_cache\ndef on_read(handle, data, error):\n    handle.write(data)")
    assert script_source(script, "return", inside="serve") == "return on_connection, on_read"
    shown = show_script(script, "if __name__")
    assert shown.text.splitlines()[1] == '    raise SystemExit("imported!")'


@pytest.mark.parametrize("starts, inside, message", [
    (("fetch",), None, r"crawler.py has no statement defining or starting with 'fetch'"),
    (("serve", "fetch"), None, r"starting with 'fetch'"),
    (("on_write",), "serve", r"crawler.py, in serve\(\), has no statement .* 'on_write'"),
    (("on_read",), "crawl", r"crawler.py defines no top-level crawl"),
])
def test_script_source_raises_lookup_error_on_a_renamed_function(tmp_path, starts, inside,
                                                                   message):
    script = tmp_path / "crawler.py"
    script.write_text(MODULE)
    with pytest.raises(LookupError, match=message):
        script_source(script, *starts, inside=inside)


def test_the_helpers_need_something_to_show(tmp_path):
    with pytest.raises(TypeError, match="at least one"):
        show()
    with pytest.raises(TypeError, match="at least one"):
        script_source(tmp_path / "x.py")


# -- where it runs ---------------------------------------------------------------------

def test_a_kernel_of_the_pipeline_imports_it_and_runs_in_the_talks_folder(tmp_path):
    """The build's kernels, and make present's (the same kernelspec), have slides/ on
    their PYTHONPATH and the talk's folder as their working directory."""
    talk = tmp_path / "talks" / "sample"
    talk.mkdir(parents=True)
    cell = ("import os, decks.listing\n"
            "print(decks.listing.__file__)\nprint(os.getcwd())\n"
            "decks.listing.listing('x = 1')")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell)])
    with jupyter_sandbox(tmp_path / "jupyter"):
        execute(nb, talk)
    stream, result = nb.cells[0].outputs
    assert stream.text.splitlines() == [str(SLIDES_DIR / "decks" / "listing.py"), str(talk)]
    assert "font-size: 19" in result.data["text/html"] and result.data["text/plain"] == "x = 1"


def test_the_rebuild_hash_follows_the_listing_helper(tmp_path, monkeypatch):
    """Decks are rebuilt when the helper their cells import changes."""
    copy = tmp_path / "slides"
    for part in ("decks", "template"):
        shutil.copytree(SLIDES_DIR / part, copy / part,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(SLIDES_DIR / "package-lock.json", copy)
    monkeypatch.setattr(fingerprint, "SLIDES_DIR", copy)
    before = fingerprint.toolchain()
    helper = copy / "decks" / "listing.py"
    helper.write_text(helper.read_text().replace("margin: 0; ", "margin: 1px; "))
    assert fingerprint.toolchain() != before


def test_a_deck_kernel_knows_its_language_as_on_stage(tmp_path):
    """Shared code cells ask decks.deck_language() which deck they run in: the build
    names the notebook to the kernel as JupyterLab does (JPY_SESSION_NAME)."""
    talk = tmp_path / "talks" / "sample"
    talk.mkdir(parents=True)
    cell = "from decks import deck_language\nprint(deck_language())"
    before = os.environ.get("JPY_SESSION_NAME")
    for name, expected in (("sample.es.ipynb", "es"), ("sample.en.ipynb", "en"),
                           ("sample.md", "en"), (None, "en")):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell)])
        with jupyter_sandbox(tmp_path / "jupyter"):
            execute(nb, talk, notebook_path=talk / name if name else None)
        assert nb.cells[0].outputs[0].text.strip() == expected, name
    assert os.environ.get("JPY_SESSION_NAME") == before
