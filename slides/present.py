"""Present a deck live with RISE: ``make present TALK=fosdem LANG=en`` runs this.

Splits the talk's source into ``talks/<talk>/<talk>.<lang>.ipynb``, starts JupyterLab
with jupyterlab-rise on 127.0.0.1 with a random token, and prints the URL that opens
the deck straight in RISE. Ctrl+C stops the server and its kernels.

The deck is run once beforehand. The demos keep no outputs: they run live, in slide
order; but what each printed goes into its slide's speaker notes (``decks.notes``), for
a demo that fails on stage. The cells whose input is hidden (the listings of the
packages' source) keep their output, so that those slides are never blank on stage.
If that run fails, the notes take the outputs of the built deck (``make slides``).

The deck is readable on a projector: RISE's per-notebook stylesheet
(``<talk>.<lang>.css`` next to the notebook, copied from ``slides/template/stage``)
sets the sizes, and the talk's ``rise`` metadata RISE's slide size. The JupyterLab
settings (``decks.lab``) add the key that interrupts a demo that hangs: I.

The notebook is generated: edit ``talks/<talk>/<talk>.md`` instead (it opens as a
notebook in the same JupyterLab: right-click, Open With, Jupytext Notebook).
"""

from __future__ import annotations

import argparse
import copy
import os
import signal
import sys
import time
from pathlib import Path

import nbformat

from decks import LANGUAGES, ROOT, SLIDES_DIR
from decks.execute import execute, jupyter_sandbox, sandbox_environment
from decks.lab import LabError, jupyter_lab
from decks.notes import add_expected_outputs
from decks.pipeline import DEFAULT_OUT
from decks.source import (
    DeckSourceError,
    check_language,
    find_talks,
    input_hidden,
    split,
    talk_named,
    write_notebook,
)

STATE = ROOT / "build" / "present"
#: RISE's per-notebook stylesheet for every deck (copied next to each notebook).
STAGE_CSS = SLIDES_DIR / "template" / "stage" / "deck.css"
USAGE = "make present TALK=<talk> LANG=<language>"


def _fail(message: str, status: int = 2) -> int:
    print(f"make present: {message}", file=sys.stderr)
    return status


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _run_beforehand(notebook, talk, lang: str, path: Path, built: Path | None = None
                    ) -> str | None:
    """Run the deck once: keep the outputs of its hidden-input cells in ``notebook`` and
    put what each demo printed in its slide's notes (the demos keep no outputs).

    Returns a warning when the run fails: the deck can still be presented; the listing
    slides then fill in when their cells run, and the notes take the demos' outputs
    from ``built`` (the build's notebook of this deck), when it exists and has the
    same code.
    """
    print(f"present: running {talk.name}.{lang} once (listings, and each demo's output "
          "for the speaker notes)...", flush=True)
    ran = copy.deepcopy(notebook)
    try:
        # a temporary sandbox: the kernel's IPC socket paths must stay short (108 bytes)
        with jupyter_sandbox():
            execute(ran, talk.directory, label=f"{talk.name}.{lang}", notebook_path=path)
    except Exception as exc:  # noqa: BLE001 (a kernel that cannot start raises ZMQError)
        # presenting matters more than the listings: say what failed and go on
        warning = (f"present: warning: the deck did not run through ({exc}); its listing "
                   "slides stay empty until their cells run")
        return warning + _expected_from_build(notebook, built, lang)
    for cell, done in zip(notebook.cells, ran.cells, strict=True):
        if input_hidden(cell):
            cell.outputs = done.outputs
    add_expected_outputs(notebook, ran, lang)
    return None


def _expected_from_build(notebook, built: Path | None, lang: str) -> str:
    """The demos' outputs from the built deck into the notes; what happened, for the warning."""
    if built is None or not built.is_file():
        return "; no built deck to take the demos' outputs from (make slides)"
    try:
        add_expected_outputs(notebook, nbformat.read(built, as_version=4), lang)
    except ValueError:
        return f"; {_shown(built)} is older than the talk (make slides), its outputs are not used"
    return f"; the notes show the demos' outputs from {_shown(built)}"


def write_stage_css(path: Path) -> Path:
    """RISE's stylesheet for the notebook at ``path`` (``<name>.css`` beside it)."""
    css = path.with_suffix(".css")
    css.write_text(STAGE_CSS.read_text())
    return css


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def prepare(talk, lang: str, built_site: Path = DEFAULT_OUT) -> Path:
    """Write the deck's notebook and its stylesheet next to the talk's source, ready
    for RISE; return the notebook's path. DeckSourceError when the source is wrong."""
    notebook = split(talk)[lang]
    path = talk.directory / talk.notebook_name(lang)
    built = built_site / talk.name / talk.notebook_name(lang)
    warning = _run_beforehand(notebook, talk, lang, path, built)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    write_notebook(notebook, path)
    write_stage_css(path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--talk", default="", help="the talk, e.g. fosdem")
    parser.add_argument("--lang", default="", help=f"the language: {', '.join(LANGUAGES)}")
    parser.add_argument("--port", type=int, default=0, help="the port (default: a free one)")
    parser.add_argument("--state", type=Path, default=STATE,
                        help="where Jupyter keeps its state and the server its log "
                             "(default: build/present)")
    args = parser.parse_args(argv)

    talks = ", ".join(t.name for t in find_talks())
    if not args.talk or not args.lang:
        missing = " and ".join(n for n, v in (("TALK", args.talk), ("LANG", args.lang)) if not v)
        return _fail(f"{missing} missing: {USAGE} (talks: {talks}; languages: "
                     f"{', '.join(LANGUAGES)})")
    try:
        talk = talk_named(args.talk)
        lang = check_language(args.lang)
    except ValueError as exc:
        return _fail(f"{exc} ({USAGE})")
    if not 0 <= args.port < 65536:
        return _fail(f"--port must be 0 to 65535, not {args.port}")

    try:
        path = prepare(talk, lang)
    except DeckSourceError as exc:
        return _fail(str(exc), status=1)

    # A closed terminal or a `kill` stops the server as cleanly as Ctrl+C does.
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    env = dict(os.environ, **sandbox_environment(args.state.resolve() / "jupyter"))
    log = args.state.resolve() / "jupyterlab.log"
    try:
        with jupyter_lab(ROOT, env, log, port=args.port or None) as lab:
            print(f"present: {talk.name} in {lang}: {path.relative_to(ROOT)} "
                  f"(generated from {talk.source.relative_to(ROOT)}; edit that file)\n"
                  f"present: JupyterLab is listening on 127.0.0.1:{lab.port} (log: "
                  f"{_shown(log)}). Open the deck in RISE:\n\n"
                  f"    {lab.rise_url(path)}\n\n"
                  f"present: press Ctrl+C to stop.", flush=True)
            while lab.process.poll() is None:
                time.sleep(0.5)
            return _fail(f"JupyterLab exited on its own (status {lab.process.returncode}); "
                         f"see {log}", status=1)
    except KeyboardInterrupt:
        print("\npresent: stopped JupyterLab and its kernels.", flush=True)
        return 0
    except LabError as exc:
        return _fail(str(exc), status=1)


if __name__ == "__main__":
    sys.exit(main())
