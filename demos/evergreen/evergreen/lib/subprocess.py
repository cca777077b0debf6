"""evergreen.lib.subprocess: ``subprocess``, cooperative.

:class:`Popen` is the standard class (same arguments, same attributes) whose
waits park the task: ``wait()`` watches the child through a pidfd (Linux
5.3+; otherwise it polls with a short back-off), ``communicate()`` feeds and
drains the pipes in helper tasks, and ``stdin``/``stdout``/``stderr`` are file
objects of the same kind (binary or text, same encoding) whose reads and
writes park instead of blocking. Their descriptors stay blocking, so an end
passed on to another child (a pipeline) behaves as with the standard module.
``run``, ``call``, ``check_call``, ``check_output``, ``getoutput`` and
``getstatusoutput`` are built on it.

A ``communicate()`` that times out can be called again to go on (the output
gathered so far is kept), as with the standard one: ``run(timeout=...)``
kills the child and collects what it wrote.
"""

from __future__ import annotations

import io
import os
import select as _select
import subprocess as _std
import time
from subprocess import *  # noqa: F401,F403 -- PIPE, STDOUT, DEVNULL, exceptions, CompletedProcess...
from typing import Any

from ..hub import find_loop
from . import adopt
from ._wait import READ, WRITE, forget_fd, original_poll, wait_fd

__all__ = list(_std.__all__)


adopt(_std, globals())

# The most a write to a pipe with room in it takes without blocking (POSIX's
# atomic write size; 4096 on Linux, never more than a page).
_PIPE_BUF = getattr(_select, 'PIPE_BUF', 512)


class _PipeIO(io.RawIOBase):
    """One end of a pipe to a child: a blocking descriptor whose reads and writes park.

    The descriptor is never made non-blocking: O_NONBLOCK belongs to the open
    file description, which the child -- or a later child given this end, as
    in ``Popen(..., stdin=first.stdout)`` -- shares, and a child that finds its
    stdin or stdout non-blocking fails with EAGAIN. Instead each read or write
    first asks ``poll()`` (without waiting) whether the pipe is ready, parks
    the task until it is if not, and then asks only what cannot block: a read
    of a ready pipe returns what is there; a write of at most PIPE_BUF bytes
    fits once the pipe has room (Linux wakes POLLOUT when a page is free).
    Check and call run in one step of one task, so no other task of this
    loop can empty or fill the pipe in between.
    """

    def __init__(self, fd: int, writing: bool) -> None:
        super().__init__()
        self._fd = fd
        self._writing = writing
        self._ready = original_poll()
        # POLLERR/POLLHUP (always reported) also count as ready: the call then
        # returns EOF or raises the error, as it would on a blocking pipe.
        self._ready.register(fd, _select.POLLOUT if writing else _select.POLLIN)

    def fileno(self) -> int:
        if self.closed:
            raise ValueError('I/O operation on closed pipe')
        return self._fd

    def readable(self) -> bool:
        return not self._writing

    def writable(self) -> bool:
        return self._writing

    def _park_until_ready(self, event: int) -> None:
        """Return once the pipe is ready for *event*, parking the task while it is not."""
        while not self._ready.poll(0):
            wait_fd(self._fd, event)

    def readinto(self, buffer: Any) -> int:
        if self._writing:
            raise io.UnsupportedOperation('read')
        while True:
            self._park_until_ready(READ)
            try:
                return os.readv(self._fd, [buffer])
            except BlockingIOError:
                pass  # someone made the description non-blocking and another reader won

    def write(self, data: Any) -> int:
        if not self._writing:
            raise io.UnsupportedOperation('write')
        chunk = memoryview(data).cast('B')[:_PIPE_BUF]
        while True:
            self._park_until_ready(WRITE)
            try:
                return os.write(self._fd, chunk)
            except BlockingIOError:
                pass

    def close(self) -> None:
        if not self.closed:
            forget_fd(self._fd)
            try:
                os.close(self._fd)
            finally:
                super().close()


