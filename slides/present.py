"""Present a deck live with RISE: ``make present TALK=fosdem LANG=en`` runs this.

Splits the talk's source into ``talks/<talk>/<talk>.<lang>.ipynb``, starts JupyterLab
with jupyterlab-rise on 127.0.0.1 with a random token, and prints the URL that opens
the deck straight in RISE. Ctrl+C stops the server and its kernels.

The demos have no outputs: they run live, in slide order. The cells whose input is
hidden (the listings of the packages' source) are run once beforehand and keep their
output, so that those slides are never blank on stage, even before their cell runs.

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

from decks import LANGUAGES, ROOT
from decks.execute import execute, jupyter_sandbox, sandbox_environment
from decks.lab import LabError, jupyter_lab
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
USAGE = "make present TALK=<talk> LANG=<language>"


def _fail(message: str, status: int = 2) -> int:
    print(f"make present: {message}", file=sys.stderr)
    return status


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _show_listings(notebook, talk, lang: str, path: Path) -> str | None:
    """Run the deck once and keep the outputs of its hidden-input cells in ``notebook``.

    Returns a warning when the run fails (the deck can still be presented; those slides
    then fill in when their cells run).
    """
    hidden = [i for i, cell in enumerate(notebook.cells) if input_hidden(cell)]
    if not hidden:
        return None
    print(f"present: running {talk.name}.{lang} once for its {len(hidden)} listing slides...",
          flush=True)
    ran = copy.deepcopy(notebook)
    try:
        # a temporary sandbox: the kernel's IPC socket paths must stay short (108 bytes)
        with jupyter_sandbox():
            execute(ran, talk.directory, label=f"{talk.name}.{lang}", notebook_path=path)
    except Exception as exc:  # noqa: BLE001 (a kernel that cannot start raises ZMQError)
        # presenting matters more than the listings: say what failed and go on
        return (f"present: warning: the deck did not run through ({exc}); its listing "
                "slides stay empty until their cells run")
    for index in hidden:
        notebook.cells[index].outputs = ran.cells[index].outputs
    return None


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


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
        notebook = split(talk)[lang]
    except DeckSourceError as exc:
        return _fail(str(exc), status=1)
    path = talk.directory / talk.notebook_name(lang)
    warning = _show_listings(notebook, talk, lang, path)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    write_notebook(notebook, path)

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
