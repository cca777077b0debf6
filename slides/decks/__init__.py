"""The bilingual deck pipeline: one source per talk, two RISE notebooks, offline HTML, PDF.

Modules, in the order a deck goes through them:

- ``source``: the source format (a jupytext MyST Markdown file per talk, text cells
  tagged ``lang-es``/``lang-en``, shared code cells), split into one notebook per
  language, with the check that both languages have the same slides and code;
- ``lint``: what a deck must satisfy to be presentable (code fits a slide, every
  slide has speaker notes in its language, no slide is empty);
- ``execute``: running a notebook from a fresh kernel, in a private Jupyter sandbox;
- ``notes``: what each demo printed, added to its slide's speaker notes (the build's
  run, or ``make present``'s own), for a demo that fails on stage;
- ``render``: the self-contained reveal.js HTML deck and the site's index page;
- ``browser``: Debian's Chromium driven by playwright (PDF handouts, checks);
- ``fingerprint``: the content hash that lets an unchanged deck skip its rebuild;
- ``pipeline``: the build that ties them together (``slides/build.py`` is its CLI);
- ``listing``: not the build's but the decks' own: imported by the talks' hidden code
  cells, it shows a package's real source on a slide, in steps that each fit (every
  kernel the pipeline starts has ``slides/`` on its ``PYTHONPATH``: see ``execute``);
- ``steps``: code taller than a slide cut into steps, for ``listing`` and ``render``.

See ``slides/README.md`` for the source format and the commands.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

#: The languages every deck is written in, in the order the site lists them.
LANGUAGES: tuple[str, ...] = ("es", "en")
LANGUAGE_NAMES: dict[str, str] = {"es": "Español", "en": "English"}


#: A slide's size in pixels: reveal.js's own default, which the HTML decks keep
#: (RISE's default "100%" means "the window" and has no meaning in a file).
SLIDE_SIZE: tuple[int, int] = (960, 700)
#: The decks' code font size in pixels (the HTML deck's, and every listing's: code is
#: revealed in steps rather than shrunk, see ``decks.steps``).
CODE_FONT_PX = 19

SLIDES_DIR = Path(__file__).resolve().parent.parent
ROOT = SLIDES_DIR.parent
TALKS_DIR = ROOT / "talks"
NODE_MODULES = SLIDES_DIR / "node_modules"
TEMPLATE_DIR = SLIDES_DIR / "template"


def deck_language(default: str = "en") -> str:
    """The language of the deck this kernel runs, for code cells that draw text.

    Code cells are shared by both languages, so a cell that draws a chart or writes
    a label asks here which deck it runs in. The answer comes from the notebook's
    name (``fosdem.es.ipynb``), which Jupyter gives the kernel as
    ``JPY_SESSION_NAME``: JupyterLab (``make present``) does so for every notebook,
    and the build does the same (``execute.execute``). A kernel of the bilingual
    ``.md`` source, or of no notebook, gets ``default``.
    """
    match = re.search(r"\.([a-z]{2})\.ipynb$", os.environ.get("JPY_SESSION_NAME", ""))
    return match.group(1) if match and match.group(1) in LANGUAGES else default
