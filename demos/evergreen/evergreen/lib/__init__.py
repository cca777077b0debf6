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

__all__ = ['socket', 'select', 'ssl', 'time', 'subprocess']
