"""The servers under test: each demo server kind in a process of its own, measured from /proc.

A server runs the demo's own command line (``python -m tulip_echo server``,
the same processes as the benchmark's), so that its memory and descriptors
are its own: :meth:`ServerUnderTest.rss` and :meth:`peak_rss` read
``/proc/PID/status`` (``VmRSS``, ``VmHWM``; :meth:`reset_peak` restarts the
peak through ``/proc/PID/clear_refs``), :meth:`descriptors` counts
``/proc/PID/fd``, and :meth:`log_entries` counts what the server logged
(asyncio's and evergreen's error reports, tracebacks) since a mark, so that a
failure logged more than once, or logged for a well-behaved client, shows.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

from .. import loops
from ..bench.runner import KINDS, Kind

__all__ = ["SERVER_KINDS", "ServerError", "ServerUnderTest", "server_kind", "unavailable"]

#: The demo's servers: every style on every loop, and evergreen's.
SERVER_KINDS: tuple[Kind, ...] = tuple(
    kind for kind in KINDS if kind.family in (*loops.LOOPS, "evergreen"))

#: A log line that starts an error report (one report may span many lines).
_REPORT_START = re.compile(
    r"^(Exception |Fatal |Unhandled |Task exception|Future exception|Error |"
    r"[A-Za-z_.]*(Error|Exception)\b|.*\b(ERROR|WARNING|CRITICAL)\b)")


class ServerError(RuntimeError):
    """A server under test did not start, or died."""


def server_kind(name: str) -> Kind:
    for kind in SERVER_KINDS:
        if kind.name == name:
            return kind
    raise ValueError(f"unknown server {name!r}: choose from "
                     f"{', '.join(kind.name for kind in SERVER_KINDS)}")


def unavailable(kind: Kind) -> str | None:
    return kind.unavailable()


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise ServerError(f"/proc/{pid}/status has no {field}")


class ServerUnderTest:
    """One demo server kind, started in its own process; use as a context manager."""

    READY = re.compile(r"serving on (\S+):(\d+)")

    def __init__(self, kind: Kind, log_path: Path) -> None:
        self.kind = kind
        self.log_path = log_path
        self.port = 0
        self._log_mark = 0
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(log_path, "wb")
        command = [part for part in kind.command() if part != "--quiet"]
        # The status line (connected counts) is not an error: keep the server quiet.
        command.append("--quiet")
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL)

    def __enter__(self) -> ServerUnderTest:
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = self.READY.search(self.log_path.read_text(errors="replace"))
            if match:
                self.port = int(match.group(2))
                return
            if self.process.poll() is not None:
                raise ServerError(f"exited with status {self.process.returncode}: "
                                  f"{self.log_tail()}")
            time.sleep(0.05)
        raise ServerError(f"not listening after {timeout:g} s: {self.log_tail()}")

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 3) -> str:
        text = self.log_path.read_text(errors="replace").strip().splitlines()
        return " | ".join(text[-lines:]) or "(no output)"

    def rss(self) -> int:
        """Resident memory now, in bytes."""
        return _status_kib(self.pid, "VmRSS") * 1024

    def reset_peak(self) -> bool:
        """Restart the peak-RSS counter (Linux >= 4.0); False where it cannot."""
        try:
            Path(f"/proc/{self.pid}/clear_refs").write_text("5")
        except OSError:
            return False
        return True

    def peak_rss(self) -> int:
        """Peak resident memory since the last :meth:`reset_peak` (or the start), in bytes."""
        return _status_kib(self.pid, "VmHWM") * 1024

    def descriptors(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def settle_descriptors(self, baseline: int, timeout: float = 5.0) -> int:
        """Wait (up to ``timeout`` s) for the descriptor count to fall back to ``baseline``."""
        deadline = time.monotonic() + timeout
        count = self.descriptors()
        while count > baseline and time.monotonic() < deadline:
            time.sleep(0.05)
            count = self.descriptors()
        return count

    def mark_log(self) -> None:
        self._log.flush()
        self._log_mark = self.log_path.stat().st_size

    def log_entries(self) -> list[str]:
        """The error reports the server wrote since :meth:`mark_log`, one line each."""
        with open(self.log_path, "rb") as log:
            log.seek(self._log_mark)
            text = log.read().decode(errors="replace")
        entries: list[str] = []
        open_report = in_traceback = False
        for line in text.splitlines():
            if not line.strip():
                open_report = False
            elif line[0] in " \t":
                continue
            elif line.startswith("Traceback "):
                # asyncio prints "Exception in callback ..." and then its traceback: one report.
                if not open_report:
                    entries.append(line)
                open_report = in_traceback = True
            elif in_traceback:
                in_traceback = open_report = False   # the exception line that ends it
            elif _REPORT_START.match(line):
                entries.append(line)
                open_report = True
        return entries

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=8)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
