"""Child processes where the OS has no pidfds (macOS, the BSDs), simulated on Linux.

rose starts a child whose options libuv lacks (``preexec_fn``, ``umask``, ...) with
``subprocess.Popen`` and watches a pidfd for its exit; without ``os.pidfd_open`` a
thread waits for the child instead. These tests remove ``os.pidfd_open`` for their
duration, so that the fallback runs here exactly as it would on a Mac.
"""

import asyncio
import os
import signal
import subprocess
import sys

from rose.testing import loop_test_cases

PY = sys.executable


class WithoutPidfd:

    def setUp(self):
        super().setUp()
        pidfd_open = getattr(os, 'pidfd_open', None)
        if pidfd_open is not None:
            del os.pidfd_open
            self.addCleanup(setattr, os, 'pidfd_open', pidfd_open)

    def test_the_probe_sees_no_pidfds(self):
        self.assertFalse(hasattr(os, 'pidfd_open'))

    def test_output_and_exit_status_of_a_popen_child(self):
        async def main():
            proc = await asyncio.create_subprocess_exec(
                PY, '-c', 'import os, sys; print(oct(os.umask(0))); sys.exit(3)',
                stdout=subprocess.PIPE, umask=0o027, preexec_fn=lambda: None)
            out, _ = await proc.communicate()
            self.assertEqual((out.strip(), proc.returncode), (b'0o27', 3))

        self.run_loop(main())

    def test_a_killed_popen_child_reports_the_signal(self):
        async def main():
            proc = await asyncio.create_subprocess_exec(
                PY, '-c', 'import time; time.sleep(60)', umask=0o022)
            proc.kill()
            self.assertEqual(await asyncio.wait_for(proc.wait(), 10), -signal.SIGKILL)

        self.run_loop(main())


# rose's loops only: asyncio's own loop decides once whether the system has pidfds and
# then (3.15 at least) calls os.pidfd_open unguarded: removing it there simulates nothing.
globals().update({name: case for name, case in loop_test_cases(WithoutPidfd).items()
                  if case.loop_name == 'rose'})
