"""The HTML outputs: one self-contained reveal.js deck per notebook, and the site index.

Every page carries a description and Open Graph / Twitter card tags whose image is a
deck's title slide (``<talk>.<lang>.png``, rendered by the build), so that a shared
link previews with it; given the site's address (``base_url``) the URLs are absolute,
as those cards want.

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
from .browser import PREVIEW_SIZE
from .source import HIDE_INPUT_TAG, input_hidden, slides_of
from .steps import LINE_HEIGHT, columns_that_fit, cut, print_zoom, rows_of, rows_that_fit

REVEAL_DIR = NODE_MODULES / "reveal.js"
#: RISE settings the HTML deck honours, and the reveal.js option each becomes.
RISE_TO_REVEAL = {"transition": "transition", "slideNumber": "slideNumber",
                  "controls": "controls", "progress": "progress", "center": "center",
                  "width": "width", "height": "height"}
INDEX_LABELS = {"es": "Todas las charlas", "en": "All talks"}
NAV_LABELS = {"es": "Navegación", "en": "Navigation"}
DEMO_LABELS = {"es": "Esta demo en un terminal:", "en": "This demo in a terminal:"}
OUTPUT_LABELS = {"es": {"html": "diapositivas", "pdf": "PDF", "ipynb": "cuaderno",
                        "md": "fuente"},
                 "en": {"html": "slides", "pdf": "PDF", "ipynb": "notebook", "md": "source"}}
OG_LOCALES = {"es": "es_ES", "en": "en_US"}
PREVIEW_ALT = {"es": "La primera diapositiva de «{title}»",
               "en": "The title slide of “{title}”"}

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
  /* JupyterLab's syntax colours that fall short of a 4.5:1 contrast on the code cells'
     #f5f5f5, darkened just enough (axe-core, tests/decks/test_a11y.py) */
  --jp-mirror-editor-number-color: #007000;
  --jp-mirror-editor-comment-color: #356b6b;
  --jp-mirror-editor-operator-color: #8a1ad6;
  --jp-mirror-editor-meta-color: #8a1ad6;
  --jp-mirror-editor-atom-color: #4d4dcc;
  --jp-mirror-editor-bracket-color: #5e5e48;
  --jp-mirror-editor-quote-color: #007a00;
  --jp-mirror-editor-error-color: #b30000;
  --jp-mirror-editor-hr-color: #6b6b6b;
}}
""" + """
a.anchor-link { display: none; }
.jp-Notebook { padding: 0; }
.reveal .slides section .jp-Cell { padding: 0; }
.reveal .deck-header, .reveal .deck-footer {
  position: absolute; left: 1.2em; z-index: 20; font-size: 0.4em; color: #595959;
}
/* Accessibility (axe-core, tests/decks/test_a11y.py): small print keeps a 4.5:1
   contrast, and a link in a sentence is told from the text by more than its colour. */
.reveal .slides p a, .reveal .slides li a, .reveal .slides td a { text-decoration: underline; }
.reveal .slide-number { background-color: #4d4d4d; }
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
.reveal .deck-demo {
  position: absolute; left: 1.2em; bottom: 2.2em; z-index: 20; margin: 0;
  font-size: 0.4em; color: #595959;
}
.reveal .deck-demo code {
  font-size: 1em; color: #222; background: rgba(255, 255, 255, 0.85); padding: 0 0.3em;
  user-select: all;
}
/* A code cell's padding inside its width: the editor clips what passes its edge */
.reveal .jp-InputArea-editor pre { box-sizing: border-box; }
/* Code taller than a slide, in steps (decks/steps.py): the steps share one grid cell,
   as tall as the tallest, and each fragment (STEPS_JS) replaces the step before it. */
.reveal .deck-steps { display: grid; }
.reveal .deck-steps > .deck-step { grid-area: 1 / 1; margin: 0; }
.reveal .slides section .deck-steps > .deck-step:has(~ .deck-step.visible) {
  opacity: 0; visibility: hidden;
}
/* The handout shows every step, one under the other, in the room of one. */
html.reveal-print .reveal .deck-steps { display: block; zoom: var(--deck-print-zoom, 1); }
html.reveal-print .reveal .slides section .deck-steps > .deck-step {
  opacity: 1 !important; visibility: inherit !important;
}
"""

# Before reveal.js starts: every step of a stepped listing or code cell but the first is
# a fragment (in the notebook and on stage, where RISE scrolls a tall cell, they are
# not: there the steps just follow one another).
STEPS_JS = """
document.querySelectorAll('.deck-steps > .deck-step ~ .deck-step').forEach(function (step) {
  step.classList.add('fragment');
});
"""

