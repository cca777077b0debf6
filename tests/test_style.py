"""One code style for the whole repository: ruff, configured once in ruff.toml."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_finds_nothing_to_fix():
    # --no-cache: nothing written into the checkout; the repository's ruff.toml
    # is found from the working directory.
    command = [sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", "."]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, (
        f"ruff check . found what to fix (`ruff check --fix .` fixes some):\n{done.stdout}{done.stderr}")
