"""The HTML outputs: one self-contained reveal.js deck per notebook, and the site index.

A deck is nbconvert's reveal exporter with our template (``slides/template/deck``):
reveal.js, its notes plugin, the theme and the theme's fonts come from the pinned npm
package in ``slides/node_modules`` and are inlined, images are embedded, and nothing
is left that a browser would fetch. The notebook's ``rise`` settings drive reveal.js.
"""

from __future__ import annotations

import base64
import functools
import html
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nbconvert.exporters import SlidesExporter
from nbformat import NotebookNode

from . import CODE_FONT_PX, LANGUAGE_NAMES, LANGUAGES, NODE_MODULES, SLIDE_SIZE, TEMPLATE_DIR
from .source import input_hidden

REVEAL_DIR = NODE_MODULES / "reveal.js"
#: RISE settings the HTML deck honours, and the reveal.js option each becomes.
RISE_TO_REVEAL = {"transition": "transition", "slideNumber": "slideNumber",
                  "controls": "controls", "progress": "progress", "center": "center",
                  "width": "width", "height": "height"}
INDEX_LABELS = {"es": "Todas las charlas", "en": "All talks"}
NAV_LABELS = {"es": "Navegación", "en": "Navigation"}
OUTPUT_LABELS = {"es": {"html": "diapositivas", "pdf": "PDF", "ipynb": "cuaderno"},
                 "en": {"html": "slides", "pdf": "PDF", "ipynb": "notebook"}}

_IMPORT = re.compile(r"@import\s+url\(\s*['\"]?(?P<url>[^'\")]+)['\"]?\s*\)\s*;")
_FONT_FACE = re.compile(r"@font-face\s*\{(?P<body>[^}]*)\}")
_WOFF_URL = re.compile(r"url\(\s*['\"]?(?P<url>[^'\")]+\.woff)['\"]?\s*\)"
                       r"\s*format\(['\"]woff['\"]\)")
_URL = re.compile(r"url\(\s*['\"]?(?P<url>[^'\")]+)['\"]?\s*\)")
_SRC = re.compile(r"\bsrc\s*:[^;]*;")

DECK_CSS = f"""
:root {{
  --jp-ui-font-size1: 20px;
  --jp-content-font-size1: 20px;
  --jp-code-font-size: {CODE_FONT_PX}px;
}}
""" + """
a.anchor-link { display: none; }
.jp-Notebook { padding: 0; }
.reveal .slides section .jp-Cell { padding: 0; }
.reveal .deck-header, .reveal .deck-footer {
  position: absolute; left: 1.2em; z-index: 20; font-size: 0.4em; color: #777;
}
.reveal .deck-header { top: 0.8em; }
.reveal .deck-footer { bottom: 0.8em; }
.deck-nav {
  position: fixed; top: 0.6em; right: 0.8em; z-index: 40; font: 15px/1.4 sans-serif;
}
.deck-nav a {
  margin-left: 0.6em; padding: 0.15em 0.5em; border-radius: 4px; color: #333;
  background: rgba(255, 255, 255, 0.85); text-decoration: none; border: 1px solid #ccc;
}
.deck-nav a:hover { background: #fff; border-color: #888; }
@media print { .deck-nav { display: none; } }
"""

# In print-pdf mode reveal.js lays every slide out as a page: repeat the header and the
# footer on each page, as on screen.
PRINT_HEADERS_JS = """
Reveal.on('pdf-ready', function () {
  var marks = document.querySelectorAll('.reveal > .deck-header, .reveal > .deck-footer');
  document.querySelectorAll('.reveal .pdf-page').forEach(function (page) {
    marks.forEach(function (mark) { page.appendChild(mark.cloneNode(true)); });
  });
  marks.forEach(function (mark) { mark.remove(); });
});
"""


class RenderError(RuntimeError):
    """The HTML could not be made self-contained; the message says what to change."""