# In print-pdf mode reveal.js lays every slide out as a page: repeat the header and the
# footer on each page, as on screen, and give a demo slide's page its command.
PRINT_HEADERS_JS = """
Reveal.on('pdf-ready', function () {
  var marks = document.querySelectorAll('.reveal > .deck-header, .reveal > .deck-footer');
  var demo = document.querySelector('.reveal > .deck-demo');
  document.querySelectorAll('.reveal .pdf-page').forEach(function (page) {
    marks.forEach(function (mark) { page.appendChild(mark.cloneNode(true)); });
    var slide = page.querySelector('section[data-demo]');
    if (demo && slide) {
      var copy = demo.cloneNode(true);
      copy.querySelector('code').textContent = slide.getAttribute('data-demo');
      copy.hidden = false;
      page.appendChild(copy);
    }
  });
  marks.forEach(function (mark) { mark.remove(); });
  if (demo) demo.remove();
});
"""

# On screen, after each move: the command of the current slide's demo (its section's
# data-demo), if any; and every other slide inert, so that the keyboard's Tab never lands
# in a slide that is out of sight (reveal.js only hides them from screen readers).
DEMO_COMMAND_JS = """
(function () {
  if (/print-pdf/.test(window.location.search)) return;
  var demo = document.querySelector('.reveal > .deck-demo');
  function update() {
    var slide = Reveal.getCurrentSlide();
    Reveal.getSlides().forEach(function (other) { other.inert = other !== slide; });
    if (!demo) return;
    var command = slide ? slide.getAttribute('data-demo') : null;
    demo.hidden = !command;
    demo.querySelector('code').textContent = command || '';
  }
  Reveal.on('ready', update);
  if (Reveal.isReady()) update();
  Reveal.on('slidechanged', update);
})();
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
            notes_js=_accessible_speaker_view(
                _script_text(reveal_dir / "plugin" / "notes" / "notes.js")),
            css=(reveal_dir / "dist" / "reveal.css").read_text(),
        )


#: What the speaker view (the notes plugin's window, written from a string in notes.js)
#: lacks for axe-core: names for its two slide previews and its layout menu, and a
#: contrast of 3:1 for the muted digits of its clock (opacity 0.3 gives 2.1:1).
SPEAKER_VIEW_FIXES = (
    ("currentSlide = document.createElement( 'iframe' );",
     "currentSlide = document.createElement( 'iframe' ); "
     "currentSlide.setAttribute( 'title', 'Current slide' );"),
    ("upcomingSlide = document.createElement( 'iframe' );",
     "upcomingSlide = document.createElement( 'iframe' ); "
     "upcomingSlide.setAttribute( 'title', 'Upcoming slide' );"),
    ('<select class=\\"speaker-layout-dropdown\\">',
     '<select class=\\"speaker-layout-dropdown\\" aria-label=\\"Layout\\">'),
    ("span.mute {\\n\\t\\t\\t\\t\\topacity: 0.3;",
     "span.mute {\\n\\t\\t\\t\\t\\topacity: 0.55;"),
)


def _accessible_speaker_view(notes_js: str) -> str:
    """notes.js with SPEAKER_VIEW_FIXES applied; RenderError when one no longer matches."""
    for old, new in SPEAKER_VIEW_FIXES:
        if notes_js.count(old) != 1:
            raise RenderError(f"reveal.js's notes plugin changed: {old!r} is not in it once; "
                              f"update SPEAKER_VIEW_FIXES in {__name__}")
        notes_js = notes_js.replace(old, new)
    return notes_js


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


def demo_command(talk: str, number: int, lang: str) -> str:
    """The command that runs slide *number*'s demo from a terminal (``tools/demo.py``)."""
    return f"make demo TALK={talk} SLIDE={number} LANG={lang}"


def demo_slides(nb: NotebookNode) -> dict[int, list[NotebookNode]]:
    """The slides with a demo, by number: their code cells but the ``hide-input`` ones.

    The numbers and the cells are ``make demo``'s (tools/demo.py), which counts slides
    as reveal.js does and leaves out the cells that only draw a listing or a chart.
    """
    return {slide.number: demo for slide in slides_of(nb)
            if (demo := [c for c in slide.cells if c.cell_type == "code"
                         and HIDE_INPUT_TAG not in c.metadata.get("tags", [])])}


