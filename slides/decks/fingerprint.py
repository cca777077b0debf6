"""The content hash that decides whether a deck must be rebuilt.

A deck's outputs depend on three things, and the hash covers each:

- its talk folder: the source and every file beside it (images, diagram scripts);
- the packages its code imports: for a package kept in this repository (rose,
  evergreen, tulip_echo) the text of its modules, followed into the packages they
  import; for an installed distribution, its name and version;
- the toolchain: this pipeline's code and template, the npm lock (reveal.js), the
  versions of the Python tools, the Python version and the Chromium binary.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.metadata
import importlib.util
import os
import re
import sys
from collections.abc import Iterable
from pathlib import Path

from . import LANGUAGES, ROOT, SLIDES_DIR
from .browser import find_chromium
from .source import Talk, read_source

TOOL_DISTRIBUTIONS = ("nbconvert", "nbclient", "nbformat", "jupytext", "ipykernel",
                      "ipython", "jupyter_client", "mistune", "pygments", "playwright",
                      "jupyterlab_pygments", "matplotlib")
# make present writes RISE's stylesheet beside each notebook: <talk>.<lang>.css
GENERATED = (".ipynb", ".pyc", *(f".{lang}.css" for lang in LANGUAGES))
SKIPPED_DIRS = ("__pycache__", ".ipynb_checkpoints", "node_modules")


def _files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*")
                  if p.is_file() and not p.name.endswith(GENERATED)
                  and not any(part in SKIPPED_DIRS for part in p.relative_to(directory).parts))


def _hash_files(h: hashlib._Hash, files: Iterable[Path], base: Path) -> None:
    for path in files:
        h.update(str(path.relative_to(base)).encode() + b"\0")
        h.update(path.read_bytes() + b"\0")


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


def toolchain() -> str:
    """The hash of everything besides the talk that shapes a deck's outputs."""
    h = hashlib.sha256(sys.version.encode())
    _hash_files(h, _files(SLIDES_DIR / "decks"), SLIDES_DIR)
    _hash_files(h, _files(SLIDES_DIR / "template"), SLIDES_DIR)
    _hash_files(h, [SLIDES_DIR / "package-lock.json"], SLIDES_DIR)
    for name in TOOL_DISTRIBUTIONS:
        h.update(f"{name}=={_version(name)}\n".encode())
    chromium = find_chromium()
    if chromium:
        real = os.path.realpath(chromium)
        stat = os.stat(real)
        h.update(f"{real} {stat.st_size} {stat.st_mtime_ns}".encode())
    return h.hexdigest()


def imported_modules(code: str) -> set[str]:
    """The top-level modules a piece of Python (or IPython cell) imports."""
    if re.search(r"^\s*[%!]", code, re.MULTILINE):  # %magics and !shell: IPython's syntax
        from IPython.core.inputtransformer2 import TransformerManager
        code = TransformerManager().transform_cell(code)
    try:
        tree = compile(code, "<cell>", "exec", ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    except SyntaxError:
        return set()  # a listing meant to fail (raises-exception); it imports nothing
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _package_root(name: str, root: Path = ROOT) -> Path | None:
    """The folder (or file) of a top-level module kept under ``root``, else None."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        location = Path(next(iter(spec.submodule_search_locations)))
    elif spec.origin and spec.origin not in ("built-in", "frozen"):
        location = Path(spec.origin)
    else:
        return None
    location = location.resolve()
    # Installed packages count by version, wherever the environment lives (.venv
    # inside the checkout, or a venv reached through a link).
    installed = any(location.is_relative_to(Path(prefix).resolve())
                    for prefix in {sys.prefix, sys.base_prefix})
    return location if location.is_relative_to(root) and not installed else None


def modules_fingerprint(names: set[str], root: Path = ROOT) -> str:
    """The hash of the imported modules: repository packages by content, followed
    into what they import, and installed ones by distribution version.

    Each module is hashed on its own and the results combined in name order, so the
    hash does not depend on the order the imports are found in (a set's order changes
    from one process to the next with string hash randomisation).
    """
    distributions = importlib.metadata.packages_distributions()
    parts: dict[str, str] = {}
    todo = set(names)
    while todo:
        name = todo.pop()
        if name in parts or name in sys.stdlib_module_names:
            continue
        part = hashlib.sha256()
        location = _package_root(name, root)
        if location is not None:
            files = _files(location) if location.is_dir() else [location]
            _hash_files(part, files, root)
            for path in files:
                if path.suffix == ".py":
                    todo |= imported_modules(path.read_text(errors="replace")) - parts.keys()
        else:
            for dist in sorted(distributions.get(name, [])):
                part.update(f"{dist}=={_version(dist)}\n".encode())
            if name not in distributions:
                part.update(f"{name}: not installed\n".encode())
        parts[name] = part.hexdigest()
    h = hashlib.sha256()
    for name in sorted(parts):
        h.update(f"{name} {parts[name]}\n".encode())
    return h.hexdigest()


def deck_fingerprint(talk: Talk, toolchain_hash: str) -> str:
    """The hash of one talk's outputs (both languages share it)."""
    nb = read_source(talk)
    code = [cell.source for cell in nb.cells if cell.cell_type == "code"]
    code += [p.read_text(errors="replace") for p in _files(talk.directory) if p.suffix == ".py"]
    names = set().union(*(imported_modules(c) for c in code))
    h = hashlib.sha256(toolchain_hash.encode())
    _hash_files(h, _files(talk.directory), talk.directory)
    h.update(modules_fingerprint(names).encode())
    return h.hexdigest()
