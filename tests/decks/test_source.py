"""The source format: the split into languages, the checks it makes, the lint rules.

No kernel and no browser here: these run in a second or two.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
from html.parser import HTMLParser

import jupytext
import pytest

from decks import LANGUAGES, SLIDES_DIR
from decks.fingerprint import deck_fingerprint, imported_modules, modules_fingerprint, toolchain
from decks.lint import MAX_COLUMNS, guess_language, lint
from decks.source import (
    HIDE_INPUT_TAG,
    LANG_TAG_PREFIX,
    DeckSourceError,
    read_source,
    slide_type,
    slides_of,
    split,
)

# -- the real decks -------------------------------------------------------------------

def test_both_languages_have_the_same_slides_and_code(talk, language_notebooks):
    decks = language_notebooks(talk)
    shapes = {lang: [[(c.cell_type, slide_type(c)) for c in s.cells]
                     for s in slides_of(nb)] for lang, nb in decks.items()}
    code = {lang: [c.source for c in nb.cells if c.cell_type == "code"]
            for lang, nb in decks.items()}
    assert shapes["es"] == shapes["en"]
    assert code["es"] == code["en"]
    assert len(shapes["en"]) >= 3


def test_a_language_notebook_is_a_rise_notebook_of_that_language(talk, language_notebooks):
    for lang, nb in language_notebooks(talk).items():
        assert nb.metadata.deck.lang == lang and nb.metadata.deck.talk == talk.name
        assert nb.metadata.rise["theme"] and nb.metadata.rise["transition"]
        assert nb.metadata.kernelspec.name == "python3"
        assert "jupytext" not in nb.metadata  # no pairing when JupyterLab opens it
        for cell in nb.cells:
            assert not any(t.startswith(LANG_TAG_PREFIX) for t in cell.metadata.get("tags", []))


def test_the_real_decks_pass_the_lint(deck, language_notebooks):
    name, lang = deck
    problems = lint(language_notebooks(name)[lang])
    assert not problems, "\n".join(map(str, problems))


def test_jupyterlab_saving_the_source_keeps_the_rise_and_deck_metadata(talk, tmp_path):
    """JupyterLab saves through jupytext; the header's filter must keep our keys."""
    nb = read_source(talk)
    saved = tmp_path / "saved.md"
    jupytext.write(nb, saved, fmt="md:myst")
    again = jupytext.read(saved)
    assert again.metadata["rise"] == nb.metadata["rise"]
    assert again.metadata["deck"] == nb.metadata["deck"]
    assert [c.metadata for c in again.cells] == [c.metadata for c in nb.cells]


# -- the split and its checks ------------------------------------------------------------

def test_shared_cells_go_to_both_languages_and_tagged_ones_to_theirs(make_talk, cells):
    talk = make_talk(cells.slide(body=cells.code("print(1 + 1)")) + cells.slide("End", "Fin"))
    decks = split(talk)
    assert [s.title for s in slides_of(decks["en"])] == ["Title", "End"]
    assert [s.title for s in slides_of(decks["es"])] == ["Título", "Fin"]
    assert decks["en"].metadata.rise["footer"] == "the English footer"
    assert decks["es"].metadata.rise["footer"] == "el pie en español"
    assert decks["es"].metadata.rise["header"] == "the header"
    assert decks["es"].metadata.title == "Una charla de prueba"


def test_a_slide_missing_in_one_language_fails_the_split(make_talk, cells):
    body = cells.slide() + cells.text("en", "## Only in English", "slide")
    body += cells.text("en", cells.notes["en"], "notes")
    with pytest.raises(DeckSourceError,
                       match=r"es has 1 slides and en has 2; en has an extra slide 2"):
        split(make_talk(body))


def test_a_cell_missing_in_one_language_fails_the_split(make_talk, cells):
    body = cells.slide() + cells.text("en", "An extra paragraph") + cells.slide("B", "B")
    with pytest.raises(DeckSourceError, match=r"differ at .*'Title'.*markdown -"):
        split(make_talk(body))


def test_a_code_cell_cannot_belong_to_one_language(make_talk, cells):
    body = cells.slide(body=cells.code("print('hi')", tags=["lang-en"]))
    with pytest.raises(DeckSourceError, match="code cells are shared"):
        split(make_talk(body))


