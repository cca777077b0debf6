"""evergreen.lib.time: the ``time`` module with a cooperative ``sleep``.

``sleep(seconds)`` parks the calling task (as ``evergreen.sleep``). In a
thread without an evergreen loop, and in the loop itself (a callback or a
coroutine, where nothing may park), it is the standard blocking sleep --
what the call did before the module was patched.
"""

from __future__ import annotations

import time as _std
from time import *  # noqa: F401,F403 -- the rest of the module, unchanged

from greenlet import getcurrent

from ..hub import find_loop
from . import adopt

__all__ = [name for name in dir(_std) if not name.startswith('_')]


adopt(_std, globals())

_original_sleep = _std.sleep


def sleep(secs: float) -> None:
    """Suspend the calling task for *secs* seconds (the thread, outside evergreen)."""
    loop = find_loop()
    if loop is None or getcurrent() is loop.hub:
        _original_sleep(secs)
        return
    from ..tasks import sleep as task_sleep
    task_sleep(secs)
