"""Child processes: subprocess_exec/shell (and so asyncio.create_subprocess_*).

asyncio's ``base_subprocess.BaseSubprocessTransport`` does the protocol work
(pipes, exit, wait, close); rose starts the child and reports its exit:

* with libuv (``pyuv.Process``): rose makes the stdio pipes, libuv forks,
  execs and reaps the child (through its SIGCHLD handler) and calls back with
  the exit status. libuv covers Popen's ``cwd``, ``env``, ``executable``,
  ``start_new_session``, ``pass_fds``, ``user``/``group`` and
  ``restore_signals`` (libuv resets signal dispositions in the child);
* the options libuv has no equivalent for (``preexec_fn``, ``umask``,
  ``process_group``, ``extra_groups``, ``restore_signals=False``) start the
  child with ``subprocess.Popen`` instead, and the loop watches a pidfd (a
  ``pyuv.Poll``) for its exit; where there are no pidfds (macOS), a thread
  waits for the child and tells the loop.

The pipes themselves are rose's pipe transports either way.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import grp
import os
import pwd
import select
import signal
import subprocess
import threading
import time
import weakref
from asyncio import base_subprocess
from typing import Any

import pyuv

from . import errors

__all__ = ['SubprocessMethods']

# How many loop iterations the report of an exit may wait for the pipes' EOF
# (see ProcessTransport._report_exit); one or two are the rule.
_EXIT_REPORT_DELAYS = 100

# Popen keywords libuv can honour, and their values that need nothing from it.
_LIBUV_KWARGS = {'cwd', 'env', 'executable', 'start_new_session', 'pass_fds',
                 'close_fds', 'user', 'group', 'restore_signals', 'startupinfo',
                 'creationflags', 'pipesize'}
_NEUTRAL_VALUES = {'preexec_fn': None, 'umask': -1, 'process_group': None,
                   'extra_groups': None, 'restore_signals': True}


def _needs_popen(kwargs: dict[str, Any]) -> bool:
    for key, value in kwargs.items():
        if key in _NEUTRAL_VALUES and value == _NEUTRAL_VALUES[key]:
            continue
        if key == 'env' and value is not None and not value:
            # pyuv passes libuv an environment only when the mapping is not
            # empty, so an empty one would give the child the parent's.
            return True
        if key not in _LIBUV_KWARGS or key == 'restore_signals':
            return True
    return False


class _LibuvChild:
    """What asyncio's transport expects of a Popen, for a child libuv spawned."""

    def __init__(self, args, handle: pyuv.Process, stdin, stdout, stderr):
        self.args = args
        self.pid = handle.pid
        self.returncode: int | None = None
        self.stdin, self.stdout, self.stderr = stdin, stdout, stderr
        self._handle = handle
        self._reaped = None  # told when wait() takes the status

    def __repr__(self) -> str:
        return f'<{self.__class__.__name__}: returncode: {self.returncode} args: {self.args!r}>'

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Block until the child exits, as Popen.wait() does (and with its caveats).

        The status is taken here, so libuv will not see the exit: the
        transport is told from the loop instead.
        """
        if self.returncode is not None:
            return self.returncode
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            pid, status = os.waitpid(self.pid, 0 if deadline is None else os.WNOHANG)
            if pid:
                break
            if time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(self.args, timeout)
            time.sleep(0.001)
        self.returncode = os.waitstatus_to_exitcode(status)
        if not self._handle.closed:
            self._handle.close()
        if self._reaped is not None:
            self._reaped(self.returncode)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.returncode is not None:
            return  # reaped: the pid may belong to another process now
        if self._handle.closed:
            os.kill(self.pid, sig)  # the loop closed: libuv no longer tracks it
            return
        try:
            self._handle.kill(sig)
        except pyuv.error.ProcessError as exc:
            raise errors.from_pyuv_error(exc) from None

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class ProcessTransport(base_subprocess.BaseSubprocessTransport):
    """asyncio's subprocess transport, with a child started by libuv (or Popen)."""

    _watch = None  # the pyuv.Process handle or the pidfd watch

    def _start(self, args, shell, stdin, stdout, stderr, bufsize, **kwargs):
        if _needs_popen(kwargs):
            self._start_with_popen(args, shell, stdin, stdout, stderr, bufsize, kwargs)
        else:
            self._start_with_libuv(args, shell, stdin, stdout, stderr, kwargs)
        self._loop._uv_owners.add(self)

    # libuv ------------------------------------------------------------------

    def _start_with_libuv(self, args, shell, stdin, stdout, stderr, kwargs):
        if shell:
            argv = ['/bin/sh', '-c', os.fsdecode(args) if isinstance(args, bytes) else args]
        elif isinstance(args, (str, bytes, os.PathLike)):
            argv = [os.fspath(args)]
        else:
            argv = [os.fspath(arg) for arg in args]
        program = kwargs.get('executable') or argv[0]
        stdio, parent_ends, child_ends = _make_stdio(stdin, stdout, stderr, kwargs.get('pass_fds', ()))
        flags, uid, gid = _identity_flags(kwargs)
        if kwargs.get('start_new_session'):
            flags |= pyuv.UV_PROCESS_DETACHED
        env = kwargs.get('env')
        cwd = kwargs.get('cwd')
        # pyuv keeps a running Process alive until its exit callback runs,
        # which never happens if the loop closes first: the callback must
        # not keep the transport (and its pipes) alive with it.
        spawn_kwargs = {'executable': os.fspath(program), 'flags': flags, 'stdio': stdio,
                        'exit_callback': functools.partial(_relay_exit, weakref.ref(self))}
        if env is not None:
            spawn_kwargs['env'] = {os.fsdecode(k): os.fsdecode(v) for k, v in env.items()}
        if cwd is not None:
            spawn_kwargs['cwd'] = os.fspath(cwd)
        if uid is not None:
            spawn_kwargs['uid'] = uid
        if gid is not None:
            spawn_kwargs['gid'] = gid
        try:
            handle = pyuv.Process.spawn(self._loop._uv, argv, **spawn_kwargs)
        except pyuv.error.ProcessError as exc:
            for fd in parent_ends:
                if fd is not None:
                    os.close(fd)
            exc = errors.from_pyuv_error(exc)
            failing = cwd if exc.errno == errno.ENOENT and cwd is not None and not os.path.isdir(cwd) else program
            raise OSError(exc.errno, os.strerror(exc.errno), os.fspath(failing)) from None
        finally:
            for fd in child_ends:
                os.close(fd)
        self._watch = handle
        files = [None if fd is None else open(fd, 'wb' if i == 0 else 'rb', buffering=0)
                 for i, fd in enumerate(parent_ends)]
        self._proc = _LibuvChild(args, handle, *files)
        self._proc._reaped = self._reaped_by_wait

    def _reaped_by_wait(self, returncode: int) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon(self._exited, returncode)

    # Popen ------------------------------------------------------------------

    def _start_with_popen(self, args, shell, stdin, stdout, stderr, bufsize, kwargs):
        self._proc = subprocess.Popen(args, shell=shell, stdin=stdin, stdout=stdout, stderr=stderr,
                                      universal_newlines=False, bufsize=bufsize, **kwargs)
        if not hasattr(os, 'pidfd_open'):  # Linux 5.3+ only
            self._wait_in_thread()
            return
        pidfd = os.pidfd_open(self._proc.pid)
        poll = pyuv.Poll(self._loop._uv, pidfd)
        self._pidfd = pidfd
        self._on_pidfd_cb = self._on_pidfd
        poll.start(pyuv.UV_READABLE, self._on_pidfd_cb)
        self._watch = poll

    def _on_pidfd(self, poll, events, error) -> None:
        self._stop_pidfd()
        proc = self._proc
        try:
            _, status = os.waitpid(proc.pid, 0)
        except ChildProcessError:
            # Popen.poll() reaped it first and kept the status.
            returncode = proc.returncode if proc.returncode is not None else 255
        else:
            returncode = os.waitstatus_to_exitcode(status)
        self._exited(returncode)

    def _wait_in_thread(self) -> None:
        """Without pidfds (macOS, the BSDs): a thread waits for this one child, then
        hands its exit to the loop; a loop closed meanwhile is not told."""
        proc, loop = self._proc, self._loop

        def wait() -> None:
            returncode = proc.wait()
            with contextlib.suppress(RuntimeError):  # the loop is closed
                loop.call_soon_threadsafe(self._exited, returncode)

        threading.Thread(target=wait, name=f'rose-wait-{proc.pid}', daemon=True).start()

    def _stop_pidfd(self) -> None:
        poll = self._watch
        if poll is not None and not poll.closed:
            poll.close()
            os.close(self._pidfd)

    # both ---------------------------------------------------------------------

    def _exited(self, returncode: int) -> None:
        self._watch = None
        if self._loop is None or self._returncode is not None:
            return
        if self._proc.returncode is None:
            self._proc.returncode = returncode
        self._report_exit(returncode, _EXIT_REPORT_DELAYS)

    def _report_exit(self, returncode: int, delays: int) -> None:
        """Report the exit once the pipes have said what the child's exit tells them.

        A dead child's pipes are at end of file, but libuv may report the
        exit first. asyncio reads the pipes' EOF before it learns of the exit
        (so when ``_wait()`` returns, ``pipe_connection_lost`` and
        ``connection_lost`` have run): the report waits, an iteration at a
        time and at most *delays* of them, while a pipe still has something
        to read or is closing. Pipes that stay open (a grandchild holds
        them) or are paused do not hold it back.
        """
        if self._loop is None or self._returncode is not None:
            return
        if delays and self._pipes_have_news():
            self._loop.call_soon(self._report_exit, returncode, delays - 1)
            return
        self._process_exited(returncode)

    def _pipes_have_news(self) -> bool:
        watched = select.poll()
        for fd, proto in self._pipes.items():
            if proto is None or proto.pipe is None:
                return True  # not connected yet (base_subprocess connects them in a task)
            if proto.disconnected:
                continue
            pipe = proto.pipe
            if pipe.is_closing():
                return True  # its connection_lost is on its way
            if fd == 0 or not pipe.is_reading():
                continue
            try:
                fileno = pipe.get_extra_info('pipe').fileno()
            except (AttributeError, ValueError, OSError):
                continue
            watched.register(fileno, select.POLLIN)
        return bool(watched.poll(0))

    def _loop_closed(self) -> None:
        """The loop closes while the child runs: stop watching it (asyncio warns likewise)."""
        watch = self._watch
        if isinstance(watch, pyuv.Poll):
            self._stop_pidfd()
        elif watch is not None and not watch.closed:
            watch.close()
        self._watch = None


