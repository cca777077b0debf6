"""``decks.listing``, the decks' helper for showing real source on a slide: it shows the
real text, fits it to the slide, and fails loudly when what it should show is gone;
and every kernel the pipeline starts can import it.
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
from decks.listing import (
    CHAR_WIDTH,
    LINE_HEIGHT,
    MAX_HEIGHT,
    MAX_WIDTH,
    Listing,
    font_size,
    listing,
    script_source,
    show,
    show_script,
    source_of,
)


def _fits(shown: Listing, max_width: float = MAX_WIDTH, max_height: float = MAX_HEIGHT) -> bool:
    lines = shown.text.splitlines()
    width = max(len(line) for line in lines) * CHAR_WIDTH * shown.font_size
    return width <= max_width and len(lines) * LINE_HEIGHT * shown.font_size <= max_height


# -- sizing ------------------------------------------------------------------------------

def test_a_short_listing_keeps_the_decks_code_font():
    assert listing("x = 1\nprint(x)").font_size == CODE_FONT_PX
    assert MAX_WIDTH < SLIDE_SIZE[0] and MAX_HEIGHT < SLIDE_SIZE[1]


@pytest.mark.parametrize("columns", [80, 100, 140])
def test_a_wide_listing_shrinks_until_its_widest_line_fits(columns):
    wide = listing("x = 1\n" + "y = '" + "w" * (columns - 6) + "'")
    assert wide.font_size < CODE_FONT_PX and _fits(wide)
    assert font_size("y" * (columns + 20)) < font_size("y" * columns)


@pytest.mark.parametrize("count", [25, 40, 60])
def test_a_long_listing_shrinks_until_its_height_fits(count):
    long = listing("\n".join(f"line_{n} = {n}" for n in range(count)))
    assert long.font_size < CODE_FONT_PX and _fits(long)


def test_a_lower_box_gives_a_smaller_font():
    text = "\n".join(f"value_{n} = {n}" for n in range(20))
    assert listing(text, max_height=300).font_size < listing(text).font_size
    assert _fits(listing(text, max_height=300), max_height=300)
    with pytest.raises(ValueError, match="positive size"):
        listing(text, max_height=0)


def test_tabs_count_as_the_columns_they_take():
    assert font_size("\t\t\t\t\t\t\t\t\tx = 1") == font_size(" " * 72 + "x = 1")


def test_runs_of_blank_lines_show_as_one_and_the_text_is_otherwise_untouched():
    shown = listing("\n\nimport os\n\n\n\ndef f():\n    return os.sep\n  \n\n")
    assert shown.text == "import os\n\ndef f():\n    return os.sep"


def test_the_html_is_highlighted_inline_at_the_fitted_size_and_the_plain_text_is_the_source():
    shown = listing("if a < b:\n    print('<&>')\n" + "z = 0  # " + "x" * 90)
    html = shown._repr_html_()
    assert f"font-size: {shown.font_size}px" in html and "white-space: pre" in html
    assert "<style" not in html and "class=\"k\"" not in html  # no stylesheet needed
    assert "&lt;&amp;&gt;" in html and "<&>" not in html
    assert re.sub(r"<[^>]+>", "", html).replace("&lt;", "<").replace("&gt;", ">").replace(
        "&amp;", "&").replace("&#39;", "'").strip() == shown.text
    assert repr(shown) == shown.text
    with pytest.raises(TypeError, match="use show"):
        listing(test_runs_of_blank_lines_show_as_one_and_the_text_is_otherwise_untouched)


# -- the real source -------------------------------------------------------------------

def test_show_is_the_real_source_of_functions_and_methods():
    """Read back from the file: the function as it is, the method as it is once
    indented back into its class."""
    shown = show(font_size, Listing._repr_html_)
    function, method = shown.text.split("\n\n", 1)
    in_file = (SLIDES_DIR / "decks" / "listing.py").read_text()
    assert function.startswith("def font_size(") and f"\n{function}\n" in in_file
    assert method.startswith("def _repr_html_(self)")
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
    helper.write_text(helper.read_text().replace("CHAR_WIDTH = 0.61", "CHAR_WIDTH = 0.62"))
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
