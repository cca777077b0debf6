"""evergreen.patcher: run unmodified blocking code cooperatively.

Two ways, as in eventlet and gevent:

``patch()``
    Replace, *in place*, the blocking parts of the standard ``socket``,
    ``select`` (and ``selectors``), ``ssl``, ``time`` and ``subprocess``
    modules with evergreen's (:mod:`evergreen.lib`). Every module that looks
    them up later -- ``urllib.request``, ``http.client``, ``socketserver``,
    ``smtplib``, your own code -- then blocks only the calling task.
    ``unpatch()`` puts the originals back.

``import_patched(name)``
    Import a private copy of module *name* that sees evergreen's modules,
    leaving every other module (and ``sys.modules``) untouched. The standard
    networking modules it imports (``http.client`` for ``urllib.request``...)
    are private copies too.

Pitfalls
--------
* Patch early: ``patch()`` changes module attributes, so code that copied one
  before (``from socket import socket``, ``from time import sleep``, a class
  that subclassed ``socket.socket``, ``selectors.EpollSelector`` chosen as
  ``DefaultSelector``) keeps the blocking original. Call ``patch()`` first
  thing in the program, before importing the libraries you want cooperative.
* What is not patched: ``threading`` and ``queue`` (use evergreen's locks and
  queues between tasks; real threads stay real -- so a stdlib call that waits
  on a ``threading.Event``, like ``socketserver``'s ``shutdown()``, blocks the
  loop: call it from a real thread), ``os`` (file reads and
  writes block; use ``evergreen.to_thread`` for slow files), ``select.epoll``
  and ``kqueue`` (removed from the patched module: ``selectors`` falls back to
  ``PollSelector``, which is patched), and C extensions doing their own I/O
  (database drivers...), which block the loop: run them with ``to_thread``.
* A blocking call made in the loop itself (an asyncio coroutine or a
  callback) cannot park: evergreen's modules raise ``BlockingInLoopError``
  there (``time.sleep`` keeps blocking, as it always did).
* Patched modules keep working in plain threads (thread pools): there they
  block the thread, as the originals do.
* ``import_patched`` copies are separate modules: their classes and
  exceptions are not the global ones (``http.client.HTTPException`` of the
  copy is another class).
"""

from __future__ import annotations

import importlib
import sys
import threading
from types import ModuleType
from typing import Any

__all__ = ['patch', 'unpatch', 'is_patched', 'import_patched', 'GREEN_MODULES', 'GREEN_DEPENDENTS']

# The standard modules evergreen has cooperative versions of.
GREEN_MODULES = ('socket', 'select', 'ssl', 'time', 'subprocess')

# Standard modules that keep references to those: import_patched() gives its
# module private copies of these, so that they see evergreen's modules too.
GREEN_DEPENDENTS = ('selectors', 'http.client', 'urllib.request', 'socketserver', 'http.server',
                    'ftplib', 'smtplib', 'poplib', 'imaplib', 'xmlrpc.client', 'xmlrpc.server',
                    'wsgiref.simple_server')

# What patch() replaces in each standard module.
_ATTRIBUTES = {
    'socket': ('socket', 'socketpair', 'fromfd', 'create_connection', 'create_server',
               'getaddrinfo', 'gethostbyname', 'gethostbyname_ex', 'gethostbyaddr',
               'getnameinfo', 'getfqdn'),
    'select': ('select', 'poll'),
    'time': ('sleep',),
    'subprocess': ('Popen', 'run', 'call', 'check_call', 'check_output', 'getoutput',
                   'getstatusoutput'),
    'ssl': (),
}
_MISSING = object()
_lock = threading.RLock()
# (object, attribute) -> original value (or _MISSING), for unpatch().
_saved: dict[tuple[Any, str], Any] = {}
_patched: set[str] = set()


def _green(name: str) -> ModuleType:
    return importlib.import_module(f'evergreen.lib.{name}')


