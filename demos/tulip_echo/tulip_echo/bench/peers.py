"""Echo servers the benchmark compares against: gevent, and raw pyuv callbacks.

``python -m tulip_echo.bench.peers gevent|pyuv [--port N]`` listens on
127.0.0.1, prints ``serving on 127.0.0.1:PORT`` and echoes until SIGTERM or
SIGINT. They are benchmark peers, not demos: each is the plainest honest
server of its kind, with the same behaviour as the demo servers (concurrent
clients, echo until EOF then close, no unbounded buffering).

- gevent: a ``gevent.server.StreamServer`` whose handler is the blocking
  ``recv``/``sendall`` loop; ``sendall`` blocks the greenlet, so the client
  is slowed down by TCP when it does not read.
- pyuv: libuv's callbacks with nothing in between, the ceiling that any
  loop built on pyuv (rose, evergreen) can approach. Reading stops while
  more than :data:`HIGH_WATER` bytes wait to be written.
"""

from __future__ import annotations

import argparse
import signal
import sys

from ..machine import raise_fd_limit

__all__ = ["serve_gevent", "serve_pyuv"]

READ_SIZE = 256 * 1024
HIGH_WATER = 1024 * 1024


def _announce(host: str, port: int) -> None:
    print(f"serving on {host}:{port}", flush=True)


def serve_gevent(host: str, port: int) -> None:
    import gevent
    from gevent.event import Event
    from gevent.server import StreamServer

    def handle(sock, address) -> None:
        try:
            while data := sock.recv(READ_SIZE):
                sock.sendall(data)
        except ConnectionError:
            pass
        finally:
            sock.close()

    server = StreamServer((host, port), handle, backlog=4096)
    server.start()
    _announce(*server.address[:2])
    stop = Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        gevent.signal_handler(signum, stop.set)
    stop.wait()
    server.stop(timeout=1)


def serve_pyuv(host: str, port: int) -> None:
    import pyuv

    loop = pyuv.Loop.default_loop()
    server = pyuv.TCP(loop)
    clients: set = set()

    def on_written(handle, error) -> None:
        if error is None and not handle.closed:
            handle.start_read(on_read)

    def on_read(handle, data, error) -> None:
        if data is None:  # EOF or error
            clients.discard(handle)
            if error == pyuv.errno.UV_EOF:
                # Half-close honoured: shutdown() waits for the pending echo, then sends EOF.
                handle.shutdown(lambda h, _: h.close())
            else:
                handle.close()
            return
        if handle.write_queue_size + len(data) > HIGH_WATER:
            handle.stop_read()
            handle.write(data, on_written)
        else:
            handle.write(data)

    def on_connection(listener, error) -> None:
        if error is not None:
            return
        client = pyuv.TCP(loop)
        listener.accept(client)
        client.nodelay(True)
        clients.add(client)
        client.start_read(on_read)

    def on_signal(handle, signum) -> None:
        server.close()
        for client in list(clients):
            client.close()
        for handle in signals:
            handle.close()

    server.bind((host, port))
    server.listen(on_connection, 4096)
    _announce(*server.getsockname()[:2])
    signals = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        handle = pyuv.Signal(loop)
        handle.start(on_signal, signum)
        signals.append(handle)
    loop.run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tulip_echo.bench.peers",
                                     description="Benchmark peer echo servers.")
    parser.add_argument("kind", choices=("gevent", "pyuv"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    raise_fd_limit()
    serve = serve_gevent if args.kind == "gevent" else serve_pyuv
    try:
        serve(args.host, args.port)
    except OSError as exc:
        print(f"{parser.prog}: error: cannot listen on {args.host}:{args.port}: {exc}",
              file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
