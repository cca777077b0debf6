"""evergreen's modules import downwards only, and no private name crosses a module.

The order below is the package's layering, bottom first (the README's Design
section walks it): a module may import only modules listed before it, at the
top of the file or inside a function. What several modules need of another
is a documented, public name there (``evergreen.hub``'s internal API); a
module does not import another's ``_private`` names, nor reach into a loop's
or a waiter's private attributes, which belong to ``evergreen.hub``.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / 'evergreen'

LAYERS = [
    'hub',            # the waiting primitive, the hub, per-thread state
    'fds',            # tasks wait for descriptors beside add_reader/add_writer
    'aio',            # a greenlet waits for an asyncio awaitable
    'tasks',          # Task, spawn, sleep, joinall
    'futures',        # Future, executors, wait, as_completed
    'loop',           # HubMixin (spawn, kill on close), EventLoop on rose
    'bridge',         # wait_for, to_thread
    'timeout', 'locks', 'queue', 'channel', 'local',
    'diagnostics',    # Watchdog, format_tasks
    'runner',         # evergreen.run()
    'io.stream', 'io.server', 'io.tcp', 'io.pipe', 'io.udp', 'io.tty', 'io',
    'lib', 'lib._wait', 'lib.time', 'lib.socket', 'lib.ssl', 'lib.select', 'lib.subprocess',
    'patcher',
    '',               # the package itself: what `import evergreen` gives
]

# What evergreen.hub keeps private on the objects it defines (loops, waiters).
HUB_PRIVATE = {'_hub', '_runner', '_runner_waiter', '_runner_woken', '_runner_exc', '_tasks',
               '_live_non_daemon', '_stop_when_idle', '_task_counter', '_mode', '_deliver',
               '_run_until_woken', '_run_from_outside', '_run_hub'}


def _module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix('').parts)
    if parts[-1] == '__init__':
        parts.pop()
    return '.'.join(parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob('*.py'))}


def _imports(name: str, tree: ast.AST) -> list[tuple[str, list[str], int]]:
    """(imported evergreen module, names taken from it, line) for every import in *tree*."""
    parts = name.split('.') if name else []
    package = parts if MODULES[name].name == '__init__.py' else parts[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1] if node.level > 1 else package
                target = '.'.join(base + ([node.module] if node.module else []))
            elif node.module and (node.module == 'evergreen' or node.module.startswith('evergreen.')):
                target = node.module[len('evergreen.'):] if node.module != 'evergreen' else ''
            else:
                continue
            names = [alias.name for alias in node.names]
            # "from . import x" names a submodule when x is one.
            for alias in names:
                sub = f'{target}.{alias}' if target else alias
                if sub in MODULES:
                    found.append((sub, [], node.lineno))
            found.append((target, [n for n in names if f'{target}.{n}'.lstrip('.') not in MODULES],
                          node.lineno))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == 'evergreen' or alias.name.startswith('evergreen.'):
                    found.append((alias.name[len('evergreen.'):], [], node.lineno))
    return found


def test_every_module_has_a_place_in_the_layers():
    assert sorted(MODULES) == sorted(LAYERS)


@pytest.mark.parametrize('name', LAYERS)
def test_imports_go_downwards_only(name):
    tree = ast.parse(MODULES[name].read_text())
    rank = LAYERS.index(name)
    upward = [f'line {line}: imports {target or "evergreen"}'
              for target, _, line in _imports(name, tree)
              if target != name and LAYERS.index(target) >= rank]
    assert not upward, f'evergreen.{name} imports upwards: ' + '; '.join(upward)


@pytest.mark.parametrize('name', LAYERS)
def test_no_private_name_crosses_a_module(name):
    tree = ast.parse(MODULES[name].read_text())
    private = [f'line {line}: {n} from {target or "evergreen"}'
               for target, names, line in _imports(name, tree) if target != name
               for n in names if n.startswith('_') and not n.startswith('__')]
    assert not private, f'evergreen.{name} imports private names: ' + '; '.join(private)
    if name == 'hub':
        return
    reaching = [f'line {node.lineno}: .{node.attr}' for node in ast.walk(tree)
                if isinstance(node, ast.Attribute) and node.attr in HUB_PRIVATE
                and not (isinstance(node.value, ast.Name) and node.value.id == 'self')]
    assert not reaching, f'evergreen.{name} reaches into the hub\'s private state: ' + '; '.join(reaching)


def test_the_checks_see_a_violation():
    """The parser finds an upward import and a private name (the checks can fail)."""
    tree = ast.parse('from .runner import run\nfrom ..hub import _Hub\n')
    found = _imports('io.stream', tree)
    assert ('io.runner', ['run'], 1) in found
    assert ('hub', ['_Hub'], 2) in found
