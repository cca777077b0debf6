"""The source format of a talk, and its split into one RISE notebook per language.

A talk lives in ``talks/<name>/<name>.md``: a jupytext MyST Markdown notebook holding
both languages. Text cells carry a ``lang-es`` or ``lang-en`` tag (or none, when the
text is the same in both languages); code cells are never tagged, so the code is
written once. ``split`` keeps, for each language, the shared cells and that
language's own, and refuses a source whose languages differ in slide structure.
``slides/README.md`` documents the format for authors.
"""

from __future__ import annotations

import base64
import copy
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jupytext
import nbformat
from nbformat import NotebookNode

from . import LANGUAGES, ROOT, TALKS_DIR

LANG_TAG_PREFIX = "lang-"
SLIDE_TYPES = ("slide", "subslide", "fragment", "-", "skip", "notes")
#: Cells of these types are not shown on a slide (and RISE does not run a ``skip``
#: cell, so the split refuses code cells of that type).
HIDDEN_TYPES = ("skip", "notes")
#: reveal.js themes that need no web fonts (their fonts ship with reveal.js, so the
#: HTML deck inlines them) and that RISE offers too, so both look alike.
THEMES = ("white", "black", "serif")
#: reveal.js 5 transitions (RISE's "linear" and "cube" do not exist there).
TRANSITIONS = ("none", "fade", "slide", "convex", "concave", "zoom")
RISE_DEFAULTS = {"theme": "white", "transition": "slide"}
#: A code cell with this tag shows only its output, on the HTML deck and in RISE.
HIDE_INPUT_TAG = "hide-input"
IMAGE_TYPES = {".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg",
               ".jpeg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp"}
DIAGRAM_TIMEOUT = 120  # seconds a diagram script may take

_MD_IMAGE = re.compile(r"!\[(?P<alt>[^\]]*)\]\((?P<url><[^>]+>|[^)\s]+)(?P<title>\s+\"[^\"]*\")?\)")
_HTML_IMG = re.compile(r"<img\b[^>]*\bsrc\s*=\s*[\"']?(?P<url>[^\"'\s>]+)", re.IGNORECASE)
_REMOTE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)


class DeckSourceError(ValueError):
    """A talk's source breaks the format; the message names the file and the cell."""


@dataclass(frozen=True)
class Talk:
    """One talk: ``talks/<name>/<name>.md`` and the folder around it."""

    name: str
    source: Path

    @property
    def directory(self) -> Path:
        return self.source.parent

    def notebook_name(self, lang: str) -> str:
        return f"{self.name}.{lang}.ipynb"


def find_talks(talks_dir: Path = TALKS_DIR) -> list[Talk]:
    """Every ``<talks_dir>/<name>/<name>.md``, sorted by name."""
    found = []
    for directory in sorted(p for p in talks_dir.iterdir() if p.is_dir()):
        source = directory / f"{directory.name}.md"
        if source.is_file():
            found.append(Talk(directory.name, source))
    return found


def talk_named(name: str, talks_dir: Path = TALKS_DIR) -> Talk:
    """The talk called ``name``; ValueError listing the talks when there is none."""
    talks = find_talks(talks_dir)
    for talk in talks:
        if talk.name == name:
            return talk
    known = ", ".join(t.name for t in talks) or "none"
    raise ValueError(f"no talk named {name!r}; the talks are: {known}")


def check_language(lang: str) -> str:
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; the languages are: {', '.join(LANGUAGES)}")
    return lang


# -- cells and slides ---------------------------------------------------------------

def slide_type(cell: NotebookNode) -> str:
    """The cell's RISE slide type; a cell without one continues the current slide."""
    return cell.get("metadata", {}).get("slideshow", {}).get("slide_type", "-") or "-"


def is_shown(cell: NotebookNode) -> bool:
    return slide_type(cell) not in HIDDEN_TYPES


def input_hidden(cell: NotebookNode) -> bool:
    """Whether a code cell shows only its output (``hide-input``, as the split marks it)."""
    return cell.cell_type == "code" and bool(cell.metadata.get("jupyter", {}).get("source_hidden"))


@dataclass
class Slide:
    """One reveal.js slide (a ``slide`` or ``subslide`` cell and the cells after it)."""

    number: int
    cells: list[NotebookNode]

    @property
    def shown(self) -> list[NotebookNode]:
        return [c for c in self.cells if is_shown(c)]

    @property
    def notes(self) -> list[NotebookNode]:
        return [c for c in self.cells if slide_type(c) == "notes"]

    @property
    def title(self) -> str:
        """The slide's first heading, or the start of its first shown line."""
        lines = [line.strip() for c in self.shown for line in c.source.splitlines()
                 if line.strip()]
        for line in lines:
            if line.startswith("#"):
                return line.lstrip("#").strip()
        return lines[0][:40] if lines else "(empty)"

    def describe(self) -> str:
        return f"slide {self.number} ({self.title!r})"