@pytest.mark.parametrize("body, message", [
    ('+++ {"slideshow": {"slide_type": "notes"}}\n\nnotes for whom?\n\n',
     "speaker notes belong to one language"),
    ('+++ {"slideshow": {"slide_type": "slide"}, "tags": ["lang-fr"]}\n\n# Bonjour\n\n',
     "unknown language tag 'lang-fr'"),
    ('+++ {"slideshow": {"slide_type": "slide"}, "tags": ["lang-es", "lang-en"]}\n\n# x\n\n',
     "one language tag at most"),
    ('+++ {"slideshow": {"slide_type": "side"}, "tags": ["lang-en"]}\n\n# x\n\n',
     "unknown slide type 'side'"),
])
def test_malformed_cells_are_refused_with_the_reason(make_talk, cells, body, message):
    with pytest.raises(DeckSourceError, match=re.escape(message)):
        split(make_talk(cells.slide() + body))


def test_a_shown_cell_before_the_first_slide_is_refused(make_talk, cells):
    body = cells.text("en", "stray") + cells.text("es", "suelto") + cells.slide()
    with pytest.raises(DeckSourceError, match="before the first slide"):
        split(make_talk(body))


def test_a_theme_that_needs_web_fonts_is_refused(make_talk, cells):
    with pytest.raises(DeckSourceError, match="'simple' loads web fonts"):
        split(make_talk(cells.slide(), theme="simple"))


def test_the_header_must_keep_rise_and_deck_when_jupyterlab_saves(make_talk, cells):
    with pytest.raises(DeckSourceError, match="notebook_metadata_filter must list deck"):
        split(make_talk(cells.slide(), keep="rise"))


def test_images_and_diagrams_are_inlined_per_language(make_talk, cells):
    svg = '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>'
    script = """\
        import argparse, pathlib
        p = argparse.ArgumentParser()
        p.add_argument("--lang"); p.add_argument("--output")
        a = p.parse_args()
        pathlib.Path(a.output).write_text(f"<svg><text>{a.lang}</text></svg>")
        """
    body = cells.slide(body="+++\n\n![a picture](images/dot.svg) ![a diagram](diagrams/d.py)\n\n")
    decks = split(make_talk(body, files={"images/dot.svg": svg, "diagrams/d.py": script}))
    for lang in LANGUAGES:
        uris = re.findall(r"data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)",
                          "".join(c.source for c in decks[lang].cells))
        assert [base64.b64decode(u).decode() for u in uris] == [
            svg, f"<svg><text>{lang}</text></svg>"]


@pytest.mark.parametrize("image, message", [
    ("https://example.org/x.png", "not a file of the talk"),
    ("images/missing.png", "does not exist"),
    ("notes.txt", "not an image"),
])
def test_images_that_would_not_work_offline_are_refused(make_talk, cells, image, message):
    body = cells.slide(body=f"+++\n\n![x]({image})\n\n")
    with pytest.raises(DeckSourceError, match=message):
        split(make_talk(body, files={"notes.txt": "text"}))


def test_a_failing_diagram_script_fails_the_split_with_its_error(make_talk, cells):
    body = cells.slide(body="+++\n\n![d](diagrams/bad.py)\n\n")
    files = {"diagrams/bad.py": "raise SystemExit('cannot draw this')\n"}
    with pytest.raises(DeckSourceError, match="cannot draw this"):
        split(make_talk(body, files=files))


def test_hide_input_hides_the_code_in_rise(make_talk, cells):
    body = cells.slide(body=cells.code("print(2)", tags=[HIDE_INPUT_TAG]))
    nb = split(make_talk(body))["en"]
    code = next(c for c in nb.cells if c.cell_type == "code")
    assert code.metadata["jupyter"]["source_hidden"] is True


# -- lint --------------------------------------------------------------------------------

def _problems(make_talk, body, lang="en"):
    return [p.message for p in lint(split(make_talk(body))[lang])]


def test_lint_passes_a_well_formed_deck(make_talk, cells):
    assert _problems(make_talk, cells.slide(body=cells.code("x = 1"))) == []


