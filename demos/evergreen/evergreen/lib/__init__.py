"""evergreen.lib: cooperative versions of standard modules.

``evergreen.lib.socket``, ``select``, ``ssl``, ``time`` and ``subprocess`` have
the standard modules' names and behaviour, but a call that would block parks
only the calling task. Import them explicitly (``from evergreen.lib import
socket``), or let :mod:`evergreen.patcher` put them in place of the standard
ones so that unmodified code (``urllib.request``, ``http.client``,
``socketserver``...) runs cooperatively.

In a thread that runs no evergreen loop they behave exactly as the standard
modules (they block that thread), so patched modules stay usable by thread
pools.
"""

from types import ModuleType
from typing import Any

__all__ = ['socket', 'select', 'ssl', 'time', 'subprocess']


def adopt(standard: ModuleType, namespace: dict[str, Any], leave_out: tuple = ()) -> None:
    """Give a cooperative module everything of the standard one, private names included.

    ``import_patched`` puts the cooperative module where the standard one was,
    and standard modules use each other's private names (``http.client`` calls
    ``ssl._create_default_https_context``); the cooperative definitions that
    follow replace what they must.
    """
    for name, value in vars(standard).items():
        if not (name.startswith('__') and name.endswith('__')) and name not in leave_out:
            namespace.setdefault(name, value)
