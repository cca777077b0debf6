"""Code taller than a slide, cut into steps that each fit: what the HTML deck reveals
one at a time instead of shrinking the font.

Code on a slide is drawn at the deck's code font (``CODE_FONT_PX``), never smaller:
at reveal.js's scale for a 1280 x 720 screen (0.987) that is 18.8 px, and a listing
shrunk to fit 30 lines on a slide would be 13 px, unreadable past the first rows. So
a listing or a code cell taller than the slide's box is cut into **steps**, each at
most ``rows_that_fit`` rows, at places where a reader can pause (a blank line, a
``def``, ``class`` or decorator line), as evenly as those places allow. In the HTML
deck every step after the first is a reveal.js fragment that replaces the one before
(``decks.render``'s ``DECK_CSS``); on stage (RISE, which scrolls a tall cell) and
in the notebook the steps simply follow one another.

A line wider than the box wraps, with a hanging indent, and counts as the rows it
takes. Both sides use this module: ``decks.listing`` (the decks' helper, in the
kernels) for listings, ``decks.render`` (the build) for code cells' inputs.
"""

from __future__ import annotations

import math
import re

from . import CODE_FONT_PX, SLIDE_SIZE

#: Pixels code may take on a slide: the slide's width less its margins, and its
#: height less a title line and the space around it.
MAX_WIDTH = SLIDE_SIZE[0] - 60
MAX_HEIGHT = SLIDE_SIZE[1] - 160
#: Monospace advance and line height, as fractions of the font size (the code font
#: of JupyterLab's CSS, DejaVu Sans Mono or Menlo, advances 0.60 em; a little more
#: is kept as a margin).
CHAR_WIDTH = 0.61
LINE_HEIGHT = 1.3
#: How much further than its own indentation a wrapped line's continuation starts.
HANGING_INDENT = 4
#: The fewest rows a step shows: a step of an import line alone is no step.
MIN_STEP_ROWS = 4

# Where a step may start: a definition, a decorator, or the line after a blank one.
_PAUSE = re.compile(r"\s*(?:@|def\s|async\s+def\s|class\s)")
_TRIPLE_QUOTES = re.compile(r"'''|\"\"\"")


def columns_that_fit(max_width: float = MAX_WIDTH, font_px: float = CODE_FONT_PX) -> int:
    """How many monospace columns a box ``max_width`` px wide holds at ``font_px``."""
    if max_width <= 0 or font_px <= 0:
        raise ValueError(f"code needs a box and a font of positive size, not "
                         f"{max_width} px at {font_px} px")
    return max(1, math.floor(max_width / (CHAR_WIDTH * font_px)))


def rows_that_fit(max_height: float = MAX_HEIGHT, font_px: float = CODE_FONT_PX) -> int:
    """How many rows of code a box ``max_height`` px tall holds at ``font_px``."""
    if max_height <= 0 or font_px <= 0:
        raise ValueError(f"code needs a box and a font of positive size, not "
                         f"{max_height} px at {font_px} px")
    return max(1, math.floor(max_height / (LINE_HEIGHT * font_px)))


def print_zoom(total_rows: int, room: int) -> float:
    """The zoom at which the handout shows every step of code, one under the other,
    in the room the slide had for one (a margin kept for the rows' padding)."""
    return min(1.0, 0.9 * room / max(1, total_rows))


def indent_of(line: str) -> int:
    """The columns of a line's leading whitespace."""
    return len(line) - len(line.lstrip())


def rows_of(line: str, columns: int) -> int:
    """The rows one line takes once wrapped at ``columns``, its continuations starting
    ``HANGING_INDENT`` further in than the line itself (an estimate that errs long: a
    browser breaks at spaces, so a row may end a word early)."""
    width = len(line.expandtabs())
    if width <= columns:
        return 1
    room = max(8, columns - min(indent_of(line.expandtabs()) + HANGING_INDENT, columns // 2))
    # a word that does not fit the end of a row moves down whole: keep a word's margin
    return 1 + math.ceil((width - columns) / max(1, room - 6))


def _pauses(lines: list[str]) -> set[int]:
    """Indexes of the lines a step may start at (never inside a triple-quoted string)."""
    found, quoted = set(), False
    for index, line in enumerate(lines):
        if index and not quoted and line.strip() and (
                not lines[index - 1].strip() or _PAUSE.match(line)) \
                and not lines[index - 1].lstrip().startswith("@"):
            found.add(index)
        if len(_TRIPLE_QUOTES.findall(line)) % 2:
            quoted = not quoted
    return found


def cut(text: str, max_rows: int, columns: int) -> list[tuple[int, int]]:
    """``text``'s lines as steps of at most ``max_rows`` rows: ``(start, end)`` line
    ranges, one range when it fits whole.

    The fewest steps that fit, cut at pauses (see the module's docstring); among the
    ways to cut into that many, the one that cuts at the outermost lines (a top-level
    ``def`` rather than a method inside a class), then the one whose longest step is
    shortest, then the one that shows the most first. ValueError
    when no way fits: a stretch without a pause is taller than ``max_rows``.
    """
    lines = text.split("\n")
    rows = [rows_of(line, columns) for line in lines]
    if sum(rows) <= max_rows:
        return [(0, len(lines))]
    starts = sorted(_pauses(lines))
    edges = [0, *starts, len(lines)]

    def height(a: int, b: int) -> int:
        return sum(rows[a:b])

    # best[i, k]: the best ((indentation of the cuts, tallest step, -sum of the cuts),
    # starts) for the lines from edges[i] on, in k steps; None when they do not fit in k
    Score = tuple[int, int, int]
    best: dict[tuple[int, int], tuple[Score, list[int]] | None] = {}

    def solve(i: int, k: int) -> tuple[Score, list[int]] | None:
        if (i, k) in best:
            return best[i, k]
        start, found = edges[i], None
        if k == 1:
            tall = height(start, len(lines))
            fits = MIN_STEP_ROWS <= tall <= max_rows
            found = ((0, tall, 0), [start]) if fits else None
        else:
            for j in range(i + 1, len(edges) - 1):
                tall = height(start, edges[j])
                if tall > max_rows:
                    break
                rest = solve(j, k - 1) if tall >= MIN_STEP_ROWS else None
                if rest is None:
                    continue
                score = (rest[0][0] + indent_of(lines[edges[j]]), max(tall, rest[0][1]),
                         rest[0][2] - edges[j])
                if found is None or score < found[0]:
                    found = (score, [start, *rest[1]])
        best[i, k] = found
        return found

    for count in range(2, len(edges)):
        solved = solve(0, count)
        if solved is not None:
            bounds = [*solved[1], len(lines)]
            return list(zip(bounds, bounds[1:]))
    first = next((line for line in lines if line.strip()), "")
    raise ValueError(f"code starting {first.strip()[:40]!r} cannot be cut into steps of "
                     f"{MIN_STEP_ROWS} to {max_rows} rows: no blank line, def, class or "
                     f"decorator line where one could end; add a blank line where a step "
                     f"may end")
