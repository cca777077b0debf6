"""rose's dependence on asyncio's internals, checked on the running Python; and its layering.

Every asyncio private name rose relies on is listed in ``rose.compat``: this
test resolves each one here, so that a new Python's breakage shows as one
failing name instead of a failure deep inside a transport.
"""

import ast
import asyncio
import importlib
import pathlib

import pytest

from rose import compat

ROSE_DIR = pathlib.Path(compat.__file__).parent

# rose's modules from the bottom up: a module imports only from lower layers.
LAYERS = [
    {'compat', 'errors', 'descriptors'},
    {'transports'},
    {'streams', 'sockets', 'subprocesses'},
    {'pipes', 'datagram', 'connections'},
    {'loop'},
    {'runner'},
    {'testing', '__init__'},
]


def _owner(dotted: str):
    module, _, name = dotted.rpartition('.')
    return getattr(importlib.import_module(module), name)


def _has(owner: type, name: str) -> bool:
    """Whether *owner* has *name*: on the class, or set as an attribute in an ``__init__`` of its MRO."""
    if hasattr(owner, name):
        return True
    for cls in owner.__mro__:
        init = cls.__dict__.get('__init__')
        code = getattr(init, '__code__', None)
        if code is not None and name in code.co_names:
            return True
    return False


@pytest.mark.parametrize('owner_name', sorted(compat.PRIVATE_ATTRIBUTES))
def test_private_attributes_exist(owner_name):
    owner = _owner(owner_name)
    names = compat.PRIVATE_ATTRIBUTES[owner_name]
    if owner is asyncio.base_events.BaseEventLoop:
        # Some of its state is set by methods its __init__ calls (set_debug): ask an instance.
        loop = owner()
        try:
            missing = [name for name in names if not hasattr(loop, name)]
        finally:
            loop.close()
    else:
        missing = [name for name in names if not _has(owner, name)]
    assert not missing, f'{owner_name} lacks {missing} on this Python: adapt rose.compat'


def test_private_attributes_are_private():
    # Only private names belong in the list; a public one needs no watching.
    for owner_name, names in compat.PRIVATE_ATTRIBUTES.items():
        assert all(name.startswith('_') for name in names), owner_name


def test_every_exported_name_resolves():
    for name in compat.__all__:
        assert getattr(compat, name) is not None or name == 'POLICY_BASE', name


def test_version_shims_match_asyncio():
    # Each shim agrees with what asyncio on this Python does.
    with pytest.raises(TypeError) as info:
        asyncio.selector_events._SelectorSocketTransport.write(None, 3.5)
    assert str(info.value) == compat.WRITE_TYPE_ERROR.format('float')
    assert compat.iscoroutinefunction(_a_coroutine_function)
    assert not compat.iscoroutinefunction(test_version_shims_match_asyncio)


async def _a_coroutine_function():
    pass


def _rose_imports(path: pathlib.Path) -> set[str]:
    """The rose modules *path* imports (relative imports only: rose imports itself so)."""
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split('.')[0])
            else:
                found.update(alias.name for alias in node.names)
    return found


def test_modules_import_downwards_only():
    layer_of = {name: index for index, layer in enumerate(LAYERS) for name in layer}
    modules = {path.stem for path in ROSE_DIR.glob('*.py')}
    assert modules == set(layer_of), 'a module was added or removed: place it in LAYERS'
    upward = []
    for name in sorted(modules):
        for imported in _rose_imports(ROSE_DIR / f'{name}.py'):
            if layer_of[imported] >= layer_of[name]:
                upward.append(f'{name} imports {imported}')
    assert not upward, upward
