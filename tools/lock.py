"""Regenerate requirements.txt, the lock of requirements.in, for every supported Python.

``make lock`` calls this inside a scratch venv that has uv. For each supported
minor version (``setup_env.SUPPORTED``) it asks ``uv pip compile`` for a
resolution that installs from wheels only (``--only-binary :all:``, but for
``setup_env.SDIST_ONLY``) on Linux x86_64, preferring the versions the current lock already
pins, so that a re-lock moves only what must move. The per-version resolutions are then merged:
a package pinned alike everywhere gets a plain ``name==version`` line, one
pinned differently gets one line per version with a ``python_version`` marker
(the newest range open-ended, so a newer Python takes the newest pins).

    python tools/lock.py             # keep today's pins where they still resolve
    python tools/lock.py --upgrade   # take the newest versions that resolve

uv is used rather than pip because it resolves for a target Python by version
(markers included) without that interpreter being installed.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
# the one place the range and the source-only exceptions are written
from setup_env import SDIST_ONLY, SUPPORTED  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS_IN = ROOT / "requirements.in"
LOCK = ROOT / "requirements.txt"
PLATFORM = "x86_64-manylinux_2_28"
HEADER = (
    "# The full lock of requirements.in for Python 3.{low}-3.{high}, made by `make lock`\n"
    "# (tools/lock.py): wheels only (but {sdist}), resolved per version; a line\n"
    "# with a marker holds for those versions alone.\n"
)

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)\s*(?:;\s*(.+))?$")
_MARKER = re.compile(r'python_version\s*(==|>=|<)\s*"3\.(\d+)"')


class LockError(RuntimeError):
    """The lock could not be made; the message says why."""


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def minors() -> list[int]:
    return list(range(SUPPORTED[0][1], SUPPORTED[1][1] + 1))


def marker_holds(marker: str | None, minor: int) -> bool:
    """Evaluate a marker this tool wrote (python_version clauses joined by and/or)."""
    if not marker:
        return True
    for alternative in marker.split(" or "):
        clauses = alternative.split(" and ")
        if all(_clause_holds(clause, minor) for clause in clauses):
            return True
    return False


def _clause_holds(clause: str, minor: int) -> bool:
    match = _MARKER.fullmatch(clause.strip())
    if match is None:
        raise LockError(f"requirements.txt: cannot read the marker {clause!r}; "
                        f"this tool writes only python_version ==, >= and < markers")
    op, value = match[1], int(match[2])
    return {"==": minor == value, ">=": minor >= value, "<": minor < value}[op]


def read_lock(path: Path) -> list[tuple[str, str, str | None]]:
    """(name, version, marker) for each pin of a lock file."""
    pins = []
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = _PIN.match(line)
        if match is None:
            raise LockError(f"{path.name}: {raw!r} is not a name==version pin")
        pins.append((match[1], match[2], match[3]))
    return pins


def pins_for(pins: list[tuple[str, str, str | None]], minor: int) -> list[str]:
    return [f"{name}=={version}" for name, version, marker in pins if marker_holds(marker, minor)]


def resolve(uv: str, minor: int, preferences: list[str], upgrade: bool) -> dict[str, tuple[str, str]]:
    """Resolve requirements.in for Python 3.<minor>: {normalised name: (name, version)}."""
    with tempfile.TemporaryDirectory(prefix="lock-") as tmp:
        out = Path(tmp) / f"py3{minor}.txt"
        # uv treats the pins already in its output file as preferences.
        out.write_text("\n".join(preferences) + "\n")
        cmd = [uv, "pip", "compile", str(REQUIREMENTS_IN), "--quiet", "--no-header",
               "--no-annotate", "--python-version", f"3.{minor}", "--python-platform", PLATFORM,
               "--only-binary", ":all:", "--output-file", str(out)]
        for name in SDIST_ONLY:
            cmd += ["--no-binary", name]
        if upgrade:
            cmd.append("--upgrade")
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0:
            raise LockError(f"no wheels-only resolution for Python 3.{minor}:\n{result.stderr}")
        return {normalise(name): (name, version) for name, version, _ in read_lock(out)}


def marker_for(versions: set[int], every: list[int]) -> str | None:
    """A python_version marker that holds for exactly *versions* among *every*."""
    if set(every) <= versions:
        return None
    ordered = sorted(versions)
    if ordered == list(range(ordered[0], ordered[-1] + 1)):
        clauses = []
        if ordered[0] > every[0]:
            clauses.append(f'python_version >= "3.{ordered[0]}"')
        if ordered[-1] < every[-1]:
            clauses.append(f'python_version < "3.{ordered[-1] + 1}"')
        return " and ".join(clauses)
    return " or ".join(f'python_version == "3.{v}"' for v in ordered)


def merge(resolutions: dict[int, dict[str, tuple[str, str]]]) -> list[str]:
    every = sorted(resolutions)
    by_package: dict[str, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    spelling: dict[str, str] = {}
    for minor, pins in resolutions.items():
        for key, (name, version) in pins.items():
            by_package[key][version].add(minor)
            spelling.setdefault(key, name)
    lines = []
    for key in sorted(by_package):
        for version, versions in sorted(by_package[key].items(), key=lambda kv: min(kv[1])):
            marker = marker_for(versions, every)
            pin = f"{spelling[key]}=={version}"
            lines.append(pin if marker is None else f"{pin} ; {marker}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--upgrade", action="store_true",
                        help="take the newest versions rather than keeping today's pins")
    parser.add_argument("--uv", default=shutil.which("uv"), help="the uv executable")
    args = parser.parse_args(argv)
    if not args.uv:
        print("lock: error: uv is needed (make lock installs it in build/lock-venv)", file=sys.stderr)
        return 1
    try:
        current = read_lock(LOCK) if LOCK.exists() else []
        resolutions = {}
        for minor in minors():
            print(f"lock: resolving for Python 3.{minor}", flush=True)
            resolutions[minor] = resolve(args.uv, minor, pins_for(current, minor), args.upgrade)
    except LockError as exc:
        print(f"lock: error: {exc}", file=sys.stderr)
        return 1
    every = minors()
    header = HEADER.format(low=every[0], high=every[-1], sdist=", ".join(SDIST_ONLY))
    LOCK.write_text(header + "\n".join(merge(resolutions)) + "\n")
    print(f"lock: {LOCK.name} written; review it with git diff")
    return 0


if __name__ == "__main__":
    sys.exit(main())
