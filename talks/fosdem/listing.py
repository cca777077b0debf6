"""Show a package's real source on a slide, sized to fit (the deck's hidden cells use it).

The packages' lines run to about 100 columns and some functions to 30 lines,
while a slide is 960 x 700 pixels and the deck's code font is 19 px: a
listing is therefore drawn at the largest size (up to that font) at which
its widest line and its height both fit, rather than cut off.

    from listing import show
    show(rose.loop.EventLoop._arm_timer, rose.loop.EventLoop._on_timer)
    show(serve_pyuv, only=("on_connection", "on_read"))   # nested functions

The text is ``inspect.getsource`` of the objects (or ``ast`` segments of the
functions named in ``only``), never a copy, so the slide cannot drift from
the code. The one liberty taken is with blank lines: runs of them (PEP 8's
two between top-level definitions) are shown as one, to save a slide's height.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from typing import Any

from IPython.display import HTML
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

#: Pixels a listing may take: the slide's width less margins, and its height
#: less a one-line title.
MAX_WIDTH = 900
MAX_HEIGHT = 540
#: The deck's code font (slides/decks/render.py) is the largest size used.
MAX_FONT = 19.0
#: Monospace advance and line height, as fractions of the font size.
CHAR_WIDTH = 0.61
LINE_HEIGHT = 1.3


def _nested(function: Any, names: tuple[str, ...]) -> str:
    """The source of the functions called ``names`` defined inside ``function``."""
    source = inspect.getsource(function)
    lines = source.splitlines()
    found = {node.name: textwrap.dedent("\n".join(lines[node.lineno - 1:node.end_lineno]))
             for node in ast.walk(ast.parse(textwrap.dedent(source)))
             if isinstance(node, ast.FunctionDef) and node.name in names}
    missing = [name for name in names if name not in found]
    if missing:
        raise LookupError(f"{function.__qualname__} defines no {', '.join(missing)}")
    return "\n\n".join(found[name] for name in names)


def source_of(*objects: Any, only: tuple[str, ...] = ()) -> str:
    """The source text of ``objects`` (dedented), or of their nested functions ``only``."""
    if only:
        return "\n\n".join(_nested(obj, only) for obj in objects)
    return "\n\n".join(textwrap.dedent(inspect.getsource(obj)).rstrip() for obj in objects)


def font_size(text: str, max_height: int = MAX_HEIGHT) -> float:
    """The largest font size (px) at which ``text`` fits MAX_WIDTH x ``max_height``."""
    lines = text.splitlines() or [""]
    columns = max(len(line.expandtabs()) for line in lines) or 1
    by_width = MAX_WIDTH / (columns * CHAR_WIDTH)
    by_height = max_height / (len(lines) * LINE_HEIGHT)
    return round(min(MAX_FONT, by_width, by_height), 1)


def listing(text: str, max_height: int = MAX_HEIGHT) -> HTML:
    """Highlighted Python ``text`` at the size that fits a slide (``max_height`` px high)."""
    text = re.sub(r"\n(?:[ \t]*\n)+", "\n\n", text.strip("\n"))
    size = font_size(text, max_height)
    formatter = HtmlFormatter(noclasses=True, nobackground=True,
                              prestyles=f"font-size: {size}px; line-height: {LINE_HEIGHT};"
                                        " margin: 0; overflow: visible;")
    return HTML(highlight(text, PythonLexer(), formatter))


def show(*objects: Any, only: tuple[str, ...] = (), max_height: int = MAX_HEIGHT) -> HTML:
    """The real source of ``objects`` (or their nested functions ``only``) as a listing."""
    return listing(source_of(*objects, only=only), max_height)
