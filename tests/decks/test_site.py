"""The site a reader lands on: the index shows both talks (abstracts in both languages,
event and year, every link, how to run the demos), and every page has a description and
Open Graph / Twitter card tags whose image is a title slide the build rendered.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from decks import LANGUAGES
from decks.browser import PREVIEW_SIZE
from decks.render import IndexEntry, render_index
from decks.source import find_talks, read_source

pytestmark = pytest.mark.timeout(900)  # the first test may pay for the site's build
SHARE_TAGS = ("description", "og:title", "og:description", "og:type", "og:image",
              "og:image:alt", "twitter:card", "twitter:title", "twitter:description",
              "twitter:image")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class Page(HTMLParser):
    """What the checks read from a page: its <meta> tags, links and texts by language."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.meta: dict[str, str] = {}
        self.hrefs: list[str] = []
        self.lang = ""
        self.texts: dict[str, list[str]] = {}
        self._langs: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.lang = attrs.get("lang", "")
        if tag == "meta" and "content" in attrs:
            key = attrs.get("property") or attrs.get("name")
            if key:
                self.meta[key] = attrs["content"]
        if tag == "a" and "href" in attrs:
            self.hrefs.append(attrs["href"])
        if tag not in ("meta", "link", "br", "img", "input"):
            self._langs.append(attrs.get("lang") or (self._langs[-1] if self._langs else self.lang))

    def handle_endtag(self, tag):
        if tag not in ("meta", "link", "br", "img", "input") and self._langs:
            self._langs.pop()

    def handle_data(self, data):
        lang = self._langs[-1] if self._langs else self.lang
        self.texts.setdefault(lang, []).append(data)

    def text(self, lang: str) -> str:
        return " ".join(" ".join(self.texts.get(lang, [])).split())


def _pages(site) -> list[Path]:
    decks = [site.path(talk, lang, "html") for talk, lang in sorted(site.results)]
    return [site.out / "index.html", *decks]


def _local(page: Path, url: str, site_out: Path) -> Path:
    """The file a page's (relative) URL names in the built site."""
    assert not urlsplit(url).scheme, f"{url}: a site built without --base-url links relatively"
    target = Path(urlsplit(urljoin(page.as_uri(), url)).path)
    assert target.is_relative_to(site_out), url
    return target


def test_every_page_has_a_description_and_share_tags_with_a_title_slide_image(built_site):
    if not built_site.pdf:
        pytest.skip("no preview images without Chromium (apt install chromium); CI renders them")
    for page_path in _pages(built_site):
        page = Page(page_path.read_text())
        missing = [key for key in SHARE_TAGS if not page.meta.get(key, "").strip()]
        assert missing == [], f"{page_path.name} lacks {missing}"
        assert page.meta["twitter:card"] == "summary_large_image"
        assert page.meta["og:image"] == page.meta["twitter:image"]
        assert len(page.meta["description"]) >= 60, page.meta["description"]
        image = _local(page_path, page.meta["og:image"], built_site.out)
        data = image.read_bytes()
        assert data.startswith(PNG_SIGNATURE), image
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        assert (width, height) == PREVIEW_SIZE
        assert (page.meta["og:image:width"], page.meta["og:image:height"]) == tuple(
            map(str, PREVIEW_SIZE))


def test_a_deck_previews_with_its_own_title_slide_and_abstract(deck, built_site):
    if not built_site.pdf:
        pytest.skip("no preview images without Chromium (apt install chromium); CI renders them")
    talk, lang = deck
    page = Page(built_site.path(talk, lang, "html").read_text())
    own = read_source(next(t for t in find_talks() if t.name == talk)).metadata["deck"][lang]
    assert page.meta["og:image"] == f"{talk}.{lang}.png"
    assert page.meta["description"] == " ".join(own["abstract"].split())
    assert page.meta["og:title"] == own["title"]
    assert page.meta["og:locale"].startswith(lang + "_")


def test_the_index_shows_each_talk_with_abstracts_event_year_and_links(built_site):
    index_path = built_site.out / "index.html"
    page = Page(index_path.read_text())
    assert page.lang == "en"
    for talk in find_talks():
        deck = read_source(talk).metadata["deck"]
        year = next(word for word in deck["event"].replace(",", " ").split() if word.isdigit())
        assert deck["event"] in page.text("en") and year in page.text("en")
        for lang in LANGUAGES:
            abstract = " ".join(deck[lang]["abstract"].split())
            assert len(abstract) >= 100, f"{talk.name}.{lang}: write an abstract in the header"
            # each abstract sits in an element that says its language
            assert abstract in page.text(lang), f"{talk.name}.{lang}"
            suffixes = ("html", "pdf", "ipynb") if built_site.pdf else ("html", "ipynb")
            for suffix in suffixes:
                assert f"{talk.name}/{talk.name}.{lang}.{suffix}" in page.hrefs
        source = f"{talk.name}/{talk.name}.md"
        assert source in page.hrefs
        assert _local(index_path, source, built_site.out).read_text() == talk.source.read_text()
    for href in page.hrefs:  # nothing broken
        assert _local(index_path, href, built_site.out).is_file(), href
    assert "make demos" in page.text("en") and "make demo TALK=" in page.text("en")


def test_with_the_sites_address_the_share_urls_are_absolute():
    entry = IndexEntry(talk="t", titles={"es": "T", "en": "T"}, abstracts={"es": "A", "en": "A"},
                       event="Somewhere 2013", original="en", slides=3)
    page = Page(render_index([entry], base_url="https://owner.github.io/repo/"))
    assert page.meta["og:image"] == "https://owner.github.io/repo/t/t.en.png"
    assert page.meta["og:url"] == "https://owner.github.io/repo/index.html"
    assert "2013" in page.text("en")
    without = Page(render_index([entry]))
    assert without.meta["og:image"] == "t/t.en.png" and "og:url" not in without.meta
