"""``make present``: its argument checks, and the real thing: JupyterLab with RISE on
127.0.0.1, the deck's first slide, a demo cell run live, and a clean stop on Ctrl+C.
"""

from __future__ import annotations

import importlib.util
import json
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import types
import urllib.parse
import urllib.request
from pathlib import Path

import nbformat
import pytest
from jupyter_client import BlockingKernelClient
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from decks import ROOT
from decks.source import slides_of

pytestmark = pytest.mark.timeout(900)
START_TIMEOUT = 150  # seconds for JupyterLab to answer on a busy 2-core machine
# The input prompt of the current slide's first code cell: "[ ]" before, "[*]" queued or
# running, "[1]" done.
PROMPT_MATCHES = """pattern => {
    const slide = document.querySelector('.reveal .slides section.present');
    const prompt = slide && slide.querySelector('.jp-CodeCell .jp-InputPrompt');
    return prompt !== null && new RegExp(pattern).test(prompt.textContent);
}"""


def _load_present():
    spec = importlib.util.spec_from_file_location("present_cli", ROOT / "slides" / "present.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("argv, message", [
    ([], "TALK and LANG missing: make present TALK=<talk> LANG=<language>"),
    (["--talk", "fosdem"], "LANG missing"),
    (["--talk", "nope", "--lang", "en"], "no talk named 'nope'; the talks are: "),
    (["--talk", "fosdem", "--lang", "fr"], "unknown language 'fr'; the languages are: es, en"),
])
def test_present_says_what_is_wrong_with_its_arguments(argv, message, capsys):
    assert _load_present().main(argv) == 2
    assert message in capsys.readouterr().err


def test_present_fills_in_the_listings_and_the_notes_and_only_warns_when_the_deck_fails(
        tmp_path):
    present = _load_present()
    talk = types.SimpleNamespace(name="sample", directory=tmp_path)

    def deck(demo: str) -> nbformat.NotebookNode:
        slide = {"slideshow": {"slide_type": "slide"}}
        notes = {"slideshow": {"slide_type": "notes"}}
        listing = nbformat.v4.new_code_cell("print('listing')",
                                            metadata={"jupyter": {"source_hidden": True}, **slide})
        shown = nbformat.v4.new_code_cell(demo, metadata=slide)
        said = nbformat.v4.new_markdown_cell("What to say.", metadata=notes)
        nb = nbformat.v4.new_notebook(cells=[listing, shown, said])
        nb.metadata["deck"] = {"lang": "en"}
        return nb

    works = deck("print('demo')")
    assert present._run_beforehand(works, talk, "en", tmp_path / "sample.en.ipynb") is None
    assert [o.get("text") for o in works.cells[0].outputs] == ["listing\n"]
    assert works.cells[1].outputs == []  # the demo runs live, on stage
    assert works.cells[2].source == ("What to say.\n\n**Expected output (from the build's "
                                      "run):**\n\n```text\ndemo\n```\n")

    broken = deck("1 / 0")
    warning = present._run_beforehand(broken, talk, "en", tmp_path / "sample.en.ipynb")
    assert "ZeroDivisionError" in warning and "slides stay empty" in warning
    assert "no built deck" in warning
    assert broken.cells[0].outputs == []

    # a failed run takes the demos' outputs from the built deck, if its code is the same
    built = deck("1 / 0")
    built.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="built\n")]
    nbformat.write(built, tmp_path / "built.ipynb")
    broken = deck("1 / 0")
    warning = present._run_beforehand(broken, talk, "en", tmp_path / "sample.en.ipynb",
                                      tmp_path / "built.ipynb")
    assert "the notes show the demos' outputs from" in warning
    assert broken.cells[2].source.endswith("```text\nbuilt\n```\n")
    stale = deck("print('changed since')")
    stale.cells[1].source = "1 / 0 # changed"
    warning = present._run_beforehand(stale, talk, "en", tmp_path / "sample.en.ipynb",
                                      tmp_path / "built.ipynb")
    assert "is older than the talk" in warning
    assert "Expected" not in stale.cells[2].source


def test_present_writes_the_stage_stylesheet_next_to_the_notebook(tmp_path):
    present = _load_present()
    css = present.write_stage_css(tmp_path / "sample.en.ipynb")
    assert css == tmp_path / "sample.en.css"  # the name jupyterlab-rise loads
    assert css.read_text() == present.STAGE_CSS.read_text()
    assert "--jp-code-font-size: 20px" in css.read_text()


class Lines:
    """A subprocess's output, line by line, with a deadline (a reader thread)."""

    def __init__(self, stream) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream) -> None:
        for line in stream:
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, pattern: str, timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._queue.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                line = ""
            if line is None or time.monotonic() > deadline:
                raise AssertionError(f"no line matching {pattern!r}; output:\n{''.join(self.seen)}")
            self.seen.append(line)
            match = re.search(pattern, line)
            if match:
                return match


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _run(page, cell, tmp_path) -> None:
    """Select the cell and press Shift+Enter, as the speaker does; press again if the
    key went nowhere (a click during a slide transition can miss), then wait for it."""
    for _ in range(3):
        cell.locator(".jp-InputArea-editor").click()
        page.keyboard.press("Shift+Enter")
        try:
            page.wait_for_function(PROMPT_MATCHES, arg=r"\[(\*|\d+)\]", timeout=15_000)
            break
        except PlaywrightTimeout:
            continue
    try:
        page.wait_for_function(PROMPT_MATCHES, arg=r"\[\d+\]", timeout=90_000)
    except PlaywrightTimeout as exc:
        page.screenshot(path=str(tmp_path / "rise.png"))
        raise AssertionError(f"the demo did not run; the page is in {tmp_path / 'rise.png'}") from exc


