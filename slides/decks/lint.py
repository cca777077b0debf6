"""What a language notebook must satisfy to be presentable.

- code fits on a slide: no line of a code cell (unless its input is hidden), of a
  fenced listing in the text, or of a text output wider than MAX_COLUMNS (reveal.js
  clips it at 960 pixels; HTML outputs are measured in the browser checks instead);
- every slide has speaker notes, and they read as the deck's language;
- no slide is empty.

``lint`` returns the problems rather than raising: the build prints them as
warnings, the tests fail on them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nbformat import NotebookNode

from .source import Slide, input_hidden, is_shown, slide_type, slides_of

MAX_COLUMNS = 70
#: Notes shorter than this are not checked for their language (too few words to tell).
MIN_WORDS_TO_GUESS = 8

# Frequent function words that the other language does not use; "a", "de"-like
# words shared with loanwords are left out.
_STOPWORDS = {
    "es": {"el", "la", "los", "las", "de", "del", "que", "y", "en", "un", "una", "por",
           "con", "para", "es", "se", "lo", "su", "al", "como", "pero", "más", "este",
           "esta", "hay", "cada", "sin", "sobre", "también", "porque", "cuando"},
    "en": {"the", "of", "and", "to", "is", "in", "that", "it", "for", "on", "with", "as",
           "this", "are", "be", "by", "what", "which", "from", "each", "its", "their",
           "when", "you", "we", "was", "not", "but", "then", "there"},
}
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_FENCE = re.compile(r"^(```|~~~)")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)  # renders as nothing


@dataclass(frozen=True)
class Problem:
    """One lint finding, located by deck, slide and what to fix."""

    deck: str
    slide: str
    message: str

    def __str__(self) -> str:
        return f"{self.deck}: {self.slide}: {self.message}"


def guess_language(text: str) -> str | None:
    """'es' or 'en' by counting function words; None when the text is too short or mixed."""
    words = [w.lower() for w in _WORD.findall(text)]
    if len(words) < MIN_WORDS_TO_GUESS:
        return None
    counts = {lang: sum(w in stop for w in words) for lang, stop in _STOPWORDS.items()}
    (best, high), (_, low) = sorted(counts.items(), key=lambda kv: -kv[1])
    return best if high >= 2 and high > 2 * low else None


def _fenced_lines(markdown: str) -> list[str]:
    lines, inside = [], False
    for line in markdown.splitlines():
        if _FENCE.match(line.strip()):
            inside = not inside
        elif inside:
            lines.append(line)
    return lines


def _output_lines(cell: NotebookNode) -> list[str]:
    lines = []
    for output in cell.get("outputs", []):
        if output.output_type == "stream":
            text = output.text
        elif output.output_type in ("execute_result", "display_data"):
            text = output.get("data", {}).get("text/plain", "")
            if any(k.startswith("image/") or k == "text/html" for k in output.get("data", {})):
                continue  # shown as a picture or HTML, not as this text
        else:
            continue
        lines.extend(("".join(text) if isinstance(text, list) else text).splitlines())
    return lines


def _wide(lines: list[str], what: str) -> list[str]:
    return [f"{what} line is {len(line.expandtabs())} columns (at most {MAX_COLUMNS}): "
            f"{line.strip()[:50]!r}" for line in lines if len(line.expandtabs()) > MAX_COLUMNS]


def _slide_problems(slide: Slide, lang: str) -> list[str]:
    found = []
    shown = [c for c in slide.shown if _COMMENT.sub("", c.source).strip() or c.get("outputs")]
    if not shown:
        found.append("the slide is empty (no text or code is shown on it)")
    for cell in slide.cells:
        if slide_type(cell) == "skip":
            continue
        if cell.cell_type == "code":
            if not input_hidden(cell):
                found += _wide(cell.source.splitlines(), "a code")
            found += _wide(_output_lines(cell), "an output")
        elif is_shown(cell):
            found += _wide(_fenced_lines(cell.source), "a listing")
    notes = [c.source for c in slide.notes if c.source.strip()]
    if not notes:
        found.append(f"the slide has no speaker notes (add a notes cell tagged lang-{lang})")
    else:
        guessed = guess_language("\n".join(notes))
        if guessed is not None and guessed != lang:
            found.append(f"the speaker notes read as '{guessed}', not '{lang}'")
    return found


def lint(nb: NotebookNode, label: str | None = None) -> list[Problem]:
    """Every problem of one language notebook (``split``'s output, executed or not)."""
    lang = nb.metadata["deck"]["lang"]
    label = label or f"{nb.metadata['deck']['talk']}.{lang}"
    return [Problem(label, slide.describe(), message)
            for slide in slides_of(nb, label) for message in _slide_problems(slide, lang)]
