"""Build pyuv 1.4.0 for Python 3.10+ from its PyPI sdist, and cache the wheel.

pyuv's last release (1.4.0, 2017) no longer compiles on modern CPython. This
script rebuilds it with six small source substitutions, each explained in
``SUBSTITUTIONS`` below (four that it needs to build and run, two that keep it clear
of deprecated C-API), and never contacts anything but the package index:

1. ``pip download`` fetches the exact sdist, whose sha256 must match ``SDIST_SHA256``;
2. the sdist is unpacked and every substitution is applied; an old text that is
   not found exactly once stops the build (the sdist is not what we expect);
3. ``pip wheel`` builds it, against pyuv's bundled libuv (the default) or the
   system's libuv (``--libuv system``, needs the libuv headers, e.g. ``libuv1-dev``);
4. the wheel is kept in a cache keyed by everything that shapes it, so the
   next setup installs it in well under a second.

Run it with the interpreter that should get pyuv::

    python tools/pyuv_build.py install            # build if needed, then install
    python tools/pyuv_build.py wheel -o DIR       # build if needed, copy the wheel to DIR
    python tools/pyuv_build.py key                # print the cache key (used by setup)
    python tools/pyuv_build.py selftest           # run pyuv's own test suite on the installed pyuv

The cache lives in ``$PYUV_WHEEL_CACHE``, else ``$XDG_CACHE_HOME/asyncio-talks/pyuv``
(``~/.cache/asyncio-talks/pyuv``). It uses only the standard library.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pty
import re
import shutil
import stat
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

PYUV_VERSION = "1.4.0"
SDIST_NAME = f"pyuv-{PYUV_VERSION}.tar.gz"
SDIST_SHA256 = "caea2004d1125fe17cbde3c211c8abc72844e9b8dd7dfa007711e98fbc96fbc2"
LIBUV_MODES = ("bundled", "system")
BUILD_LOG = "build.log"


class BuildError(RuntimeError):
    """The sdist or the build is not what this script expects."""


@dataclass(frozen=True)
class Substitution:
    path: str
    old: str
    new: str
    why: str


SUBSTITUTIONS: tuple[Substitution, ...] = (
    Substitution(
        "src/handle.c",
        "Py_REFCNT(self) = refcnt;",
        "Py_SET_REFCNT(self, refcnt);",
        "Python 3.10 made Py_REFCNT() a function, no longer an lvalue",
    ),
    Substitution(
        "src/common.c",
        'return PyUnicode_EncodeUTF8(PyUnicode_AS_UNICODE(unicode), '
        'PyUnicode_GET_SIZE(unicode), "surrogateescape");',
        'return PyUnicode_AsEncodedString(unicode, "utf-8", "surrogateescape");',
        "Python 3.11 removed the legacy Py_UNICODE APIs",
    ),
    Substitution(
        "src/abstract.c",
        "PyMem_Free(handle->data);",
        "PyGILState_STATE gstate = PyGILState_Ensure();\n"
        "    PyMem_Free(handle->data);\n"
        "    PyGILState_Release(gstate);",
        "a libuv close callback frees Python memory, which needs the GIL "
        "(segfault on 3.12+, abort under -X dev on 3.11)",
    ),
    Substitution(
        "src/process.c",
        "cwd = executable = Py_None;",
        "cwd = executable = callback = Py_None;",
        "Process.spawn() without exit_callback read an uninitialised pointer",
    ),
    Substitution(
        "src/common.c",
        "if (Py_FileSystemDefaultEncoding)\n"
        '        return PyUnicode_AsEncodedString(unicode, Py_FileSystemDefaultEncoding, '
        '"surrogateescape");\n'
        "    else\n",
        "return PyUnicode_EncodeFSDefault(unicode);\n",
        "Py_FileSystemDefaultEncoding is deprecated since Python 3.12; "
        "PyUnicode_EncodeFSDefault() is the same encoding and error handler",
    ),
    Substitution(
        "src/pyuv.c",
        "PyEval_InitThreads();",
        "/* the GIL exists from startup: PyEval_InitThreads() is gone */",
        "PyEval_InitThreads() is a deprecated no-op since Python 3.9",
    ),
)


@dataclass(frozen=True)
class TestFix:
    """A change to pyuv's own test files, which were written for Python 2.7-3.6."""

    path: str
    pattern: str  # a regular expression; it must match at least once
    replacement: str
    why: str


