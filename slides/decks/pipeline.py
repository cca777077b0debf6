"""The build: for each talk and language, notebook, HTML deck and PDF; then the index.

Per talk: split the source (which checks that both languages match), then for each
language, unless its outputs are up to date, execute the notebook from a fresh
kernel, lint it, and write ``<out>/<talk>/<talk>.<lang>.ipynb``, ``.html``, ``.pdf``
and ``.png`` (the title slide, the image a shared link previews with; no PDF and no
PNG, and no Chromium needed, with ``pdf=False``). Last, ``<out>/index.html`` lists
every talk in both languages, beside a copy of each talk's source. A deck is up to date when
its stamp (in the state folder) holds the same content hash (``fingerprint``) and its
outputs exist; ``force`` rebuilds anyway.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from . import LANGUAGES, ROOT, fingerprint
from .browser import BrowserError, chromium, print_pdf, screenshot_title
from .execute import ExecutionError, execute, jupyter_sandbox
from .lint import Problem, lint
from .notes import add_expected_outputs
from .render import IndexEntry, RenderError, deck_file, render_deck, render_index
from .source import DeckSourceError, Talk, find_talks, read_source, slides_of, split, write_notebook

OUTPUTS = ("ipynb", "html", "pdf", "png")
#: The outputs that need Chromium (left out with ``pdf=False``).
BROWSER_OUTPUTS = ("pdf", "png")
DEFAULT_OUT = ROOT / "site"
DEFAULT_STATE = ROOT / "build" / "slides"


class BuildError(RuntimeError):
    """A deck could not be built; the message says which and why."""


@dataclass
class DeckResult:
    talk: str
    lang: str
    status: str  # "built", "up to date" or "failed"
    slides: int = 0
    seconds: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    error: str = ""

    @property
    def name(self) -> str:
        return f"{self.talk}.{self.lang}"


class Progress(Protocol):
    """How the build reports what it is doing (the CLI prints; the tests stay quiet)."""

    def stage(self, position: int, total: int, deck: str, what: str) -> None: ...

    def finished(self, position: int, total: int, result: DeckResult) -> None: ...


class Quiet:
    def stage(self, position: int, total: int, deck: str, what: str) -> None:
        pass

    def finished(self, position: int, total: int, result: DeckResult) -> None:
        pass


def _write_text(path: Path, text: str) -> bool:
    """Write atomically, and only when the content changed; True when written."""
    if path.is_file() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return True


class Build:
    """One run of the pipeline over some talks; ``run()`` returns a result per deck."""

    def __init__(self, talks: list[Talk] | None = None, *, out: Path = DEFAULT_OUT,
                 state: Path = DEFAULT_STATE, langs: tuple[str, ...] = LANGUAGES,
                 force: bool = False, pdf: bool = True, progress: Progress | None = None,
                 base_url: str = "") -> None:
        self.talks = find_talks() if talks is None else talks
        self.out = out.resolve()
        self.state = state.resolve()
        self.langs = langs
        self.force = force
        self.pdf = pdf
        self.base_url = base_url  # the published site's address, for absolute share URLs
        self.progress = progress or Quiet()
        self._browser_stack = contextlib.ExitStack()
        self._browser = None

    # -- stamps ------------------------------------------------------------------------

    def _stamp_path(self, talk: Talk, lang: str) -> Path:
        return self.state / "stamps" / f"{talk.name}.{lang}.json"

    def _outputs(self, talk: Talk, lang: str) -> dict[str, Path]:
        return {kind: self.out / talk.name / deck_file(talk.name, lang, kind)
                for kind in OUTPUTS if kind not in BROWSER_OUTPUTS or self.pdf}

    def _stamp(self, talk: Talk, lang: str) -> dict:
        try:
            return json.loads(self._stamp_path(talk, lang).read_text())
        except (OSError, ValueError):
            return {}

    def _is_fresh(self, talk: Talk, lang: str, key: str) -> bool:
        stamp = self._stamp(talk, lang)
        return (not self.force and stamp.get("key") == key and stamp.get("out") == str(self.out)
                and stamp.get("pdf", True) >= self.pdf
                and stamp.get("base_url", "") == self.base_url
                and all(p.is_file() for p in self._outputs(talk, lang).values()))

    # -- the steps ---------------------------------------------------------------------

    def _pdf_browser(self):
        if self._browser is None:
            self._browser = self._browser_stack.enter_context(chromium())
        return self._browser

    def _build_deck(self, talk: Talk, lang: str, nb, key: str, report) -> DeckResult:
        result = DeckResult(talk.name, lang, "built")
        outputs = self._outputs(talk, lang)
        started = time.monotonic()

        def timed(stage: str, began: float) -> None:
            result.stages[stage] = time.monotonic() - began

        began = time.monotonic()
        report("starting a kernel")
        execute(nb, talk.directory, label=result.name, notebook_path=outputs["ipynb"],
                on_cell=lambda done, total: report(f"running code cell {done + 1}/{total}"))
        timed("run", began)
        result.problems = lint(nb, result.name)
        add_expected_outputs(nb)  # after lint: the outputs are not the notes' language
        result.slides = len(slides_of(nb))
        write_notebook(nb, outputs["ipynb"])

        began = time.monotonic()
        report("writing the HTML deck")
        abstract = read_source(talk).metadata["deck"][lang].get("abstract", "")
        _write_text(outputs["html"], render_deck(nb, abstract=abstract, image=self.pdf,
                                                 base_url=self.base_url))
        timed("html", began)

        if self.pdf:
            began = time.monotonic()
            report("printing the PDF handout")
            shown = print_pdf(self._pdf_browser(), outputs["html"], outputs["pdf"])
            timed("pdf", began)
            if shown != result.slides:
                raise BuildError(f"{result.name}: reveal.js shows {shown} slides but the "
                                 f"notebook has {result.slides}")
            began = time.monotonic()
            report("rendering the preview image")
            screenshot_title(self._pdf_browser(), outputs["html"], outputs["png"])
            timed("png", began)

        result.seconds = time.monotonic() - started
        stamp = {"key": key, "out": str(self.out), "pdf": self.pdf, "base_url": self.base_url,
                 "slides": result.slides,
                 "problems": [str(p) for p in result.problems]}
        _write_text(self._stamp_path(talk, lang), json.dumps(stamp, indent=1) + "\n")
        return result

    def _talk(self, talk: Talk, toolchain: str, position: Iterator[int], total: int
              ) -> list[DeckResult]:
        try:
            key = fingerprint.deck_fingerprint(talk, toolchain)
        except DeckSourceError as exc:
            key, broken = "", str(exc)
        else:
            broken = ""
        results = []
        notebooks = None
        for lang in self.langs:
            number = next(position)
            name = f"{talk.name}.{lang}"
            if broken:
                result = DeckResult(talk.name, lang, "failed", error=broken)
            elif self._is_fresh(talk, lang, key):
                stamp = self._stamp(talk, lang)
                result = DeckResult(talk.name, lang, "up to date", slides=stamp["slides"],
                                    problems=[Problem(name, "", p) for p in stamp["problems"]])
            else:
                def report(what: str, number: int = number, name: str = name) -> None:
                    self.progress.stage(number, total, name, what)
                try:
                    if notebooks is None:
                        report("splitting the source")
                        notebooks = split(talk)
                    result = self._build_deck(talk, lang, notebooks[lang], key, report)
                except (DeckSourceError, ExecutionError, RenderError, BrowserError,
                        BuildError) as exc:
                    self._stamp_path(talk, lang).unlink(missing_ok=True)
                    result = DeckResult(talk.name, lang, "failed", error=str(exc))
            self.progress.finished(number, total, result)
            results.append(result)
        return results

    def _index(self) -> None:
        entries = []
        for talk in self.talks:
            stamps = [self._stamp(talk, lang) for lang in LANGUAGES]
            if not all(s.get("out") == str(self.out) for s in stamps):
                continue  # not built (yet) into this folder in every language
            try:
                deck = read_source(talk).metadata["deck"]
            except DeckSourceError:
                continue
            _write_text(self.out / talk.name / talk.source.name, talk.source.read_text())
            entries.append(IndexEntry(
                talk=talk.name, titles={lang: deck[lang]["title"] for lang in LANGUAGES},
                abstracts={lang: deck[lang].get("abstract", "") for lang in LANGUAGES},
                event=deck.get("event", ""), original=deck["original"],
                slides=stamps[0]["slides"], pdf=all(s.get("pdf", True) for s in stamps)))
        _write_text(self.out / "index.html", render_index(entries, base_url=self.base_url))

    def run(self) -> list[DeckResult]:
        """Build every stale deck, then the index; failures are reported, not raised."""
        toolchain = fingerprint.toolchain()
        total = len(self.talks) * len(self.langs)
        position = iter(range(1, total + 1))
        results: list[DeckResult] = []
        with self._browser_stack, jupyter_sandbox():
            for talk in self.talks:
                results += self._talk(talk, toolchain, position, total)
        self._browser = None
        self._index()
        return results
