"""A descriptor closed under a pending operation, at every point, on rose and asyncio.

asyncio's selector registers a descriptor with epoll at once and the kernel
forgets it when it is closed: the operation stays pending (until cancelled),
a reader or writer never runs, and removing it still returns True. libuv
hands descriptors to epoll only at its next poll and aborts the process if
epoll refuses one, so each scenario runs in a child process (see
closed_fd_child.py): a test fails, rather than killing pytest, if it dies.
"""

import errno
import json
import os
import subprocess
import sys

from rose.testing import loop_test_cases

CHILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'closed_fd_child.py')
POINTS = ['same_iteration', 'other_task', 'thread', 'io_callback']


class ClosedDescriptorBehaviour:

    def outcomes(self, operation):
        """Run *operation*'s scenarios in a child on this case's loop; its outcomes by point."""
        # The child makes its own loop; this case's is not used.
        proc = subprocess.run(
            [sys.executable, CHILD, self.loop_name, '1' if self.debug else '0', operation],
            capture_output=True, text=True, timeout=120)
        lines = [json.loads(line) for line in proc.stdout.splitlines()]
        self.assertEqual(proc.returncode, 0,
                         f'the child died ({proc.returncode}) after {lines}: {proc.stderr[-2000:]}')
        self.assertEqual([line.pop('point') for line in lines], POINTS)
        return lines

    def check_task(self, operation):
        for outcome in self.outcomes(operation):
            self.assertEqual(outcome, {'removed_other_side': None, 'done': False,
                                       'cancelled': True, 'errors': []})

    def check_watch(self, operation, removed_other_side=None, removed=True):
        for outcome in self.outcomes(operation):
            self.assertEqual(outcome, {'removed_other_side': removed_other_side, 'called': [],
                                       'removed': removed, 'errors': []})

    def test_sock_recv(self):
        self.check_task('sock_recv')

    def test_sock_recv_into(self):
        self.check_task('sock_recv_into')

    def test_sock_recvfrom(self):
        self.check_task('sock_recvfrom')

    def test_sock_sendall(self):
        self.check_task('sock_sendall')

    def test_sock_accept(self):
        self.check_task('sock_accept')

    def test_sock_connect(self):
        self.check_task('sock_connect')

    def test_add_reader(self):
        self.check_watch('add_reader')

    def test_add_writer(self):
        self.check_watch('add_writer')

    def test_reader_and_writer_changed_after_close(self):
        # remove_writer(closed socket object) finds the watcher by the object;
        # asyncio's selector then fails to change the events of a descriptor
        # epoll no longer has (EBADF) and forgets it, reader included: the
        # closed object is then unknown (ValueError).
        self.check_watch('reader_and_writer', removed_other_side=f'OSError {errno.EBADF}',
                         removed='ValueError')


globals().update(loop_test_cases(ClosedDescriptorBehaviour))
