"""rose's event loop: asyncio's BaseEventLoop with libuv as its engine.

``EventLoop`` keeps everything in ``asyncio.base_events.BaseEventLoop`` that does
not depend on how the loop waits (futures, tasks, executors, DNS, happy
eyeballs, server setup, TLS, shutdown, exception handling, debug mode) and
replaces the engine:

* one iteration (``_run_once``) is one ``uv_run()`` in place of ``select()``,
  in asyncio's order: callbacks ready before the poll, then the poll's I/O
  callbacks, then due timers. libuv calls the I/O callbacks itself; when
  nothing was ready before the poll they run at once (a transport calls its
  protocol straight from libuv's read callback), otherwise -- and always in
  debug mode, where each callback is timed -- they queue behind the
  callbacks that were ready first;
* with nothing ready, ``uv_run(UV_RUN_DEFAULT)`` lets libuv poll again and
  again, without returning to Python between polls, for as long as the I/O
  callbacks make nothing ready: whatever makes work for the next iteration
  (``call_soon``, ``stop()``, an earlier ``call_at``, a wake-up from
  another thread, the deadline of the earliest timer) calls ``uv_stop()``,
  and libuv returns after the poll it is in (``_wake_uv``). With callbacks
  ready it polls once without blocking (``UV_RUN_NOWAIT``);
* ``call_later``/``call_at`` keep asyncio's heap; a single unref'd
  ``pyuv.Timer`` is armed for the earliest deadline, rounded *up* to libuv's
  millisecond, and due timers are chosen by ``time.monotonic()``, so none
  runs early;
* a watcher started or changed since libuv last polled is checked before
  the next poll (``_check_fds``), by ``_run_once`` or, inside ``uv_run()``,
  by an unref'd ``pyuv.Prepare`` started for that poll only;
* ``call_soon_threadsafe`` wakes libuv through a ``pyuv.Async``;
* ``add_reader``/``add_writer`` share one ``pyuv.Poll`` per file descriptor;
* signals go through ``signal.set_wakeup_fd`` into a socket watched by the
  loop, so Python signal handlers (and Ctrl+C) run even while libuv waits;
* exceptions that escape a pyuv callback reach the loop: ``KeyboardInterrupt``
  and ``SystemExit`` stop libuv and are re-raised by ``run_forever``, other
  exceptions go to the loop's exception handler.

Hooks a subclass may override (all keep working if a callback switches
greenlets, because no iteration state lives on the Python stack between
callbacks other than the count of callbacks to run in this step):
``_run_forever_setup()``, ``_run_forever_cleanup()``, ``_run_once()``,
``_uv_callback_failed(exc)`` and ``_close_uv_handles()``.
"""

from __future__ import annotations

import contextvars
import errno
import functools
import heapq
import os
import signal
import socket
import sys
import threading
import warnings
import weakref
from asyncio import base_events, coroutines, events
from asyncio.log import logger
from collections.abc import Callable
from typing import Any

import pyuv

from . import compat, errors
from .connections import ConnectionMethods
from .datagram import DatagramMethods
from .descriptors import file_id as _file_id
from .pipes import PipeMethods
from .sockets import SocketMethods
from .subprocesses import SubprocessMethods

__all__ = ['EventLoop']

_READABLE = pyuv.UV_READABLE
_WRITABLE = pyuv.UV_WRITABLE
_RUN_DEFAULT = pyuv.UV_RUN_DEFAULT
_RUN_NOWAIT = pyuv.UV_RUN_NOWAIT

# asyncio's own thresholds for compacting the timer heap.
_MIN_SCHEDULED_TIMER_HANDLES = compat._MIN_SCHEDULED_TIMER_HANDLES
_MIN_CANCELLED_TIMER_HANDLES_FRACTION = compat._MIN_CANCELLED_TIMER_HANDLES_FRACTION
# libuv takes timeouts in whole milliseconds; longer waits are re-armed.
_MAX_TIMER_MS = 24 * 3600 * 1000
_iscoroutinefunction = compat.iscoroutinefunction


def _fileobj_to_fd(fileobj: Any) -> int:
    """Return the file descriptor of *fileobj* (an int or an object with fileno())."""
    if isinstance(fileobj, int):
        fd = fileobj
    else:
        try:
            fd = int(fileobj.fileno())
        except (AttributeError, TypeError, ValueError):
            raise ValueError(f'Invalid file object: {fileobj!r}') from None
    if fd < 0:
        raise ValueError(f'Invalid file descriptor: {fd}')
    return fd


def _sighandler_noop(signum, frame):
    """Python-level handler for signals the loop handles: the wake-up fd does the work."""


class _UVLoop(pyuv.Loop):
    """The libuv loop of one rose loop.

    pyuv reports an exception that escapes a callback to ``excepthook``; this
    one hands it to the owning rose loop instead of printing it.
    """

    exception_sink: Callable[[BaseException], None] | None = None

    def excepthook(self, exc_type, exc, tb):
        sink = self.exception_sink
        if sink is None:
            super().excepthook(exc_type, exc, tb)
        else:
            sink(exc)