def _replace(target: Any, attribute: str, value: Any) -> None:
    key = (target, attribute)
    if key not in _saved:
        _saved[key] = getattr(target, attribute, _MISSING)
    setattr(target, attribute, value)


def _remove(target: Any, attribute: str) -> None:
    if hasattr(target, attribute):
        key = (target, attribute)
        if key not in _saved:
            _saved[key] = getattr(target, attribute)
        delattr(target, attribute)


def _patch_module(name: str) -> None:
    green = _green(name)
    std = importlib.import_module(name)
    for attribute in _ATTRIBUTES[name]:
        _replace(std, attribute, getattr(green, attribute))
    if name == 'select':
        for attribute in ('epoll', 'devpoll', 'kqueue', 'kevent'):
            _remove(std, attribute)
        import selectors
        _replace(selectors.PollSelector, '_selector_cls', green.poll)
        _replace(selectors.SelectSelector, '_select', staticmethod(green.select))
        _replace(selectors, 'DefaultSelector', selectors.PollSelector)
    elif name == 'ssl':
        # Every context, even one made before patching, now makes cooperative sockets.
        _replace(std.SSLContext, 'sslsocket_class', green.SSLSocket)


def patch(*, socket: bool = True, select: bool = True, ssl: bool = True, time: bool = True,
          subprocess: bool = True) -> list[str]:
    """Patch the standard modules chosen (all by default); return those patched now.

    Idempotent. See the module's documentation for what changes and the pitfalls.
    """
    wanted = {'socket': socket, 'select': select, 'ssl': ssl, 'time': time,
              'subprocess': subprocess}
    done = []
    with _lock:
        for name in GREEN_MODULES:
            if wanted[name] and name not in _patched:
                _patch_module(name)
                _patched.add(name)
                done.append(name)
    return done


def unpatch() -> None:
    """Put back everything patch() replaced."""
    with _lock:
        for (target, attribute), original in reversed(list(_saved.items())):
            if original is _MISSING:
                if hasattr(target, attribute):
                    delattr(target, attribute)
            else:
                setattr(target, attribute, original)
        _saved.clear()
        _patched.clear()


def is_patched(name: str) -> bool:
    """True if patch() has replaced the standard module *name*."""
    if name not in GREEN_MODULES:
        raise ValueError(f'evergreen has no cooperative {name!r} module; it has: {", ".join(GREEN_MODULES)}')
    return name in _patched


def _with_parents(names: Any) -> set[str]:
    result = set()
    for dotted in names:
        parts = dotted.split('.')
        for end in range(1, len(parts) + 1):
            result.add('.'.join(parts[:end]))
    return result


def import_patched(name: str) -> ModuleType:
    """Import a private copy of module *name* that uses evergreen's cooperative modules.

    ``sys.modules`` and the modules already imported are left as they were:
    only the returned module -- with private copies of its parent packages
    and of the standard networking modules it imports (GREEN_DEPENDENTS) --
    sees evergreen's ``socket``, ``select``, ``ssl``, ``time`` and ``subprocess``.
    """
    green = {module: _green(module) for module in GREEN_MODULES}
    private = _with_parents({name, *GREEN_DEPENDENTS})
    with _lock:
        before = dict(sys.modules)
        try:
            for dotted in private:
                sys.modules.pop(dotted, None)
            sys.modules.update(green)
            module = importlib.import_module(name)
            fresh = {dotted: sys.modules[dotted] for dotted in private if dotted in sys.modules}
        finally:
            for dotted in set(green) | private:
                if dotted in before:
                    sys.modules[dotted] = before[dotted]
                else:
                    sys.modules.pop(dotted, None)
        # A fresh package lacks the attributes of the submodules it found
        # already imported (urllib.parse for the fresh urllib): give them.
        for dotted, submodule in sys.modules.items():
            if '.' in dotted:
                parent, child = dotted.rsplit('.', 1)
                package = fresh.get(parent)
                if package is not None and not hasattr(package, child):
                    setattr(package, child, submodule)
    return module