def slides_of(nb: NotebookNode, where: str = "the deck") -> list[Slide]:
    """Group the cells into slides, in order.

    ``skip`` cells before the first slide belong to no slide; any other cell
    before the first ``slide`` cell is an error (reveal.js would have nowhere to put it).
    """
    slides: list[Slide] = []
    for index, cell in enumerate(nb.cells):
        kind = slide_type(cell)
        if kind in ("slide", "subslide"):
            slides.append(Slide(len(slides) + 1, [cell]))
        elif slides:
            slides[-1].cells.append(cell)
        elif kind != "skip":
            raise DeckSourceError(
                f"{where}: cell {index + 1} comes before the first slide; give the first "
                f"shown cell the slide type 'slide' (RISE: Shift+I)")
    if not slides:
        raise DeckSourceError(f"{where}: there is no cell of slide type 'slide'")
    return slides


def _cell_language(cell: NotebookNode, where: str) -> str | None:
    tags = cell.get("metadata", {}).get("tags", [])
    langs = [t[len(LANG_TAG_PREFIX):] for t in tags if t.startswith(LANG_TAG_PREFIX)]
    for lang in langs:
        if lang not in LANGUAGES:
            tags = ", ".join(LANG_TAG_PREFIX + code for code in LANGUAGES)
            raise DeckSourceError(f"{where}: unknown language tag '{LANG_TAG_PREFIX}{lang}' "
                                  f"(use one of {tags})")
    if len(langs) > 1:
        raise DeckSourceError(f"{where}: a cell has one language tag at most; "
                              f"leave it untagged to show it in every language")
    if langs and cell.cell_type == "code":
        raise DeckSourceError(f"{where}: code cells are shared by both languages and take "
                              f"no language tag (put language-specific text in a text cell)")
    return langs[0] if langs else None


def _describe_cell(index: int, cell: NotebookNode) -> str:
    first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
    return f"cell {index + 1} ({cell.cell_type}: {first[:40]!r})"


# -- the header ---------------------------------------------------------------------

def read_source(talk: Talk) -> NotebookNode:
    """Read a talk's source and check its header (the ``deck`` and ``rise`` keys)."""
    try:
        nb = jupytext.read(talk.source, fmt="md:myst")
    except Exception as exc:  # jupytext raises a variety of parser errors
        raise DeckSourceError(f"{talk.source}: jupytext cannot read it: {exc}") from exc
    _check_header(nb.metadata, talk.source)
    return nb


def _check_header(metadata: dict[str, Any], where: Path) -> None:
    deck = metadata.get("deck")
    if not isinstance(deck, dict):
        raise DeckSourceError(f"{where}: the header needs a 'deck' mapping with a title "
                              f"per language (see slides/README.md)")
    for lang in LANGUAGES:
        own = deck.get(lang)
        if not isinstance(own, dict) or not str(own.get("title", "")).strip():
            raise DeckSourceError(f"{where}: the header needs deck.{lang}.title")
        if not isinstance(own.get("rise", {}), dict):
            raise DeckSourceError(f"{where}: deck.{lang}.rise must be a mapping")
    slot = deck.get("slot")
    if slot is not None and (isinstance(slot, bool) or not isinstance(slot, (int, float))
                             or slot <= 0):
        raise DeckSourceError(f"{where}: deck.slot is the talk's length in minutes "
                              f"(questions not included), a positive number, not {slot!r}")
    if deck.get("original") not in LANGUAGES:
        raise DeckSourceError(f"{where}: deck.original must be the language the talk was "
                              f"first given in, one of {', '.join(LANGUAGES)}")
    if not isinstance(metadata.get("rise", {}), dict):
        raise DeckSourceError(f"{where}: 'rise' must be a mapping of RISE settings")
    keep = str(metadata.get("jupytext", {}).get("notebook_metadata_filter", ""))
    missing = [key for key in ("rise", "deck") if key not in keep.split(",")]
    if missing:
        raise DeckSourceError(
            f"{where}: jupytext.notebook_metadata_filter must list {' and '.join(missing)}, "
            f"or JupyterLab drops them when it saves the file")
    for lang in LANGUAGES:
        rise = rise_settings(metadata, lang)
        if rise["theme"] not in THEMES:
            raise DeckSourceError(
                f"{where}: theme {rise['theme']!r} loads web fonts, so its HTML deck would "
                f"not work offline; use one of {', '.join(THEMES)}")
        if rise["transition"] not in TRANSITIONS:
            raise DeckSourceError(f"{where}: unknown transition {rise['transition']!r}; "
                                  f"use one of {', '.join(TRANSITIONS)}")


