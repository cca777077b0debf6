"""How long a deck takes to give: per slide, speech, code and demos, against the slot.

A talk's source declares its slot in its header (``deck: slot: 25``: minutes of talk,
the questions not included). A slide's time is

- its speaker notes read aloud: the spoken words at the language's pace (``PACE_WPM``,
  the one place the paces are stated); stage directions in square brackets
  (``[pause]``, ``[about minute 10]``) are not spoken and not counted;
- ``CODE_BLOCK_SECONDS`` for every code block the audience has to read: each code
  cell (shown code, or a listing or chart drawn by a hidden one) and each fenced
  listing in the text;
- its demos' run time: measured, from the ``execution`` timestamps nbclient records
  when it runs a cell (the build's notebooks carry them), or, for a notebook not run,
  ``UNMEASURED_DEMO_SECONDS`` per code cell, marked as an estimate.

Notes carry checkpoints, ``[about minute 10]`` / ``[hacia el minuto 10]``: the speaker
glances at the clock there. ``checkpoint_problems`` holds them to the computed
timeline within ``CHECKPOINT_TOLERANCE_MINUTES`` and wants one at least every
``CHECKPOINT_EVERY_MINUTES``. ``make rehearse`` prints the timeline
(``slides/rehearse.py``); ``lint`` fails a deck over its slot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from nbformat import NotebookNode

from .source import Slide, is_shown, slide_type, slides_of

#: Speaking pace, in words per minute, for notes read aloud at a conference: a
#: relaxed English delivery, and Spanish, whose words are shorter, a little faster.
PACE_WPM: dict[str, int] = {"en": 140, "es": 150}
#: The time one code block takes besides its notes: switching to it, running it,
#: letting the room read the code and the output. (Reviewers' rule of thumb for a
#: live-coded slide is about a minute in all; the notes' own words are counted apart.)
CODE_BLOCK_SECONDS = 30
#: A demo's run time when the notebook has not been run (no execution timestamps).
UNMEASURED_DEMO_SECONDS = 3.0
#: How far a ``[about minute N]`` checkpoint may stray from the slide's computed time.
CHECKPOINT_TOLERANCE_MINUTES = 1.5
#: The longest stretch of talk without a checkpoint (from the start, between
#: checkpoints, and to the end).
CHECKPOINT_EVERY_MINUTES = 12

#: A checkpoint per language; always inside a stage direction.
CHECKPOINT = {
    "en": re.compile(r"\[about minute (\d+)\]", re.IGNORECASE),
    "es": re.compile(r"\[hacia el minuto (\d+)\]", re.IGNORECASE),
}
# A stage direction: square brackets that are not a Markdown link's text.
_STAGE_DIRECTION = re.compile(r"\[[^\]]*\](?!\()")
_LINK = re.compile(r"\[([^\]\n]*)\]\([^)\s]*\)")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_FENCE = re.compile(r"^\s*(```|~~~)")
_WORD = re.compile(r"[^\W_]+(?:['’._][^\W_]+)*", re.UNICODE)


def spoken_text(notes: str) -> str:
    """The words of speaker notes that are said aloud.

    Drops stage directions (``[...]``), HTML comments and Markdown link targets.
    """
    text = _COMMENT.sub(" ", notes)
    text = _LINK.sub(r"\1", text)
    return _STAGE_DIRECTION.sub(" ", text)


def count_words(text: str) -> int:
    """Words as a speaker says them: ``3.11``, ``don't`` and ``uv_run`` count once."""
    return len(_WORD.findall(text))


def demo_seconds(cell: NotebookNode) -> float | None:
    """How long nbclient took to run ``cell``, from its recorded timestamps; None if not run."""
    timing = cell.get("metadata", {}).get("execution", {})
    began = timing.get("iopub.execute_input") or timing.get("shell.execute_request")
    ended = timing.get("shell.execute_reply")
    if not began or not ended:
        return None
    try:
        seconds = (_timestamp(ended) - _timestamp(began)).total_seconds()
    except ValueError:
        return None
    return max(0.0, seconds)


def _timestamp(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _fenced_blocks(markdown: str) -> int:
    fences = sum(1 for line in markdown.splitlines() if _FENCE.match(line))
    return fences // 2


@dataclass(frozen=True)
class SlideTime:
    """One slide's share of the talk, in seconds from the start."""

    number: int
    title: str
    start: float
    words: int
    speech: float
    code_blocks: int
    demos: float
    measured: bool  # False when some demo time is the unmeasured estimate
    checkpoints: tuple[int, ...]  # the minutes its notes announce

    @property
    def seconds(self) -> float:
        return self.speech + self.code_blocks * CODE_BLOCK_SECONDS + self.demos

    @property
    def end(self) -> float:
        return self.start + self.seconds


@dataclass(frozen=True)
class Timeline:
    """A deck in one language, slide by slide, against its slot."""

    label: str
    lang: str
    slot_minutes: float | None
    slides: tuple[SlideTime, ...]

    @property
    def total(self) -> float:
        return self.slides[-1].end if self.slides else 0.0

    @property
    def measured(self) -> bool:
        return all(s.measured for s in self.slides)

    @property
    def over_slot(self) -> bool:
        return self.slot_minutes is not None and self.total > self.slot_minutes * 60


def slot_minutes(nb: NotebookNode) -> float | None:
    """The deck's slot (``deck.slot`` of the source's header), in minutes; None if not set."""
    value = nb.metadata.get("deck", {}).get("slot")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"deck.slot must be a positive number of minutes, not {value!r}")
    return float(value)


