"""The setup machinery: the pyuv build recipe, the pins, and setup's idempotence."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI") == "true"


def load_tool(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while building
    spec.loader.exec_module(module)
    return module


pyuv_build = load_tool("pyuv_build")


# -- the substitutions -------------------------------------------------------------

def fake_tree(tmp_path: Path, subs) -> Path:
    """A source tree holding each old text once (several may share a file)."""
    for sub in subs:
        path = tmp_path / sub.path
        path.parent.mkdir(parents=True, exist_ok=True)
        before = path.read_text() if path.exists() else ""
        path.write_text(f"{before}/* before */\n{sub.old}\n/* after */\n")
    return tmp_path


def test_substitutions_apply_to_a_matching_tree(tmp_path):
    tree = fake_tree(tmp_path, pyuv_build.SUBSTITUTIONS)
    pyuv_build.apply_substitutions(tree)
    for sub in pyuv_build.SUBSTITUTIONS:
        text = (tree / sub.path).read_text()
        assert sub.new in text and sub.old not in text.replace(sub.new, "")


def test_a_substitution_that_no_longer_matches_stops_the_build(tmp_path):
    tree = fake_tree(tmp_path, pyuv_build.SUBSTITUTIONS)
    first = pyuv_build.SUBSTITUTIONS[0]
    (tree / first.path).write_text("/* upstream changed this file */\n")
    with pytest.raises(pyuv_build.BuildError, match="exactly once, found it 0 times"):
        pyuv_build.apply_substitutions(tree)


def test_an_old_text_found_twice_stops_the_build(tmp_path):
    tree = fake_tree(tmp_path, pyuv_build.SUBSTITUTIONS)
    last = pyuv_build.SUBSTITUTIONS[-1]
    (tree / last.path).write_text(f"{last.old}\n{last.old}\n")
    with pytest.raises(pyuv_build.BuildError, match="found it 2 times"):
        pyuv_build.apply_substitutions(tree)


def cached_sdist() -> Path:
    sdist = pyuv_build.cache_root() / pyuv_build.SDIST_NAME
    if not sdist.exists():
        pytest.fail(f"{sdist} is missing although make setup ran; run make setup again")
    return sdist


def test_every_substitution_matches_the_pinned_sdist_exactly_once(tmp_path):
    sdist = cached_sdist()
    assert pyuv_build.sha256_of(sdist) == pyuv_build.SDIST_SHA256
    tree = pyuv_build.unpack(sdist, tmp_path)
    pyuv_build.apply_substitutions(tree)  # raises if any count is not exactly one


def test_an_sdist_with_the_wrong_hash_is_refused_and_removed(tmp_path, monkeypatch):
    monkeypatch.setenv("PYUV_WHEEL_CACHE", str(tmp_path))
    bogus = tmp_path / pyuv_build.SDIST_NAME
    with tarfile.open(bogus, "w:gz"):
        pass
    with pytest.raises(pyuv_build.BuildError, match="does not match the pinned"):
        pyuv_build.fetch_sdist(tmp_path)
    assert not bogus.exists()


def test_the_cache_key_depends_on_the_libuv_choice():
    assert pyuv_build.build_key("bundled") != pyuv_build.build_key("system")
    assert pyuv_build.build_key("bundled") == pyuv_build.build_key("bundled")


def test_pyuv_builds_without_deprecated_c_api():
    # A deprecated C-API call is tomorrow's build error on a newer Python.
    # (libuv's own sources warn too, about const and dangling pointers: not ours to fix.)
    log = pyuv_build.build_log(os.environ.get("PYUV_LIBUV", "bundled"))
    if not log.exists():
        pytest.fail(f"{log} is missing: the cached pyuv wheel predates build logs; "
                    f"remove {log.parent} and run make setup again")
    text = log.read_text(errors="replace")
    assert "_cpyuv" in text, "the log does not show pyuv's extension being compiled"
    deprecated = [line for line in text.splitlines()
                  if "-Wdeprecated-declarations" in line and line.startswith("src/")]
    assert deprecated == []


def system_libuv_headers() -> bool:
    return Path("/usr/include/uv.h").exists()


@pytest.mark.slow
@pytest.mark.skipif(not system_libuv_headers() and not IN_CI,
                    reason="libuv's headers are not installed (apt install libuv1-dev)")
def test_pyuv_builds_and_works_against_the_system_libuv(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    shutil.copy(cached_sdist(), cache)  # no download: only the build is under test
    env = dict(os.environ, PYUV_WHEEL_CACHE=str(cache))
    out = subprocess.run([sys.executable, str(ROOT / "tools" / "pyuv_build.py"), "wheel",
                          "--libuv", "system", "-o", str(tmp_path / "wheels")],
                         env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    wheel = Path(out.stdout.splitlines()[-1])
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                    "--target", str(target), str(wheel)], check=True, timeout=120)
    extension = next(target.glob("pyuv/_cpyuv*.so"))
    ldd = subprocess.run(["ldd", str(extension)], capture_output=True, text=True).stdout
    assert "libuv.so.1" in ldd, ldd
    smoke = ROOT / "tests" / "pyuv_smoke.py"
    for scenario in ("import", "tcp_echo", "process_without_exit_callback"):
        run = subprocess.run([sys.executable, "-X", "dev", str(smoke), scenario],
                             env=dict(os.environ, PYTHONPATH=str(target)),
                             capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stdout + run.stderr
        if scenario == "import":
            # the system's libuv is far newer than the bundled 1.13.2-dev
            assert "libuv 1.13" not in run.stdout, run.stdout


# -- the pins ---------------------------------------------------------------------

TOOLCHAIN = {"python", "pip", "c-compiler", "make", "nodejs"}


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_pins(path: Path) -> dict[str, str]:
    """The pins of requirements.in (no markers there)."""
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, version = line.partition("==")
        assert sep, f"{path.name}: {line!r} is not pinned with =="
        pins[normalise(name)] = version.strip()
    return pins


lock_tool = load_tool("lock")
SUPPORTED_MINORS = lock_tool.minors()


def lock_pins(minor: int) -> dict[str, str]:
    """What requirements.txt installs on Python 3.<minor>."""
    pins = {}
    for name, version, marker in lock_tool.read_lock(ROOT / "requirements.txt"):
        if lock_tool.marker_holds(marker, minor):
            assert normalise(name) not in pins, f"{name} is pinned twice for 3.{minor}"
            pins[normalise(name)] = version
    return pins


def conda_pins() -> dict[str, str]:
    spec = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert spec["channels"] == ["conda-forge"]
    pins = {}
    for dep in spec["dependencies"]:
        entries = dep["pip"] if isinstance(dep, dict) else [dep]
        for entry in entries:
            name, _, version = re.match(r"([A-Za-z0-9_.-]+)\s*([=<>!]=?)?\s*(.*)", entry).groups()
            if normalise(name) not in TOOLCHAIN:
                pins[normalise(name)] = version.lstrip("=")
    return pins


def test_environment_yml_names_the_same_packages_at_the_same_versions():
    assert conda_pins() == requirement_pins(ROOT / "requirements.in")


@pytest.mark.parametrize("minor", SUPPORTED_MINORS)
def test_the_lock_pins_every_direct_requirement_at_its_version(minor):
    direct = requirement_pins(ROOT / "requirements.in")
    lock = lock_pins(minor)
    assert {name: lock.get(name) for name in direct} == direct


def test_the_lock_markers_are_read_back_as_written():
    every = SUPPORTED_MINORS
    for mask in range(1, 2 ** len(every)):
        versions = {v for i, v in enumerate(every) if mask >> i & 1}
        marker = lock_tool.marker_for(versions, every)
        assert {v for v in every if lock_tool.marker_holds(marker, v)} == versions, marker


def test_the_newest_pins_hold_for_newer_pythons_too():
    # A Python newer than the tested range takes the newest pins, not none.
    newest = lock_pins(SUPPORTED_MINORS[-1])
    assert lock_pins(SUPPORTED_MINORS[-1] + 1) == newest


def test_environment_yml_python_range_matches_setup():
    spec = yaml.safe_load((ROOT / "environment.yml").read_text())
    setup_env = load_tool("setup_env")
    (low_major, low), (high_major, high) = setup_env.SUPPORTED
    assert f"python>={low_major}.{low},<{high_major}.{high + 1}" in spec["dependencies"]
    assert SUPPORTED_MINORS == list(range(low, high + 1))


def test_setup_accepts_the_supported_range_and_warns_past_it(capsys):
    setup_env = load_tool("setup_env")
    (_, low), (_, high) = setup_env.SUPPORTED
    for minor in (low, high):
        setup_env.check_supported((3, minor, 0), "python3")
    assert "warning" not in capsys.readouterr().out
    setup_env.check_supported((3, high + 1, 0), "python3")
    assert (f"Python 3.{high + 1} is newer than the tested range (3.{low}-3.{high})"
            in capsys.readouterr().out)
    with pytest.raises(setup_env.SetupError, match=f"need Python 3.{low} or newer"):
        setup_env.check_supported((3, low - 1, 9), "python3")


# -- setup is idempotent -----------------------------------------------------------

def test_a_second_setup_installs_nothing():
    if os.environ.get("CONDA_PREFIX") and Path(sys.prefix) == Path(os.environ["CONDA_PREFIX"]):
        where = ["--conda"]
    else:
        where = ["--venv", sys.prefix]
    out = subprocess.run([sys.executable, str(ROOT / "tools" / "setup_env.py"), *where],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("setup: ready:"), out.stdout


def test_setup_names_an_interpreter_it_cannot_run():
    setup_env = load_tool("setup_env")
    with pytest.raises(setup_env.SetupError, match="cannot run the interpreter 'python9.99'"):
        setup_env.find_python("python9.99")


# -- one version range everywhere -------------------------------------------------

# "3.11–3.15", "3.11 to 3.15", "de la 3.11 a la 3.15", "3.11-3.15" ...
STATED_RANGE = re.compile(r"\b3\.(\d+)\s*(?:–|—|-|to|through|a la|a)\s*(?:la\s*)?(?:Python\s*)?3\.(\d+)\b")


# What the range test reads: the repository's own text, not what setup or builds made.
TEXT_SUFFIXES = (".md", ".py", ".yml", ".toml")
NOT_OURS = {"node_modules", "site", "build", "bench-results", "__pycache__"}


def our_text_files() -> list[Path]:
    files = []
    for directory, subdirs, names in os.walk(ROOT):
        subdirs[:] = [d for d in subdirs if not d.startswith(".") and d not in NOT_OURS]
        files += [Path(directory, n) for n in names if n.endswith(TEXT_SUFFIXES) or n == "Makefile"]
    return sorted(files)


def stated_ranges() -> list[tuple[str, int, str]]:
    """Every supported-version range the docs, talks and diagrams state."""
    found = []
    for path in our_text_files():
        if path == Path(__file__).resolve():
            continue  # the check's own examples of ranges, right and wrong
        name = path.relative_to(ROOT)
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for match in STATED_RANGE.finditer(line):
                if int(match[1]) == SUPPORTED_MINORS[0]:  # ranges from the oldest supported
                    found.append((f"{name}:{number}", int(match[2]), line.strip()))
    return found


@pytest.mark.parametrize("text, high", [
    ("Python 3.11–3.13", 13), ("3.11 - 3.14", 14), ("de la 3.11 a la 3.12", 12),
    ("3.11 through Python 3.13", 13), ("3.11—3.14", 14), ("3.11 to 3.15", 15)])
def test_the_range_check_reads_every_way_a_range_is_written(text, high):
    assert [int(m[2]) for m in STATED_RANGE.finditer(text)] == [high]


def test_every_stated_version_range_ends_at_the_newest_supported_python():
    ranges = stated_ranges()
    assert len(ranges) >= 8, ranges  # the talks' titles and notes, the READMEs, the diagram
    wrong = [(where, line) for where, high, line in ranges if high != SUPPORTED_MINORS[-1]]
    assert wrong == []


@pytest.mark.parametrize("package", ["rose", "evergreen", "tulip_echo"])
def test_each_package_declares_the_supported_pythons(package):
    text = (ROOT / "demos" / package / "pyproject.toml").read_text()
    assert f'requires-python = ">=3.{SUPPORTED_MINORS[0]}"' in text
    declared = [int(m) for m in re.findall(r'"Programming Language :: Python :: 3\.(\d+)"', text)]
    assert declared == SUPPORTED_MINORS