TEST_FIXES: tuple[TestFix, ...] = (
    TestFix("tests/test_async.py", r"\basync\b", "async_handle",
            "async is a keyword since Python 3.7; the tests named variables after it"),
    TestFix("tests/test_signal.py", r"\basync\b", "async_handle",
            "the same variable name in the signal tests"),
    TestFix("tests/test_fs.py", r"(?m)^(os|pyuv\.fs)\.stat_float_times\(False\)$",
            "pass  # stat_float_times() is gone; stat times are floats",
            "os.stat_float_times() was removed in Python 3.7 (pyuv's own is gone too)"),
)

# pyuv's tests that run only as root (they skip themselves otherwise) and cannot pass
# in some root environments; environment_exclusions() says when, and why.
SETUID_AS_NOBODY = "test_process.ProcessTest.test_process_uid_gid"
SETUID_TO_A_BAD_UID = "test_process.ProcessTest.test_process_uid_fail"


def cache_root() -> Path:
    explicit = os.environ.get("PYUV_WHEEL_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "asyncio-talks" / "pyuv"


def interpreter_tag() -> str:
    """The part of a wheel name that ties it to this interpreter and platform."""
    impl = sys.implementation.name
    abi = sysconfig.get_config_var("SOABI") or f"{impl}-{sys.version_info[0]}{sys.version_info[1]}"
    return f"{abi}-{sysconfig.get_platform()}"


def build_key(libuv: str) -> str:
    """A digest of everything that decides the wheel's contents."""
    recipe = {
        "sdist": SDIST_SHA256,
        "substitutions": [(s.path, s.old, s.new) for s in SUBSTITUTIONS],
        "libuv": libuv,
        "interpreter": interpreter_tag(),
    }
    blob = json.dumps(recipe, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def run(cmd: list[str], **kwargs) -> None:
    print("pyuv_build: $", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, **kwargs)


def fetch_sdist(cache: Path) -> Path:
    """Return the verified sdist, downloading it through pip when missing."""
    sdist = cache / SDIST_NAME
    if not sdist.exists():
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="pyuv-sdist-") as tmp:
            run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", "pyuv",
                 "--no-build-isolation", "--quiet", "--dest", tmp, f"pyuv=={PYUV_VERSION}"])
            downloaded = Path(tmp) / SDIST_NAME
            if not downloaded.exists():
                raise BuildError(f"pip did not produce {SDIST_NAME} (got {os.listdir(tmp)})")
            shutil.move(str(downloaded), sdist)
    actual = sha256_of(sdist)
    if actual != SDIST_SHA256:
        sdist.unlink()
        raise BuildError(f"{SDIST_NAME}: sha256 {actual} does not match the pinned "
                         f"{SDIST_SHA256}; the file was removed from the cache")
    return sdist


def apply_substitutions(tree: Path, substitutions=SUBSTITUTIONS) -> None:
    """Apply each substitution to the unpacked sdist; its old text must occur once."""
    for sub in substitutions:
        path = tree / sub.path
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise BuildError(f"{sub.path}: file not found in the sdist") from None
        count = text.count(sub.old)
        if count != 1:
            raise BuildError(f"{sub.path}: expected the text {sub.old!r} exactly once, "
                             f"found it {count} times; the substitution ({sub.why}) "
                             f"no longer matches this source")
        path.write_text(text.replace(sub.old, sub.new), encoding="utf-8")


