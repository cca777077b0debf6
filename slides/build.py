"""Build the decks: ``make slides`` runs this with the environment's Python.

For each talk in ``talks/`` and each language: the notebook executed from a fresh
kernel, a self-contained HTML deck, a PDF handout and the title slide's preview image,
in ``site/<talk>/``; then ``site/index.html``. Decks whose content hash has not changed are not rebuilt.

    python slides/build.py                  # every talk, both languages
    python slides/build.py fosdem --lang en # one deck
    python slides/build.py --force          # rebuild even what is up to date
    python slides/build.py --base-url https://owner.github.io/repo/  # as published
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from decks import LANGUAGES, ROOT
from decks.pipeline import DEFAULT_OUT, DEFAULT_STATE, Build, DeckResult
from decks.source import find_talks, talk_named


class TerminalProgress:
    """One progress line: rewritten in place on a terminal, one line per step in a log."""

    def __init__(self, stream=sys.stdout) -> None:
        self.stream = stream
        self.tty = stream.isatty()

    def _show(self, line: str, final: bool) -> None:
        if self.tty:
            self.stream.write("\r\x1b[K" + line + ("\n" if final else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def stage(self, position: int, total: int, deck: str, what: str) -> None:
        self._show(f"slides: [{position}/{total}] {deck}: {what}...", final=False)

    def finished(self, position: int, total: int, result: DeckResult) -> None:
        if result.status == "built":
            stages = ", ".join(f"{k} {v:.1f} s" for k, v in result.stages.items())
            what = f"built in {result.seconds:.1f} s ({result.slides} slides; {stages})"
        elif result.status == "up to date":
            what = f"up to date ({result.slides} slides)"
        else:
            what = "FAILED (see below)"
        self._show(f"slides: [{position}/{total}] {result.name}: {what}", final=True)
        for problem in result.problems:
            self.stream.write(f"slides:   warning: {problem.slide}: {problem.message}\n"
                              if problem.slide else f"slides:   warning: {problem.message}\n")


def _display(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("talks", nargs="*", metavar="TALK",
                        help="talks to build (default: all of "
                             f"{', '.join(t.name for t in find_talks())})")
    parser.add_argument("--lang", choices=LANGUAGES, action="append",
                        help="only this language (repeatable; default: all)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"the site folder (default: {_display(DEFAULT_OUT)})")
    parser.add_argument("--state", type=Path, default=DEFAULT_STATE,
                        help="where the build keeps its stamps "
                             f"(default: {_display(DEFAULT_STATE)})")
    parser.add_argument("--force", action="store_true", help="rebuild decks that are up to date")
    parser.add_argument("--no-pdf", dest="pdf", action="store_false",
                        help="skip the PDF handouts and preview images (they need Chromium)")
    parser.add_argument("--base-url", default="",
                        help="the address the site is published at, for the absolute URLs "
                             "link previews need (pages.yml passes GitHub Pages')")
    args = parser.parse_args(argv)
    try:
        talks = [talk_named(name) for name in args.talks] or find_talks()
    except ValueError as exc:
        parser.error(str(exc))
    if not talks:
        print("slides: no talks found (expected talks/<name>/<name>.md)", file=sys.stderr)
        return 1

    started = time.monotonic()
    build = Build(talks, out=args.out, state=args.state, force=args.force, pdf=args.pdf,
                  langs=tuple(args.lang or LANGUAGES), progress=TerminalProgress(),
                  base_url=args.base_url)
    results = build.run()
    failed = [r for r in results if r.status == "failed"]
    built = sum(r.status == "built" for r in results)
    warnings = sum(len(r.problems) for r in results)
    print(f"slides: {len(results)} decks ({built} built, {len(results) - built - len(failed)} "
          f"up to date, {len(failed)} failed, {warnings} lint warnings) in "
          f"{time.monotonic() - started:.1f} s; open {_display(build.out / 'index.html')}")
    for result in failed:
        print(f"\nslides: error: {result.name}: {result.error}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