def test_lint_finds_code_wider_than_a_slide(make_talk, cells):
    wide = "x = " + "1 + " * 20 + "1"
    assert len(wide) > MAX_COLUMNS
    problems = _problems(make_talk, cells.slide(body=cells.code(wide)))
    assert problems == [f"a code line is {len(wide)} columns (at most {MAX_COLUMNS}): "
                        f"{wide[:50]!r}"]


def test_lint_finds_wide_listings_in_the_text(make_talk, cells):
    listing = "```python\n" + "y = '" + "z" * 80 + "'\n```"
    body = cells.slide(body=f"+++\n\n{listing}\n\n")
    assert any("a listing line" in p for p in _problems(make_talk, body))


def test_lint_wants_speaker_notes_on_every_slide(make_talk, cells):
    body = cells.slide() + cells.slide("No notes", "Sin notas", notes={})
    problems = _problems(make_talk, body, "es")
    assert problems == ["the slide has no speaker notes (add a notes cell tagged lang-es)"]


def test_lint_finds_notes_in_the_wrong_language(make_talk, cells):
    swapped = {"en": cells.notes["es"], "es": cells.notes["en"]}
    problems = _problems(make_talk, cells.slide(notes=swapped))
    assert problems == ["the speaker notes read as 'es', not 'en'"]


def test_lint_finds_an_empty_slide(make_talk, cells):
    empty = cells.code("", "slide")  # an empty cell, and a comment that renders as nothing
    empty += cells.text("en", "<!-- to do -->") + cells.text("es", "<!-- pendiente -->")
    empty += cells.text("en", cells.notes["en"], "notes")
    empty += cells.text("es", cells.notes["es"], "notes")
    problems = _problems(make_talk, cells.slide() + empty)
    assert problems == ["the slide is empty (no text or code is shown on it)"]


def test_language_guess():
    assert guess_language("The loop waits for the sockets that are ready, and then it "
                          "runs the callbacks.") == "en"
    assert guess_language("El bucle espera a que los sockets estén listos y después "
                          "ejecuta los callbacks.") == "es"
    assert guess_language("asyncio uvloop rose evergreen") is None


# -- what a rebuild depends on --------------------------------------------------------------

def test_imports_are_found_in_cells_with_await_and_magics():
    cell = "%load_ext autoreload\nimport rose.loop\nfrom evergreen import x\nawait rose.go()"
    assert imported_modules(cell) == {"rose", "evergreen"}


def test_the_fingerprint_follows_the_talk_folder(make_talk, cells):
    talk = make_talk(cells.slide(), files={"images/a.svg": "<svg/>"})
    tool = toolchain()
    before = deck_fingerprint(talk, tool)
    assert deck_fingerprint(talk, tool) == before
    (talk.directory / "images" / "a.svg").write_text("<svg></svg>")
    assert deck_fingerprint(talk, tool) != before
    assert deck_fingerprint(talk, "another toolchain") != deck_fingerprint(talk, tool)


