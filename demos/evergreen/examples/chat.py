"""A chat server written as blocking code, one task per client.

::

    python chat.py --port 8023          # then, in other terminals: nc 127.0.0.1 8023

Each client first sends its nickname, then lines; every line goes to the
other clients as ``<nick> line``. ``/who`` lists who is here, ``/quit``
leaves. Everything is plain blocking code -- ``conn.readline()``,
``queue.get()`` -- in evergreen tasks: one reads from each client, one writes
to it from its own queue, so a client that does not read never holds up the
others (its queue fills up and it is disconnected).
"""

from __future__ import annotations

import argparse
import signal
from typing import Any

import evergreen
from evergreen import io
from evergreen.queue import Full, Queue

__all__ = ['ChatRoom', 'serve', 'main']

OUTBOX_SIZE = 100          # lines waiting for a slow client before it is dropped
MAX_LINE = 4096


class Client:
    """One connected client: its nickname and the lines waiting to be sent to it."""

    def __init__(self, connection: io.TCPConnection, nick: str) -> None:
        self.connection = connection
        self.nick = nick
        self.outbox: Queue = Queue(OUTBOX_SIZE)

    def send(self, line: str) -> bool:
        """Queue *line* for this client; False if it is too far behind to keep up."""
        try:
            self.outbox.put_nowait(line)
        except Full:
            return False
        return True

    def write_outbox(self) -> None:
        """The writer task: send queued lines until told to stop (None)."""
        try:
            while (line := self.outbox.get()) is not None:
                self.connection.write(line.encode() + b'\n')
        except OSError as exc:
            # The client went away, or was dropped: its reading task cleans up.
            if not (self.connection.closed or isinstance(exc, ConnectionError)):
                raise


class ChatRoom:
    """The clients in the room, and what happens when one speaks, joins or leaves."""

    def __init__(self) -> None:
        self.clients: dict[str, Client] = {}

    def broadcast(self, line: str, sender: Client | None = None) -> None:
        for client in list(self.clients.values()):
            if client is not sender and not client.send(line):
                # Too slow: drop it rather than let it hold everybody's memory.
                client.connection.abort()

    def handle(self, connection: io.TCPConnection) -> None:
        """Serve one connection (a task of its own): the whole conversation, blocking style."""
        connection.write(b'Welcome! Your nickname? ')
        nick = connection.readline(MAX_LINE).decode(errors='replace').strip()
        if not nick or ' ' in nick or nick in self.clients:
            connection.write(b'That nickname is taken or invalid; bye.\n')
            return
        client = Client(connection, nick)
        writer = evergreen.spawn(client.write_outbox)
        self.clients[nick] = client
        self.broadcast(f'* {nick} joined', client)
        client.send(f'* hello {nick}; here: {", ".join(sorted(self.clients))}')
        try:
            for raw in connection:
                line = raw.decode(errors='replace').rstrip('\r\n')
                if line == '/quit':
                    client.send('* bye')
                    break
                if line == '/who':
                    client.send(f'* here: {", ".join(sorted(self.clients))}')
                elif line:
                    self.broadcast(f'<{nick}> {line}', client)
        except OSError:
            if not connection.closed:      # not dropped by us for being too slow
                raise
        finally:
            del self.clients[nick]
            self.broadcast(f'* {nick} left', client)
            try:
                client.outbox.put_nowait(None)  # the writer sends what is queued, then stops
            except Full:
                connection.abort()
            if not writer.join(5):
                writer.kill()


def serve(address: tuple = ('127.0.0.1', 0)) -> tuple[io.TCPServer, ChatRoom]:
    """Start a chat server on *address*; return it and its room."""
    room = ChatRoom()
    return io.serve_tcp(room.handle, address), room


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=8023)
    args = parser.parse_args(argv)

    def run() -> Any:
        server, _ = serve((args.host, args.port))
        host, port = server.getsockname()[:2]
        print(f'chat server on {host}:{port} (Ctrl+C to stop)', flush=True)
        evergreen.get_loop().add_signal_handler(signal.SIGTERM, server.close)
        try:
            server.serve_forever()
        finally:
            server.shutdown(timeout=1)

    try:
        evergreen.run(run)
    except KeyboardInterrupt:
        print('stopped')


if __name__ == '__main__':
    main()
