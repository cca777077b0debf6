"""Time a talk before giving it: ``make rehearse TALK=fosdem [LANG=en]``.

Prints, per slide, the spoken time of its notes, its code blocks and its demos'
run time, then the total against the slot the talk's source declares
(``slides/decks/timeline.py`` says how each is estimated). The demos' times come
from the built notebook in ``site/<talk>/`` when its code is the source's; otherwise
the deck is run here from a fresh kernel, as the build runs it (``--no-run``: count
an estimate per demo instead). Exit status 1 when a deck is over its slot or a
checkpoint disagrees with the timeline, 2 for an unknown talk or language.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

from decks import LANGUAGES
from decks.execute import ExecutionError, execute, jupyter_sandbox
from decks.pipeline import DEFAULT_OUT
from decks.render import deck_file
from decks.source import DeckSourceError, Talk, find_talks, split, talk_named
from decks.timeline import checkpoint_problems, format_timeline, measurements, timeline


def _built_measurements(talk: Talk, lang: str, nb, out: Path) -> dict[str, float] | None:
    """The built notebook's run times, if it was built from the same code as ``nb``."""
    path = out / talk.name / deck_file(talk.name, lang, "ipynb")
    try:
        built = nbformat.read(path, as_version=4)
    except (OSError, ValueError):
        return None
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    if [c.source for c in built.cells if c.cell_type == "code"] != code:
        return None  # the source changed since the build: its times are stale
    found = measurements(built)
    return found if len(found) == len(code) else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--talk", default="", help="the talk (default: every talk)")
    parser.add_argument("--lang", default="", help="es or en (default: both)")
    parser.add_argument("--no-run", dest="run", action="store_false",
                        help="do not run the demos; estimate their time")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="where the built decks are (their demo times are reused)")
    args = parser.parse_args(argv)
    try:
        talks = [talk_named(args.talk)] if args.talk else find_talks()
        if args.lang and args.lang not in LANGUAGES:
            raise ValueError(f"unknown language {args.lang!r}; the languages are: "
                             f"{', '.join(LANGUAGES)}")
    except ValueError as exc:
        print(f"rehearse: {exc}", file=sys.stderr)
        return 2
    langs = [args.lang] if args.lang else list(LANGUAGES)
    failed = False
    with jupyter_sandbox():
        for talk in talks:
            try:
                notebooks = split(talk)
            except DeckSourceError as exc:
                print(f"rehearse: {exc}", file=sys.stderr)
                return 1
            for lang in langs:
                nb = notebooks[lang]
                measured = _built_measurements(talk, lang, nb, args.out.resolve())
                if measured is None and args.run:
                    print(f"{talk.name}.{lang}: no up-to-date build; running its demos "
                          f"to time them...", file=sys.stderr, flush=True)
                    try:
                        execute(nb, talk.directory, label=f"{talk.name}.{lang}",
                                notebook_path=args.out / talk.name
                                / deck_file(talk.name, lang, "ipynb"))
                    except ExecutionError as exc:
                        print(f"rehearse: {exc}", file=sys.stderr)
                        return 1
                timed = timeline(nb, measured)
                print(format_timeline(timed), end="\n\n", flush=True)
                failed |= timed.over_slot or bool(checkpoint_problems(timed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