def test_the_fingerprint_follows_the_code_of_imported_repository_packages(tmp_path, monkeypatch):
    package = tmp_path / "demo_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("import demo_helper\n")
    (tmp_path / "demo_helper.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    before = modules_fingerprint({"demo_pkg"}, root=tmp_path)
    (tmp_path / "demo_helper.py").write_text("VALUE = 2\n")  # reached through demo_pkg
    assert modules_fingerprint({"demo_pkg"}, root=tmp_path) != before


def test_lint_ignores_the_width_of_hidden_inputs(make_talk, cells):
    wide = "print('" + "w" * 80 + "'[:10])"
    body = cells.slide(body=cells.code(wide, tags=[HIDE_INPUT_TAG]))
    assert _problems(make_talk, body) == []


def test_the_source_is_as_jupyterlab_would_save_it(talk):
    """Saving in JupyterLab (through jupytext) must leave the file as it is, so that a
    presenter's save makes no diff."""
    text = talk.source.read_text()
    assert jupytext.writes(jupytext.read(talk.source), fmt="md:myst") == text, (
        f"normalise it with: .venv/bin/jupytext --to md:myst talks/{talk.name}/{talk.name}.md")


def test_a_skipped_code_cell_is_refused_because_rise_never_runs_it(make_talk, cells):
    """A setup cell of type skip runs in the build but not on stage: the demos after it
    would work in the built deck and fail live."""
    body = cells.code("import asyncio", "skip") + cells.slide(body=cells.code("print(1)"))
    with pytest.raises(DeckSourceError, match=r"cell 1 \(code: 'import asyncio'\): a code cell "
                                              r"of slide type 'skip' .*RISE does not run"):
        split(make_talk(body))
    later = cells.slide(body=cells.code("x = 1", "skip"))
    with pytest.raises(DeckSourceError, match="hide-input"):
        split(make_talk(later))


def test_skipped_text_cells_are_still_allowed(make_talk, cells):
    body = cells.text("en", "a comment for authors", "skip")
    body += cells.text("es", "un comentario para autores", "skip") + cells.slide()
    assert [s.title for s in slides_of(split(make_talk(body))["en"])] == ["Title"]


# -- the HTML deck -------------------------------------------------------------------------

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n").decode()  # embedded, never decoded


def test_image_outputs_keep_the_alt_text_the_cell_gave_them(make_talk, cells):
    """IPython's Image(alt=...) puts the alt text in the output's metadata; nbconvert's
    own template drops it (and writes "No description has been provided")."""
    from nbformat.v4 import new_output

    from decks.render import render_deck

    body = cells.slide(body=cells.code("display(chart)") + cells.code("display(diagram)"))
    nb = split(make_talk(body))["en"]
    png, svg = [c for c in nb.cells if c.cell_type == "code"]
    png.outputs = [new_output("display_data", data={"image/png": PNG},
                              metadata={"image/png": {"alt": 'Throughput, "ratios" & more',
                                                      "width": 820}})]
    svg.outputs = [new_output("display_data", data={"image/svg+xml": "<svg/>"},
                              metadata={"image/svg+xml": {"alt": "The loop's phases"}})]
    images = _images(render_deck(nb))
    assert [(i["alt"], i["src"].split(",")[0]) for i in images] == [
        ('Throughput, "ratios" & more', "data:image/png;base64"),
        ("The loop's phases", "data:image/svg+xml;base64")]
    assert images[0]["width"] == "820"


def test_an_image_output_without_alt_text_gets_nbconverts_placeholder(make_talk, cells):
    from nbformat.v4 import new_output

    from decks.render import render_deck

    nb = split(make_talk(cells.slide(body=cells.code("display(chart)"))))["en"]
    code = next(c for c in nb.cells if c.cell_type == "code")
    code.outputs = [new_output("display_data", data={"image/png": PNG})]
    (image,) = _images(render_deck(nb))
    assert image["alt"] == "No description has been provided for this image"


class _ImageTags(HTMLParser):
    """The attributes of every <img> in a page (a script's strings are not markup)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.found.append(dict(attrs))


def _images(html: str) -> list[dict[str, str | None]]:
    parser = _ImageTags()
    parser.feed(html)
    return parser.found


def test_the_fingerprint_is_the_same_in_every_process(tmp_path):
    """A warm `make slides` is another process: string hashing, and so the order of a
    set of module names, changes from one to the next; the hash must not."""
    for name, imports in {"demo_a": "demo_b, demo_c, demo_d", "demo_b": "demo_c",
                          "demo_c": "json, demo_d", "demo_d": "pytest"}.items():
        (tmp_path / f"{name}.py").write_text(f"import {imports}\n")
    script = (f"import sys; sys.path[:0] = [{str(tmp_path)!r}, {str(SLIDES_DIR)!r}]\n"
              "from pathlib import Path\n"
              "from decks.fingerprint import modules_fingerprint\n"
              f"print(modules_fingerprint({{'demo_a'}}, root=Path({str(tmp_path)!r})))")
    runs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                             env=dict(os.environ, PYTHONHASHSEED=str(seed)))
            for seed in range(1, 5)]
    hashes = {run.communicate(timeout=120)[0] for run in runs}
    assert [run.returncode for run in runs] == [0] * len(runs)
    assert len(hashes) == 1, hashes
