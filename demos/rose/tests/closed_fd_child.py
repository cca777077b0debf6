"""Child process of test_closed_fds: close a descriptor under a pending operation, report what happened.

Run as ``python closed_fd_child.py LOOP DEBUG OPERATION``; prints one JSON line
per closing point as it finishes, so a process that dies (libuv aborts when
epoll refuses a closed descriptor) still shows how far it got.
"""

import asyncio
import json
import os
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

    async def close_at_point(self, close, trigger, *, settle=False):
        """Call *close* at this scenario's point, or arrange for it to be called.

        same_iteration: now, before any poll (after one ready round if
        *settle*, so a task can register first); otherwise after a poll round
        (the descriptor is then in the kernel's poll set), from another task,
        from a thread through call_soon_threadsafe, or from an I/O callback
        that a byte through *trigger* (a socket pair) fires. The caller
        awaits what *close* completes.
        """
        loop = self.loop
        if self.point == 'same_iteration':
            if settle:
                await asyncio.sleep(0)
            close()
            return
        await self.poll_round()
        if self.point == 'other_task':
            loop.create_task(asyncio.sleep(0)).add_done_callback(lambda _: close())
        elif self.point == 'thread':
            thread = threading.Thread(target=loop.call_soon_threadsafe, args=(close,))
            thread.start()
            thread.join()
        elif self.point == 'io_callback':
            trigger_r, trigger_w = trigger

            def on_readable():
                loop.remove_reader(trigger_r)
                close()

            loop.add_reader(trigger_r, on_readable)
            trigger_w.send(b'!')
        else:
            raise ValueError(self.point)

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

        await self.close_at_point(close, (trigger_r, trigger_w), settle=True)
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


class _Recorder:
    """A protocol that notes what it is told, for a transport's outcome."""

    def __init__(self, events):
        self.events = events

    def connection_made(self, transport):
        pass

    def data_received(self, data):
        if 'data' not in self.events:  # a count of reads would depend on timing
            self.events.append('data')

    def eof_received(self):
        self.events.append('eof')

    def datagram_received(self, data, addr):
        self.data_received(data)

    def error_received(self, exc):
        self.events.append(f'error_received {type(exc).__name__} {exc.errno}')

    def pause_writing(self):
        self.events.append('pause_writing')

    def resume_writing(self):
        self.events.append('resume_writing')

    def connection_lost(self, exc):
        if exc is None:
            self.events.append('lost')
        else:
            self.events.append(f'lost {type(exc).__name__} {getattr(exc, "errno", None)}')


def _describe(exc):
    return f'{type(exc).__name__} {getattr(exc, "errno", None)}'


