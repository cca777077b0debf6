"""Run one slide's demo from a terminal: ``make demo TALK=fosdem SLIDE=12 [LANG=en]``.

The slide numbers are the HTML decks' (reveal.js's ``c/t`` counter): every cell of
slide type ``slide`` or ``subslide`` starts the next slide, counted from 1 in the
language's deck, exactly as ``slides/decks/source.py``'s ``slides_of`` counts them
(tests/test_demo_slide.py checks that both agree on every slide of every deck).

A slide's demo is its code cells, less those tagged ``hide-input``: those draw a
listing or a chart with the slide toolchain (pygments, IPython), which the demos-only
venv does not have, and their code is not what the slide shows. The cells run as the
deck's kernel runs them, in one fresh interpreter (``--python``, the demos-only venv's)
started in the talk's folder: inside a running asyncio loop, so a cell may ``await``
at top level, and a cell's last expression is printed when it is not None. Cells share
state, as in the notebook, so every code cell of the earlier slides runs first, with
its output hidden unless it fails; then the slide's demo cells, with their output shown.
A ``hide-input`` cell may import what a later demo uses (``import rose``), so it runs
too, statement by statement, silently, and a statement that fails (it needs the slide
toolchain) is skipped: a demo that needed it fails with a NameError that says so.

Exit status: 0 when the demo ran, 1 when a cell raised (its traceback is printed), and
2, after one line on stderr, for an unknown talk, language or slide, or a slide with no
demo. Reading the talks needs only the standard library (any Python 3.8+); running the
cells needs the interpreter given by ``--python``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TALKS_DIR = ROOT / "talks"
LANGUAGES = ("es", "en")
LANG_TAG_PREFIX = "lang-"
HIDE_INPUT_TAG = "hide-input"
EXIT_USAGE = 2


class UsageError(Exception):
    """A request this script cannot serve; printed as one line, exit status 2."""


@dataclass
class Cell:
    """One cell of a talk's source: its type, its metadata and its text."""

    cell_type: str  # "markdown" or "code"
    metadata: dict[str, Any]
    source: str

    @property
    def tags(self) -> list[str]:
        return list(self.metadata.get("tags", []))

    @property
    def slide_type(self) -> str:
        return self.metadata.get("slideshow", {}).get("slide_type", "-") or "-"

    def in_language(self, lang: str) -> bool:
        """Untagged cells are in every language; a ``lang-xx`` cell only in xx."""
        langs = [t[len(LANG_TAG_PREFIX):] for t in self.tags if t.startswith(LANG_TAG_PREFIX)]
        return not langs or lang in langs


@dataclass
class Slide:
    """One slide of a language's deck, numbered from 1 as the HTML deck shows it."""

    number: int
    cells: list[Cell] = field(default_factory=list)

    @property
    def code_cells(self) -> list[Cell]:
        return [c for c in self.cells if c.cell_type == "code"]

    @property
    def demo_cells(self) -> list[Cell]:
        return [c for c in self.code_cells if not is_helper(c)]

    @property
    def title(self) -> str:
        for cell in self.cells:
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
        return ""


def is_helper(cell: Cell) -> bool:
    """A code cell that draws a listing or a chart rather than showing a demo."""
    return HIDE_INPUT_TAG in cell.tags