def _run_in_a_kernel_for(path: str, base_url: str, token: str, runtime: Path, code: str) -> str:
    """Open a kernel session for ``path`` through JupyterLab's API (as opening the file
    does), run ``code`` in it and return what it prints; the session is closed after."""
    headers = {"Authorization": f"token {token}", "Content-Type": "application/json"}
    body = {"path": path, "type": "notebook", "name": Path(path).name,
            "kernel": {"name": "python3"}}
    request = urllib.request.Request(f"{base_url}api/sessions", json.dumps(body).encode(),
                                     headers, method="POST")
    with urllib.request.urlopen(request, timeout=90) as response:
        session = json.load(response)
    client = BlockingKernelClient()
    try:
        client.load_connection_file(runtime / f"kernel-{session['kernel']['id']}.json")
        client.start_channels()
        client.wait_for_ready(timeout=90)
        printed: list[str] = []
        reply = client.execute_interactive(
            code, timeout=60, output_hook=lambda msg: printed.append(
                msg["content"]["text"]) if msg["msg_type"] == "stream" else None)
        assert reply["content"]["status"] == "ok", "".join(printed)
        return "".join(printed)
    finally:
        client.stop_channels()
        closing = urllib.request.Request(f"{base_url}api/sessions/{session['id']}",
                                         headers=headers, method="DELETE")
        urllib.request.urlopen(closing, timeout=30).close()


@pytest.mark.parametrize("name, lang", [("fosdem", "en"), ("pycones", "es")])
def test_present_shows_the_deck_in_rise_runs_a_demo_and_stops_on_ctrl_c(
        name, lang, tmp_path, browser, built_site, language_notebooks):
    talk = name
    notebook = language_notebooks(talk)[lang]
    slides = slides_of(notebook)
    demo_slide = next(s for s in slides if any(c.cell_type == "code" for c in s.shown))
    executed = built_site.path(talk, lang, "ipynb")
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "slides" / "present.py"), "--talk", talk, "--lang", lang,
         "--state", str(tmp_path / "state")],
        cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    output = Lines(process.stdout)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        url = output.wait_for(r"(http://127\.0\.0\.1:(\d+)/rise/\S+\?token=\S+)", START_TIMEOUT)
        port = int(url[2])
        assert url[1].startswith(f"http://127.0.0.1:{port}/rise/talks/{talk}/{talk}.{lang}.ipynb")
        # the listings (hidden input) show from the start; the demos run live
        code = [c for c in nbformat.read(ROOT / "talks" / talk / f"{talk}.{lang}.ipynb", 4).cells
                if c.cell_type == "code"]
        hidden = [c.metadata.get("jupyter", {}).get("source_hidden", False) for c in code]
        assert any(hidden)
        assert [bool(c.outputs) for c in code] == hidden
        outside: list[str] = []
        local = (f"http://127.0.0.1:{port}/", "ws://127.0.0.1", "data:", "blob:", "about:")
        context.on("request", lambda r: None if r.url.startswith(local) else outside.append(r.url))
        page = context.new_page()
        page.goto(url[1])

        current = page.locator(".reveal .slides section.present")
        first_words = re.findall(r"[^\W\d_]{3,}", slides[0].title)[:3]
        current.first.wait_for(timeout=90_000)
        for word in first_words:
            assert word.lower() in current.first.inner_text().lower()

        for _ in range(demo_slide.number - 1):
            page.keyboard.press("ArrowRight")
        demo_words = re.findall(r"[^\W\d_]{3,}", demo_slide.title)[:2]
        page.wait_for_function(
            """words => { const s = document.querySelector('.reveal .slides section.present');
                          return s && words.every(w => s.innerText.toLowerCase()
                                                        .includes(w.toLowerCase())); }""",
            arg=demo_words, timeout=30_000)
        cell = current.locator(".jp-CodeCell").first
        _run(page, cell, tmp_path)
        errors = cell.locator(
            '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
        assert errors.count() == 0, errors.first.inner_text()
        # the built deck says what this demo prints
        built = nbformat.read(executed, 4)
        first_code = next(c for c in built.cells if c.cell_type == "code")
        if first_code.outputs:
            shown = cell.locator(".jp-OutputArea-output").first.inner_text()
            printed = "".join(o.get("text", "") for o in first_code.outputs).strip()
            assert shown.strip() == printed
        assert outside == [], f"RISE fetched {outside}"

        # a presenter editing the source in this JupyterLab: its kernel runs in the
        # talk's folder and imports the decks' listing helper, as the build's does
        token = urllib.parse.parse_qs(urllib.parse.urlsplit(url[1]).query)["token"][0]
        printed = _run_in_a_kernel_for(
            f"talks/{talk}/{talk}.md", f"http://127.0.0.1:{port}/", token,
            tmp_path / "state" / "jupyter" / "runtime",
            "import os, decks.listing\nprint(os.getcwd())\nprint(decks.listing.__file__)")
        assert printed.splitlines() == [str(ROOT / "talks" / talk),
                                        str(ROOT / "slides" / "decks" / "listing.py")]

        process.send_signal(signal.SIGINT)  # what Ctrl+C in the terminal does
        assert process.wait(60) == 0
        output.wait_for(r"stopped JupyterLab and its kernels", 5)
        assert not _listening(port)
    finally:
        context.close()
        if process.poll() is None:
            process.terminate()  # present.py stops the server on SIGTERM too
            process.wait(60)
        process.stdout.close()