def share_tags(*, title: str, description: str, lang: str, image: str | None,
               image_alt: str, url: str | None, alternate_lang: str | None = None) -> str:
    """The ``<meta>`` tags of a page: description, Open Graph and Twitter card.

    *image* and *url* are as the page should give them (absolute when the site's
    address is known); no image means no image tags and a plain summary card.
    """
    tags = [("name", "description", description),
            ("property", "og:type", "website"),
            ("property", "og:title", title),
            ("property", "og:description", description),
            ("property", "og:locale", OG_LOCALES[lang])]
    if alternate_lang:
        tags.append(("property", "og:locale:alternate", OG_LOCALES[alternate_lang]))
    if url:
        tags.append(("property", "og:url", url))
    if image:
        tags += [("property", "og:image", image),
                 ("property", "og:image:type", "image/png"),
                 ("property", "og:image:width", str(PREVIEW_SIZE[0])),
                 ("property", "og:image:height", str(PREVIEW_SIZE[1])),
                 ("property", "og:image:alt", image_alt)]
    tags += [("name", "twitter:card", "summary_large_image" if image else "summary"),
             ("name", "twitter:title", title),
             ("name", "twitter:description", description)]
    if image:
        tags += [("name", "twitter:image", image), ("name", "twitter:image:alt", image_alt)]
    return "\n".join(f'<meta {attr}="{key}" content="{html.escape(value)}">'
                     for attr, key, value in tags)


def _site_url(base_url: str, relative: str) -> str | None:
    return base_url.rstrip("/") + "/" + relative if base_url else None


def render_deck(nb: NotebookNode, *, index_href: str = "../index.html", abstract: str = "",
                image: bool = False, base_url: str = "") -> str:
    """The self-contained HTML deck of an executed language notebook (``split``'s output).

    *abstract* is the page's description; *image* says that the build renders the
    deck's preview image beside it (``<talk>.<lang>.png``); *base_url* is the site's
    address, when known, for the absolute URLs of the share tags.
    """
    deck = nb.metadata["deck"]
    lang, talk = deck["lang"], deck["talk"]
    other = next(code for code in LANGUAGES if code != lang)
    rise = nb.metadata.get("rise", {})
    assets = RevealAssets.load()
    exporter = SlidesExporter(
        template_name="deck", extra_template_basedirs=[str(TEMPLATE_DIR)],
        exclude_input_prompt=True, exclude_output_prompt=True, embed_images=True)
    exporter.register_preprocessor(_hide_inputs, enabled=True)
    exporter.register_preprocessor(_mark_demo_slides, enabled=True)
    exporter.register_preprocessor(_code_steps, enabled=True)
    exporter.register_filter("in_steps", in_steps)
    resources = {
        "deck": {
            "lang": lang,
            "title": nb.metadata.get("title", talk),
            "reveal_version": assets.version,
            "rise": rise,
            "config": reveal_config(rise),
            "css": {"reveal": assets.css, "theme": theme_css(rise.get("theme", "white")),
                    "deck": DECK_CSS},
            "js": {"reveal": assets.js, "notes": assets.notes_js + PRINT_HEADERS_JS,
                   "steps": STEPS_JS, "demo": DEMO_COMMAND_JS},
            "demo_label": DEMO_LABELS[lang],
            "index_href": index_href,
            "index_label": INDEX_LABELS[lang],
            "nav_label": NAV_LABELS[lang],
            "other": {"lang": other, "label": LANGUAGE_NAMES[other],
                      "href": deck_file(talk, other, "html")},
        },
    }
    title = nb.metadata.get("title", talk)
    preview = deck_file(talk, lang, "png")
    resources["deck"]["share"] = share_tags(
        title=title, description=abstract or f"{title} ({deck.get('event', '')})".strip(),
        lang=lang, alternate_lang=other,
        image=(_site_url(base_url, f"{talk}/{preview}") or preview) if image else None,
        image_alt=PREVIEW_ALT[lang].format(title=title),
        url=_site_url(base_url, f"{talk}/{deck_file(talk, lang, 'html')}"))
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    return body


def _hide_inputs(nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict]:
    """Cells whose input RISE hides (``hide-input``) show only their outputs here too."""
    for cell in nb.cells:
        if input_hidden(cell):
            cell.metadata.setdefault("transient", {})["remove_source"] = True
    return nb, resources