def _cooperative_file(f: Any, writing: bool, bufsize: int) -> Any:
    """A file object like *f* (Popen's pipe end) over a parking raw pipe; closes *f*."""
    text = isinstance(f, io.TextIOWrapper)
    raw = _PipeIO(os.dup(f.fileno()), writing)
    size = io.DEFAULT_BUFFER_SIZE if bufsize in (-1, 1) or bufsize is None else bufsize
    if bufsize == 0 and not text:
        new: Any = raw
    elif writing:
        new = io.BufferedWriter(raw, size)
    else:
        new = io.BufferedReader(raw, size)
    if text:
        new = io.TextIOWrapper(new, encoding=f.encoding, errors=f.errors,
                               line_buffering=f.line_buffering, write_through=f.write_through)
    f.close()
    return new


class Popen(_std.Popen):
    """``subprocess.Popen`` whose waits and pipe I/O park the calling task."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bufsize = kwargs.get('bufsize', -1)
        if self.stdin is not None:
            self.stdin = _cooperative_file(self.stdin, True, bufsize)
        if self.stdout is not None:
            self.stdout = _cooperative_file(self.stdout, False, bufsize)
        if self.stderr is not None:
            self.stderr = _cooperative_file(self.stderr, False, bufsize)
        self._evergreen_pidfd: int | None = None
        self._evergreen_helpers: list | None = None

    # ------------------------------------------------------------------
    # Waiting for the child to exit

    def _exit_fd(self) -> int | None:
        """A descriptor that becomes readable when the child exits (a pidfd), if possible."""
        if self._evergreen_pidfd is None and hasattr(os, 'pidfd_open'):
            try:
                self._evergreen_pidfd = os.pidfd_open(self.pid)
            except OSError:
                self._evergreen_pidfd = -1
        fd = self._evergreen_pidfd
        return fd if fd is not None and fd >= 0 else None

    def _forget_exit_fd(self) -> None:
        fd = self._evergreen_pidfd
        if fd is not None and fd >= 0:
            forget_fd(fd)
            os.close(fd)
        self._evergreen_pidfd = -1

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the child to exit and return its code; TimeoutExpired after *timeout* s."""
        if self.returncode is not None:
            return self.returncode
        if find_loop() is None:
            return super().wait(timeout)
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = 0.0005
        try:
            while self.poll() is None:
                remaining = None
                if deadline is not None:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise TimeoutExpired(self.args, timeout)
                fd = self._exit_fd()
                if fd is not None:
                    wait_fd(fd, READ, remaining)
                else:
                    from ..tasks import sleep
                    sleep(delay if remaining is None else min(delay, remaining))
                    delay = min(delay * 2, 0.05)
        finally:
            if self.returncode is not None:
                self._forget_exit_fd()
        return self.returncode

    # ------------------------------------------------------------------
    # Feeding and draining the pipes

    def _start_helpers(self, input: Any) -> list:
        from ..tasks import Task

        def feed() -> None:
            try:
                if input:
                    self.stdin.write(input)
                self.stdin.close()
            except BrokenPipeError:
                pass  # the child exited without reading everything
            except ValueError:
                if not self.stdin.closed:
                    raise

        def drain(stream: Any) -> Any:
            try:
                return stream.read()
            finally:
                stream.close()

        helpers: list = [None, None, None]
        if self.stdin is not None and not self.stdin.closed:
            helpers[0] = Task(target=feed, name=f'Popen-{self.pid} stdin', daemon=True).start()
        if self.stdout is not None:
            helpers[1] = Task(target=drain, args=(self.stdout,), name=f'Popen-{self.pid} stdout',
                              daemon=True).start()
        if self.stderr is not None:
            helpers[2] = Task(target=drain, args=(self.stderr,), name=f'Popen-{self.pid} stderr',
                              daemon=True).start()
        return helpers

    def communicate(self, input: Any = None, timeout: float | None = None) -> tuple[Any, Any]:
        """Send *input*, read stdout and stderr to the end, wait for the child.

        Returns ``(stdout_data, stderr_data)`` (None for pipes not opened).
        TimeoutExpired after *timeout* seconds; calling again goes on.
        """
        if self._evergreen_helpers is not None and input:
            raise ValueError('Cannot send input after starting communication')
        if find_loop() is None:
            return super().communicate(input, timeout)
        from ..tasks import joinall
        deadline = None if timeout is None else time.monotonic() + timeout
        if self._evergreen_helpers is None:
            self._communication_started = True
            self._evergreen_helpers = self._start_helpers(input)
        helpers = [t for t in self._evergreen_helpers if t is not None]
        try:
            done = joinall(helpers, timeout, raise_error=True)
        except BaseException:
            for task in helpers:
                task.kill(block=False)
            raise
        if len(done) < len(helpers):
            raise TimeoutExpired(self.args, timeout)
        stdout = self._evergreen_helpers[1].result() if self._evergreen_helpers[1] else None
        stderr = self._evergreen_helpers[2].result() if self._evergreen_helpers[2] else None
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            self.wait(remaining)
        except TimeoutExpired:
            raise TimeoutExpired(self.args, timeout, output=stdout, stderr=stderr) from None
        return stdout, stderr

    def __del__(self, *args: Any, **kwargs: Any) -> None:
        fd = getattr(self, '_evergreen_pidfd', None)
        if fd is not None and fd >= 0:
            try:
                os.close(fd)
            except OSError:
                pass
            self._evergreen_pidfd = -1
        super().__del__(*args, **kwargs)


