"""A package's real source on a slide, readable: what the decks' hidden cells show.

The slides that explain an implementation show the packages' own code, read when
the cell runs, so a slide cannot drift from the code. The packages' lines run to
about 100 columns and some functions to 30 lines, while a slide is 960 x 700 px: a
listing keeps the deck's code font (19 px) and is never shrunk; one taller than its
box is cut into steps that each fit (``decks.steps``), which the HTML deck reveals one
after the other, and a line wider than the box wraps with a hanging indent.

    from decks.listing import listing, show, show_script
    show(EventLoop._arm_timer, EventLoop._on_timer)        # functions, methods, classes
    show(serve_pyuv, only=("on_connection", "on_read"))    # functions nested in one
    show_script(crawler_py, "patcher.patch()", "fetch")    # a script, never imported
    listing(TULIP_2013)                                    # any Python text

The text is ``inspect.getsource`` of the objects, or the exact lines of the chosen
definitions and statements (found with ``ast``); the one liberty taken is that runs
of blank lines are shown as one, to save a slide's height (and trailing blanks,
which show as nothing, are dropped). A name that matches
nothing (a function renamed since the slide was written) raises LookupError, so the
build fails instead of showing an empty or stale slide.

This module runs in the decks' kernels, not in the build: every kernel the pipeline
starts (the build's, and ``make present``'s JupyterLab's) has ``slides/`` on its
``PYTHONPATH`` (``decks.execute.sandbox_environment``). It needs only IPython and
pygments.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer
from pygments.styles.default import DefaultStyle
from pygments.token import Comment, Name, Operator, String

from . import CODE_FONT_PX
from .steps import (
    HANGING_INDENT,
    LINE_HEIGHT,
    MAX_HEIGHT,
    MAX_WIDTH,
    columns_that_fit,
    cut,
    indent_of,
    print_zoom,
    rows_of,
    rows_that_fit,
)

__all__ = ["Listing", "listing", "script_source", "show", "show_script", "source_of"]


class ListingStyle(DefaultStyle):
    """pygments' default colours, but for those under a 4.5:1 contrast on a code cell's
    #f5f5f5 (WCAG AA; axe-core checks the decks: tests/decks/test_a11y.py), darkened."""

    styles = {**DefaultStyle.styles,
              Comment: "italic #356b6b", Operator.Word: "bold #8a1ad6",
              Name.Decorator: "#8a1ad6", Name.Exception: "bold #a12f29",
              String.Interpol: "bold #8c4a65", String.Regex: "#8c4a65",
              String.Escape: "bold #8f4d19"}


_BLANK_RUNS = re.compile(r"\n{3,}")  # two or more blank lines (trailing blanks gone)


@dataclass(frozen=True)
class Listing:
    """Highlighted Python at the deck's code font, in steps that each fit the box;
    IPython displays it as HTML.

    ``text`` is what is shown, and is also the plain-text form of the output (for
    readers of the notebook file, and for screen readers); ``steps`` are its
    ``(start, end)`` line ranges (one when it fits whole); ``columns`` is the width
    past which a line wraps and ``rows`` the height a step may take.
    """

    text: str
    steps: tuple[tuple[int, int], ...]
    columns: int
    rows: int
    font_size: float = CODE_FONT_PX

    def _repr_html_(self) -> str:
        # Inline styles only (no stylesheet to ship), and our own <pre>: pygments'
        # would set a line height of its own. white-space: JupyterLab wraps outputs.
        # pygments closes and reopens its spans at every line end, so the highlighted
        # text can be cut at newlines.
        formatter = HtmlFormatter(noclasses=True, nowrap=True, style=ListingStyle)
        lines = highlight(self.text, PythonLexer(), formatter).rstrip("\n").split("\n")
        plain = self.text.split("\n")
        style = (f"font-size: {self.font_size}px; line-height: {LINE_HEIGHT}; margin: 0; "
                 f"padding: 0; overflow: visible; white-space: pre; background: none;")
        parts = []
        for start, end in self.steps:
            shown = [self._wrapped(lines[i], plain[i]) for i in range(start, end)]
            while shown and not plain[start + len(shown) - 1].strip():
                shown.pop()  # a step ends at its last line of code, not at a blank
            step = ' class="deck-step"' if len(self.steps) > 1 else ""
            parts.append(f'<pre{step} style="{style}">{chr(10).join(shown)}</pre>')
        steps = ""
        if len(self.steps) > 1:
            rows = sum(rows_of(line, self.columns) for line in plain)
            # the handout prints every step, one under the other, in the room of one
            zoom = print_zoom(rows, self.rows)
            steps = f' deck-steps" style="--deck-print-zoom: {zoom:.3f}'

        return f'<div class="highlight deck-listing{steps}">{"".join(parts)}</div>'

    def _wrapped(self, highlighted: str, plain: str) -> str:
        """A line as is, or, wider than the box, wrapping with a hanging indent."""
        if len(plain.expandtabs()) <= self.columns:
            return highlighted
        hang = indent_of(plain.expandtabs()) + HANGING_INDENT
        return (f'<span style="display: inline-block; max-width: 100%; white-space: '
                f'pre-wrap; word-break: normal; overflow-wrap: break-word; padding-left: {hang}ch; '
                f'text-indent: -{hang}ch; box-sizing: border-box;">{highlighted}</span>')

    def __repr__(self) -> str:
        return self.text