#: The cell metadata key (under ``transient``, never saved) holding a code cell's steps.
STEPS_KEY = "deck_steps"
#: The rows of code (input and text output) a slide with a title holds clear of the
#: header, footer and demo command: JupyterLab draws code cells at a line height of
#: 1.17, not the listings' 1.3.
CODE_CELL_ROWS = rows_that_fit(font_px=CODE_FONT_PX * 1.17 / LINE_HEIGHT)
#: The fewest rows a code cell's input is given, however long its output.
MIN_INPUT_ROWS = 8
_PRE = re.compile(r"(?P<head>.*?<pre[^>]*>)(?P<body>.*?)(?P<tail></pre>.*)", re.DOTALL)


def _output_rows(cell: NotebookNode, columns: int) -> int:
    """The rows a code cell's text outputs take on the slide (an image: none counted)."""
    text = []
    for output in cell.get("outputs", []):
        if output.output_type == "stream":
            text.append(output.text)
        elif output.output_type == "error":
            text.append("\n".join(output.traceback))
        elif "text/plain" in output.get("data", {}) and not any(
                mime.startswith("image/") for mime in output.data):
            text.append(output.data["text/plain"])
    lines = "\n".join(text).rstrip("\n").split("\n") if text else []
    return sum(rows_of(re.sub(r"\x1b\[[0-9;]*m", "", line), columns) for line in lines)


def _code_steps(nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict]:
    """A shown code cell whose input and output are taller than a slide's code box gets
    its input cut into steps (``decks.steps``), which ``in_steps`` draws. One that cannot
    be cut stays whole (the browser checks measure every slide)."""
    columns = columns_that_fit()
    for cell in nb.cells:
        if cell.cell_type != "code" or input_hidden(cell):
            continue
        room = max(MIN_INPUT_ROWS, CODE_CELL_ROWS - _output_rows(cell, columns))
        try:
            steps = cut(cell.source.rstrip("\n"), room, columns)
        except ValueError:
            continue
        if len(steps) > 1:
            cell.metadata.setdefault("transient", {})[STEPS_KEY] = {
                "steps": steps, "zoom": print_zoom(steps[-1][1], room)}
    return nb, resources


def in_steps(highlighted: str, metadata: dict[str, Any]) -> str:
    """A code cell's highlighted input (pygments' ``<div><pre>``), one ``<pre>`` per step
    when ``_code_steps`` cut it, for STEPS_JS and DECK_CSS to reveal one at a time.

    pygments closes and reopens its spans at every line end, so cutting at newlines
    leaves each step well formed."""
    cut_up = metadata.get("transient", {}).get(STEPS_KEY)
    match = _PRE.fullmatch(highlighted)
    if not cut_up or match is None:
        return highlighted
    lines = match["body"].rstrip("\n").split("\n")
    pres = "".join(f'<pre class="deck-step">{chr(10).join(lines[a:b]).rstrip()}</pre>'
                   for a, b in cut_up["steps"])
    head = match["head"][:match["head"].rindex("<pre")]
    head = head.replace('class="', f'style="--deck-print-zoom: {cut_up["zoom"]:.3f}" '
                        f'class="deck-steps ', 1)
    return head + pres + match["tail"][len("</pre>"):]


def _mark_demo_slides(nb: NotebookNode, resources: dict[str, Any]
                      ) -> tuple[NotebookNode, dict]:
    """A slide with a demo carries its ``make demo`` command: ``<section data-demo=...>``.

    nbconvert's reveal template writes a slide's first cell's ``slideshow.data`` as the
    section's ``data-*`` attributes; the deck's script shows the current slide's.
    """
    deck = nb.metadata["deck"]
    slides = slides_of(nb)
    for number in demo_slides(nb):
        first = slides[number - 1].cells[0]
        data = first.metadata.setdefault("slideshow", {}).setdefault("data", {})
        data["demo"] = demo_command(deck["talk"], number, deck["lang"])
    return nb, resources


@dataclass(frozen=True)
class IndexEntry:
    talk: str
    titles: dict[str, str]
    abstracts: dict[str, str]
    event: str
    original: str
    slides: int
    pdf: bool = True  # False when built with --no-pdf: no handouts, no preview images

    @property
    def year(self) -> str:
        found = re.search(r"\b(?:19|20)\d\d\b", self.event)
        return found[0] if found else ""