@dataclass(frozen=True)
class RevealAssets:
    version: str
    js: str
    notes_js: str
    css: str

    @classmethod
    @functools.cache
    def load(cls, reveal_dir: Path = REVEAL_DIR) -> RevealAssets:
        package = reveal_dir / "package.json"
        if not package.is_file():
            raise RenderError(f"reveal.js is not installed in {reveal_dir}; run `make setup`")
        return cls(
            version=json.loads(package.read_text())["version"],
            js=_script_text(reveal_dir / "dist" / "reveal.js"),
            notes_js=_script_text(reveal_dir / "plugin" / "notes" / "notes.js"),
            css=(reveal_dir / "dist" / "reveal.css").read_text(),
        )


def _script_text(path: Path) -> str:
    # Inside <script>, only "</script" can end the element early; "<\/" means the same to JS.
    return path.read_text().replace("</script", "<\\/script")


@functools.cache
def theme_css(theme: str, reveal_dir: Path = REVEAL_DIR) -> str:
    """The theme's CSS with its @imports inlined and its fonts embedded (WOFF only).

    RenderError when anything in it would still be fetched (a web font, an image).
    """
    path = reveal_dir / "dist" / "theme" / f"{theme}.css"
    if not path.is_file():
        raise RenderError(f"reveal.js has no theme {theme!r} ({path} is missing)")
    css = _inline_css(path)
    for match in _URL.finditer(css):
        if not match["url"].startswith("data:"):
            raise RenderError(f"theme {theme!r} still refers to {match['url']}; it would not "
                              f"work offline")
    return css


def _inline_css(path: Path) -> str:
    css = path.read_text()

    def import_(match: re.Match[str]) -> str:
        url = match["url"]
        if re.match(r"^[a-z]+:|^//", url):
            raise RenderError(f"{path.name} imports {url}, which needs the network")
        return _inline_css((path.parent / url).resolve())

    def font_face(match: re.Match[str]) -> str:
        body = match["body"]
        woff = _WOFF_URL.search(body)
        if woff is None:
            raise RenderError(f"{path.name}: a @font-face has no WOFF source to embed")
        data = base64.b64encode((path.parent / woff["url"]).read_bytes()).decode("ascii")
        body = _SRC.sub("", body).rstrip()
        return (f"@font-face {{{body}\n    src: url(data:font/woff;base64,{data}) "
                f"format('woff');\n}}")

    # this file's own fonts first: an imported file's relative URLs are its own business
    return _IMPORT.sub(import_, _FONT_FACE.sub(font_face, css))


def reveal_config(rise: dict[str, Any]) -> dict[str, Any]:
    """reveal.js options from a notebook's RISE settings (see RISE_TO_REVEAL)."""
    config: dict[str, Any] = {
        "hash": True, "history": False, "width": SLIDE_SIZE[0], "height": SLIDE_SIZE[1],
        # the handout: one page per slide, fragments shown, nothing cut over two pages
        "pdfSeparateFragments": False, "pdfMaxPagesPerSlide": 1,
    }
    for key, option in RISE_TO_REVEAL.items():
        if key not in rise:
            continue
        value = rise[key]
        if key in ("width", "height") and not isinstance(value, int):
            continue  # RISE's "100%": the static deck keeps reveal.js's fixed size
        config[option] = value
    return config


def deck_file(talk: str, lang: str, suffix: str) -> str:
    """The file name of one output of a deck, e.g. ``fosdem.es.html``."""
    return f"{talk}.{lang}.{suffix}"


