"""What a demo prints, in its slide's speaker notes: the speaker's fallback on stage.

A live demo can fail in front of the room (a port taken, a laptop too slow). The
speaker then shows or tells what it prints instead; ``add_expected_outputs`` puts
that text at the end of the slide's notes, taken from a run of the same notebook
(the build's, or ``make present``'s own run before the talk), so it cannot drift
from the code. Only demos get it: code cells whose input the slide shows. Listings
(hidden input) show their output on the slide already.
"""

from __future__ import annotations

from nbformat import NotebookNode

from .source import input_hidden, slides_of

#: The heading of the block, in the deck's language.
EXPECTED_LABELS = {"es": "Salida esperada (de la ejecución de prueba)",
                   "en": "Expected output (from the build's run)"}
MAX_LINES = 30  # per demo: the notes are read at a glance, not scrolled


def output_text(cell: NotebookNode) -> str:
    """The text a code cell showed: its streams, results and errors, as plain text."""
    parts: list[str] = []
    for output in cell.get("outputs", []):
        kind = output.get("output_type")
        if kind == "stream":
            parts.append(output.get("text", ""))
        elif kind in ("execute_result", "display_data"):
            data = output.get("data", {})
            if "text/plain" in data:
                parts.append(data["text/plain"].rstrip("\n") + "\n")
        elif kind == "error":
            parts.append(f"{output.get('ename', 'Error')}: {output.get('evalue', '')}\n")
    return "".join(parts).rstrip()


def _shortened(text: str) -> str:
    lines = text.splitlines()
    if len(lines) <= MAX_LINES:
        return text
    return "\n".join(lines[:MAX_LINES] + [f"... ({len(lines) - MAX_LINES} more lines)"])


def add_expected_outputs(nb: NotebookNode, executed: NotebookNode | None = None,
                         lang: str | None = None) -> int:
    """Append each demo's output, from ``executed`` (default: ``nb`` itself), to the
    first notes cell of its slide in ``nb``; return how many slides got a block.

    ``executed`` must have the same cells and code as ``nb`` (a run of a copy of it, or
    the build's notebook of the same source); ValueError otherwise. Running it twice
    replaces the block instead of adding a second one.
    """
    executed = nb if executed is None else executed
    if len(executed.cells) != len(nb.cells) or any(
            a.cell_type != b.cell_type or (a.cell_type == "code" and a.source != b.source)
            for a, b in zip(nb.cells, executed.cells, strict=True)):
        raise ValueError("the executed notebook does not have the same cells as the deck")
    lang = lang or nb.metadata.get("deck", {}).get("lang", "en")
    label = EXPECTED_LABELS.get(lang, EXPECTED_LABELS["en"])
    ran = {id(cell): other for cell, other in zip(nb.cells, executed.cells, strict=True)}
    annotated = 0
    for slide in slides_of(nb):
        demos = [c for c in slide.shown if c.cell_type == "code" and not input_hidden(c)]
        texts = [text for text in (output_text(ran[id(c)]) for c in demos) if text]
        if not texts or not slide.notes:
            continue
        notes = slide.notes[0]
        heading = f"**{label}:**"
        kept = notes.source.split(f"\n\n{heading}")[0].rstrip()
        blocks = "\n\n".join(f"```text\n{_shortened(text)}\n```" for text in texts)
        notes.source = f"{kept}\n\n{heading}\n\n{blocks}\n"
        annotated += 1
    return annotated
