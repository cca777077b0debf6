"""Fixtures for the deck checks: the pipeline on sys.path, Chromium, a built site, and
small throwaway talks written in the source format.

Jupyter, IPython and Chromium never touch $HOME here: the build runs its kernels in a
private Jupyter sandbox, ``make present`` is given a temporary state folder, and each
Chromium gets a temporary profile and $HOME (``decks.browser``).

Browser checks skip (saying why) when Chromium is missing, except under CI=true,
where they fail: CI installs Chromium and must run them. They carry the ``browser``
marker, so a run without Chromium on purpose deselects them: ``-m "not browser"``
(CI's runs on the newer Pythons, in a chroot without Chromium, do).
"""

from __future__ import annotations

import copy
import os
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "slides"))

from decks import LANGUAGES  # noqa: E402  (needs the path above)
from decks.browser import chromium, find_chromium  # noqa: E402
from decks.pipeline import Build, DeckResult  # noqa: E402
from decks.source import Talk, find_talks, split  # noqa: E402

IN_CI = os.environ.get("CI") == "true"
TALKS = find_talks()
DECKS = [(talk.name, lang) for talk in TALKS for lang in LANGUAGES]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test taking ``deck`` runs once per talk and language; ``talk`` once per talk."""
    if "deck" in metafunc.fixturenames:
        metafunc.parametrize("deck", DECKS, ids=[f"{t}.{lang}" for t, lang in DECKS])
    if "talk" in metafunc.fixturenames:
        metafunc.parametrize("talk", TALKS, ids=[t.name for t in TALKS])


@pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that needs Chromium (through any fixture) as a browser check."""
    for item in items:
        if "chromium_path" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)


def browser_checks_selected(session: pytest.Session) -> bool:
    return any(item.get_closest_marker("browser") for item in session.items)


@pytest.fixture(scope="session")
def language_notebooks():
    """``split(talk)`` of the real talks, once per session (diagrams take a while)."""
    cache: dict[str, dict] = {}

    def notebooks(talk: Talk | str) -> dict:
        name = talk if isinstance(talk, str) else talk.name
        if name not in cache:
            cache[name] = split(next(t for t in TALKS if t.name == name))
        return {lang: copy.deepcopy(nb) for lang, nb in cache[name].items()}

    return notebooks


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = find_chromium()
    if path is None:
        if IN_CI:
            pytest.fail("CI=true but Chromium is missing; .ci/run installs it "
                        "(apt install chromium)")
        pytest.skip("Chromium is not installed (apt install chromium); CI runs this check")
    return path


@pytest.fixture(scope="module")
def browser(chromium_path):
    """Chromium for one test module. Not longer: while playwright's sync API is open, an
    asyncio loop counts as running in this thread, and other packages' tests that call
    asyncio.run() would fail."""
    with chromium(chromium_path) as running:
        yield running


@dataclass
class Site:
    out: Path
    state: Path
    results: dict[tuple[str, str], DeckResult]
    pdf: bool

    def path(self, talk: str, lang: str, suffix: str) -> Path:
        """An output of a deck; a deck that did not build fails the test with its error."""
        self.result(talk, lang)
        return self.out / talk / f"{talk}.{lang}.{suffix}"

    def result(self, talk: str, lang: str) -> DeckResult:
        result = self.results[talk, lang]
        if result.status == "failed":
            pytest.fail(f"{talk}.{lang} did not build:\n{result.error}", pytrace=False)
        return result


@pytest.fixture(scope="session")
def built_site(tmp_path_factory, request) -> Site:
    """Every deck built from scratch: fresh kernels, HTML, and PDFs if Chromium is there.

    Under CI the PDFs are required, unless this run deselected the browser checks.

    The build opens its own Chromium; being session-scoped, this fixture is set up
    before any module's ``browser`` (playwright's sync API runs one at a time).
    """
    out, state = tmp_path_factory.mktemp("site"), tmp_path_factory.mktemp("state")
    pdf = find_chromium() is not None or (IN_CI and browser_checks_selected(request.session))
    results = Build(out=out, state=state, force=True, pdf=pdf).run()
    return Site(out, state, {(r.talk, r.lang): r for r in results}, pdf)


# -- throwaway talks ----------------------------------------------------------------

NOTES = {
    "en": "This is what the speaker says about the slide, and it is in English.",
    "es": "Esto es lo que cuenta quien presenta sobre la diapositiva, y está en español.",
}


def text(lang: str, body: str, kind: str = "-") -> str:
    """A text cell in the source format."""
    return (f'+++ {{"slideshow": {{"slide_type": "{kind}"}}, "tags": ["lang-{lang}"]}}'
            f"\n\n{body}\n\n")


def code(source: str, kind: str = "-", **metadata: object) -> str:
    """A (shared) code cell in the source format."""
    meta = yaml.safe_dump({"slideshow": {"slide_type": kind}, **metadata}, sort_keys=False)
    return f"```{{code-cell}} ipython3\n---\n{meta}---\n{source}\n```\n\n"


def slide(title_en: str = "Title", title_es: str = "Título", *, body: str = "",
          notes: dict[str, str] | None = None, kind: str = "slide") -> str:
    """A slide: its title in each language, an optional shared body, notes in each."""
    notes = NOTES if notes is None else notes
    cells = text("en", f"## {title_en}", kind) + text("es", f"## {title_es}", kind) + body
    for lang, note in notes.items():
        cells += text(lang, note, "notes")
    return cells


HEADER = """\
---
jupytext:
  formats: md:myst
  notebook_metadata_filter: {keep}
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
rise:
  theme: {theme}
  transition: fade
  header: the header
deck:
  original: en
  event: Test event
  en:
    title: A test talk
    rise:
      footer: the English footer
  es:
    title: Una charla de prueba
    rise:
      footer: el pie en español
---

"""


@pytest.fixture
def make_talk(tmp_path):
    """Write ``<tmp>/talks/<name>/<name>.md`` from cells; return the Talk."""

    def make(body: str, *, name: str = "sample", theme: str = "white",
             keep: str = "rise,deck", files: dict[str, str] | None = None) -> Talk:
        directory = tmp_path / "talks" / name
        directory.mkdir(parents=True, exist_ok=True)
        for relative, content in (files or {}).items():
            path = directory / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(content))
        source = directory / f"{name}.md"
        source.write_text(HEADER.format(theme=theme, keep=keep) + body)
        return Talk(name, source)

    return make


@pytest.fixture
def cells():
    """The cell writers above, for the tests (conftest modules cannot be imported)."""
    return SimpleNamespace(text=text, code=code, slide=slide, notes=NOTES)
