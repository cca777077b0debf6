"""evergreen.io: native libuv streams, servers and datagrams for tasks.

Blocking-style calls that park only the calling task; libuv (through pyuv,
on the loop's ``uv_loop``) does the I/O.

TCP
    ``TCPClient().connect((host, port))``; ``TCPServer(handler)`` with
    ``bind(address)``, ``listen()``, ``serve_forever()``, ``close()``,
    ``wait_closed()``, ``shutdown(timeout)``; ``serve_tcp(handler, address)``
    does bind and listen. The handler gets a ``TCPConnection`` in a task of
    its own, closed when the handler returns.
Unix pipes
    ``PipeClient().connect(path)``, ``PipeServer(handler)``/``serve_pipe``,
    ``PipeStream.open(fd)``.
UDP
    ``UDPEndpoint()`` with ``bind``, ``sendto``, ``recvfrom``.
Terminals
    ``TTYStream(fd)``, ``stdin()``, ``stdout()``.

Every stream reads with ``read(n)``, ``read_exactly(n)``, ``read_until(sep)``,
``readline()`` (and iteration over lines) and writes with ``write(data)``,
``drain()``, ``shutdown()`` (half-close), ``close()``/``abort()``. Errors are
the ``OSError`` subclasses sockets raise, with the address in the message.
Bound any call with ``evergreen.Timeout``.
"""

from .pipe import PipeClient, PipeConnection, PipeServer, PipeStream, serve_pipe
from .server import StreamServer
from .stream import IncompleteReadError, LimitOverrunError, Stream
from .tcp import TCPClient, TCPConnection, TCPServer, TCPStream, serve_tcp
from .tty import TTYStream, stdin, stdout
from .udp import UDPEndpoint

__all__ = [
    'Stream', 'StreamServer', 'IncompleteReadError', 'LimitOverrunError',
    'TCPStream', 'TCPClient', 'TCPConnection', 'TCPServer', 'serve_tcp',
    'PipeStream', 'PipeClient', 'PipeConnection', 'PipeServer', 'serve_pipe',
    'UDPEndpoint', 'TTYStream', 'stdin', 'stdout',
]
