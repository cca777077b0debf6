"""The asyncio internals rose relies on, and how they differ from 3.11 to 3.15.

rose reuses most of ``asyncio.base_events.BaseEventLoop`` and asyncio's
transport bases, so it depends on names asyncio does not promise to keep.
They are all named here, so that a new Python breaks rose in this one file:

* the module-level private names rose uses are imported below (an import
  error here is the first sign of a change) and re-exported for rose's
  modules, which take them from here rather than from asyncio;
* ``PRIVATE_ATTRIBUTES`` lists the private methods and attributes of asyncio's
  classes that rose calls or reads (``tests/test_compat.py`` checks each one
  on the running Python);
* the differences between the supported versions are settled once, below,
  as constants and small helpers.

This module imports only asyncio and the standard library: every rose
module may import it.
"""

from __future__ import annotations

import inspect
import sys
from asyncio import base_events, coroutines, events, selector_events, unix_events
from asyncio.base_events import (
    _MIN_CANCELLED_TIMER_HANDLES_FRACTION,
    _MIN_SCHEDULED_TIMER_HANDLES,
    _check_ssl_socket,
    _format_handle,
    _HAS_IPv6,
    _set_nodelay,
)
from asyncio.constants import LOG_THRESHOLD_FOR_CONNLOST_WRITES, _SendfileMode
from asyncio.events import _get_running_loop, _set_running_loop
from asyncio.futures import _set_result_unless_cancelled
from asyncio.transports import _FlowControlMixin

__all__ = [
    'CLEANUP_UNIX_SOCKET_DEFAULT', 'DATAGRAM_HEADER_SIZE', 'LOG_THRESHOLD_FOR_CONNLOST_WRITES',
    'POLICIES_DEPRECATED', 'POLICY_BASE', 'PRIVATE_ATTRIBUTES', 'SENDFILE_ALWAYS_SETS_POSITION',
    'SENDS_EMPTY_DATAGRAMS', 'WRITE_TYPE_ERROR', '_FlowControlMixin', '_HAS_IPv6',
    '_MIN_CANCELLED_TIMER_HANDLES_FRACTION', '_MIN_SCHEDULED_TIMER_HANDLES', '_SendfileMode',
    '_check_ssl_socket', '_format_handle', '_get_running_loop', '_set_nodelay',
    '_set_result_unless_cancelled', '_set_running_loop', 'attach_to_server',
    'detach_from_server', 'iscoroutinefunction',
]

# The private methods and attributes of asyncio's classes that rose uses,
# by owner. Instance attributes (set in __init__) are checked on an instance.
PRIVATE_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    'asyncio.base_events.BaseEventLoop': (
        # methods rose calls on its own loop
        '_add_callback', '_add_callback_signalsafe', '_asyncgen_finalizer_hook',
        '_asyncgen_firstiter_hook', '_check_closed', '_check_running',
        '_create_connection_transport', '_ensure_resolved', '_set_coroutine_origin_tracking',
        # overridden (same signature): every call_soon passes here (EventLoop._wake_uv)
        '_call_soon',
        # state rose's _run_once and run_forever share with asyncio's code
        '_ready', '_scheduled', '_stopping', '_debug', '_closed', '_clock_resolution',
        '_default_executor', '_thread_id', '_current_handle', '_timer_cancelled_count',
    ),
    'asyncio.events.Handle': ('_cancelled', '_run', '_source_traceback'),
    'asyncio.events.TimerHandle': ('_when', '_scheduled'),
    'asyncio.base_events.Server': ('_attach', '_detach'),
    'asyncio.transports._FlowControlMixin': (
        '_extra', '_maybe_pause_protocol', '_maybe_resume_protocol',
    ),
    'asyncio.base_subprocess.BaseSubprocessTransport': (
        '_pipes', '_process_exited', '_returncode',
    ),
}

# Server._attach()/_detach() take the transport from Python 3.13 on.
_SERVER_TRACKS_TRANSPORTS = 'transport' in inspect.signature(base_events.Server._attach).parameters


def attach_to_server(server, transport) -> None:
    """Count *transport* among *server*'s connections (Server._attach, any version)."""
    if _SERVER_TRACKS_TRANSPORTS:
        server._attach(transport)
    else:
        server._attach()


def detach_from_server(server, transport) -> None:
    """Undo attach_to_server()."""
    if _SERVER_TRACKS_TRANSPORTS:
        server._detach(transport)
    else:
        server._detach()


# asyncio's public iscoroutinefunction() warns from Python 3.14 on (removal
# planned for 3.16); asyncio itself then uses a private one of the same meaning.
iscoroutinefunction = (getattr(coroutines, '_iscoroutinefunction', None)
                       or coroutines.iscoroutinefunction)

# create_unix_server() removes its socket file on close from Python 3.13 on.
CLEANUP_UNIX_SOCKET_DEFAULT = sys.version_info >= (3, 13)

# Python 3.13 sends empty datagrams and counts 8 header bytes per queued one.
SENDS_EMPTY_DATAGRAMS = sys.version_info >= (3, 13)
DATAGRAM_HEADER_SIZE = 8 if sys.version_info >= (3, 13) else 0

# asyncio's event loop policies: public up to Python 3.13; deprecated from 3.14
# (removal planned for 3.16), when the base class went private and
# _get_event_loop_policy() appeared as asyncio's own warning-free accessor.
POLICIES_DEPRECATED = hasattr(events, '_get_event_loop_policy')
POLICY_BASE = (getattr(events, 'BaseDefaultEventLoopPolicy', None)
               or getattr(events, '_BaseDefaultEventLoopPolicy', None))


def _sendfile_always_sets_position() -> bool:
    """Whether asyncio's native sendfile leaves the file at offset + sent even if nothing was sent.

    From Python 3.14 on it does (its position helper lost its total_sent
    argument then); before, a sendfile that sent nothing left the position alone.
    """
    update = getattr(unix_events._UnixSelectorEventLoop, '_sock_sendfile_update_filepos', None)
    if update is None:
        return True
    return 'total_sent' not in inspect.signature(update).parameters


SENDFILE_ALWAYS_SETS_POSITION = _sendfile_always_sets_position()


def _asyncio_write_type_error() -> str:
    """write()'s words for data of another type, as this Python's asyncio has them.

    They changed in a 3.14 bugfix release (which names the accepted types), so
    asyncio's own socket transport is asked, once: its write() checks the type
    before it looks at the transport.
    """
    try:
        selector_events._SelectorSocketTransport.write(None, 0)
    except TypeError as exc:
        words = str(exc)
        if words.endswith("'int'"):
            return words[:-len("'int'")] + '{!r}'
    except Exception:
        pass
    return 'data argument must be a bytes-like object, not {!r}'


# A format string with one field: the type's name.
WRITE_TYPE_ERROR = _asyncio_write_type_error()