def slide_time(slide: Slide, lang: str, start: float,
               measured: dict[str, float] | None = None) -> SlideTime:
    """One slide's time; ``measured`` maps a code cell's source to its run time in seconds
    and is consulted when the cell itself carries no timestamps."""
    notes = "\n".join(c.source for c in slide.notes)
    words = count_words(spoken_text(notes))
    blocks, demos, all_measured = 0, 0.0, True
    for cell in slide.cells:
        if not is_shown(cell):
            continue
        if cell.cell_type == "code":
            blocks += 1
            seconds = demo_seconds(cell)
            if seconds is None and measured is not None:
                seconds = measured.get(cell.source)
            if seconds is None:
                seconds, all_measured = UNMEASURED_DEMO_SECONDS, False
            demos += seconds
        else:
            blocks += _fenced_blocks(cell.source)
    marks = tuple(int(m) for m in CHECKPOINT[lang].findall(notes))
    return SlideTime(slide.number, slide.title, start, words, words / PACE_WPM[lang] * 60,
                     blocks, demos, all_measured, marks)


def timeline(nb: NotebookNode, measured: dict[str, float] | None = None,
             label: str | None = None) -> Timeline:
    """The timeline of one language notebook (``split``'s output, run or not)."""
    deck = nb.metadata["deck"]
    lang = deck["lang"]
    label = label or f"{deck['talk']}.{lang}"
    slides, start = [], 0.0
    for slide in slides_of(nb, label):
        timed = slide_time(slide, lang, start, measured)
        slides.append(timed)
        start = timed.end
    return Timeline(label, lang, slot_minutes(nb), tuple(slides))


def measurements(nb: NotebookNode) -> dict[str, float]:
    """The run time of every code cell of a run notebook, by the cell's source."""
    found = {}
    for cell in nb.cells:
        if cell.cell_type == "code" and slide_type(cell) != "skip":
            seconds = demo_seconds(cell)
            if seconds is not None:
                found[cell.source] = seconds
    return found


# -- checks -------------------------------------------------------------------------

def _clock(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"


def slot_problem(timed: Timeline) -> str | None:
    """Why the deck does not fit its slot, or None."""
    if not timed.over_slot:
        return None
    estimate = "" if timed.measured else " (demos not run: estimated)"
    return (f"the talk takes {_clock(timed.total)}{estimate}, over its slot of "
            f"{timed.slot_minutes:g} minutes: cut words from the notes or slides "
            f"(make rehearse prints where the time goes)")


def checkpoint_problems(timed: Timeline) -> list[tuple[SlideTime | None, str]]:
    """Checkpoints that disagree with the timeline, and stretches without one."""
    found: list[tuple[SlideTime | None, str]] = []
    tolerance = CHECKPOINT_TOLERANCE_MINUTES * 60
    marks = [0.0]
    for slide in timed.slides:
        for minute in slide.checkpoints:
            said = minute * 60
            if said < slide.start - tolerance or said > slide.end + tolerance:
                found.append((slide, f"the notes say minute {minute} but the slide runs "
                                     f"from {_clock(slide.start)} to {_clock(slide.end)}"))
            marks.append(said)
    if timed.slot_minutes is None:
        return found
    marks.append(timed.total)
    widest = max(b - a for a, b in zip(marks, marks[1:])) if len(marks) > 1 else 0
    if widest > CHECKPOINT_EVERY_MINUTES * 60:
        example = CHECKPOINT[timed.lang].pattern.replace(r"(\d+)", "N").replace("\\", "")
        found.append((None, f"{_clock(widest)} of talk pass without a time checkpoint; put "
                            f"one in the notes at least every {CHECKPOINT_EVERY_MINUTES} "
                            f"minutes ({example})"))
    return found


# -- the printout -------------------------------------------------------------------

def format_timeline(timed: Timeline) -> str:
    """The rehearsal sheet: one line per slide, then the total against the slot."""
    pace = PACE_WPM[timed.lang]
    lines = [f"{timed.label}: notes at {pace} words a minute, {CODE_BLOCK_SECONDS} s per "
             f"code block, demos "
             + ("as measured" if timed.measured else
                f"as measured where run, else {UNMEASURED_DEMO_SECONDS:g} s each (*)"),
             f"{'#':>3} {'start':>6} {'words':>5} {'speech':>6} {'code':>4} {'demos':>6} "
             f"{'slide':>6}  title"]
    for s in timed.slides:
        mark = "" if s.measured else "*"
        checks = "".join(f"  [minute {m}]" for m in s.checkpoints)
        lines.append(f"{s.number:>3} {_clock(s.start):>6} {s.words:>5} {_clock(s.speech):>6} "
                     f"{s.code_blocks:>4} {s.demos:>5.1f}{mark or ' '} {_clock(s.seconds):>6}  "
                     f"{s.title[:44]}{checks}")
    words = sum(s.words for s in timed.slides)
    speech = sum(s.speech for s in timed.slides)
    code = sum(s.code_blocks for s in timed.slides) * CODE_BLOCK_SECONDS
    demos = sum(s.demos for s in timed.slides)
    lines.append(f"total {_clock(timed.total)} ({words} words: {_clock(speech)} of speech; "
                 f"code {_clock(code)}; demos {_clock(demos)})")
    if timed.slot_minutes is not None:
        spare = timed.slot_minutes * 60 - timed.total
        verdict = (f"{_clock(spare)} to spare" if spare >= 0
                   else f"OVER by {_clock(-spare)}")
        lines.append(f"slot {timed.slot_minutes:g} minutes: {verdict}")
    for slide, message in checkpoint_problems(timed):
        where = f"slide {slide.number}: " if slide else ""
        lines.append(f"checkpoint: {where}{message}")
    return "\n".join(lines)