def rise_settings(metadata: dict[str, Any], lang: str) -> dict[str, Any]:
    """RISE settings for one language: defaults, then ``rise``, then ``deck.<lang>.rise``."""
    own = metadata.get("deck", {}).get(lang, {}).get("rise", {})
    return {**RISE_DEFAULTS, **metadata.get("rise", {}), **own}


# -- images and diagrams --------------------------------------------------------------

def render_diagram(script: Path, lang: str, cwd: Path) -> bytes:
    """Run a diagram script for one language and return the SVG it writes.

    The contract (slides/README.md): ``python script.py --lang es --output out.svg``,
    run from the talk's folder, writes an SVG file and exits 0.
    """
    with tempfile.TemporaryDirectory(prefix="deck-diagram-") as tmp:
        out = Path(tmp) / f"{script.stem}.svg"
        env = dict(os.environ, MPLBACKEND="Agg")
        cmd = [sys.executable, str(script), "--lang", lang, "--output", str(out)]
        try:
            done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True,
                                  text=True, timeout=DIAGRAM_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise DeckSourceError(f"{script}: the diagram took more than "
                                  f"{DIAGRAM_TIMEOUT} s for --lang {lang}") from None
        if done.returncode != 0 or not out.is_file():
            tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
            raise DeckSourceError(f"{script} --lang {lang} failed (status {done.returncode}, "
                                  f"output file {'written' if out.is_file() else 'missing'}):\n"
                                  + "\n".join(tail))
        return out.read_bytes()


def _embed_images(cell: NotebookNode, lang: str, talk: Talk, where: str) -> None:
    """Inline the cell's local images as ``data:`` URIs, so a notebook is self-contained.

    ``![alt](images/x.svg)`` embeds the file; ``![alt](diagrams/x.py)`` embeds the SVG
    the script draws for this language. Remote images are refused: decks work offline.
    (Data URIs rather than cell attachments: RISE showed no SVG attachment in our
    checks, and jupytext drops attachments from the source anyway.)
    """
    for match in _HTML_IMG.finditer(cell.source):
        if not match["url"].startswith("data:"):
            raise DeckSourceError(f"{where}: <img src={match['url']!r}> is neither embedded "
                                  f"nor offline; use Markdown image syntax ![alt](path)")

    def embed(match: re.Match[str]) -> str:
        url = match["url"].strip("<>")
        if url.startswith("data:"):
            return match[0]
        if _REMOTE.match(url) or url.startswith("attachment:"):
            raise DeckSourceError(f"{where}: the image {url} is not a file of the talk; "
                                  f"put the image in the talk's folder and link it by path")
        path = (talk.directory / url).resolve()
        if not path.is_file():
            raise DeckSourceError(f"{where}: the image {url} does not exist "
                                  f"(paths are relative to {talk.directory})")
        if path.suffix == ".py":
            data, mime = render_diagram(path, lang, talk.directory), "image/svg+xml"
        else:
            mime = IMAGE_TYPES.get(path.suffix.lower())
            if mime is None:
                raise DeckSourceError(f"{where}: {url} is not an image this pipeline knows "
                                      f"({', '.join(IMAGE_TYPES)})")
            data = path.read_bytes()
        return f"![{match['alt']}](data:{mime};base64,{_b64(data)}{match['title'] or ''})"

    cell.source = _MD_IMAGE.sub(embed, cell.source)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# -- the split ----------------------------------------------------------------------

def split(talk: Talk, source: NotebookNode | None = None) -> dict[str, NotebookNode]:
    """One RISE notebook per language, checked to have the same slides and code.

    Each notebook holds the shared cells and that language's cells in source order,
    without language tags, with images inlined, the RISE settings of its language
    and a ``deck`` key naming the talk and the language. DeckSourceError when a cell
    breaks the format or when the languages differ in slide structure or code.
    """
    nb = source if source is not None else read_source(talk)
    where = str(talk.source.relative_to(ROOT) if talk.source.is_relative_to(ROOT) else talk.source)
    for index, cell in enumerate(nb.cells):
        label = f"{where}: {_describe_cell(index, cell)}"
        kind = slide_type(cell)
        if kind not in SLIDE_TYPES:
            raise DeckSourceError(f"{label}: unknown slide type {kind!r} "
                                  f"(use one of {', '.join(SLIDE_TYPES)})")
        lang = _cell_language(cell, label)
        if kind == "notes" and lang is None:
            raise DeckSourceError(f"{label}: speaker notes belong to one language; "
                                  f"tag the cell lang-es or lang-en")
        if cell.cell_type == "raw":
            raise DeckSourceError(f"{label}: raw cells do not show on slides; "
                                  f"use a Markdown or code cell")
        if cell.cell_type == "code" and kind == "skip":
            raise DeckSourceError(
                f"{label}: a code cell of slide type 'skip' runs in the build but never on "
                f"stage (RISE does not run skipped cells), so the demos that need it would "
                f"fail live; do the setup in the first demo cell that needs it, or in a "
                f"code cell on a slide (tagged {HIDE_INPUT_TAG} to show only its output)")
    decks = {lang: _language_notebook(nb, talk, lang, where) for lang in LANGUAGES}
    _check_same_structure(decks, where)
    return decks


