"""What several test files share: the demos-only venv (``make demos``'s), made once.

It lives in build/, one per Python (so that a run on another interpreter does not
recreate another's), and every session brings it up to date with the same idempotent
setup ``make demos`` runs: only the first session pays for making it.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMOS_VENV = ROOT / "build" / f"demos-venv-3.{sys.version_info[1]}"


def setup_demos(venv: Path) -> subprocess.CompletedProcess[str]:
    """Run ``make demos``'s command for *venv* with the Python running these tests."""
    # The base interpreter, not this venv's python: the demos venv must not inherit
    # anything from the full environment.
    base = getattr(sys, "_base_executable", sys.executable)
    return subprocess.run([sys.executable, str(ROOT / "tools" / "setup_env.py"), "--demos",
                           "--venv", str(venv), "--python", base],
                          capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="session")
def demos_setup() -> Callable[[], subprocess.CompletedProcess[str]]:
    """``make demos``'s setup of the test's demos-only venv, to run again."""
    return lambda: setup_demos(DEMOS_VENV)


@pytest.fixture(scope="session")
def demos_python() -> Path:
    """The demos-only venv's interpreter, the venv made or brought up to date first."""
    out = setup_demos(DEMOS_VENV)
    assert out.returncode == 0, out.stdout + out.stderr
    return DEMOS_VENV / "bin" / "python"
