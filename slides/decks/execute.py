"""Running a deck's notebook from a fresh kernel, in a private Jupyter sandbox.

Jupyter and IPython keep state under ``$HOME`` (config, runtime files, the IPython
profile, user kernelspecs). The build and the tests point all of it at a private
folder, and write there a ``python3`` kernelspec for the running interpreter, so a
deck always runs on this environment's Python whatever the user has installed.

The kernelspec also puts ``slides/`` on the kernel's ``PYTHONPATH``, so that the
decks' cells can ``from decks.listing import show`` in every kernel the pipeline
starts: the build's, and those of ``make present``'s JupyterLab (which uses the
same kernelspec for the language notebooks and for the ``.md`` sources alike). The
kernel's working directory stays the talk's folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from traitlets.config import Config

from . import SLIDES_DIR
from .source import slides_of

#: Seconds a code cell may run, unless its metadata says ``timeout: N``.
CELL_TIMEOUT = 60
KERNEL_STARTUP_TIMEOUT = 60
KERNEL_NAME = "python3"


class ExecutionError(RuntimeError):
    """A code cell failed or timed out; the message names the slide and the cell."""


def kernel_pythonpath() -> str:
    """The kernels' PYTHONPATH: ``slides/`` (for ``decks.listing``), then this
    process's own PYTHONPATH, if any."""
    inherited = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return os.pathsep.join(dict.fromkeys([str(SLIDES_DIR), *inherited]))


def sandbox_environment(directory: Path) -> dict[str, str]:
    """The variables that confine Jupyter and IPython to ``directory``.

    Also writes the ``python3`` kernelspec there (it wins over any user or system
    one): this interpreter, with ``slides/`` on its PYTHONPATH.
    """
    env = {
        "JUPYTER_CONFIG_DIR": str(directory / "config"),
        "JUPYTER_DATA_DIR": str(directory / "data"),
        "JUPYTER_RUNTIME_DIR": str(directory / "runtime"),
        "IPYTHONDIR": str(directory / "ipython"),
        "JUPYTER_PLATFORM_DIRS": "1",
        # In a virtualenv Jupyter looks in the environment's folders before the user's
        # (jupyter_core >= 5), so the venv's own python3 kernelspec would shadow ours.
        "JUPYTER_PREFER_ENV_PATH": "0",
        # debugpy warns on stderr at every kernel start when frozen modules are on
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }
    for key in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        Path(env[key]).mkdir(parents=True, exist_ok=True)
    spec_dir = directory / "data" / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-Xfrozen_modules=off", "-m", "ipykernel_launcher",
                 "-f", "{connection_file}"],
        "display_name": "Python 3 (decks)",
        "language": "python",
        "env": {"PYTHONPATH": kernel_pythonpath()},
        "metadata": {"debugger": True},
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1))
    return env


@contextlib.contextmanager
def jupyter_sandbox(directory: Path | None = None) -> Iterator[dict[str, str]]:
    """Point this process (and the kernels it starts) at a private Jupyter sandbox.

    ``directory`` defaults to a temporary folder removed on exit. Yields the variables
    set, for subprocesses such as a JupyterLab server. The previous values come back
    on exit.
    """
    with contextlib.ExitStack() as stack:
        if directory is None:
            directory = Path(stack.enter_context(
                tempfile.TemporaryDirectory(prefix="deck-jupyter-")))
        env = sandbox_environment(directory)
        with _environment(env):
            yield env


def cell_timeout(cell: NotebookNode) -> int:
    """The cell's ``timeout`` metadata, or CELL_TIMEOUT."""
    value = cell.get("metadata", {}).get("timeout", CELL_TIMEOUT)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ExecutionError(f"a cell's timeout must be a positive number of seconds, "
                             f"not {value!r}")
    return value


def execute(nb: NotebookNode, cwd: Path, *, label: str = "the deck",
            notebook_path: Path | None = None,
            on_cell: Callable[[int, int], None] | None = None) -> NotebookNode:
    """Run every code cell of ``nb`` in order, in a fresh kernel started in ``cwd``.

    Fills in the outputs in place and returns ``nb``. A cell that raises (unless it is
    tagged ``raises-exception``) or outlives its timeout stops the run with
    ExecutionError. ``on_cell(done, total)`` reports progress before each code cell.
    ``notebook_path`` names the notebook to the kernel as JupyterLab does
    (``JPY_SESSION_NAME``), so that ``decks.deck_language()`` answers in the build as
    on stage. Run it inside ``jupyter_sandbox()`` for a kernel on this interpreter.
    """
    code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    for index in code_cells:
        cell_timeout(nb.cells[index])  # refuse a bad timeout before starting a kernel

    current = [None]

    def started(cell: NotebookNode, cell_index: int) -> None:
        current[0] = cell_index
        if on_cell is not None and cell_index in code_cells:
            on_cell(code_cells.index(cell_index), len(code_cells))

    # IPC sockets in the sandbox's runtime folder, rather than TCP ports on loopback
    # (an absolute socket path: the kernel runs in ``cwd``, not in the runtime folder)
    runtime = Path(os.environ.get("JUPYTER_RUNTIME_DIR") or tempfile.gettempdir())
    sockets = runtime / f"deck-kernel-{uuid.uuid4().hex[:12]}"
    config = Config()
    config.KernelManager.transport = "ipc"
    config.KernelManager.ip = str(sockets)
    client = NotebookClient(
        nb, config=config, kernel_name=KERNEL_NAME, timeout_func=cell_timeout,
        startup_timeout=KERNEL_STARTUP_TIMEOUT, allow_errors=False,
        resources={"metadata": {"path": str(cwd)}}, on_cell_start=started)
    session = {"JPY_SESSION_NAME": str(notebook_path)} if notebook_path else {}
    try:
        with _environment(session):  # the kernel inherits it when it starts
            client.execute()
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as exc:
        where = _locate(nb, current[0])
        reason = "timed out" if isinstance(exc, CellTimeoutError) else (
            "killed the kernel" if isinstance(exc, DeadKernelError) else "failed")
        raise ExecutionError(f"{label}: {where} {reason}:\n{exc}") from exc
    finally:
        for path in runtime.glob(f"{sockets.name}-*"):
            path.unlink(missing_ok=True)
    return nb


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of the block, then restore them."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _locate(nb: NotebookNode, index: int | None) -> str:
    """Name the code cell at ``index`` by its slide."""
    if index is None:
        return "starting the kernel"
    for slide in slides_of(nb):
        for position, cell in enumerate(slide.cells):
            if cell is nb.cells[index]:
                return f"the code cell at {slide.describe()} (cell {position + 1} of the slide)"
    return f"the code cell {index + 1} (before the first slide)"
