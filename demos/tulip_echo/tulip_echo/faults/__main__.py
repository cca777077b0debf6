"""``python -m tulip_echo.faults [--quick|--tiny]``: run the fault matrix, print and write its table."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

from ..machine import raise_fd_limit
from . import report, runner
from .servers import SERVER_KINDS


def _servers(text: str) -> list[str]:
    names = [part for part in text.split(",") if part]
    known = [kind.name for kind in SERVER_KINDS]
    for name in names:
        if name not in known:
            raise argparse.ArgumentTypeError(
                f"unknown server {name!r}: choose from {', '.join(known)}")
    if not names:
        raise argparse.ArgumentTypeError("expected at least one server")
    return names


def _count(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive count, got {text!r}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="tulip_echo.faults",
        description="Broken links, hostile peers and a soak against every echo server; "
                    "prints one table and writes it as JSON.")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_const", dest="mode", const="quick",
                      help="smaller crowds, a 100,000-echo soak (a few minutes)")
    mode.add_argument("--tiny", action="store_const", dest="mode", const="tiny",
                      help="the machinery only, small sizes (what the tests run)")
    parser.set_defaults(mode="full")
    parser.add_argument("--servers", type=_servers, help="comma-separated server kinds")
    parser.add_argument("--soak-echoes", type=_count, help="echoes per soaked server")
    parser.add_argument("--out", type=Path, default=Path("bench-results"),
                        help="directory for the results (default bench-results)")
    args = parser.parse_args(argv)
    if not sys.platform.startswith("linux"):
        # Memory, descriptors and peak RSS are read from /proc, which only Linux has.
        print(f"tulip_echo.faults: error: the fault run reads /proc (memory, descriptors), "
              f"which only Linux has; not available on {sys.platform}", file=sys.stderr)
        return 2
    limit = raise_fd_limit()
    settings = runner.settings_for(args.mode, servers=args.servers,
                                   soak_echoes=args.soak_echoes)
    needed = 2 * max(settings.never_read, settings.slowloris) + 100
    if needed > limit:
        print(f"tulip_echo.faults: error: the {settings.mode} run needs {needed} descriptors "
              f"per process, the limit here is {limit} (raise ulimit -n, or use --quick)",
              file=sys.stderr)
        return 2
    started = time.monotonic()

    def progress(line: str) -> None:
        print(f"[{time.monotonic() - started:5.0f} s] {line}", file=sys.stderr, flush=True)

    def interrupted(signum: int, frame: object) -> None:
        # As Ctrl+C: every server, proxy and client process is stopped on the way out.
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    try:
        results = runner.run(settings, args.out, progress=progress)
    except KeyboardInterrupt:
        print("tulip_echo.faults: interrupted; every process it started is stopped",
              file=sys.stderr)
        return 130
    print(report.format_table(results))
    for path in report.write(results, args.out):
        progress(f"wrote {path}")
    return 0 if all(case["passed"] for case in results["cases"]) else 1


if __name__ == "__main__":
    sys.exit(main())