def _language_notebook(nb: NotebookNode, talk: Talk, lang: str, where: str) -> NotebookNode:
    deck = nb.metadata["deck"]
    out = nbformat.v4.new_notebook()
    out.metadata = nbformat.from_dict({
        "kernelspec": nb.metadata.get("kernelspec") or {
            "name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
        "title": deck[lang]["title"],
        "rise": rise_settings(nb.metadata, lang),
        "deck": {
            "talk": talk.name,
            "lang": lang,
            "original": deck["original"],
            "event": deck.get("event", ""),
            "titles": {code: deck[code]["title"] for code in LANGUAGES},
            "source": where,
            **({"slot": deck["slot"]} if deck.get("slot") is not None else {}),
        },
    })
    for index, cell in enumerate(nb.cells):
        label = f"{where}: {_describe_cell(index, cell)}"
        if _cell_language(cell, label) not in (None, lang):
            continue
        cell = copy.deepcopy(cell)
        metadata = cell.setdefault("metadata", {})
        tags = [t for t in metadata.get("tags", []) if not t.startswith(LANG_TAG_PREFIX)]
        if tags:
            metadata["tags"] = tags
        else:
            metadata.pop("tags", None)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            if HIDE_INPUT_TAG in tags:
                metadata.setdefault("jupyter", {})["source_hidden"] = True
        else:
            _embed_images(cell, lang, talk, label)
        cell.id = f"{lang}-{len(out.cells):03d}"
        out.cells.append(cell)
    nbformat.validate(out)
    return out


def _signature(cell: NotebookNode) -> tuple[str, str, str]:
    """What must match across languages: cell type, slide type, and code."""
    return cell.cell_type, slide_type(cell), cell.source if cell.cell_type == "code" else ""


def _prelude(nb: NotebookNode) -> list[NotebookNode]:
    """The ``skip`` cells before the first slide."""
    cells = []
    for cell in nb.cells:
        if slide_type(cell) in ("slide", "subslide"):
            break
        cells.append(cell)
    return cells


def _check_same_structure(decks: dict[str, NotebookNode], where: str) -> None:
    (first, reference), *others = decks.items()
    ref_slides = slides_of(reference, f"{where} ({first})")
    for lang, nb in others:
        slides = slides_of(nb, f"{where} ({lang})")
        if [_signature(c) for c in _prelude(reference)] != [_signature(c) for c in _prelude(nb)]:
            raise DeckSourceError(f"{where}: the cells before the first slide differ "
                                  f"between {first} and {lang}")
        for a, b in zip(ref_slides, slides):
            shape_a = [_signature(c) for c in a.cells]
            shape_b = [_signature(c) for c in b.cells]
            if shape_a == shape_b:
                continue
            same_kinds = [s[:2] for s in shape_a] == [s[:2] for s in shape_b]
            detail = ("the code differs" if same_kinds else
                      f"{first} has [{_kinds(shape_a)}] but {lang} has [{_kinds(shape_b)}]")
            raise DeckSourceError(
                f"{where}: the languages differ at {first} {a.describe()} / {lang} "
                f"{b.describe()}: {detail}; every text cell needs its counterpart in the "
                f"other language, in the same place")
        if len(ref_slides) != len(slides):
            longer, extra = ((first, ref_slides) if len(ref_slides) > len(slides)
                             else (lang, slides))
            first_extra = extra[min(len(ref_slides), len(slides))]
            raise DeckSourceError(
                f"{where}: {first} has {len(ref_slides)} slides and {lang} has "
                f"{len(slides)}; {longer} has an extra {first_extra.describe()}")


def _kinds(cells: list[tuple[str, str, str]]) -> str:
    return ", ".join(f"{cell_type} {kind}" for cell_type, kind, _ in cells)


def write_notebook(nb: NotebookNode, path: Path) -> None:
    """Write atomically: a reader never sees half a notebook."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    nbformat.write(nb, tmp)
    os.replace(tmp, path)
