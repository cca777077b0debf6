"""evergreen's cooperative subprocess where the OS has no pidfds (macOS, the BSDs),
simulated on Linux by removing ``os.pidfd_open``: waiting for a child polls, with a
growing delay, and the loop's other tasks keep running meanwhile."""

from __future__ import annotations

import os
import sys
import time

import pytest

import evergreen
from evergreen.lib import subprocess


def test_waiting_for_a_child_without_pidfds_is_cooperative(uv_run, monkeypatch):
    monkeypatch.delattr(os, 'pidfd_open', raising=False)

    def main():
        ticks = []

        def tick():
            for _ in range(5):
                evergreen.sleep(0.01)
                ticks.append(time.monotonic())

        ticker = evergreen.spawn(tick)
        proc = subprocess.Popen([sys.executable, '-c', 'import sys, time; time.sleep(0.2); sys.exit(4)'])
        assert proc._exit_fd() is None  # the fallback, not a pidfd
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(timeout=0.05)
        assert proc.wait() == 4
        ticker.join()
        assert len(ticks) == 5  # the ticker ran while main waited

    uv_run(main)