class _FdWatcher:
    """The reader and writer registered for one file descriptor.

    libuv allows a single poll watcher per descriptor, so readers and writers
    share one ``pyuv.Poll`` whose event mask follows what is registered.
    """

    __slots__ = ('loop', 'fd', 'fileobj', 'file_id', 'poll', 'reader', 'writer', 'on_events',
                 '__weakref__')

    def __init__(self, loop: EventLoop, fd: int, fileobj: Any):
        self.loop = loop
        self.fd = fd
        # What was registered, found again by identity once closed (its
        # fileno() is then -1), as asyncio's selector finds its key.
        self.fileobj = fileobj
        self.reader: events.Handle | None = None
        self.writer: events.Handle | None = None
        # pyuv calls the callback through a borrowed reference: keep it alive here.
        # The loop's rule runs the reader and writer at once or queues them.
        self.on_events = functools.partial(loop._io_event, self._run_events, self._queue_events)
        self.file_id: tuple[int, int] | None = None
        self.poll = self._new_poll()

    def _new_poll(self) -> pyuv.Poll:
        try:
            poll = pyuv.Poll(self.loop._uv, self.fd)
        except pyuv.error.PollError as exc:
            raise errors.from_pyuv_error(exc) from None
        self.file_id = _file_id(self.fd)
        return poll

    def renew(self) -> None:
        """Start over with a new poll watcher.

        If the descriptor was closed (and its number perhaps reused) since
        it was first watched, the kernel forgot it but libuv did not, and the
        old watcher would wait forever; a new one registers whatever the
        number now names, or fails as asyncio's selector does.
        """
        self.poll.close()
        self.poll = self._new_poll()

    def update(self) -> None:
        mask = 0
        if self.reader is not None:
            mask |= _READABLE
        if self.writer is not None:
            mask |= _WRITABLE
        if mask:
            try:
                self.poll.start(mask, self.on_events)
            except pyuv.error.PollError as exc:
                raise errors.from_pyuv_error(exc) from None
            # libuv tells the kernel at its next poll (see EventLoop._check_fds).
            self.loop._note_fd_change(self)
        else:
            self.close()

    def still_same_file(self) -> bool:
        """Whether the descriptor still names the file it named when watching started."""
        file_id = _file_id(self.fd)
        return file_id is not None and file_id == self.file_id

    def _check_fd(self) -> None:
        """Before libuv's poll: put the watcher to sleep if its descriptor is gone (see EventLoop._check_fds)."""
        if not self.poll.closed and not self.still_same_file():
            self.poll.stop()

    def close(self) -> None:
        loop = self.loop
        if loop._fd_watchers.get(self.fd) is self:
            del loop._fd_watchers[self.fd]
        loop._fd_changed.discard(self)
        if not self.poll.closed:
            # libuv's close tells the kernel to forget the descriptor and
            # ignores the error if it is already closed.
            self.poll.close()

    def _run_events(self, poll, events_mask, error) -> None:
        self._wake(events_mask, error, self.loop._run_handle)

    def _queue_events(self, poll, events_mask, error) -> None:
        loop = self.loop
        self._wake(events_mask, error, loop._ready.append)
        if loop._uv_blocking:  # debug mode defers while libuv may poll again
            loop._uv.stop()  # (_wake_uv, inlined)

    def _wake(self, events_mask, error, run: Callable[[events.Handle], object]) -> None:
        """Run (or queue) the reader and the writer the poll's *events_mask* is for."""
        loop = self.loop
        if error is not None:
            # An error (e.g. the descriptor was closed) wakes both sides, as
            # selectors do, so that their own I/O call reports it.
            events_mask = _READABLE | _WRITABLE
        reader = self.reader
        if events_mask & _READABLE and reader is not None:
            if reader._cancelled:
                loop._remove_reader(self.fd)
            else:
                run(reader)
        writer = self.writer
        if events_mask & _WRITABLE and writer is not None:
            if writer._cancelled:
                loop._remove_writer(self.fd)
            else:
                run(writer)


class _DeferredIO:
    """An I/O callback waiting in the ready queue: what the queue needs of a Handle.

    A busy server with coroutines defers every read (see ``_run_once``), so
    this record is made once per read; a full ``events.Handle`` would also copy
    the context and keep a repr cache. The callback brings its own context
    (see ``EventLoop._io_event``); it is never cancelled.
    """

    __slots__ = ('_loop', '_callback', '_args')
    _cancelled = False

    def __init__(self, loop: EventLoop, callback: Callable[..., object], args: tuple) -> None:
        self._loop = loop
        self._callback = callback
        self._args = args

    def __repr__(self) -> str:
        return f'<I/O callback {self._callback!r}>'

    def _run(self) -> None:
        try:
            self._callback(*self._args)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._loop.call_exception_handler({
                'message': f'Exception in callback {self!r}',
                'exception': exc,
                'handle': self,
            })