# -- choosing the text ------------------------------------------------------------

def _definitions_in(statements: list[ast.stmt]) -> dict[str, ast.stmt]:
    """The functions and classes defined in ``statements``, at any depth, by name
    (the outermost, then the first, wins)."""
    found: dict[str, ast.stmt] = {}
    for statement in statements:
        for node in ast.walk(statement):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                found.setdefault(node.name, node)
    return found


def _segment(lines: list[str], node: ast.stmt) -> str:
    """The lines of one statement, decorators included, dedented."""
    first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    return textwrap.dedent("\n".join(lines[first - 1:node.end_lineno]))


def _nested(obj: Any, names: tuple[str, ...]) -> list[str]:
    """The source of the functions (or classes) called ``names`` defined inside ``obj``."""
    source = textwrap.dedent(inspect.getsource(obj))
    (outer,) = ast.parse(source).body  # getsource gives exactly obj's definition
    found = _definitions_in(outer.body)
    missing = [name for name in names if name not in found]
    if missing:
        raise LookupError(f"{getattr(obj, '__qualname__', obj)!s} defines no "
                          f"{', '.join(missing)}")
    lines = source.splitlines()
    return [_segment(lines, found[name]) for name in names]


def source_of(*objects: Any, only: tuple[str, ...] | str = ()) -> str:
    """The source of functions, methods and classes as they are in their packages.

    With ``only`` (a name or a tuple of names), the source of the functions or classes
    of those names defined inside each object instead, in the order given; LookupError
    names the ones an object does not define.
    """
    if not objects:
        raise TypeError("source_of() needs at least one function, method or class")
    names = (only,) if isinstance(only, str) else tuple(only)
    parts = []
    for obj in objects:
        if names:
            parts += _nested(obj, names)
        else:
            parts.append(textwrap.dedent(inspect.getsource(obj)).rstrip())
    return "\n\n".join(parts)


def script_source(path: str | Path, *starts: str, inside: str | None = None) -> str:
    """Statements of a Python script, in file order, read without importing it.

    A top-level statement (or, with ``inside``, a statement of the body of the
    top-level function or class of that name) is chosen when it defines one of
    ``starts`` (a def or class name) or when its first line starts with one of them
    (``"patcher.patch()"``, ``"with TaskPoolExecutor"``). Every one of ``starts``
    must choose something, and ``inside`` must exist: else LookupError, so that a
    renamed function fails the build instead of leaving a slide empty.
    """
    if not starts:
        raise TypeError("script_source() needs at least one name or line start to show")
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    body = ast.parse(text, filename=str(path)).body
    if inside is not None:
        container = next((node for node in body if getattr(node, "name", None) == inside),
                         None)
        if container is None:
            raise LookupError(f"{path.name} defines no top-level {inside}")
        body = container.body
    chosen, used = [], set()
    for node in body:
        first = lines[node.lineno - 1].strip()
        hits = {start for start in starts
                if getattr(node, "name", None) == start or first.startswith(start)}
        if hits:
            chosen.append(_segment(lines, node))
            used |= hits
    unused = [start for start in starts if start not in used]
    if unused:
        where = f"{path.name}" + (f", in {inside}()," if inside else "")
        raise LookupError(f"{where} has no statement defining or starting with "
                          f"{', '.join(map(repr, unused))}")
    return "\n\n".join(chosen)


# -- fitting and showing ------------------------------------------------------------

def listing(text: str, *, max_height: float = MAX_HEIGHT,
            max_width: float = MAX_WIDTH) -> Listing:
    """Python ``text``, highlighted at the deck's code font, in steps of at most
    ``max_height`` px, its lines wrapping past ``max_width`` px.

    Lower ``max_height`` on a slide that has text above or below its listing.
    ValueError when the text cannot be cut there (see ``decks.steps.cut``).
    """
    if not isinstance(text, str):
        raise TypeError(f"listing() shows text, not {type(text).__name__}; "
                        f"use show() for functions and classes")
    columns = columns_that_fit(max_width)
    rows = rows_that_fit(max_height)
    text = _BLANK_RUNS.sub("\n\n", "\n".join(line.rstrip() for line in text.splitlines()))
    text = text.strip("\n")
    return Listing(text, tuple(cut(text, rows, columns)), columns, rows)


def show(*objects: Any, only: tuple[str, ...] | str = (), max_height: float = MAX_HEIGHT,
         max_width: float = MAX_WIDTH) -> Listing:
    """The real source of ``objects`` (or of their nested ``only``), to fit."""
    return listing(source_of(*objects, only=only), max_height=max_height,
                   max_width=max_width)


def show_script(path: str | Path, *starts: str, inside: str | None = None,
                max_height: float = MAX_HEIGHT, max_width: float = MAX_WIDTH) -> Listing:
    """Statements of a script (see ``script_source``), to fit."""
    return listing(script_source(path, *starts, inside=inside), max_height=max_height,
                   max_width=max_width)
