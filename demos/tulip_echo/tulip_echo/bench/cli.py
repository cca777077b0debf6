"""``python -m tulip_echo bench``: run the benchmark and write its JSON, table and charts."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

from . import loadgen, runner
from .charts import LANGS, chart, chart_cpu
from .report import format_table, load
from .runner import KIND_NAMES, PRESETS

__all__ = ["add_arguments", "run"]


def _list(convert):
    def parse(text: str) -> list:
        try:
            values = [convert(part) for part in text.split(",") if part]
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a comma-separated list, got {text!r}") from None
        if not values:
            raise argparse.ArgumentTypeError("expected at least one value")
        return values
    return parse


def _size(text: str) -> int:
    scale = {"k": 1024, "m": 1024 * 1024}.get(text[-1:].lower(), 1)
    value = int(text[:-1] if scale != 1 else text) * scale
    if value <= 0:
        raise ValueError(text)
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise ValueError(text)
    return value


def _kind(text: str) -> str:
    if text not in KIND_NAMES:
        raise argparse.ArgumentTypeError(
            f"unknown server kind {text!r}: choose from {', '.join(KIND_NAMES)}")
    return text


def _seconds(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected seconds >= 0, got {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_const", dest="mode", const="quick",
                      help="rehearsal run, under a minute: 1 and 100 KiB, 10 connections, 1 round")
    mode.add_argument("--tiny", action="store_const", dest="mode", const="tiny",
                      help="smoke test: every kind for a fraction of a second (the tests use it)")
    parser.set_defaults(mode="full")
    parser.add_argument("--kinds", type=_list(_kind), help=f"server kinds ({', '.join(KIND_NAMES)})")
    parser.add_argument("--sizes", type=_list(_size), help="message sizes, e.g. 1K,10K,100K")
    parser.add_argument("--connections", type=_list(_positive_int), help="e.g. 10,100")
    parser.add_argument("--warmup", type=_seconds, help="seconds before measuring")
    parser.add_argument("--duration", type=_seconds, help="seconds measured")
    parser.add_argument("--rounds", type=_positive_int, help="interleaved rounds")
    parser.add_argument("--prewarm", type=_seconds,
                        help="seconds each server echoes every size, over connections that then "
                             "close, before its first measurement (0 measures cold servers)")
    parser.add_argument("--hold", type=int,
                        help="connections each server must hold at once (0 skips the check)")
    parser.add_argument("--wait", choices=loadgen.WAITS,
                        help="how the load generator waits for echoes: spin (busy-poll, the "
                             "default) or block (sleep in epoll_wait, like an ordinary client)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin servers and load generator to CPUs")
    parser.add_argument("--out", type=Path, default=Path("bench-results"),
                        help="directory for results (default bench-results)")
    parser.add_argument("--no-chart", action="store_true", help="skip the PNG/SVG charts")
    parser.add_argument("--lang", choices=LANGS, default="en",
                        help="language of the charts' text (default en; es: Spanish)")
    parser.add_argument("--chart-from", type=Path, metavar="RESULTS.json",
                        help="only redraw the table and charts of an existing results file "
                             "(--sizes and --connections choose what the charts show)")


class _Progress:
    """A progress line on a terminal, one line per step elsewhere."""

    def __init__(self, seconds_per_step: float) -> None:
        self.tty = sys.stderr.isatty()
        self.seconds_per_step = seconds_per_step

    def step(self, done: int, total: int, what: str) -> None:
        if total:
            left = (total - done) * self.seconds_per_step
            line = f"[{done:>3}/{total}] {what}  (~{left:.0f} s left)"
        else:
            line = what
        if self.tty:
            sys.stderr.write(f"\r\033[K{line}")
            if done == total and total:
                sys.stderr.write("\n")
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def say(self, line: str) -> None:
        sys.stderr.write(("\r\033[K" if self.tty else "") + line + "\n")
        sys.stderr.flush()


def _charts(results, out: Path, name: str, lang: str, **selection) -> list[Path]:
    """Throughput as NAME.png/.svg, CPU per message as NAME-cpu.png/.svg (NAME-es... in Spanish)."""
    suffix = "" if lang == "en" else f"-{lang}"
    return (chart(results, out / f"{name}{suffix}", lang=lang, **selection)
            + chart_cpu(results, out / f"{name}-cpu{suffix}", lang=lang, **selection))


def _write_outputs(results, out: Path, name: str, draw: bool, lang: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / f"{name}.json"
    json_path.write_text(json.dumps(results, indent=1) + "\n")
    table_path = out / f"{name}.txt"
    table_path.write_text(format_table(results) + "\n")
    written = [json_path, table_path]
    if draw and results["summary"]:
        written += _charts(results, out, name, lang)
    return written


def run(args: argparse.Namespace) -> int:
    if args.chart_from is not None:
        try:
            results = load(args.chart_from)
        except (OSError, ValueError) as exc:
            print(f"tulip_echo: error: cannot read {args.chart_from}: {exc}", file=sys.stderr)
            return 2
        print(format_table(results))
        try:
            written = _charts(results, args.out, args.chart_from.stem, args.lang,
                              sizes=args.sizes, connections=args.connections)
        except ValueError as exc:
            print(f"tulip_echo: error: cannot chart {args.chart_from}: {exc}", file=sys.stderr)
            return 2
        for path in written:
            print(f"wrote {path}")
        return 0
    settings = dataclasses.replace(PRESETS[args.mode])
    for option in ("kinds", "sizes", "connections", "warmup", "duration", "rounds", "prewarm",
                   "hold", "wait"):
        value = getattr(args, option)
        if value is not None:
            setattr(settings, option, value)
    if args.no_pin:
        settings.pin = False
    if any(getattr(args, o) is not None
           for o in ("sizes", "connections", "warmup", "duration", "rounds", "prewarm", "wait")):
        settings.mode = f"{settings.mode}-custom"
    progress = _Progress(settings.warmup + settings.duration + 0.15)
    progress.say(f"echo benchmark ({settings.mode}): {settings.measurements()} measurements, "
                 f"about {settings.estimate_s() / 60:.1f} min; results in {args.out}/")
    started = time.monotonic()
    try:
        results = runner.run(settings, args.out, progress=progress.say, step=progress.step)
    except (loadgen.LoadgenError, ValueError) as exc:
        print(f"tulip_echo: error: {exc}", file=sys.stderr)
        return 2
    print(format_table(results))
    for path in _write_outputs(results, args.out, f"echo-{settings.mode}", not args.no_chart,
                               args.lang):
        progress.say(f"wrote {path}")
    progress.say(f"finished in {time.monotonic() - started:.0f} s")
    failed = results["failures"] or any(not entry["ok"] for entry in results["hold"])
    return 1 if failed else 0

