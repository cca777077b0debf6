"""The event loops an asyncio-style echo runs on, chosen by a loop factory.

A loop is picked by name and handed to :class:`asyncio.Runner` as its
``loop_factory``; no global event loop policy is ever installed (policies are
deprecated in Python 3.14). The names are those of the command line:

``asyncio``
    asyncio's own :class:`asyncio.SelectorEventLoop` (epoll on Linux).
``rose``
    rose's loop on pyuv (``rose.new_event_loop``), from ``demos/rose``.
``uvloop``
    uvloop's loop on libuv (``uvloop.new_event_loop``), a benchmark peer.

A loop whose package is missing, does not offer its entry point yet, or (for
rose, written beside this package) cannot serve TCP yet is *unavailable*:
:func:`loop_factory` raises :class:`LoopUnavailable` with the reason, and
:func:`unavailable_reason` returns it so that tests can skip and benchmarks can
say why a row is empty instead of inventing one.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
from collections.abc import Awaitable, Callable
from typing import TypeVar

__all__ = [
    "LOOPS",
    "LoopUnavailable",
    "available_loops",
    "evergreen_unavailable_reason",
    "loop_factory",
    "run",
    "unavailable_reason",
]

T = TypeVar("T")
LoopFactory = Callable[[], asyncio.AbstractEventLoop]

#: Every loop name the command line accepts, in the order reports list them.
LOOPS: tuple[str, ...] = ("asyncio", "rose", "uvloop")


class LoopUnavailable(RuntimeError):
    """A known loop that cannot be used here (its package is missing or incomplete)."""


def _entry_point(module: str, attribute: str) -> LoopFactory:
    try:
        package = importlib.import_module(module)
    except ImportError as exc:
        raise LoopUnavailable(f"{module} is not installed ({exc})") from None
    factory = getattr(package, attribute, None)
    if not callable(factory):
        raise LoopUnavailable(
            f"{module} has no {attribute}() yet (it has not landed in this checkout)")
    return factory


@functools.cache
def _tcp_missing(module: str, factory: LoopFactory) -> str | None:
    """Why a loop still under construction cannot serve TCP, or None if it can.

    Tries once to listen on a free loopback port. Only NotImplementedError
    and AttributeError (the marks of a method that has not been written yet)
    make the loop unavailable; any other failure is left for the tests and
    the benchmark to report as the bug it is.
    """
    async def listen() -> None:
        server = await asyncio.get_running_loop().create_server(asyncio.Protocol, "127.0.0.1", 0)
        server.close()
        await server.wait_closed()

    try:
        with asyncio.Runner(loop_factory=factory) as runner:
            runner.run(listen())
    except (NotImplementedError, AttributeError) as exc:
        return (f"{module} cannot serve TCP yet (create_server raised "
                f"{type(exc).__name__}: {exc})")
    except Exception:
        return None
    return None


def loop_factory(name: str) -> LoopFactory:
    """Return a callable that makes a new, unset event loop of the named kind.

    Raises ValueError for a name that is not in :data:`LOOPS`, and
    LoopUnavailable for a known loop that cannot be made here.
    """
    if name == "asyncio":
        return asyncio.SelectorEventLoop
    if name == "rose":
        factory = _entry_point("rose", "new_event_loop")
        missing = _tcp_missing("rose", factory)
        if missing:
            raise LoopUnavailable(missing)
        return factory
    if name == "uvloop":
        return _entry_point("uvloop", "new_event_loop")
    raise ValueError(f"unknown loop {name!r}: choose one of {', '.join(LOOPS)}")


def unavailable_reason(name: str) -> str | None:
    """Why the named loop cannot be used here, or None when it can."""
    try:
        loop_factory(name)
    except LoopUnavailable as exc:
        return str(exc)
    return None


def evergreen_unavailable_reason() -> str | None:
    """Why the evergreen style cannot run here, or None when it can.

    The evergreen style runs on evergreen's own loop (greenlets on pyuv), not
    on an asyncio loop, so it is not one of :data:`LOOPS`.
    """
    try:
        evergreen = importlib.import_module("evergreen")
        importlib.import_module("evergreen.io")
    except ImportError as exc:
        return f"evergreen is not installed or incomplete ({exc})"
    missing = [name for name in ("run", "spawn") if not callable(getattr(evergreen, name, None))]
    if missing:
        return f"evergreen has no {', '.join(missing)}() yet (it has not landed in this checkout)"
    return None


def available_loops() -> list[str]:
    """The names in :data:`LOOPS` that can be used here."""
    return [name for name in LOOPS if unavailable_reason(name) is None]


def run(main: Awaitable[T], loop: str = "asyncio", *, debug: bool | None = None) -> T:
    """Run a coroutine to completion on a fresh loop of the named kind, like asyncio.run."""
    factory = loop_factory(loop)
    with asyncio.Runner(loop_factory=factory, debug=debug) as runner:
        return runner.run(main)
