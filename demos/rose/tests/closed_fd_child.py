"""Child process of test_closed_fds: close a descriptor under a pending operation, report what happened.

Run as ``python closed_fd_child.py LOOP DEBUG OPERATION``; prints one JSON line
per closing point as it finishes, so a process that dies (libuv aborts when
epoll refuses a closed descriptor) still shows how far it got.
"""

import asyncio
import json
import socket
import sys
import threading

from rose.testing import LOOP_FACTORIES

POINTS = ('same_iteration', 'other_task', 'thread', 'io_callback')


def _pair():
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    return a, b


def _fill(sock):
    """Fill *sock*'s send buffer (its peer never reads), so it is not writable."""
    chunk = b'x' * 65536
    while True:
        try:
            sock.send(chunk)
        except BlockingIOError:
            return


class Scenario:
    """One operation waiting on a descriptor, closed at one point."""

    def __init__(self, loop, operation, point):
        self.loop = loop
        self.operation = operation
        self.point = point
        self.closables = []
        self.called = []
        # Made first: once the target is closed no new descriptor may take
        # its number (asyncio's selector would confuse the two).
        self.ping_r, self.ping_w = self.pair()

    async def poll_round(self):
        """One real poll of the loop's I/O: a byte through the ping pair."""
        self.loop.call_soon(self.ping_w.send, b'x')
        await self.loop.sock_recv(self.ping_r, 1)

    def socket(self, *args):
        sock = socket.socket(*args)
        sock.setblocking(False)
        self.closables.append(sock)
        return sock

    def pair(self):
        a, b = _pair()
        self.closables += [a, b]
        return a, b

    def start(self):
        """Start the operation; return (the socket to close, its task or None)."""
        loop, op = self.loop, self.operation
        if op in ('sock_recv', 'sock_recv_into', 'sock_recvfrom', 'add_reader', 'reader_and_writer'):
            target, _peer = self.pair()
        if op == 'sock_recv':
            return target, loop.create_task(loop.sock_recv(target, 10))
        if op == 'sock_recv_into':
            return target, loop.create_task(loop.sock_recv_into(target, bytearray(10)))
        if op == 'sock_recvfrom':
            return target, loop.create_task(loop.sock_recvfrom(target, 10))
        if op == 'sock_sendall':
            target, _peer = self.pair()
            _fill(target)
            return target, loop.create_task(loop.sock_sendall(target, b'y' * 65536))
        if op == 'sock_accept':
            target = self.socket()
            target.bind(('127.0.0.1', 0))
            target.listen(1)
            return target, loop.create_task(loop.sock_accept(target))
        if op == 'sock_connect':
            # A listener whose backlog is full drops the SYN: the connect waits.
            listener = self.socket()
            listener.bind(('127.0.0.1', 0))
            listener.listen(0)
            address = listener.getsockname()
            for _ in range(3):
                filler = self.socket()
                try:
                    filler.connect(address)
                except BlockingIOError:
                    pass
            target = self.socket()
            return target, loop.create_task(loop.sock_connect(target, address))
        if op == 'add_reader':
            loop.add_reader(target, self.called.append, 'reader')
            return target, None
        if op == 'add_writer':
            target, _peer = self.pair()
            _fill(target)
            loop.add_writer(target, self.called.append, 'writer')
            return target, None
        if op == 'reader_and_writer':
            _fill(target)
            loop.add_reader(target, self.called.append, 'reader')
            loop.add_writer(target, self.called.append, 'writer')
            return target, None
        raise ValueError(op)

    async def run(self):
        loop = self.loop
        target, task = self.start()
        closed = loop.create_future()
        trigger_r, trigger_w = self.pair()

        def close():
            target.close()
            if self.operation == 'reader_and_writer':
                # Changes what is watched on the closed descriptor.
                try:
                    closed.set_result(loop.remove_writer(target))
                except OSError as exc:
                    closed.set_result(f'OSError {exc.errno}')
            else:
                closed.set_result(None)

        if self.point == 'same_iteration':
            await asyncio.sleep(0)  # the task registers; no poll yet
            close()
        else:
            await self.poll_round()  # the descriptor is in the kernel's poll set
            if self.point == 'other_task':
                loop.create_task(asyncio.sleep(0)).add_done_callback(lambda _: close())
            elif self.point == 'thread':
                thread = threading.Thread(target=loop.call_soon_threadsafe, args=(close,))
                thread.start()
                thread.join()
            elif self.point == 'io_callback':
                def on_readable():
                    loop.remove_reader(trigger_r)
                    close()

                loop.add_reader(trigger_r, on_readable)
                trigger_w.send(b'!')
        outcome = {'removed_other_side': await closed}
        for _ in range(3):
            await self.poll_round()
        if task is None:
            outcome['called'] = self.called
            try:
                outcome['removed'] = loop.remove_reader(target) or loop.remove_writer(target)
            except ValueError:  # nothing is registered for the object (closed) any more
                outcome['removed'] = 'ValueError'
        else:
            outcome['done'] = task.done()
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                outcome['cancelled'] = True
        return outcome

    def cleanup(self):
        for sock in self.closables:
            sock.close()


def main():
    loop_name, debug, operation = sys.argv[1], sys.argv[2] == '1', sys.argv[3]
    for point in POINTS:
        loop = LOOP_FACTORIES[loop_name]()
        loop.set_debug(debug)
        errors = []
        loop.set_exception_handler(lambda loop, context, errors=errors:
                                   errors.append(context.get('message')))
        scenario = Scenario(loop, operation, point)
        try:
            outcome = loop.run_until_complete(asyncio.wait_for(scenario.run(), 10))
        finally:
            scenario.cleanup()
            loop.run_until_complete(asyncio.sleep(0))
            loop.close()
        outcome['errors'] = errors
        print(json.dumps({'point': point, **outcome}), flush=True)


if __name__ == '__main__':
    main()
