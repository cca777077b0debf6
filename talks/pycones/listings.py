"""Real source code on a slide: what the deck's ``hide-input`` cells show.

The slides that explain an implementation show the packages' own source,
read when the cell runs, so a slide cannot drift from the code. Each
hidden cell imports what it needs from here, so that it also runs on its
own when presenting live in RISE (where hidden cells are run by hand).
"""

from __future__ import annotations

import ast
import inspect
import pathlib
import textwrap

from IPython.display import HTML, Code

import evergreen

__all__ = ["EXAMPLES", "listing", "smaller", "source_of", "script_source"]

#: evergreen's examples (the crawler and its site): scripts, not a package.
EXAMPLES = pathlib.Path(evergreen.__file__).resolve().parents[1] / "examples"

#: Longest line shown at the deck's usual code size without wrapping.
WIDEST_AT_FULL_SIZE = 78
#: The smaller size, for sources whose lines are longer than that.
SMALL_PIXELS = 15


def smaller(code: Code, pixels: int = SMALL_PIXELS) -> HTML:
    """A listing in a smaller font (the deck sizes listings from --jp-code-font-size)."""
    style = f"--jp-code-font-size: {pixels}px"
    return HTML(f'<div style="{style}">{code._repr_html_()}</div>')


def listing(text: str, pixels: int | None = None) -> Code | HTML:
    """Highlighted Python source, smaller if ``pixels`` says so or a line would wrap."""
    code = Code(text, language="python")
    if pixels is None and max(map(len, text.splitlines())) > WIDEST_AT_FULL_SIZE:
        pixels = SMALL_PIXELS
    return code if pixels is None else smaller(code, pixels)


def source_of(*objects: object) -> Code | HTML:
    """The source of functions, methods and classes, as they are in the packages."""
    return listing("\n".join(textwrap.dedent(inspect.getsource(obj)) for obj in objects))


def script_source(path: pathlib.Path, *starts: str, inside: str | None = None,
                  pixels: int | None = None) -> Code | HTML:
    """Statements of a script, in file order, without importing it.

    A statement is chosen when it defines one of ``starts`` (a def or class
    name) or when its first line starts with one of them. With ``inside``,
    the statements are those of that top-level function's body. Raises
    LookupError when nothing matches, so a renamed function fails the build
    instead of leaving an empty slide.
    """
    text = path.read_text()
    lines = text.splitlines()
    body = ast.parse(text).body
    if inside is not None:
        body = next((node.body for node in body if getattr(node, "name", None) == inside), [])
    chosen = []
    for node in body:
        first = lines[node.lineno - 1].strip()
        if getattr(node, "name", None) in starts or first.startswith(starts):
            chosen.append(textwrap.dedent("\n".join(lines[node.lineno - 1:node.end_lineno])))
    if not chosen:
        raise LookupError(f"{path.name}: no statement starting with {starts}"
                          + (f" in {inside}()" if inside else ""))
    return listing("\n\n".join(chosen), pixels)
