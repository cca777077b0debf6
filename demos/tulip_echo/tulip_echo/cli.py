"""The command line: ``python -m tulip_echo server|client|bench``.

Every mistake a user can make at the command line (an unknown loop, a port
out of range, an address in use, a server that is not there) ends with one
line on stderr that says what went wrong and exit status 2, never a
traceback.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import time
from collections.abc import Sequence
from typing import NoReturn

from . import loops
from .machine import raise_fd_limit
from .server import ASYNCIO_STYLES, DEFAULT_BACKLOG, DEFAULT_GRACE

__all__ = ["main"]

PROG = "tulip_echo"
STYLES = (*ASYNCIO_STYLES, "evergreen")
DEFAULT_PORT = 8888
EXIT_USAGE = 2


class UsageError(Exception):
    """Bad input from the command line: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _port(text: str, *, allow_zero: bool) -> int:
    low = 0 if allow_zero else 1
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not low <= port <= 65535:
        raise argparse.ArgumentTypeError(
            f"port must be an integer from {low} to 65535, got {text!r}")
    return port


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds >= 0, got {text!r}")
    return value


def _size(text: str) -> int:
    """A byte count, with an optional K or M suffix (KiB, MiB)."""
    units = {"k": 1024, "m": 1024 * 1024}
    scale = units.get(text[-1:].lower(), 1)
    digits = text[:-1] if scale != 1 else text
    if not digits.isdigit() or int(digits) * scale == 0:
        raise argparse.ArgumentTypeError(f"expected a size such as 1024, 64K or 8M, got {text!r}")
    return int(digits) * scale


def _add_common(parser: argparse.ArgumentParser, *, server: bool, default_style: str) -> None:
    parser.add_argument("--loop", choices=loops.LOOPS,
                        help="event loop for the protocol and streams styles (default asyncio)")
    parser.add_argument("--style", choices=STYLES, default=default_style,
                        help=f"how the echo is written (default {default_style})")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to %s (default 127.0.0.1)" % ("listen on" if server else "connect to"))
    parser.add_argument("--port", default=DEFAULT_PORT,
                        type=lambda text: _port(text, allow_zero=server),
                        help=f"TCP port (default {DEFAULT_PORT}%s)" % (", 0 picks a free one" if server else ""))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="The echo server and client of the asyncio talks, "
                     "on asyncio, rose, uvloop and evergreen, and their benchmark.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="server|client|bench",
                                     parser_class=_Parser)

    server = commands.add_parser("server", help="run an echo server until SIGINT or SIGTERM")
    _add_common(server, server=True, default_style="protocol")
    server.add_argument("--grace", type=_positive_float, default=DEFAULT_GRACE,
                        help=f"seconds clients get to leave at shutdown (default {DEFAULT_GRACE:g})")
    server.add_argument("--backlog", type=int, default=DEFAULT_BACKLOG,
                        help=f"listen backlog (default {DEFAULT_BACKLOG})")
    server.add_argument("--quiet", action="store_true",
                        help="print only the listening address and the shutdown")

    client = commands.add_parser("client", help="echo messages (arguments, or stdin lines)")
    _add_common(client, server=False, default_style="streams")
    client.add_argument("messages", nargs="*",
                        help="messages to echo; without any, each line of stdin is one")
    client.add_argument("--size", type=_size,
                        help="instead of messages, echo random payloads of this size (e.g. 8M)")
    client.add_argument("--count", type=int, default=1, help="how many --size payloads (default 1)")
    client.add_argument("--timeout", type=_positive_float, default=30.0,
                        help="give up after this many seconds (default 30; 0 waits forever)")

    bench = commands.add_parser("bench", help="benchmark every server kind (see tulip_echo.bench)")
    from .bench import cli as bench_cli
    bench_cli.add_arguments(bench)
    return parser


def _check_runtime(args: argparse.Namespace) -> None:
    if args.style == "evergreen":
        if args.loop is not None:
            raise UsageError("--style evergreen runs on evergreen's own loop; drop --loop")
        reason = loops.evergreen_unavailable_reason()
        if reason:
            raise UsageError(f"the evergreen style is unavailable: {reason}")
        return
    args.loop = args.loop or "asyncio"
    reason = loops.unavailable_reason(args.loop)
    if reason:
        raise UsageError(f"the {args.loop} loop is unavailable: {reason}")


def _describe_oserror(exc: OSError) -> str:
    if isinstance(exc, socket.gaierror):
        return exc.strerror or str(exc)
    if exc.errno is not None:
        return os.strerror(exc.errno).lower()
    return str(exc)


def _say(line: str) -> None:
    print(line, flush=True)


def run_server(args: argparse.Namespace) -> int:
    raise_fd_limit()  # a server holds as many clients as the hard limit allows
    report = None if args.quiet else _say
    where = f"{args.host}:{args.port}"
    try:
        if args.style == "evergreen":
            from . import green
            green.serve(args.host, args.port, grace=args.grace, backlog=args.backlog,
                        report=report, announce=_say)
        else:
            from .server import EchoServer

            async def serve() -> None:
                server = await EchoServer.start(args.host, args.port, style=args.style,
                                                backlog=args.backlog, report=report)
                host, port = server.address
                _say(f"{PROG}: serving on {host}:{port} (style {args.style}, loop {args.loop}); "
                     f"Ctrl+C to stop")
                await server.serve_until_signal(args.grace)

            loops.run(serve(), args.loop)
    except OSError as exc:
        raise UsageError(f"cannot listen on {where}: {_describe_oserror(exc)}") from None
    return 0


def _client_payloads(args: argparse.Namespace) -> tuple[list[bytes], bool]:
    """The messages to send, and whether to print their echoes."""
    if args.size is not None:
        if args.messages:
            raise UsageError("give either messages or --size, not both")
        if args.count < 1:
            raise UsageError(f"--count must be at least 1, got {args.count}")
        return [os.urandom(args.size) for _ in range(args.count)], False
    if args.messages:
        return [message.encode() for message in args.messages], True
    return [line.encode() for line in sys.stdin], True


def run_client(args: argparse.Namespace) -> int:
    from .client import EchoMismatch
    payloads, show = _client_payloads(args)
    where = f"{args.host}:{args.port}"
    started = time.perf_counter()
    timeout = args.timeout or None
    try:
        if args.style == "evergreen":
            from . import green
            echoed = green.exchange(args.host, args.port, payloads, timeout=timeout)
        else:
            from .client import exchange
            echoed = loops.run(exchange(args.host, args.port, payloads, style=args.style,
                                        timeout=timeout), args.loop)
    except TimeoutError:
        raise UsageError(f"no complete echo from {where} within {args.timeout:g} s "
                         f"(use --timeout to wait longer)") from None
    except EchoMismatch as exc:
        raise UsageError(f"bad echo from {where}: {exc}") from None
    except OSError as exc:
        raise UsageError(f"cannot echo with {where}: {_describe_oserror(exc)}") from None
    elapsed = time.perf_counter() - started
    if show:
        for message in echoed:
            sys.stdout.write(message.decode(errors="replace").rstrip("\n") + "\n")
    else:
        total = sum(map(len, echoed))
        print(f"{len(echoed)} payload(s), {total} bytes echoed intact in {elapsed:.3f} s "
              f"({total / elapsed / 2**20:.1f} MiB/s)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command == "bench":
            from .bench import cli as bench_cli
            return bench_cli.run(args)
        _check_runtime(args)
        if args.command == "server":
            return run_server(args)
        return run_client(args)
    except UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