def _option_value(text: str) -> Any:
    """A code cell option's value as jupytext writes it: JSON, or ``[a, b]``, or text."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    if text.startswith("[") and text.endswith("]"):
        return [item.strip() for item in text[1:-1].split(",") if item.strip()]
    return text


def read_cells(path: Path) -> tuple[dict[str, str], list[Cell]]:
    """Parse a talk's jupytext MyST source: its ``deck`` header keys and its cells.

    Only what the talks use is understood: a YAML front matter (of which only the
    ``original:`` language is read), ``+++ {json}`` markers opening Markdown cells,
    and ``{code-cell}`` fences with ``:key: value`` options. Anything else in a
    code cell's header raises ValueError, so a new construct cannot be misread.
    """
    lines = path.read_text(encoding="utf-8").splitlines()
    header: dict[str, str] = {}
    start = 0
    if lines and lines[0] == "---":
        end = lines.index("---", 1)
        for line in lines[1:end]:
            if match := re.fullmatch(r"  original: *(\w+)", line):
                header["original"] = match[1]
        start = end + 1
    cells: list[Cell] = []
    text: list[str] = []
    meta: dict[str, Any] = {}

    def flush_markdown() -> None:
        # jupytext writes one blank line around each marker; they are not the cell's.
        body = "\n".join(text).strip("\n")
        if body or meta:
            cells.append(Cell("markdown", dict(meta), body))

    i = start
    while i < len(lines):
        line = lines[i]
        if line.startswith("+++"):
            flush_markdown()
            text, meta = [], json.loads(line[3:].strip() or "{}")
        elif line.startswith("```{code-cell}"):
            flush_markdown()
            text, meta = [], {}
            options: dict[str, Any] = {}
            i += 1
            while i < len(lines) and lines[i].startswith(":"):
                match = re.fullmatch(r":(\w[\w-]*):\s*(.*)", lines[i])
                if not match:
                    raise ValueError(f"{path}:{i + 1}: a code cell option this script cannot read")
                options[match[1]] = _option_value(match[2])
                i += 1
            if i < len(lines) and lines[i] == "---":
                raise ValueError(f"{path}:{i + 1}: YAML code cell options are not supported here")
            if options and i < len(lines) and lines[i] == "":
                i += 1  # the blank line after the options
            body: list[str] = []
            while i < len(lines) and lines[i] != "```":
                body.append(lines[i])
                i += 1
            cells.append(Cell("code", options, "\n".join(body)))
        else:
            text.append(line)
        i += 1
    flush_markdown()
    return header, cells


def slides_of(cells: list[Cell], lang: str) -> list[Slide]:
    """The language's slides, in order (cells before the first slide belong to none)."""
    slides: list[Slide] = []
    for cell in cells:
        if not cell.in_language(lang):
            continue
        if cell.slide_type in ("slide", "subslide"):
            slides.append(Slide(len(slides) + 1, [cell]))
        elif slides:
            slides[-1].cells.append(cell)
    return slides


def talk_source(talk: str) -> Path:
    names = sorted(p.name for p in TALKS_DIR.iterdir() if (p / f"{p.name}.md").is_file())
    if talk not in names:
        raise UsageError(f"no talk named {talk!r}; the talks are: {', '.join(names)}")
    return TALKS_DIR / talk / f"{talk}.md"


def choose(talk: str, slide: str, lang: str | None) -> tuple[list[Slide], Slide, str]:
    """Check the request; return the deck's slides, the chosen slide and the language."""
    header, cells = read_cells(talk_source(talk))
    lang = lang or header.get("original", LANGUAGES[0])
    if lang not in LANGUAGES:
        raise UsageError(f"unknown language {lang!r}; the languages are: {', '.join(LANGUAGES)}")
    slides = slides_of(cells, lang)
    if not slide.isdigit() or not 1 <= int(slide) <= len(slides):
        raise UsageError(f"{talk} has slides 1 to {len(slides)}; SLIDE={slide!r} is not one of them")
    chosen = slides[int(slide) - 1]
    if not chosen.demo_cells:
        with_demo = [str(s.number) for s in slides if s.demo_cells]
        what = ("only a listing or a chart (hide-input), no demo"
                if any(c.cell_type == "code" for c in chosen.cells) else "no code")
        raise UsageError(f"{talk} slide {chosen.number} ({chosen.title!r}) has {what}; "
                         f"the slides with a demo are: {', '.join(with_demo)}")
    return slides, chosen, lang


# -- running the cells (in the demos' interpreter) -------------------------------------

