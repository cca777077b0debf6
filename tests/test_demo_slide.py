"""`make demo TALK=... SLIDE=... [LANG=...]`: one slide's demo from a terminal (tools/demo.py).

The slide numbers must be the HTML decks' own: tools/demo.py reads the talks with the
standard library alone (the demos-only venv has no jupytext), so a test holds its
reading to the deck pipeline's (``decks.source.split`` and ``slides_of``) on every slide
of every deck. Then the errors (one line, exit 2) and real slides, run in the
demos-only venv.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "tools" / "demo.py"
sys.path.insert(0, str(ROOT / "slides"))

from decks import LANGUAGES, source  # noqa: E402  (needs the path above)
from decks.source import HIDE_INPUT_TAG, find_talks, slides_of, split  # noqa: E402


def load_demo() -> ModuleType:
    """Import tools/demo.py, a script rather than a package module."""
    spec = importlib.util.spec_from_file_location("demo_tool", DEMO)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building
    spec.loader.exec_module(module)
    return module


demo = load_demo()
TALKS = find_talks()


@pytest.mark.parametrize("talk", TALKS, ids=[t.name for t in TALKS])
def test_slides_and_their_code_are_the_decks_own(talk, monkeypatch):
    # The images (diagrams rendered by scripts, seconds each) do not move a slide.
    monkeypatch.setattr(source, "_embed_images", lambda *args: None)
    decks = split(talk)
    _, cells = demo.read_cells(talk.source)
    for lang in LANGUAGES:
        deck = slides_of(decks[lang])
        ours = demo.slides_of(cells, lang)
        assert len(ours) == len(deck), lang
        for mine, theirs in zip(ours, deck):
            code = [(c.source, HIDE_INPUT_TAG in c.metadata.get("tags", []))
                    for c in theirs.cells if c.cell_type == "code"]
            where = f"{lang} {theirs.describe()}"
            assert [(c.source, demo.is_helper(c)) for c in mine.code_cells] == code, where
            assert mine.title == theirs.title or not mine.title, where


def run_demo(*args: str, python: str = sys.executable, timeout: float = 120
             ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(DEMO), "--python", python, *args],
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize(("args", "message"), [
    (["--talk", "nope", "--slide", "3"], "no talk named 'nope'; the talks are: fosdem, pycones"),
    (["--talk", "fosdem", "--slide", "3", "--lang", "fr"], "unknown language 'fr'"),
    (["--talk", "fosdem", "--slide", "0"], "fosdem has slides 1 to "),
    (["--talk", "fosdem", "--slide", "999"], "fosdem has slides 1 to "),
    (["--talk", "fosdem", "--slide", "twelve"], "SLIDE='twelve' is not one of them"),
    (["--talk", "fosdem", "--slide", ""], "say which slide"),
    # The anatomy of an event loop: a diagram, no code.
    (["--talk", "fosdem", "--slide", "10"], "fosdem slide 10 ('The anatomy of an event loop') has no code"),
    # A listing of rose's source: code, but no demo.
    (["--talk", "fosdem", "--slide", "20", "--lang", "es"], "has only a listing or a chart"),
], ids=["talk", "lang", "slide-0", "slide-999", "slide-word", "no-slide", "no-code", "listing"])
def test_a_request_it_cannot_serve_is_one_line_and_exit_2(args, message):
    out = run_demo(*args)
    assert out.returncode == 2
    assert out.stdout == ""
    assert out.stderr.count("\n") == 1 and out.stderr.startswith("demo: error: "), out.stderr
    assert message in out.stderr


def test_a_missing_interpreter_is_one_line_and_exit_2(tmp_path):
    out = run_demo("--talk", "fosdem", "--slide", "3", python=str(tmp_path / "no-python"))
    assert (out.returncode, out.stdout) == (2, "")
    assert out.stderr.startswith("demo: error: no interpreter ") and "make demos" in out.stderr


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_make_demo_runs_a_slide_in_the_demos_venv(demos_python):
    # Through make, as the README says, in the test's demos venv. Slide 23 runs the
    # echo demo on rose, after the demo cells of every earlier slide (their output hidden).
    venv = demos_python.parent.parent
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL")}
    out = subprocess.run(["make", "--no-print-directory", "-C", str(ROOT), "demo", "TALK=fosdem",
                          "SLIDE=23", "LANG=es", f"DEMOS_VENV={venv}"],
                         capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "<class 'rose.loop.EventLoop'>\n[b'libuv', b'pyuv', b'rose']\n"
    assert "demo: fosdem (es) slide 23: rose con la demo de eco" in out.stderr


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_failing_cell_shows_its_traceback_and_exits_1(demos_python):
    # The slide that shows the notebook's own Tornado loop cannot run outside Jupyter.
    _, cells = demo.read_cells(ROOT / "talks" / "pycones" / "pycones.md")
    tornado = [s.number for s in demo.slides_of(cells, "en")
               if any("import tornado" in c.source for c in s.demo_cells)]
    assert tornado, "the Tornado slide is gone: pick another failing demo"
    out = run_demo("--talk", "pycones", "--slide", str(tornado[0]), python=str(demos_python))
    assert out.returncode == 1
    assert "ModuleNotFoundError: No module named 'tornado'" in out.stderr
    assert "needs the deck's Jupyter kernel" in out.stderr