def _relay_exit(transport_ref, handle, exit_status: int, term_signal: int) -> None:
    handle.close()
    transport = transport_ref()
    if transport is not None:
        transport._exited(-term_signal if term_signal else exit_status)


def _identity_flags(kwargs: dict[str, Any]) -> tuple[int, int | None, int | None]:
    flags, uid, gid = 0, None, None
    user, group = kwargs.get('user'), kwargs.get('group')
    if user is not None:
        uid = user if isinstance(user, int) else pwd.getpwnam(user).pw_uid
        flags |= pyuv.UV_PROCESS_SETUID
    if group is not None:
        gid = group if isinstance(group, int) else grp.getgrnam(group).gr_gid
        flags |= pyuv.UV_PROCESS_SETGID
    return flags, uid, gid


def _make_stdio(stdin, stdout, stderr, pass_fds) -> tuple[list, list, list]:
    """The libuv stdio list for the child, the parent's pipe ends and the child's ends to close.

    ``parent_ends`` has one entry per standard stream: the parent's end of a
    new pipe, or None.
    """
    parent_ends: list[int | None] = [None, None, None]
    child_ends: list[int] = []
    child_fds: list[int] = []
    try:
        for index, spec in enumerate((stdin, stdout, stderr)):
            if spec == subprocess.PIPE:
                read_end, write_end = os.pipe()
                if index == 0:
                    parent_ends[0], child = write_end, read_end
                else:
                    parent_ends[index], child = read_end, write_end
                child_ends.append(child)
            elif spec == subprocess.STDOUT:
                if index != 2:
                    raise ValueError('STDOUT can only be used for stderr')
                child = child_fds[1]
            elif spec == subprocess.DEVNULL:
                child = os.open(os.devnull, os.O_RDWR)
                child_ends.append(child)
            elif spec is None:
                child = index
            elif isinstance(spec, int):
                child = spec
            else:
                child = spec.fileno()
            child_fds.append(child)
    except BaseException:
        for fd in child_ends + [fd for fd in parent_ends if fd is not None]:
            os.close(fd)
        raise
    stdio = [pyuv.StdIO(fd=fd, flags=pyuv.UV_INHERIT_FD) for fd in child_fds]
    if pass_fds:
        for fd in range(3, max(pass_fds) + 1):
            if fd in pass_fds:
                stdio.append(pyuv.StdIO(fd=fd, flags=pyuv.UV_INHERIT_FD))
            else:
                stdio.append(pyuv.StdIO(flags=pyuv.UV_IGNORE))
    return stdio, parent_ends, child_ends


class SubprocessMethods:
    """Mixin for the event loop: the transport behind subprocess_exec/subprocess_shell."""

    async def _make_subprocess_transport(self, protocol, args, shell, stdin, stdout, stderr,
                                         bufsize, extra=None, **kwargs):
        waiter = self.create_future()
        transport = ProcessTransport(self, protocol, args, shell, stdin, stdout, stderr,
                                     bufsize, waiter=waiter, extra=extra, **kwargs)
        try:
            await waiter
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException:
            transport.close()
            await transport._wait()
            raise
        return transport