def render_deck(nb: NotebookNode, *, index_href: str = "../index.html") -> str:
    """The self-contained HTML deck of an executed language notebook (``split``'s output)."""
    deck = nb.metadata["deck"]
    lang, talk = deck["lang"], deck["talk"]
    other = next(code for code in LANGUAGES if code != lang)
    rise = nb.metadata.get("rise", {})
    assets = RevealAssets.load()
    exporter = SlidesExporter(
        template_name="deck", extra_template_basedirs=[str(TEMPLATE_DIR)],
        exclude_input_prompt=True, exclude_output_prompt=True, embed_images=True)
    exporter.register_preprocessor(_hide_inputs, enabled=True)
    resources = {
        "deck": {
            "lang": lang,
            "title": nb.metadata.get("title", talk),
            "reveal_version": assets.version,
            "rise": rise,
            "config": reveal_config(rise),
            "css": {"reveal": assets.css, "theme": theme_css(rise.get("theme", "white")),
                    "deck": DECK_CSS},
            "js": {"reveal": assets.js, "notes": assets.notes_js + PRINT_HEADERS_JS},
            "index_href": index_href,
            "index_label": INDEX_LABELS[lang],
            "nav_label": NAV_LABELS[lang],
            "other": {"lang": other, "label": LANGUAGE_NAMES[other],
                      "href": deck_file(talk, other, "html")},
        },
    }
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    return body


def _hide_inputs(nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict]:
    """Cells whose input RISE hides (``hide-input``) show only their outputs here too."""
    for cell in nb.cells:
        if input_hidden(cell):
            cell.metadata.setdefault("transient", {})["remove_source"] = True
    return nb, resources


@dataclass(frozen=True)
class IndexEntry:
    talk: str
    titles: dict[str, str]
    event: str
    original: str
    slides: int
    pdf: bool = True  # False when built with --no-pdf


def render_index(entries: list[IndexEntry]) -> str:
    """The site's front page: every talk, in both languages, with its deck, PDF, notebook."""
    rows = []
    for entry in entries:
        langs = sorted(LANGUAGES, key=lambda code: code != entry.original)
        items = []
        for lang in langs:
            links = " · ".join(
                f'<a href="{entry.talk}/{deck_file(entry.talk, lang, suffix)}">{label}</a>'
                for suffix, label in OUTPUT_LABELS[lang].items()
                if suffix != "pdf" or entry.pdf)
            items.append(
                f'<li lang="{lang}"><span class="language">{LANGUAGE_NAMES[lang]}</span> '
                f'<a class="title" href="{entry.talk}/{deck_file(entry.talk, lang, "html")}">'
                f'{html.escape(entry.titles[lang])}</a><br><span class="links">{links}</span></li>')
        rows.append(
            f'<section id="{entry.talk}"><h2>{html.escape(entry.titles[entry.original])}</h2>'
            f'<p class="event">{html.escape(entry.event)} · {entry.slides} slides</p>'
            f'<ul>{"".join(items)}</ul></section>')
    return INDEX_PAGE.format(talks="\n".join(rows))


INDEX_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>Asynchronous I/O in Python: the talks · E/S asíncrona en Python: las charlas</title>
<style>
body {{ font: 18px/1.5 system-ui, sans-serif; max-width: 46em; margin: 2em auto;
       padding: 0 1em; color: #222; }}
h1 {{ font-size: 1.6em; margin-bottom: 0.2em; }}
h2 {{ font-size: 1.25em; margin: 1.6em 0 0.2em; }}
.event {{ color: #666; margin: 0 0 0.4em; }}
ul {{ list-style: none; padding: 0; }}
li {{ margin: 0.5em 0; }}
.language {{ display: inline-block; min-width: 5.5em; font-weight: 600; }}
.links {{ margin-left: 5.5em; font-size: 0.9em; }}
a {{ color: #1a4d8f; }}
</style>
</head>
<body>
<h1>Asynchronous I/O in Python <span lang="es">· E/S asíncrona en Python</span></h1>
<p>Two talks from 2013, rebuilt to run on today's Python, in English and Spanish.
<span lang="es">Dos charlas de 2013, reconstruidas para el Python de hoy, en inglés y
en español.</span></p>
{talks}
</body>
</html>
"""