def use_system_libuv(tree: Path) -> None:
    include = Path(sysconfig.get_config_var("INCLUDEDIR") or "/usr/include")
    candidates = [Path("/usr/include/uv.h"), Path("/usr/local/include/uv.h"), include / "uv.h"]
    if not any(p.exists() for p in candidates):
        raise BuildError("--libuv system needs libuv's headers (uv.h): install libuv1-dev "
                         "(Debian/Ubuntu) or libuv (conda-forge), or build with the bundled libuv")
    with open(tree / "setup.cfg", "a", encoding="utf-8") as cfg:
        cfg.write("\n[build_ext]\nuse_system_libuv = 1\n")


def unpack(sdist: Path, into: Path) -> Path:
    with tarfile.open(sdist) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(into, filter="data")
        else:  # pragma: no cover - Pythons without extraction filters
            tar.extractall(into)
    return into / f"pyuv-{PYUV_VERSION}"


def cached_wheel(libuv: str) -> Path | None:
    folder = cache_root() / build_key(libuv)
    wheels = sorted(folder.glob(f"pyuv-{PYUV_VERSION}-*.whl"))
    return wheels[0] if wheels else None


def build_wheel(libuv: str) -> Path:
    """Return the cached wheel for this interpreter, building it first if needed."""
    if libuv not in LIBUV_MODES:
        raise ValueError(f"libuv must be one of {LIBUV_MODES}, not {libuv!r}")
    wheel = cached_wheel(libuv)
    if wheel is not None:
        return wheel
    cache = cache_root()
    sdist = fetch_sdist(cache)
    target = cache / build_key(libuv)
    with tempfile.TemporaryDirectory(prefix="pyuv-build-") as tmp:
        tree = unpack(sdist, Path(tmp))
        apply_substitutions(tree)
        if libuv == "system":
            use_system_libuv(tree)
        out = Path(tmp) / "wheelhouse"
        log = Path(tmp) / BUILD_LOG
        run_logged([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--verbose", "--wheel-dir", str(out), str(tree)], log)
        built = sorted(out.glob(f"pyuv-{PYUV_VERSION}-*.whl"))
        if len(built) != 1:
            raise BuildError(f"pip wheel produced {built}, expected one pyuv wheel")
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(log, target / BUILD_LOG)
        # Move into place atomically so an interrupted build never leaves a half file.
        partial = target / (built[0].name + ".part")
        shutil.copyfile(built[0], partial)
        os.replace(partial, target / built[0].name)
    return target / built[0].name


def run_logged(cmd: list[str], log: Path) -> None:
    """Run *cmd* with its output in *log*; on failure show the end of it."""
    print("pyuv_build: $", " ".join(cmd), flush=True)
    with open(log, "w", encoding="utf-8") as f:
        proc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-40:]
        print("\n".join(tail), file=sys.stderr)
        raise subprocess.CalledProcessError(proc.returncode, cmd)


def build_log(libuv: str) -> Path:
    """The compiler's output for the cached wheel of this interpreter (kept beside it)."""
    return cache_root() / build_key(libuv) / BUILD_LOG


def install(libuv: str) -> Path:
    wheel = build_wheel(libuv)
    run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--force-reinstall",
         "--disable-pip-version-check", "--quiet", str(wheel)])
    return wheel


def apply_test_fixes(tests: Path) -> None:
    """Make pyuv's test files run on Python 3.10+; a fix that matches nothing stops."""
    for fix in TEST_FIXES:
        path = tests.parent / fix.path
        text, count = re.subn(fix.pattern, fix.replacement, path.read_text(encoding="utf-8"))
        if count == 0:
            raise BuildError(f"{fix.path}: the test fix ({fix.why}) matches nothing; "
                             f"the sdist's tests are not what this script expects")
        path.write_text(text, encoding="utf-8")


def reachable_by_anyone(path: Path) -> bool:
    """True if every directory above *path* lets other users through (o+x)."""
    return all(parent.stat().st_mode & stat.S_IXOTH for parent in path.resolve().parents)


