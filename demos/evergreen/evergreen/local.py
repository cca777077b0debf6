"""evergreen.local: task-local storage, as ``threading.local`` is thread-local.

Each task (and each greenlet that is not a task) sees its own attributes on
a :class:`local` object. A subclass's ``__init__`` runs again, with the
constructor's arguments, the first time a task touches the object, as with
``threading.local``. A task's attributes go away with the task (not with its
greenlet: a greenlet whose task has ended runs the next task that starts).

For values that should follow the flow of control into the tasks a task
starts, use ``contextvars`` instead: every task runs in a copy of the context
of the code that started it, so a ContextVar set before ``spawn()`` is seen
by the new task, and changes the task makes stay in the task.
"""

from __future__ import annotations

import weakref
from typing import Any

from .hub import current_owner

__all__ = ['local']


class _Storage:
    """The per-task (or per-greenlet) dictionaries of one local object."""

    __slots__ = ('dicts', 'args', 'kwargs', '__weakref__')

    def __init__(self, args: tuple, kwargs: dict) -> None:
        self.dicts: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self.args = args
        self.kwargs = kwargs


def _select(self: local) -> None:
    """Point the object's __dict__ at the current greenlet's dictionary (made on first use)."""
    storage = object.__getattribute__(self, '_local__storage')
    g = current_owner()
    d = storage.dicts.get(g)
    if d is not None:
        object.__setattr__(self, '__dict__', d)
        return
    d = {}
    storage.dicts[g] = d
    object.__setattr__(self, '__dict__', d)
    init = type(self).__init__
    if init is not object.__init__:
        init(self, *storage.args, **storage.kwargs)


class local:
    """An object whose attributes are private to each task."""

    __slots__ = ('_local__storage', '__dict__')

    def __new__(cls, *args: Any, **kwargs: Any) -> local:
        if (args or kwargs) and cls.__init__ is object.__init__:
            raise TypeError('Initialization arguments are not supported')
        self = object.__new__(cls)
        storage = _Storage(args, kwargs)
        object.__setattr__(self, '_local__storage', storage)
        # The creating greenlet's dictionary is the one __init__ fills now.
        storage.dicts[current_owner()] = object.__getattribute__(self, '__dict__')
        return self

    def __getattribute__(self, name: str) -> Any:
        _select(self)
        return object.__getattribute__(self, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == '__dict__':
            raise AttributeError(f'{type(self).__name__!r} object attribute \'__dict__\' is read-only')
        _select(self)
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        if name == '__dict__':
            raise AttributeError(f'{type(self).__name__!r} object attribute \'__dict__\' is read-only')
        _select(self)
        object.__delattr__(self, name)