# ----------------------------------------------------------------------
# The convenience functions, on the cooperative Popen


def run(*popenargs: Any, input: Any = None, capture_output: bool = False,
        timeout: float | None = None, check: bool = False, **kwargs: Any) -> CompletedProcess:
    """``subprocess.run``: run a command, wait for it, return a CompletedProcess."""
    if input is not None:
        if kwargs.get('stdin') is not None:
            raise ValueError('stdin and input arguments may not both be used.')
        kwargs['stdin'] = PIPE
    if capture_output:
        if kwargs.get('stdout') is not None or kwargs.get('stderr') is not None:
            raise ValueError('stdout and stderr arguments may not be used with capture_output.')
        kwargs['stdout'] = kwargs['stderr'] = PIPE
    with Popen(*popenargs, **kwargs) as process:
        try:
            stdout, stderr = process.communicate(input, timeout=timeout)
        except TimeoutExpired as exc:
            process.kill()
            exc.stdout, exc.stderr = process.communicate()
            raise
        except BaseException:
            process.kill()
            raise
        code = process.poll()
    if check and code:
        raise CalledProcessError(code, process.args, output=stdout, stderr=stderr)
    return CompletedProcess(process.args, code, stdout, stderr)


def call(*popenargs: Any, timeout: float | None = None, **kwargs: Any) -> int:
    """``subprocess.call``: run a command and return its exit code."""
    with Popen(*popenargs, **kwargs) as process:
        try:
            return process.wait(timeout=timeout)
        except BaseException:
            process.kill()
            raise


def check_call(*popenargs: Any, **kwargs: Any) -> int:
    """``subprocess.check_call``: like call(), raising CalledProcessError on a non-zero code."""
    code = call(*popenargs, **kwargs)
    if code:
        command = kwargs.get('args', popenargs[0] if popenargs else None)
        raise CalledProcessError(code, command)
    return 0


def check_output(*popenargs: Any, timeout: float | None = None, **kwargs: Any) -> Any:
    """``subprocess.check_output``: run a command and return its standard output."""
    if 'stdout' in kwargs:
        raise ValueError('stdout argument not allowed, it will be overridden.')
    if 'input' in kwargs and kwargs['input'] is None:
        # Explicitly no input: give the child an empty stdin rather than ours.
        text = kwargs.get('text') or kwargs.get('universal_newlines') or \
            kwargs.get('encoding') or kwargs.get('errors')
        kwargs['input'] = '' if text else b''
    return run(*popenargs, stdout=PIPE, timeout=timeout, check=True, **kwargs).stdout


def getstatusoutput(cmd: Any, *, encoding: str | None = None,
                    errors: str | None = None) -> tuple[int, str]:
    """``subprocess.getstatusoutput``: (exit code, output) of a shell command."""
    try:
        data = check_output(cmd, shell=True, text=True, stderr=STDOUT,
                            encoding=encoding, errors=errors)
        status = 0
    except CalledProcessError as exc:
        data = exc.output
        status = exc.returncode
    if data[-1:] == '\n':
        data = data[:-1]
    return status, data


def getoutput(cmd: Any, *, encoding: str | None = None, errors: str | None = None) -> str:
    """``subprocess.getoutput``: the output of a shell command."""
    return getstatusoutput(cmd, encoding=encoding, errors=errors)[1]
