"""What a language notebook must satisfy to be presentable.

- code fits on a slide: no line of a code cell (unless its input is hidden), of a
  fenced listing in the text, or of a text output wider than MAX_COLUMNS (reveal.js
  clips it at 960 pixels; HTML outputs are measured in the browser checks instead);
- every slide has speaker notes, and they read as the deck's language;
- no slide is empty;
- the talk fits the slot its source declares, and the notes' time checkpoints agree
  with the computed timeline (``timeline``);
- the notes say only what is spoken: stage directions go in square brackets, and a
  cue to the speaker (``take questions``) outside them is flagged (``STAGE_CUES``);
- the Spanish decks use the terms of ``talks/glossary.es.toml``, not their variants.

``lint`` returns the problems rather than raising: the build prints them as
warnings, the tests fail on them.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from nbformat import NotebookNode

from . import TALKS_DIR
from .source import Slide, input_hidden, is_shown, slide_type, slides_of
from .timeline import checkpoint_problems, slot_problem, spoken_text, timeline

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

#: The glossary of Spanish terms both talks share (see the file for its format).
GLOSSARY = TALKS_DIR / "glossary.es.toml"
#: Directions to the speaker that, outside square brackets, would be read out as
#: part of the talk. Matched case-insensitively in the spoken part of the notes.
STAGE_CUES = {
    "en": (r"\bthank (the|everyone|you all)\b", r"\btake questions\b",
           r"\bask (people|the (audience|room))\b", r"\brun the (next )?cell\b",
           r"\bpause (here|for)\b", r"\bclick\b", r"\bpoint at\b",
           r"\bshow of hands\b", r"\bswitch to the\b"),
    "es": (r"\bda las gracias\b", r"\babre el turno\b", r"\bpregunta al público\b",
           r"\bejecuta la (siguiente )?celda\b", r"\bhaz una pausa\b", r"\bpausa aquí\b",
           r"\bseñala\b", r"\bpide (a la gente|al público)\b", r"\bhaz clic\b",
           r"\bcambia a la\b", r"\bque levanten la mano\b"),
}


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


@dataclass(frozen=True)
class Term:
    """A glossary entry: the word to use, and the variants that mean the same."""

    use: str
    avoid: tuple[re.Pattern[str], ...]
    why: str


@functools.cache
def load_glossary(path: Path = GLOSSARY) -> tuple[Term, ...]:
    """The glossary's terms; ValueError naming the entry when one is malformed."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{path}: cannot read the glossary: {exc}") from exc
    terms = []
    for number, entry in enumerate(data.get("term", []), start=1):
        use, avoid, why = entry.get("use"), entry.get("avoid"), entry.get("why", "")
        if not isinstance(use, str) or not isinstance(avoid, list) or not avoid:
            raise ValueError(f"{path}: term {number} needs 'use' (a string) and 'avoid' "
                             f"(a list of patterns)")
        try:
            patterns = tuple(re.compile(rf"(?<!\w){a}(?!\w)", re.IGNORECASE) for a in avoid)
        except re.error as exc:
            raise ValueError(f"{path}: term {number} ({use!r}): bad pattern: {exc}") from exc
        terms.append(Term(use, patterns, why))
    return tuple(terms)


def _prose(cell: NotebookNode) -> str:
    """A text cell's words, without its code: fenced listings and inline code are
    code, which the glossary does not govern."""
    lines, inside = [], False
    for line in cell.source.splitlines():
        if _FENCE.match(line.strip()):
            inside = not inside
        elif not inside:
            lines.append(line)
    return re.sub(r"`[^`]*`", " ", "\n".join(lines))


def glossary_problems(slide: Slide, terms: tuple[Term, ...]) -> list[str]:
    """Each disfavoured variant a slide's text or notes use, with the term to use."""
    found = []
    for cell in slide.cells:
        if cell.cell_type != "markdown":
            continue
        text = _prose(cell)
        for term in terms:
            for pattern in term.avoid:
                for match in pattern.finditer(text):
                    found.append(f"glossary: {match[0]!r}: say {term.use!r}"
                                 + (f" ({term.why})" if term.why else ""))
    return found


def stage_cue_problems(slide: Slide, lang: str) -> list[str]:
    """Cues to the speaker written as if they were part of the talk."""
    found = []
    for cell in slide.notes:
        spoken = spoken_text(cell.source)
        for cue in STAGE_CUES.get(lang, ()):
            for match in re.finditer(cue, spoken, re.IGNORECASE):
                found.append(f"the notes read a stage direction aloud ({match[0]!r}): "
                             f"put it in square brackets, [like this]")
    return found


def lint(nb: NotebookNode, label: str | None = None, *,
         measured: dict[str, float] | None = None) -> list[Problem]:
    """Every problem of one language notebook (``split``'s output, executed or not).

    The slot is checked with the demos' measured times when the notebook was run
    (or ``measured`` gives them), otherwise with ``timeline``'s estimate.
    """
    lang = nb.metadata["deck"]["lang"]
    label = label or f"{nb.metadata['deck']['talk']}.{lang}"
    terms = load_glossary() if lang == "es" else ()
    problems = []
    for slide in slides_of(nb, label):
        messages = (_slide_problems(slide, lang) + stage_cue_problems(slide, lang)
                    + glossary_problems(slide, terms))
        problems += [Problem(label, slide.describe(), message) for message in messages]
    timed = timeline(nb, measured, label)
    over = slot_problem(timed)
    if over:
        problems.append(Problem(label, "the whole deck", over))
    for slide, message in checkpoint_problems(timed):
        where = f"slide {slide.number} ({slide.title!r})" if slide else "the whole deck"
        problems.append(Problem(label, where, message))
    return problems