class TransportScenario(Scenario):
    """A transport made on the user's socket (or pipe), which the user closes at one point.

    *operation* is ``KIND:ACTION``. KIND says how the transport is made;
    ACTION what follows the close: ``poll`` (the peer sends, the loop
    polls), ``write``, ``resume_reading`` (paused before the close) or
    ``queued_write`` (data the kernel did not take is waiting when the
    socket is closed).
    """

    async def make(self, kind):
        """Make the transport; return (it, what the user closes, the peer)."""
        loop = self.loop
        self.events = []

        def factory():
            return _Recorder(self.events)

        if kind in ('create_connection', 'connect_accepted_socket'):
            listener = self.socket()
            listener.bind(('127.0.0.1', 0))
            listener.listen(1)
            client = self.socket()
            try:
                client.connect(listener.getsockname())
            except BlockingIOError:
                pass
            server_side, _ = await loop.sock_accept(listener)
            self.closables.append(server_side)
            if kind == 'create_connection':
                target, peer = client, server_side
                transport, _ = await loop.create_connection(factory, sock=target)
            else:
                target, peer = server_side, client
                transport, _ = await loop.connect_accepted_socket(factory, sock=target)
        elif kind == 'create_unix_connection':
            target, peer = self.pair()
            transport, _ = await loop.create_unix_connection(factory, sock=target)
        elif kind == 'create_datagram_endpoint':
            target = self.socket(socket.AF_INET, socket.SOCK_DGRAM)
            target.bind(('127.0.0.1', 0))
            peer = self.socket(socket.AF_INET, socket.SOCK_DGRAM)
            peer.bind(('127.0.0.1', 0))
            peer.connect(target.getsockname())
            target.connect(peer.getsockname())
            transport, _ = await loop.create_datagram_endpoint(factory, sock=target)
        elif kind == 'connect_read_pipe':
            rfd, wfd = os.pipe()
            target, peer = os.fdopen(rfd, 'rb', buffering=0), os.fdopen(wfd, 'wb', buffering=0)
            self.closables += [target, peer]
            transport, _ = await loop.connect_read_pipe(factory, target)
        elif kind == 'connect_write_pipe':
            rfd, wfd = os.pipe()
            peer, target = os.fdopen(rfd, 'rb', buffering=0), os.fdopen(wfd, 'wb', buffering=0)
            self.closables += [target, peer]
            transport, _ = await loop.connect_write_pipe(factory, target)
        else:
            raise ValueError(kind)
        self.closables.append(transport)
        return transport, target, peer

    def peer_send(self, peer):
        if isinstance(peer, socket.socket):
            peer.send(b'ping')
        else:
            peer.write(b'ping')

    async def run(self):
        loop = self.loop
        kind, action = self.operation.split(':')
        transport, target, peer = await self.make(kind)
        outcome = {}
        trigger_r, trigger_w = self.pair()
        await self.poll_round()  # connection_made has run, reading started
        if action == 'resume_reading':
            transport.pause_reading()
        elif action == 'queued_write':
            if isinstance(peer, socket.socket):
                peer.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            for _ in range(64):  # at most 4 MiB; the peer never reads
                transport.write(b'q' * 65536)
                if transport.get_write_buffer_size():
                    break
            outcome['queued'] = bool(transport.get_write_buffer_size())
        closed = loop.create_future()

        def close():
            target.close()
            closed.set_result(None)

        await self.close_at_point(close, (trigger_r, trigger_w))
        await closed
        try:
            if action == 'poll' and kind != 'connect_write_pipe':
                self.peer_send(peer)
            elif action == 'write':
                if kind == 'create_datagram_endpoint':
                    transport.sendto(b'w')
                else:
                    transport.write(b'w')
            elif action == 'resume_reading':
                transport.resume_reading()
        except Exception as exc:
            outcome['raised'] = _describe(exc)
        for _ in range(3):
            await self.poll_round()
        outcome['events'] = list(self.events)
        outcome['closing'] = transport.is_closing()
        try:
            transport.close()
        except Exception as exc:
            outcome['close_raised'] = _describe(exc)
        for _ in range(3):
            await self.poll_round()
        outcome['after_close'] = self.events[len(outcome['events']):]
        return outcome


class ServerScenario(Scenario):
    """A server listening on the user's socket, which the user closes at one point.

    *operation* is ``server:create_server`` or ``server:start_server``.
    Afterwards a client connects: ``refused`` (the port is closed),
    ``served`` (the server made a protocol for it) or ``waiting`` (the
    kernel took the connection, nobody accepts it); then the server closes.
    """

    async def run(self):
        loop = self.loop
        kind = self.operation.split(':')[1]
        listener = self.socket()
        listener.bind(('127.0.0.1', 0))
        listener.listen(8)
        address = listener.getsockname()
        served = []
        # Made before the close: the listener's number must not be reused
        # (asyncio's selector would take the client for the listener).
        client = self.socket()

        class Served(_Recorder):
            def connection_made(self, transport):
                served.append('connection')

        if kind == 'create_server':
            server = await loop.create_server(lambda: Served([]), sock=listener)
        else:
            async def handle(reader, writer):
                served.append('connection')
                writer.close()

            server = await asyncio.start_server(handle, sock=listener)
        trigger_r, trigger_w = self.pair()
        await self.poll_round()
        closed = loop.create_future()

        def close():
            listener.close()
            closed.set_result(None)

        await self.close_at_point(close, (trigger_r, trigger_w))
        await closed
        for _ in range(2):
            await self.poll_round()
        outcome = {'serving': server.is_serving()}
        try:
            await asyncio.wait_for(loop.sock_connect(client, address), 5)
        except ConnectionRefusedError:
            outcome['client'] = 'refused'
        else:
            for _ in range(3):
                await self.poll_round()
            outcome['client'] = 'served' if served else 'waiting'
        try:
            server.close()
            await asyncio.wait_for(server.wait_closed(), 5)
        except Exception as exc:
            outcome['close_raised'] = _describe(exc)
        outcome['after_close'] = {'serving': server.is_serving()}
        return outcome


def main():
    loop_name, debug, operation = sys.argv[1], sys.argv[2] == '1', sys.argv[3]
    for point in POINTS:
        loop = LOOP_FACTORIES[loop_name]()
        loop.set_debug(debug)
        errors = []
        loop.set_exception_handler(lambda loop, context, errors=errors:
                                   errors.append(context.get('message')))
        if operation.startswith('server:'):
            scenario_class = ServerScenario
        elif ':' in operation:
            scenario_class = TransportScenario
        else:
            scenario_class = Scenario
        scenario = scenario_class(loop, operation, point)
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
