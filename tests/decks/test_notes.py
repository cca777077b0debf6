"""Each demo's output in its slide's speaker notes (``decks.notes``), and in the built
decks: the speaker's fallback when a demo fails on stage."""

from __future__ import annotations

import html

import nbformat
import pytest

from decks.notes import EXPECTED_LABELS, add_expected_outputs, output_text
from decks.source import input_hidden, slides_of


def _deck(lang: str = "es") -> nbformat.NotebookNode:
    slide = {"slideshow": {"slide_type": "slide"}}
    notes = {"slideshow": {"slide_type": "notes"}}
    cells = [
        nbformat.v4.new_markdown_cell("## Una demo", metadata=slide),
        nbformat.v4.new_code_cell("print('hola')"),
        nbformat.v4.new_code_cell("40 + 2"),
        nbformat.v4.new_markdown_cell("Lo que se cuenta.", metadata=notes),
        nbformat.v4.new_code_cell("print('listado')",
                                  metadata={"jupyter": {"source_hidden": True}, **slide}),
        nbformat.v4.new_markdown_cell("Un listado.", metadata=notes),
        nbformat.v4.new_markdown_cell("## Sin salida", metadata=slide),
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_markdown_cell("Nada que mostrar.", metadata=notes),
    ]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["deck"] = {"lang": lang}
    return nb


def _ran(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    ran = nbformat.from_dict(nb)
    ran.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="hola\n")]
    ran.cells[2].outputs = [nbformat.v4.new_output(
        "execute_result", data={"text/plain": "42"}, execution_count=2)]
    ran.cells[4].outputs = [nbformat.v4.new_output("stream", name="stdout", text="listado\n")]
    return ran


def test_a_demos_output_goes_to_its_slides_notes_in_the_decks_language():
    nb = _deck("es")
    assert add_expected_outputs(nb, _ran(nb)) == 1
    assert nb.cells[3].source == (f"Lo que se cuenta.\n\n**{EXPECTED_LABELS['es']}:**\n\n"
                                  "```text\nhola\n```\n\n```text\n42\n```\n")
    assert nb.cells[5].source == "Un listado."  # a listing shows its output on the slide
    assert nb.cells[8].source == "Nada que mostrar."  # nothing printed, nothing added
    assert nb.cells[1].outputs == []  # the deck's own cells are left alone


def test_running_it_again_replaces_the_block():
    nb = _deck("en")
    add_expected_outputs(nb, _ran(nb))
    ran = _ran(nb)
    ran.cells[1].outputs[0].text = "changed\n"
    add_expected_outputs(nb, ran)
    assert nb.cells[3].source.count(EXPECTED_LABELS["en"]) == 1
    assert "changed" in nb.cells[3].source and "hola" not in nb.cells[3].source


def test_another_notebooks_outputs_are_refused():
    nb, other = _deck(), _deck()
    other.cells[1].source = "print('otra cosa')"
    with pytest.raises(ValueError, match="same cells"):
        add_expected_outputs(nb, other)


def test_errors_and_long_outputs_are_told_briefly():
    cell = nbformat.v4.new_code_cell("boom")
    cell.outputs = [nbformat.v4.new_output("error", ename="OSError", evalue="[Errno 98] busy",
                                           traceback=["..."])]
    assert output_text(cell) == "OSError: [Errno 98] busy"
    nb = _deck("en")
    ran = _ran(nb)
    ran.cells[1].outputs[0].text = "".join(f"line {i}\n" for i in range(100))
    add_expected_outputs(nb, ran)
    assert "line 29\n... (70 more lines)" in nb.cells[3].source


def test_the_built_decks_notes_carry_every_demos_output(deck, built_site):
    talk, lang = deck
    nb = nbformat.read(built_site.path(talk, lang, "ipynb"), as_version=4)
    checked = 0
    for slide in slides_of(nb):
        demos = [c for c in slide.shown if c.cell_type == "code" and not input_hidden(c)]
        printed = [output_text(c) for c in demos if output_text(c)]
        if not printed:
            continue
        notes = slide.notes[0].source
        assert EXPECTED_LABELS[lang] in notes, slide.describe()
        for text in printed:
            assert text.splitlines()[0] in notes, slide.describe()
        checked += 1
    assert checked > 0
    page = html.unescape(built_site.path(talk, lang, "html").read_text())
    assert EXPECTED_LABELS[lang] in page  # the HTML deck's speaker view shows it too
