"""A JupyterLab server with jupyterlab-rise, for presenting (``make present``) and the tests.

The server listens on 127.0.0.1 only, with a random token, runs in its own session
(so the terminal's Ctrl+C reaches our code, not a Jupyter "shut down? y/n" prompt),
fetches no news and checks for no updates (there is no wifi at the venue), and is
stopped with SIGTERM, which shuts its kernels down; a server that lingers is killed
with its whole process group.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT = 90  # seconds; about 4 s on an idle machine, much more on a busy one
STOP_TIMEOUT = 20

#: The key that interrupts the running cell, in RISE (command mode: after Shift+Enter,
#: or after Esc). One key, not JupyterLab's "I, I": a demo that hangs on stage.
INTERRUPT_KEY = "I"
# Lab settings for the sandbox (read by JupyterLab and by RISE's page, which share
# them): no network calls from the notification centre; a talk's Markdown source opens
# as a notebook (through jupytext) when double-clicked; one key interrupts a demo; and
# the code and text of the notebooks at projector sizes in Lab too (RISE's own page
# ignores these theme overrides: its sizes come from the deck's stylesheet, see
# slides/present.py).
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings":
        {"defaultViewers": {"markdown": "Jupytext Notebook"}},
    "@jupyterlab/shortcuts-extension/shortcuts.jupyterlab-settings":
        {"shortcuts": [{"command": "notebook:interrupt-kernel", "keys": [INTERRUPT_KEY],
                        "selector": ".jp-Notebook.jp-mod-commandMode"}]},
    "@jupyterlab/apputils-extension/themes.jupyterlab-settings":
        {"overrides": {"code-font-size": "20px", "content-font-size1": "24px"}},
}


class LabError(RuntimeError):
    """The server did not start (the message quotes its log) or the request was invalid."""


@dataclass(frozen=True)
class Lab:
    """A running server: where it listens and how to open a notebook in RISE."""

    port: int
    token: str
    root_dir: Path
    process: subprocess.Popen
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def rise_url(self, notebook: Path) -> str:
        """The URL that opens ``notebook`` straight in RISE's slideshow."""
        relative = notebook.resolve().relative_to(self.root_dir.resolve()).as_posix()
        return (f"{self.base_url}rise/{urllib.parse.quote(relative)}"
                f"?token={urllib.parse.quote(self.token)}")


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_lab_settings(config_dir: Path) -> None:
    settings = config_dir / "lab" / "user-settings"
    for name, values in LAB_SETTINGS.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values, indent=1))


def _tail(log: Path, lines: int = 15) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def jupyter_lab(root_dir: Path, env: dict[str, str], log: Path, *, port: int | None = None,
                token: str | None = None) -> Iterator[Lab]:
    """Start JupyterLab on 127.0.0.1, wait until it answers, and stop it on exit.

    ``env`` is the whole environment of the server (for instance the variables of a
    Jupyter sandbox over os.environ); its JUPYTER_CONFIG_DIR receives the settings
    that keep Lab off the network.
    """
    port = port or free_port()
    token = token or secrets.token_urlsafe(24)
    if "JUPYTER_CONFIG_DIR" in env:
        write_lab_settings(Path(env["JUPYTER_CONFIG_DIR"]))
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
           f"--port={port}", "--ServerApp.port_retries=0",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root_dir}",
           "--LabApp.news_url=None",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")  # Jupyter refuses root without it (CI runs as root)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as log_file:
        process = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=log_file,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    lab = Lab(port, token, root_dir, process, log)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        status = f"{lab.base_url}api/status?token={urllib.parse.quote(token)}"
        while not _answers(status):
            if process.poll() is not None:
                raise LabError(f"JupyterLab exited with status {process.returncode}; "
                               f"its log ({log}) ends with:\n{_tail(log)}")
            if time.monotonic() > deadline:
                raise LabError(f"JupyterLab did not answer on port {port} within "
                               f"{START_TIMEOUT} s; its log ({log}) ends with:\n{_tail(log)}")
            time.sleep(0.25)
        yield lab
    finally:
        stop(process)


def stop(process: subprocess.Popen) -> None:
    """SIGTERM (Jupyter then shuts its kernels down); SIGKILL to the whole group if the
    server is still there after STOP_TIMEOUT (while it lives, the group is surely ours).
    A second Ctrl+C meanwhile is ignored, so that it cannot orphan the server."""
    if process.poll() is not None:
        return
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if in_main else None
    try:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    finally:
        if in_main:
            signal.signal(signal.SIGINT, previous)