def render_index(entries: list[IndexEntry], *, base_url: str = "") -> str:
    """The site's front page: every talk with its event and year, its abstract in both
    languages, its deck, PDF, notebook and source per language; then how to run the demos.
    """
    rows = []
    for entry in entries:
        langs = sorted(LANGUAGES, key=lambda code: code != entry.original)
        items = []
        for lang in langs:
            links = " · ".join(
                f'<a href="{entry.talk}/{deck_file(entry.talk, lang, suffix)}">{label}</a>'
                for suffix, label in OUTPUT_LABELS[lang].items()
                if suffix not in ("pdf", "md") or (suffix == "pdf" and entry.pdf))
            source = f'<a href="{entry.talk}/{entry.talk}.md">{OUTPUT_LABELS[lang]["md"]}</a>'
            items.append(
                f'<li lang="{lang}"><span class="language">{LANGUAGE_NAMES[lang]}</span> '
                f'<a class="title" href="{entry.talk}/{deck_file(entry.talk, lang, "html")}">'
                f'{html.escape(entry.titles[lang])}</a>'
                f'<p class="abstract">{html.escape(entry.abstracts[lang])}</p>'
                f'<p class="links">{links} · {source}</p></li>')
        rows.append(
            f'<section id="{entry.talk}" aria-labelledby="{entry.talk}-title">'
            f'<h2 id="{entry.talk}-title">{html.escape(entry.titles[entry.original])}</h2>'
            f'<p class="event">{html.escape(entry.event)} · <span class="year">{entry.year}'
            f'</span> · {entry.slides} slides</p>'
            f'<ul>{"".join(items)}</ul></section>')
    first = entries[0] if entries else None
    image = None
    if first is not None and first.pdf:
        relative = f"{first.talk}/{deck_file(first.talk, first.original, 'png')}"
        image = _site_url(base_url, relative) or relative
    share = share_tags(
        title=INDEX_TITLE, description=INDEX_DESCRIPTION, lang="en", alternate_lang="es",
        image=image, url=_site_url(base_url, "index.html"),
        image_alt=PREVIEW_ALT["en"].format(title=first.titles["en"]) if first else "")
    return INDEX_PAGE.format(talks="\n".join(rows), share=share, title=html.escape(INDEX_TITLE))


INDEX_TITLE = "Asynchronous I/O in Python: the talks · E/S asíncrona en Python: las charlas"
INDEX_DESCRIPTION = ("Two talks from 2013 (PyConES, FOSDEM) on asyncio and event loops, rebuilt "
                     "to run on Python 3.11-3.15: HTML slides in English and Spanish, PDF "
                     "handouts, notebooks and demos you can run.")
INDEX_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{title}</title>
{share}
<style>
body {{ font: 18px/1.5 system-ui, sans-serif; max-width: 46em; margin: 2em auto;
       padding: 0 1em; color: #222; background: #fff; }}
h1 {{ font-size: 1.6em; margin-bottom: 0.2em; }}
h2 {{ font-size: 1.25em; margin: 1.6em 0 0.2em; }}
.event {{ color: #555; margin: 0 0 0.4em; }}
ul {{ list-style: none; padding: 0; }}
li {{ margin: 0.8em 0; }}
.language {{ display: inline-block; min-width: 5.5em; font-weight: 600; }}
.abstract {{ margin: 0.2em 0 0.2em 5.5em; }}
.links {{ margin: 0 0 0 5.5em; font-size: 0.9em; }}
a {{ color: #1a4d8f; }}
a:focus-visible {{ outline: 3px solid #1a4d8f; outline-offset: 2px; }}
pre {{ background: #f4f4f4; padding: 0.6em 0.8em; white-space: pre-wrap; }}
</style>
</head>
<body>
<header>
<h1>Asynchronous I/O in Python <span lang="es">· E/S asíncrona en Python</span></h1>
<p>Two talks from 2013, rebuilt to run on today's Python, in English and Spanish.
<span lang="es">Dos charlas de 2013, reconstruidas para el Python de hoy, en inglés y
en español.</span></p>
</header>
<main>
{talks}
<section id="demos" aria-labelledby="demos-title">
<h2 id="demos-title">Run the demos <span lang="es">· Ejecutar las demos</span></h2>
<p>Every code cell of the decks is a demo. With Python 3.11-3.15, a C compiler and
make (no Node.js, no Jupyter), in a clone of the repository:</p>
<p lang="es">Cada celda de código es una demo. Con Python 3.11-3.15, un compilador de C
y make (sin Node.js ni Jupyter), en una copia del repositorio:</p>
<pre><code>make demos                                # .venv-demos: pyuv, greenlet, rose, evergreen, tulip_echo
make demo TALK=fosdem SLIDE=N LANG=en     # slide N's demo: each demo slide shows its own command</code></pre>
<p>Linux is where they are tested; on macOS they have not been run yet (see the
repository's README).
<span lang="es">Se prueban en Linux; en macOS aún no se han ejecutado (véase el README
del repositorio).</span></p>
</section>
</main>
</body>
</html>
"""