def run_cells(cells: list[dict[str, Any]]) -> int:
    """Run *cells* (``source``, ``label``, ``shown``, ``helper``) in order, in one namespace.

    A helper cell (``hide-input``) runs one top-level statement at a time, each
    failure ignored: what it can do without the slide toolchain still happens.

    Everything runs inside one coroutine on an asyncio loop, as in ipykernel: a cell
    can await at top level and sees a running loop. Returns the exit status.
    """
    import ast
    import asyncio
    import contextlib
    import inspect
    import io
    import traceback

    namespace: dict[str, Any] = {"__name__": "__main__"}
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT

    async def run(code: Any) -> Any:
        result = eval(code, namespace)
        # Compiled with top-level await, code that awaits returns a coroutine.
        if code.co_flags & inspect.CO_COROUTINE:
            result = await result
        return result

    async def run_cell(cell: dict[str, Any]) -> None:
        tree = ast.parse(cell["source"], cell["label"])
        if cell["helper"]:
            for statement in tree.body:
                with contextlib.suppress(Exception):
                    module = ast.Module([statement], type_ignores=[])
                    await run(compile(module, cell["label"], "exec", flags=flags))
            return
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        await run(compile(tree, cell["label"], "exec", flags=flags))
        if last is not None:
            value = await run(compile(ast.Expression(last.value), cell["label"], "eval", flags=flags))
            if value is not None and cell["shown"]:
                print(repr(value))  # what the notebook's display hook would show

    async def main() -> int:
        for cell in cells:
            captured = io.StringIO()
            hide = contextlib.ExitStack()
            if not cell["shown"] or cell["helper"]:
                hide.enter_context(contextlib.redirect_stdout(captured))
                hide.enter_context(contextlib.redirect_stderr(captured))
            try:
                with hide:
                    await run_cell(cell)
            except BaseException as exc:  # any failure of the demo, KeyboardInterrupt too
                sys.stdout.write(captured.getvalue())
                print(f"demo: {cell['label']} failed:", file=sys.stderr)
                traceback.print_exc()
                if isinstance(exc, ModuleNotFoundError):
                    # e.g. the slide that shows the notebook's own Tornado loop
                    print(f"demo: {exc.name} is not in this environment: that demo needs the "
                          f"deck's Jupyter kernel (make present)", file=sys.stderr)
                return 1
            sys.stdout.flush()
        return 0

    return asyncio.run(main())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--talk", default="", help="the talk's folder name under talks/")
    parser.add_argument("--slide", default="", help="the slide number the HTML deck shows")
    parser.add_argument("--lang", default="", help="es or en (default: the talk's original)")
    parser.add_argument("--python", default=sys.executable,
                        help="the interpreter that runs the cells (make demo: .venv-demos's)")
    parser.add_argument("--run-cells", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run_cells:  # the child side: the cells arrive as JSON on stdin
        return run_cells(json.load(sys.stdin))
    # A relative path means from here, not from the talk's folder the cells run in.
    python = str(Path(args.python).absolute()) if os.sep in args.python else args.python
    try:
        if not shutil.which(python):
            raise UsageError(f"no interpreter {args.python}; make demos creates it")
        if not args.talk or not args.slide:
            raise UsageError("say which slide: make demo TALK=fosdem SLIDE=12 [LANG=en]")
        slides, chosen, lang = choose(args.talk, args.slide, args.lang or None)
    except UsageError as exc:
        print(f"demo: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    cells = [{"source": cell.source, "shown": slide is chosen, "helper": is_helper(cell),
              "label": f"<{args.talk} slide {slide.number}, cell {index}>"}
             for slide in slides[:chosen.number]
             for index, cell in enumerate(slide.code_cells, 1)]
    earlier = sorted({s.number for s in slides[:chosen.number - 1] if s.demo_cells})
    print(f"demo: {args.talk} ({lang}) slide {chosen.number}: {chosen.title}"
          + (f" (after slides {', '.join(map(str, earlier))}, output hidden)" if earlier else ""),
          file=sys.stderr, flush=True)
    # The deck's kernel runs in the talk's folder with slides/ on its path: so do we.
    env = dict(os.environ, PYTHONPATH=str(ROOT / "slides"), PYTHONUNBUFFERED="1")
    child = subprocess.run([python, str(Path(__file__).resolve()), "--run-cells"],
                           input=json.dumps(cells), text=True, cwd=TALKS_DIR / args.talk, env=env)
    return child.returncode


if __name__ == "__main__":
    sys.exit(main())
