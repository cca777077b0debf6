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


class ChildOutcomes:
    """Runs scenarios in a child process (closed_fd_child.py)."""

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


class ClosedDescriptorBehaviour(ChildOutcomes):

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


# What asyncio's selector transports do when the user closes the socket (or
# pipe) they were made on, then (the action) the peer sends and the loop polls,
# the transport writes, reading resumes (paused before the close), or writes
# were queued when the socket was closed; and what close() does afterwards.
# The kernel forgets the descriptor: nothing is read, write() fails with
# EBADF, resume_reading() raises it, and close() too when it must stop reading
# while writes wait, which then wait for ever.
_AFTER_POLL = {'events': [], 'closing': False, 'after_close': ['lost'], 'errors': []}
_AFTER_WRITE = {'events': ['lost OSError 9'], 'closing': True, 'after_close': [], 'errors': []}
_AFTER_RESUME = {'raised': 'OSError 9', 'events': [], 'closing': False, 'after_close': ['lost'],
                 'errors': []}
_AFTER_QUEUED_WRITE = {'queued': True, 'events': [], 'closing': False, 'close_raised': 'OSError 9',
                       'after_close': [], 'errors': []}
# The peer of a Unix socket pair (or of a pipe's read end) finds the other end closed.
_PEER_SEES_CLOSE = {'raised': 'BrokenPipeError 32', **_AFTER_POLL}


class ClosedTransportSocketBehaviour(ChildOutcomes):
    """Transports made on the user's socket or pipe, which the user closes at each point."""

    def check_transport(self, operation, expected):
        for outcome in self.outcomes(operation):
            self.assertEqual(outcome, expected)

    def test_create_connection_sock(self):
        kind = 'create_connection'
        self.check_transport(f'{kind}:poll', _AFTER_POLL)
        self.check_transport(f'{kind}:write', _AFTER_WRITE)
        self.check_transport(f'{kind}:resume_reading', _AFTER_RESUME)
        self.check_transport(f'{kind}:queued_write', _AFTER_QUEUED_WRITE)

    def test_connect_accepted_socket(self):
        kind = 'connect_accepted_socket'
        self.check_transport(f'{kind}:poll', _AFTER_POLL)
        self.check_transport(f'{kind}:write', _AFTER_WRITE)
        self.check_transport(f'{kind}:resume_reading', _AFTER_RESUME)
        self.check_transport(f'{kind}:queued_write', _AFTER_QUEUED_WRITE)

    def test_create_unix_connection_sock(self):
        kind = 'create_unix_connection'
        self.check_transport(f'{kind}:poll', _PEER_SEES_CLOSE)
        self.check_transport(f'{kind}:write', _AFTER_WRITE)
        self.check_transport(f'{kind}:resume_reading', _AFTER_RESUME)
        self.check_transport(f'{kind}:queued_write', _AFTER_QUEUED_WRITE)

    def test_create_datagram_endpoint_sock(self):
        kind = 'create_datagram_endpoint'
        self.check_transport(f'{kind}:poll', _AFTER_POLL)
        # sendto() reports the socket's error to the protocol and goes on.
        self.check_transport(f'{kind}:write', {'events': ['error_received OSError 9'], 'closing': False,
                                               'after_close': ['lost'], 'errors': []})
        self.check_transport(f'{kind}:resume_reading', _AFTER_RESUME)

    def test_connect_read_pipe(self):
        if self.loop_name == 'rose':
            # rose reads through a duplicate of the pipe's descriptor, which
            # keeps the pipe open: the writer's data arrives (see rose/pipes.py).
            self.check_transport('connect_read_pipe:poll', {**_AFTER_POLL, 'events': ['data']})
        else:
            self.check_transport('connect_read_pipe:poll', _PEER_SEES_CLOSE)
        self.check_transport('connect_read_pipe:resume_reading', _AFTER_RESUME)

    def test_connect_write_pipe(self):
        kind = 'connect_write_pipe'
        self.check_transport(f'{kind}:poll', _AFTER_POLL)
        self.check_transport(f'{kind}:write', _AFTER_WRITE)
        # A write transport does not read: close() has nothing to fail at.
        after_queued_write = dict(_AFTER_QUEUED_WRITE)
        del after_queued_write['close_raised']
        self.check_transport(f'{kind}:queued_write', after_queued_write)


class ClosedServerSocketBehaviour(ChildOutcomes):
    """A server on the user's listening socket, which the user closes at each point.

    asyncio's loop accepts on that socket: closing it closes the port (a
    client is refused), and Server.close() then fails (ValueError, the
    socket's fileno() is -1) and leaves the server marked as serving.
    """

    expected = {'serving': True, 'client': 'refused', 'close_raised': 'ValueError None',
                'after_close': {'serving': True}, 'errors': []}

    def test_create_server_sock(self):
        for outcome in self.outcomes('server:create_server'):
            self.assertEqual(outcome, self.expected)

    def test_start_server_sock(self):
        for outcome in self.outcomes('server:start_server'):
            self.assertEqual(outcome, self.expected)


globals().update(loop_test_cases(ClosedDescriptorBehaviour))
globals().update(loop_test_cases(ClosedTransportSocketBehaviour))
globals().update(loop_test_cases(ClosedServerSocketBehaviour))