def environment_exclusions() -> dict[str, str]:
    """pyuv tests this environment cannot run, with the reason for each."""
    if os.getuid() != 0:
        return {}
    excluded = {}
    if sys.platform.startswith("linux"):
        excluded[SETUID_TO_A_BAD_UID] = (
            "expects setuid(-42424242) to fail in the child, but on Linux root may take "
            "any uid but (uid_t)-1, so the child runs and exits 0")
    interpreter = Path(sys.executable)
    if not (reachable_by_anyone(interpreter)
            and reachable_by_anyone(Path(sys.prefix) / "pyvenv.cfg")):
        excluded[SETUID_AS_NOBODY] = (
            f"runs {interpreter} as user nobody, who cannot reach it "
            f"(a directory above it is closed to other users)")
    return excluded


_SUITE_RUNNER = """
import sys, unittest
excluded = set(sys.argv[1:])
def flatten(suite):
    for item in suite:
        yield from (flatten(item) if isinstance(item, unittest.TestSuite) else [item])
tests = [t for t in flatten(unittest.defaultTestLoader.discover('.', pattern='test_*.py'))
         if t.id() not in excluded]
result = unittest.TextTestRunner(verbosity=1).run(unittest.TestSuite(tests))
sys.exit(0 if result.wasSuccessful() else 1)
"""


def selftest() -> int:
    """Run pyuv's own test suite, from the pinned sdist, against the installed pyuv.

    The tests run in a scratch copy with ``TEST_FIXES`` applied, on a pseudo-terminal
    as stdin (the TTY test needs one), with ``PYUV_INSIDE_TOX`` set so that they
    import the installed pyuv rather than a source tree. Returns the exit status.
    """
    sdist = fetch_sdist(cache_root())
    with tempfile.TemporaryDirectory(prefix="pyuv-selftest-") as tmp:
        tests = unpack(sdist, Path(tmp)) / "tests"
        apply_test_fixes(tests)
        excluded = environment_exclusions()
        for test_id, reason in excluded.items():
            print(f"pyuv_build: not run: {test_id}: {reason}", flush=True)
        # The setuid tests run the copied tests' helpers as user nobody.
        os.chmod(tmp, 0o755)
        # The process tests spawn "python": this interpreter (Debian has no "python").
        path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
        env = dict(os.environ, PYUV_INSIDE_TOX="1", PATH=path)
        env.pop("PYTHONUNBUFFERED", None)  # makes two of pyuv's process tests flaky
        controller, terminal = pty.openpty()
        try:
            proc = subprocess.run([sys.executable, "-c", _SUITE_RUNNER, *excluded],
                                  cwd=tests, env=env, stdin=terminal, timeout=600)
        finally:
            os.close(controller)
            os.close(terminal)
    return proc.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("install", "wheel", "key", "selftest"))
    parser.add_argument("--libuv", choices=LIBUV_MODES,
                        default=os.environ.get("PYUV_LIBUV", "bundled"),
                        help="link the bundled libuv 1.13 (default) or the system's libuv "
                             "(also set by PYUV_LIBUV)")
    parser.add_argument("-o", "--output", type=Path, help="with 'wheel': copy the wheel here")
    args = parser.parse_args(argv)
    try:
        if args.command == "key":
            print(build_key(args.libuv))
        elif args.command == "selftest":
            return selftest()
        elif args.command == "wheel":
            wheel = build_wheel(args.libuv)
            if args.output:
                args.output.mkdir(parents=True, exist_ok=True)
                shutil.copy(wheel, args.output / wheel.name)
                wheel = args.output / wheel.name
            print(wheel)
        else:
            print(f"pyuv_build: installed {install(args.libuv).name} ({args.libuv} libuv)")
    except (BuildError, subprocess.CalledProcessError) as exc:
        print(f"pyuv_build: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