class EventLoop(SocketMethods, ConnectionMethods, DatagramMethods, PipeMethods,
                SubprocessMethods, base_events.BaseEventLoop):
    """An asyncio event loop whose I/O is done by libuv, through pyuv.

    A drop-in for asyncio's own loop: ``asyncio.Runner(loop_factory=rose.new_event_loop)``
    or ``rose.run(main())``. ``uv_loop`` exposes the ``pyuv.Loop`` underneath, so
    other libraries can put their own pyuv handles on the same loop.
    """

    def __init__(self) -> None:
        super().__init__()
        uv = _UVLoop()
        uv.exception_sink = self._uv_callback_failed
        self._uv = uv
        # Wakes libuv from other threads (call_soon_threadsafe). Referenced
        # only while run_forever() runs, so it keeps uv_run() waiting there
        # (asyncio's loop runs until stop(), with or without I/O) and never
        # keeps a libuv loop alive on its own otherwise.
        self._uv_wakeup = pyuv.Async(uv, self._on_wakeup)
        self._uv_wakeup.ref = False
        self._uv_timer = pyuv.Timer(uv)
        self._uv_timer.ref = False
        self._uv_timer_when: float | None = None
        # True while uv_run() polls with nothing ready before it: I/O
        # callbacks may then run at once (see _run_once).
        self._io_direct = False
        # True while uv_run() may block and poll again (UV_RUN_DEFAULT):
        # whatever makes work ready then must stop it (_wake_uv).
        self._uv_blocking = False
        # Checks, just before libuv polls, the watchers that changed while
        # uv_run() runs (_check_fds); started only when one did.
        self._uv_prepare = pyuv.Prepare(uv)
        self._uv_prepare.ref = False
        self._uv_prepare_on = False
        # KeyboardInterrupt/SystemExit raised in a pyuv callback, re-raised by _run_once.
        self._uv_pending_exc: BaseException | None = None
        self._fd_watchers: dict[int, _FdWatcher] = {}
        # Watchers (and transports) started or changed since libuv last polled (see _check_fds).
        self._fd_changed: set[_FdWatcher] = set()
        # Transports by file descriptor, for the "fd is used by transport" check.
        self._transports: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
        # Every transport and server listener that owns a libuv handle, so
        # that close() can release them.
        self._uv_owners: weakref.WeakSet = weakref.WeakSet()
        self._signal_handlers: dict[int, events.Handle] = {}
        # Listening sockets served by libuv listeners, and Unix socket files to remove.
        self._listeners: dict[socket.socket, Any] = {}
        self._unix_server_sockets: dict[socket.socket, int] = {}
        # The socket pair behind signal.set_wakeup_fd(), made on first use.
        self._ssock: socket.socket | None = None
        self._csock: socket.socket | None = None
        self._ssock_poll: pyuv.Poll | None = None
        self._on_self_data = self._read_self_data
        self._wakeup_fd_prev: int | None = None
        self._old_agen_hooks = None

    @property
    def uv_loop(self) -> pyuv.Loop:
        """The ``pyuv.Loop`` this loop runs on.

        Other libraries may create their own pyuv handles on it: they are
        served by ``run_forever()`` like rose's own, and closed by ``close()``,
        which also releases the libuv loop: afterwards this raises RuntimeError.
        """
        self._check_closed()
        return self._uv

    def __repr__(self) -> str:
        return (f'<{self.__class__.__name__} running={self.is_running()} '
                f'closed={self.is_closed()} debug={self.get_debug()}>')

    # ------------------------------------------------------------------
    # Running

    def run_forever(self) -> None:
        """Run until stop() is called."""
        self._run_forever_setup()
        try:
            while True:
                self._run_once()
                if self._stopping:
                    break
        finally:
            self._run_forever_cleanup()

    def _run_forever_setup(self) -> None:
        """Prepare to run: register the running loop, async-generator hooks, Ctrl+C wake-up."""
        self._check_closed()
        self._check_running()
        self._set_coroutine_origin_tracking(self._debug)
        self._old_agen_hooks = sys.get_asyncgen_hooks()
        self._thread_id = threading.get_ident()
        sys.set_asyncgen_hooks(firstiter=self._asyncgen_firstiter_hook,
                               finalizer=self._asyncgen_finalizer_hook)
        compat._set_running_loop(self)
        self._uv_wakeup.ref = True
        self._claim_wakeup_fd(required=False)

    def _run_forever_cleanup(self) -> None:
        """Undo _run_forever_setup()."""
        self._stopping = False
        self._thread_id = None
        compat._set_running_loop(None)
        self._set_coroutine_origin_tracking(False)
        if self._old_agen_hooks is not None:
            sys.set_asyncgen_hooks(*self._old_agen_hooks)
            self._old_agen_hooks = None
        if not self._uv_wakeup.closed:
            self._uv_wakeup.ref = False
        if not self._signal_handlers:
            self._release_wakeup_fd()

    def _run_once(self) -> None:
        """One iteration: asyncio's, with uv_run() where asyncio calls select().

        As in asyncio, the callbacks that run in an iteration are those ready
        before the poll, then the I/O callbacks of the poll, then the due
        timers; what these schedule runs in the next iteration. libuv calls
        rose's I/O callbacks during the poll. When nothing was ready before
        the poll (the common case for a busy server: libuv waits, then I/O
        arrives), they run right there, which is the same order without a
        trip through the ready queue; otherwise (``_io_direct`` is false) they
        queue behind the callbacks that were ready first. ``_io_event`` is
        where every I/O callback (transports', servers', fd watchers') applies
        this rule, but for the stream transports' read callback, the hottest,
        which writes it out (``rose.streams._Reading._on_uv_read``).

        With nothing ready, libuv may poll several times in one ``uv_run()``
        (``UV_RUN_DEFAULT``): a poll whose callbacks make nothing ready is a
        whole asyncio iteration (nothing before the poll, no timer due after
        it), so libuv goes on to the next poll without a trip through Python.
        The first callback that makes work ready, and the earliest timer's
        deadline, end ``uv_run()`` after the poll in progress (``_wake_uv``).
        """
        scheduled = self._scheduled
        # The test of _drop_cancelled_timers' two cases, here: it has nothing
        # to do in most iterations, and a call would cost more than the test.
        if scheduled and (scheduled[0]._cancelled or len(scheduled) > _MIN_SCHEDULED_TIMER_HANDLES):
            self._drop_cancelled_timers()
            scheduled = self._scheduled  # which it may replace
        ready = self._ready
        # In debug mode every callback goes through the ready queue, so that
        # each is timed (slow-callback warnings) as asyncio times them.
        direct = not ready and not self._debug
        if ready or self._stopping:
            mode = _RUN_NOWAIT
        elif scheduled:
            when = scheduled[0]._when
            delay = when - self.time()
            if delay > 0:
                self._arm_timer(when, delay)
                mode = _RUN_DEFAULT
            else:
                mode = _RUN_NOWAIT
        else:
            mode = _RUN_DEFAULT

        if self._fd_changed:
            self._check_fds()
        self._io_direct = direct
        self._uv_blocking = mode == _RUN_DEFAULT
        try:
            self._uv.run(mode)
        finally:
            self._io_direct = self._uv_blocking = False
        exc = self._uv_pending_exc
        if exc is not None:
            self._uv_pending_exc = None
            try:
                raise exc
            finally:
                exc = None

        if direct:
            # The I/O callbacks ran during the poll; the due timers follow.
            if scheduled:
                end_time = self.time() + self._clock_resolution
                due = []
                while scheduled and scheduled[0]._when < end_time:
                    handle = heapq.heappop(scheduled)
                    handle._scheduled = False
                    due.append(handle)
                for handle in due:
                    if not handle._cancelled:
                        self._run_handle(handle)
                handle = due = None
            return

        if scheduled:
            end_time = self.time() + self._clock_resolution
            while scheduled and scheduled[0]._when < end_time:
                handle = heapq.heappop(scheduled)
                handle._scheduled = False
                ready.append(handle)
        # Only what is ready now: callbacks scheduled by these run next time.
        ntodo = len(ready)
        if self._debug:
            for _ in range(ntodo):
                handle = ready.popleft()
                if not handle._cancelled:
                    self._run_handle_debug(handle)
        else:
            popleft = ready.popleft
            for _ in range(ntodo):
                handle = popleft()
                if not handle._cancelled:
                    handle._run()
        handle = None  # break the cycle through a traceback

    def _io_event(self, now: Callable[[Any, Any, Any], object],
                  later: Callable[[Any, Any, Any], object], a: Any, b: Any, c: Any) -> None:
        """Act on an I/O event libuv reports during its poll: at once, or queued.

        This is the one place that decides, for every I/O callback of rose
        (transports', servers', fd watchers'; the stream transports' read
        callback tests ``_io_direct`` itself, saving this call per read).
        When nothing was ready before the poll (``_io_direct``, see
        ``_run_once``), ``now(a, b, c)`` runs at
        once, in whatever context libuv's callback entered. Otherwise asyncio's
        order puts the event behind the callbacks that were ready first:
        ``later(a, b, c)`` is called instead, to queue the work (usually
        ``functools.partial(loop._defer_io, callback)``, see ``_defer_io``).

        An event is three values, as pyuv's read and poll callbacks pass them
        (``handle, data, error``); other events bind or pick three of their own.
        A fixed number of arguments keeps this call as cheap as a direct
        one: it is on the path of every read.
        """
        if self._io_direct:
            now(a, b, c)
        else:
            later(a, b, c)

    def _defer_io(self, callback: Callable[[Any, Any, Any], object], a: Any, b: Any, c: Any) -> None:
        """Queue ``callback(a, b, c)`` behind the callbacks that are ready.

        *callback* must bring its own context (a ``functools.partial`` of
        ``Context.run``) and allow for what changed meanwhile (a transport may
        have paused or closed): it runs outside libuv's callback.
        """
        if self._debug:
            # A full Handle: debug mode times it and shows where it was made.
            self._ready.append(events.Handle(callback, (a, b, c), self, None))
            if self._uv_blocking:
                self._uv.stop()  # (_wake_uv, inlined)
        else:
            # Not in debug mode, I/O is deferred only when callbacks were
            # ready before the poll: libuv polls once, without blocking.
            self._ready.append(_DeferredIO(self, callback, (a, b, c)))

    # Both drop their reference to the handle before returning: an exception
    # raised in the callback and kept (a task's) keeps this frame through its
    # traceback, and through the handle the task itself, which would then
    # wait for the garbage collector (asyncio's _run_once does the same).

    def _run_handle(self, handle: events.Handle) -> None:
        """Run one callback outside the ready queue (timers, fd watchers)."""
        if self._debug:
            self._run_handle_debug(handle)
        else:
            handle._run()
        handle = None

    def _run_handle_debug(self, handle: events.Handle) -> None:
        try:
            self._current_handle = handle
            t0 = self.time()
            handle._run()
            dt = self.time() - t0
            if dt >= self.slow_callback_duration:
                logger.warning('Executing %s took %.3f seconds',
                               compat._format_handle(handle), dt)
        finally:
            self._current_handle = None
            handle = None

    def _drop_cancelled_timers(self) -> None:
        scheduled = self._scheduled
        count = len(scheduled)
        if (count > _MIN_SCHEDULED_TIMER_HANDLES and
                self._timer_cancelled_count / count > _MIN_CANCELLED_TIMER_HANDLES_FRACTION):
            live = []
            for handle in scheduled:
                if handle._cancelled:
                    handle._scheduled = False
                else:
                    live.append(handle)
            heapq.heapify(live)
            self._scheduled = live
            self._timer_cancelled_count = 0
        else:
            while scheduled and scheduled[0]._cancelled:
                self._timer_cancelled_count -= 1
                handle = heapq.heappop(scheduled)
                handle._scheduled = False

    def _arm_timer(self, when: float, delay: float) -> None:
        """Make libuv wake up no earlier than *when* (``delay`` seconds from now)."""
        timer = self._uv_timer
        if self._uv_timer_when == when and timer.active:
            return
        # Whole milliseconds, rounded up; libuv's cached "now" may be stale
        # after a long step, so refresh it first. pyuv truncates seconds*1000,
        # hence the half millisecond.
        # Compared before int(): an infinite deadline (asyncio.sleep(math.inf))
        # has no integer value; longer waits are re-armed when this one ends.
        if delay * 1000.0 >= _MAX_TIMER_MS:
            ms = _MAX_TIMER_MS
        else:
            ms = int(delay * 1000.0)
            if ms < delay * 1000.0:
                ms += 1
        self._uv.update_time()
        timer.start(self._on_timer, (ms + 0.5) / 1000.0, 0.0)
        self._uv_timer_when = when

    def _on_timer(self, timer) -> None:
        # _run_once picks the due timers once uv_run() returns; the timer may
        # fire before libuv polls, and then libuv polls without blocking.
        self._uv_timer_when = None
        self._uv.stop()

    # ------------------------------------------------------------------
    # Ending uv_run() when work is ready

    def _wake_uv(self) -> None:
        """Work is ready for the next iteration: end uv_run() after the poll in progress.

        Whatever appends to ``_ready`` or sets ``_stopping`` while libuv runs
        calls this (or tests ``_uv_blocking`` and calls ``uv_stop()`` itself,
        on a hot path): otherwise libuv would poll again, and perhaps block,
        with callbacks waiting. evergreen's hub does the same when it queues
        its wake-ups. Outside uv_run() it does nothing: a stop requested then
        would end the next uv_run() before it polls.
        """
        if self._uv_blocking:
            self._uv.stop()

    def _call_soon(self, callback, args, context):
        # asyncio's, and the wake-up: call_soon() and every future's
        # callbacks come here.
        handle = events.Handle(callback, args, self, context)
        if handle._source_traceback:
            del handle._source_traceback[-1]
        self._ready.append(handle)
        if self._uv_blocking:
            self._uv.stop()  # (_wake_uv, inlined)
        return handle

    def call_at(self, when, callback, *args, context=None):
        """Like asyncio's ``call_at()``; a deadline earlier than libuv's timer re-arms it."""
        timer = super().call_at(when, callback, *args, context=context)
        if timer._source_traceback:
            del timer._source_traceback[-1]  # this frame: the traceback ends at the caller
        if self._uv_blocking:
            armed = self._uv_timer_when
            if armed is None or when < armed:
                delay = when - self.time()
                if delay > 0:
                    self._arm_timer(when, delay)
                else:
                    self._uv.stop()
        return timer

    def stop(self) -> None:
        """Stop running: ``run_forever()`` returns after the current iteration."""
        super().stop()
        self._wake_uv()

    # ------------------------------------------------------------------
    # Descriptors closed under libuv

    def _note_fd_change(self, item: Any) -> None:
        """Have _check_fds() look at *item* (a watcher or transport) before libuv's next poll."""
        self._fd_changed.add(item)
        prepare = self._uv_prepare
        if not self._uv_prepare_on and prepare is not None:
            # Inside uv_run(), libuv may poll again before _run_once runs:
            # the prepare callback checks just before it.
            prepare.start(self._before_poll)
            self._uv_prepare_on = True

    def _before_poll(self, prepare) -> None:
        # Watchers changed inside this uv_run(): check them before the poll.
        self._check_fds()

    def _check_fds(self) -> None:
        """Put to sleep the watchers whose descriptor was closed since they changed.

        libuv hands a started or changed watcher to epoll only at its next
        poll, and aborts the process if epoll refuses it (the descriptor was
        closed meanwhile: EBADF; or closed and its number reused: ENOENT).
        asyncio's selector registers at once, and the kernel forgets a
        closed descriptor, so its reader or writer simply never runs: such a
        watcher is stopped here, keeping its callbacks registered (removing
        them still returns True; adding again watches the new file).
        Transports on a user's socket are in the same set when their libuv
        handle changed what it watches; one whose descriptor is gone lets go
        of its handle (see ``rose.descriptors`` and ``StreamTransport``).
        Runs before each poll that follows a change: from ``_run_once``, or
        from the prepare handle ``_note_fd_change`` started.
        """
        if self._uv_prepare_on:
            self._uv_prepare.stop()
            self._uv_prepare_on = False
        changed = self._fd_changed
        self._fd_changed = set()
        for item in changed:
            item._check_fd()

    def _on_wakeup(self, async_handle) -> None:
        # Another thread made work ready (call_soon_threadsafe) or a signal
        # arrived: end uv_run(); _run_once runs the ready queue.
        self._wake_uv()

    def _write_to_self(self) -> None:
        wakeup = self._uv_wakeup
        if wakeup is None:
            return
        try:
            wakeup.send()
        except pyuv.error.HandleClosedError:
            pass

    def _uv_callback_failed(self, exc: BaseException) -> None:
        """Called with an exception that escaped a pyuv callback.

        KeyboardInterrupt and SystemExit stop libuv and are re-raised by
        run_forever(), as asyncio re-raises them from a callback; anything
        else goes to the exception handler.
        """
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            if self._uv_pending_exc is None:
                self._uv_pending_exc = exc
            self._uv.stop()
            return
        self.call_exception_handler({
            'message': 'Unhandled exception in a libuv callback',
            'exception': exc,
        })

    # ------------------------------------------------------------------
    # Closing

    def close(self) -> None:
        """Close the loop: drop pending callbacks, release libuv handles, stop the executor.

        The loop must not be running. Handles still open on the libuv loop
        (transports the program did not close, other libraries' handles) are
        closed, so their file descriptors are released; their protocols are
        not called, as with asyncio's loop.
        """
        if self.is_running():
            raise RuntimeError('Cannot close a running event loop')
        if self._closed:
            return
        super().close()
        if not sys.is_finalizing():
            for sig in list(self._signal_handlers):
                self.remove_signal_handler(sig)
        elif self._signal_handlers:
            warnings.warn(f'Closing the loop {self!r} on interpreter shutdown stage, '
                          'skipping signal handlers removal', ResourceWarning, source=self,
                          stacklevel=2)
            self._signal_handlers.clear()
        self._release_wakeup_fd()
        self._close_uv_handles()

    def _close_uv_handles(self) -> None:
        """Close every handle on the libuv loop and let libuv finish closing them."""
        for owner in list(self._uv_owners):
            owner._loop_closed()
        for watcher in list(self._fd_watchers.values()):
            watcher.close()
        for handle in self._uv.handles:
            if not handle.closed:
                handle.close()
        self._uv_wakeup = None
        if self._ssock is not None:
            self._ssock_poll = None
            self._ssock.close()
            self._csock.close()
            self._ssock = self._csock = None
        # Close callbacks (and cancelled writes) run on the next iteration.
        self._uv.run(_RUN_NOWAIT)
        self._uv_pending_exc = None
        # Let the libuv loop go: its descriptors (epoll, eventfd, signal
        # pipe) close when the last reference to it does.
        self._uv.exception_sink = None
        self._uv_timer = self._uv_prepare = None
        self._uv_prepare_on = False
        self._uv = None

    def __del__(self, _warn=warnings.warn) -> None:
        if not self.is_closed():
            _warn(f'unclosed event loop {self!r}', ResourceWarning, source=self)
            if not self.is_running():
                self.close()

    # ------------------------------------------------------------------
    # File descriptors

    def _ensure_fd_no_transport(self, fd: Any) -> None:
        fileno = fd
        if not isinstance(fileno, int):
            try:
                fileno = int(fileno.fileno())
            except (AttributeError, TypeError, ValueError):
                raise ValueError(f'Invalid file object: {fd!r}') from None
        transport = self._transports.get(fileno)
        if transport is not None and not transport.is_closing():
            raise RuntimeError(f'File descriptor {fd!r} is used by transport {transport!r}')

    def add_reader(self, fd: Any, callback: Callable[..., object], *args: Any) -> None:
        """Start watching *fd* for reading and call ``callback(*args)`` when readable."""
        self._ensure_fd_no_transport(fd)
        self._add_reader(fd, callback, *args)

    def remove_reader(self, fd: Any) -> bool:
        """Stop watching *fd* for reading; return True if a reader was registered."""
        self._ensure_fd_no_transport(fd)
        return self._remove_reader(fd)

    def add_writer(self, fd: Any, callback: Callable[..., object], *args: Any) -> None:
        """Start watching *fd* for writing and call ``callback(*args)`` when writable."""
        self._ensure_fd_no_transport(fd)
        self._add_writer(fd, callback, *args)

    def remove_writer(self, fd: Any) -> bool:
        """Stop watching *fd* for writing; return True if a writer was registered."""
        self._ensure_fd_no_transport(fd)
        return self._remove_writer(fd)

    # The private forms take the context the callback runs in (None: a copy of
    # the current one), as asyncio's selector loop does from Python 3.15 on.
    def _add_reader(self, fd: Any, callback: Callable[..., object], *args: Any,
                    context: contextvars.Context | None = None) -> events.Handle:
        return self._watch(fd, 'reader', callback, args, context)

    def _add_writer(self, fd: Any, callback: Callable[..., object], *args: Any,
                    context: contextvars.Context | None = None) -> events.Handle:
        return self._watch(fd, 'writer', callback, args, context)

    def _remove_reader(self, fd: Any) -> bool:
        return self._unwatch(fd, 'reader')

    def _remove_writer(self, fd: Any) -> bool:
        return self._unwatch(fd, 'writer')

    def _watch(self, fd: Any, side: str, callback: Callable[..., object], args: tuple,
               context: contextvars.Context | None = None) -> events.Handle:
        """Register *callback* as *fd*'s reader or writer (*side*), replacing any."""
        self._check_closed()
        fileobj = fd
        handle = events.Handle(callback, args, self, context)
        try:
            fd = _fileobj_to_fd(fileobj)
        except ValueError:
            return self._rewatch_closed(fileobj, side, handle)
        watcher = self._fd_watchers.get(fd)
        if watcher is None:
            watcher = self._fd_watchers[fd] = _FdWatcher(self, fd, fileobj)
        else:
            watcher.fileobj = fileobj
            try:
                watcher.renew()
            except BaseException:
                watcher.close()
                raise
        old = getattr(watcher, side)
        setattr(watcher, side, handle)
        try:
            watcher.update()
        except BaseException:
            setattr(watcher, side, old)
            if watcher.reader is None and watcher.writer is None:
                watcher.close()
            raise
        if old is not None:
            old.cancel()
        return handle

    def _rewatch_closed(self, fileobj: Any, side: str, handle: events.Handle) -> events.Handle:
        """Register *handle* again for an object closed since it was watched, as asyncio's selector does.

        The selector finds the object's key by identity: replacing a callback
        on the same side changes only the key's data and succeeds; watching a
        new side asks epoll to change a closed descriptor, which fails (EBADF)
        and makes the selector forget it. An object never watched raises
        ValueError (its descriptor is -1).
        """
        watcher = self._find_watcher(fileobj)  # by identity, or ValueError
        old = getattr(watcher, side)
        if old is None:
            watcher.close()
            raise OSError(errno.EBADF, os.strerror(errno.EBADF))
        setattr(watcher, side, handle)
        old.cancel()
        return handle

    def _unwatch(self, fd: Any, side: str) -> bool:
        """Drop *fd*'s reader or writer (*side*); True if there was one."""
        if self.is_closed():
            return False
        watcher = self._find_watcher(fd)
        if watcher is None:
            return False
        handle = getattr(watcher, side)
        if handle is None:
            return False
        setattr(watcher, side, None)
        if watcher.reader is not None or watcher.writer is not None:
            file_id = _file_id(watcher.fd)
            if file_id != watcher.file_id:
                # asyncio's selector fails to change the events of a
                # descriptor closed since (EBADF; ENOENT if its number was
                # reused) and forgets it, the other side included.
                watcher.close()
                code = errno.EBADF if file_id is None else errno.ENOENT
                raise OSError(code, os.strerror(code))
        watcher.update()
        handle.cancel()
        return True

    def _find_watcher(self, fileobj: Any) -> _FdWatcher | None:
        """The watcher of *fileobj*: by its descriptor, or if it was closed since, by identity."""
        try:
            fd = _fileobj_to_fd(fileobj)
        except ValueError:
            for watcher in self._fd_watchers.values():
                if watcher.fileobj is fileobj:
                    return watcher
            raise
        return self._fd_watchers.get(fd)

    # ------------------------------------------------------------------
    # Signals

    def _make_self_pipe(self) -> None:
        ssock, csock = socket.socketpair()
        ssock.setblocking(False)
        csock.setblocking(False)
        poll = pyuv.Poll(self._uv, ssock.fileno())
        poll.start(_READABLE, self._on_self_data)
        poll.ref = False
        self._ssock, self._csock, self._ssock_poll = ssock, csock, poll

    def _claim_wakeup_fd(self, required: bool) -> None:
        """Point signal.set_wakeup_fd() at this loop, so signals wake libuv.

        Only the main thread may do this; *required* makes failing an error
        (add_signal_handler) instead of a silent no-op (run_forever).
        """
        if threading.current_thread() is not threading.main_thread():
            if required:
                raise RuntimeError('set_wakeup_fd only works in main thread of the main interpreter')
            return
        if self._ssock is None:
            self._make_self_pipe()
        fd = self._csock.fileno()
        try:
            previous = signal.set_wakeup_fd(fd)
        except (ValueError, OSError) as exc:
            if required:
                raise RuntimeError(str(exc)) from None
            return
        if self._wakeup_fd_prev is None and previous != fd:
            self._wakeup_fd_prev = previous

    def _release_wakeup_fd(self) -> None:
        """Give the wake-up fd back to whoever had it before this loop claimed it."""
        previous = self._wakeup_fd_prev
        if previous is None:
            return
        self._wakeup_fd_prev = None
        if threading.current_thread() is not threading.main_thread():
            return
        try:
            current = signal.set_wakeup_fd(previous)
        except (ValueError, OSError):
            # The previous owner's descriptor is gone: leave none.
            try:
                current = signal.set_wakeup_fd(-1)
            except (ValueError, OSError) as exc:
                logger.info('set_wakeup_fd(-1) failed: %s', exc)
                return
        if self._csock is not None and current != self._csock.fileno():
            # Someone else took it after us: leave theirs in place.
            try:
                signal.set_wakeup_fd(current)
            except (ValueError, OSError):
                pass

    def _read_self_data(self, poll, events_mask, error) -> None:
        ssock = self._ssock
        if ssock is None:
            return
        while True:
            try:
                data = ssock.recv(4096)
            except (BlockingIOError, InterruptedError):
                return
            if not data:
                return
            for signum in data:
                if signum:
                    self._handle_signal(signum)

    def _check_signal(self, sig: Any) -> None:
        if not isinstance(sig, int):
            raise TypeError(f'sig must be an int, not {sig!r}')
        if sig not in signal.valid_signals():
            raise ValueError(f'invalid signal number {sig}')

    def add_signal_handler(self, sig: int, callback: Callable[..., object], *args: Any) -> None:
        """Call ``callback(*args)`` from the loop when signal *sig* arrives.

        Raise ValueError if the signal number is invalid or uncatchable,
        RuntimeError if the handler cannot be set up (e.g. not the main thread).
        """
        if coroutines.iscoroutine(callback) or _iscoroutinefunction(callback):
            raise TypeError('coroutines cannot be used with add_signal_handler()')
        self._check_signal(sig)
        self._check_closed()
        self._claim_wakeup_fd(required=True)
        handle = events.Handle(callback, args, self, None)
        self._signal_handlers[sig] = handle
        try:
            signal.signal(sig, _sighandler_noop)
            signal.siginterrupt(sig, False)
        except OSError as exc:
            del self._signal_handlers[sig]
            if not self._signal_handlers and not self.is_running():
                self._release_wakeup_fd()
            if exc.errno == errno.EINVAL:
                raise RuntimeError(f'sig {sig} cannot be caught') from None
            raise

    def remove_signal_handler(self, sig: int) -> bool:
        """Remove the handler for *sig*; return True if one was registered."""
        self._check_signal(sig)
        try:
            del self._signal_handlers[sig]
        except KeyError:
            return False
        handler = signal.default_int_handler if sig == signal.SIGINT else signal.SIG_DFL
        try:
            signal.signal(sig, handler)
        except OSError as exc:
            if exc.errno == errno.EINVAL:
                raise RuntimeError(f'sig {sig} cannot be caught') from None
            raise
        if not self._signal_handlers and not self.is_running():
            self._release_wakeup_fd()
        return True

    def _handle_signal(self, sig: int) -> None:
        handle = self._signal_handlers.get(sig)
        if handle is None:
            return
        if handle._cancelled:
            self.remove_signal_handler(sig)
        else:
            self._add_callback_signalsafe(handle)
            self._wake_uv()

