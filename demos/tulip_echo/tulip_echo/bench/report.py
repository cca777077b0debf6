"""Turn benchmark samples into the summary and the terminal table.

Results are plain JSON (``format`` 2; files of format 1, without the warm-up
cycle and the CPU split, still load, and whatever they lack is reported as
missing)::

    meta      machine, date, Python, package versions, load average, settings
    kinds     every kind asked for, with "available" and, if not, the reason
    prewarm   the warm-up cycle every server went through before its first
              measurement: "seconds_per_size", "connections", "sizes", and
              "runs" (what each server did then; not measurements)
    samples   one entry per measurement (kind, size, connections, round, ...)
    failures  measurements that failed, with the error
    hold      the many-connections check, one entry per kind
    summary   per (kind, size, connections): medians over the rounds;
              "ratio", messages/s relative to asyncio's own loop (the
              asyncio Protocol server) in the same run; "ratio_same_style",
              streams kinds relative to asyncio streams; "user_us_per_msg"
              and "sys_us_per_msg", the server's user and system CPU time
              per echoed message in the measured window; "less_user_cpu",
              asyncio's user CPU per message over this kind's (2.0: half as
              much); "faults_per_msg", the server's minor page faults per
              message; "others_cpu", the share of the server's CPU that other
              processes (or the hypervisor) took; "contended", true when that
              share was high or neither server nor load generator was saturated

:mod:`tulip_echo.bench.charts` draws the decks' figures from such a file (or
dict) without running anything.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from ..machine import cpu_model
from . import loadgen
from .runner import BASELINE, KINDS, size_label

__all__ = ["describe_run", "format_table", "has_cpu_split", "labels", "load", "machine_metadata", "summarize"]

FORMATS = (1, 2)

SAME_STYLE_BASELINE = {"streams": "asyncio-streams"}
PACKAGES = ("uvloop", "gevent", "greenlet", "pyuv", "rose-pyuv", "evergreen-pyuv", "tulip-echo")
#: Below this share, neither the server's CPU nor the load generator is saturated: with
#: ten or more messages in flight that only happens when other processes take the CPU.
SATURATED = 0.75
#: Above this share of the server's CPU taken by other processes (or stolen by the
#: hypervisor) during a measurement, its figure says more about the machine than the server.
OTHERS_LIMIT = 0.10
METRICS = ("messages_per_s", "mib_per_s", "p50_us", "p99_us", "loadgen_busy", "server_cpu")
#: Per-message server figures, missing (None) in files of format 1.
CPU_METRICS = ("user_us_per_msg", "sys_us_per_msg", "faults_per_msg")
#: The terminal table stays within this many columns.
TABLE_WIDTH = 130


def _git_commit() -> str | None:
    """The checkout's commit, marked "+dirty" when the demos differ from it."""
    where = Path(__file__).parent
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=False, cwd=where).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "../../.."],
                               capture_output=True, text=True, check=False, cwd=where).stdout.strip()
    except OSError:
        return None
    return (head + ("+dirty" if dirty else "")) or None


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def machine_metadata(settings: Any, server_cpu: int | None, client_cpu: int | None) -> dict:
    """Where and how the benchmark ran: enough to judge and reproduce a result."""
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "loadavg_start": list(os.getloadavg()),
        "versions": {package: _version(package) for package in PACKAGES},
        "commit": _git_commit(),
        "loadgen": {"language": "C (epoll, one thread)", "compiler": loadgen.compiler_version(),
                    "cflags": " ".join(loadgen.CFLAGS)},
        "pinning": ({"servers": server_cpu, "loadgen": client_cpu}
                    if server_cpu is not None else None),
        "mode": settings.mode,
    }


def summarize(results: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Medians over rounds per (kind, size, connections), with ratios to asyncio."""
    groups: dict[tuple[str, int, int], list[Mapping[str, Any]]] = {}
    for sample in results["samples"]:
        groups.setdefault((sample["kind"], sample["size"], sample["connections"]), []).append(sample)
    styles = {kind["name"]: kind["style"] for kind in results["kinds"]}
    summary = []
    for (kind, size, connections), samples in groups.items():
        entry: dict[str, Any] = {"kind": kind, "size": size, "connections": connections,
                                 "rounds": len(samples)}
        for metric in METRICS:
            entry[metric] = round(statistics.median(s[metric] for s in samples), 3)
        for metric in CPU_METRICS:
            values = [s[metric] for s in samples if s.get(metric) is not None]
            entry[metric] = round(statistics.median(values), 3) if values else None
        others = [s["others_cpu"] for s in samples if s.get("others_cpu") is not None]
        entry["others_cpu"] = round(statistics.median(others), 3) if others else None
        entry["contended"] = ((entry["others_cpu"] or 0) > OTHERS_LIMIT
                              or (entry["server_cpu"] < SATURATED
                                  and entry["loadgen_busy"] < SATURATED))
        summary.append(entry)
    by_key = {(e["kind"], e["size"], e["connections"]): e for e in summary}
    for entry in summary:
        base = by_key.get((BASELINE, entry["size"], entry["connections"]))
        entry["ratio"] = (round(entry["messages_per_s"] / base["messages_per_s"], 3)
                          if base and base["messages_per_s"] else None)
        same = SAME_STYLE_BASELINE.get(styles.get(entry["kind"], ""), BASELINE)
        base = by_key.get((same, entry["size"], entry["connections"]))
        entry["ratio_same_style"] = (round(entry["messages_per_s"] / base["messages_per_s"], 3)
                                     if base and base["messages_per_s"] else None)
        base = by_key.get((BASELINE, entry["size"], entry["connections"]))
        mine, theirs = entry["user_us_per_msg"], base and base["user_us_per_msg"]
        entry["less_user_cpu"] = round(theirs / mine, 3) if mine and theirs else None
    order = {kind["name"]: i for i, kind in enumerate(results["kinds"])}
    summary.sort(key=lambda e: (e["size"], e["connections"], order.get(e["kind"], 99)))
    return summary


def load(source: str | os.PathLike | Mapping[str, Any]) -> Mapping[str, Any]:
    """Results from a JSON file's path, or a dict passed through.

    Raises ValueError for a file that is not a results file of a known format.
    """
    results = source if isinstance(source, Mapping) else json.loads(Path(source).read_text())
    if not isinstance(results, Mapping) or "summary" not in results or "kinds" not in results:
        raise ValueError(f"{source if not isinstance(source, Mapping) else 'the data'} is not "
                         "an echo benchmark results file (no summary or kinds)")
    if results.get("format", 1) not in FORMATS:
        raise ValueError(f"results format {results.get('format')!r} is newer than this "
                         f"tulip_echo reads ({', '.join(map(str, FORMATS))}): update tulip_echo")
    return results


def labels(results: Mapping[str, Any]) -> dict[str, str]:
    """Each kind's label: today's for the kinds this version knows, else the file's."""
    stored = {kind["name"]: kind["label"] for kind in results["kinds"]}
    return {**stored, **{kind.name: kind.label for kind in KINDS if kind.name in stored}}


def has_cpu_split(results: Mapping[str, Any]) -> bool:
    """Whether the results hold the servers' user/system CPU per message (format 2)."""
    return any(entry.get("user_us_per_msg") is not None for entry in results["summary"])


def describe_run(results: Mapping[str, Any]) -> str:
    """One paragraph: what ran, where, and how it was measured."""
    meta, settings = results["meta"], results["settings"]
    pin = meta.get("pinning")
    where = (f"servers on CPU {pin['servers']}, load generator on CPU {pin['loadgen']}"
             if pin else "no CPU pinning")
    where += f"; the load generator {'sleeps' if settings.get('wait') == 'block' else 'busy-polls'}"
    prewarm = results.get("prewarm")
    if prewarm and prewarm.get("seconds_per_size"):
        where += (f"; every server warmed up first (each size for {prewarm['seconds_per_size']:g} s "
                  f"over {prewarm['connections']} connections, then closed)")
    else:
        where += "; no warm-up cycle: each server's first measurement started cold"
    load = meta.get("loadavg_start") or [0]
    return (f"{meta['mode']} run, {meta['date']}: Python {meta['python']}, {meta['cpu']} "
            f"({meta['cpus']} CPUs, load average {load[0]:.2f} at start); "
            f"{settings['rounds']} round(s) of {settings['duration']:g} s after "
            f"{settings['warmup']:g} s warm-up, medians; {where}")


def _us(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if value < 10 else f"{value:.1f}" if value < 1000 else f"{value:,.0f}"


def format_table(results: Mapping[str, Any]) -> str:
    """The terminal report: one block per (size, connections), then what was not measured."""
    names = labels(results)
    lines = textwrap.wrap(describe_run(results), TABLE_WIDTH) + [""]
    blocks: dict[tuple[int, int], list[Mapping[str, Any]]] = {}
    for entry in results["summary"]:
        blocks.setdefault((entry["size"], entry["connections"]), []).append(entry)
    width = max([len(names.get(e["kind"], e["kind"])) for e in results["summary"]] + [10])
    header = (f"  {'server':<{width}}  {'msg/s':>9}  {'MiB/s':>7}  {'p50 µs':>7}  {'p99 µs':>7}  "
              f"{'×asyncio':>8}  {'usr µs':>6}  {'sys µs':>6}  {'less usr':>8}  "
              f"{'srv CPU':>7}  {'gen busy':>8}")
    for (size, connections), entries in blocks.items():
        lines.append(f"{size_label(size)} messages, {connections} connections")
        lines.append(header)
        for e in entries:
            ratio = f"{e['ratio']:.2f}" if e["ratio"] is not None else "-"
            less = f"×{e['less_user_cpu']:.2f}" if e.get("less_user_cpu") is not None else "-"
            mark = "*" if e.get("contended") else " "
            lines.append(f"  {names.get(e['kind'], e['kind']):<{width}}  "
                         f"{e['messages_per_s']:>9,.0f}{mark} {e['mib_per_s']:>7.1f}  "
                         f"{e['p50_us']:>7,.0f}  {e['p99_us']:>7,.0f}  {ratio:>8}  "
                         f"{_us(e.get('user_us_per_msg')):>6}  {_us(e.get('sys_us_per_msg')):>6}  "
                         f"{less:>8}  {e['server_cpu']:>7.0%}  {e['loadgen_busy']:>8.0%}")
        lines.append("")
    lines.append(
        "×asyncio: messages/s over asyncio's own loop (asyncio Protocol) in the same run.\n"
        "usr µs, sys µs: the server's CPU time per echoed message in its own code (user) and in the "
        "kernel (system: its system\ncalls, and loopback TCP, whose delivery the sender pays for). "
        "less usr: asyncio's user µs per message over this server's.\n"
        "srv CPU: share of one core the server used. gen busy: share of the time the load generator "
        "had work (it busy-polls);\na row near 100% busy, or near the ceiling row's messages/s, is "
        "limited by the load generator, and its ratio is a lower bound.")
    if not has_cpu_split(results):
        lines.append("usr µs, sys µs: not in this file (measured before the benchmark recorded the "
                     "servers' user/system CPU split).")
    contended = sum(1 for e in results["summary"] if e.get("contended"))
    if contended:
        lines.append(f"* {contended} of {len(results['summary'])} rows measured on a busy machine: "
                     f"other processes took over {OTHERS_LIMIT:.0%} of the server's CPU, or neither "
                     f"the server\n  nor the load generator was saturated (both below "
                     f"{SATURATED:.0%}); those figures are not reliable: rerun on a quiet machine.")
    if results.get("hold"):
        lines.append("")
        for entry in results["hold"]:
            name = names.get(entry["kind"], entry["kind"])
            if entry["ok"]:
                lines.append(f"held {entry['connections']:,} connections at once: {name}: "
                             f"connected in {entry['connect_s']:.2f} s, all echoed in "
                             f"{entry['echo_s']:.2f} s, all closed in {entry['close_s']:.2f} s")
            else:
                lines.append(f"FAILED to hold {entry['connections']:,} connections: "
                             f"{name}: {entry['error']}")
    for kind in results["kinds"]:
        if not kind["available"]:
            lines.append(f"not measured: {names[kind['name']]}: {kind['reason']}")
    for failure in results["failures"]:
        where = (f" ({size_label(failure['size'])} x {failure['connections']}, "
                 f"round {failure['round']})" if "size" in failure else "")
        lines.append(f"FAILED: {failure['kind']}{where}: {failure['error']}")
    return "\n".join(lines)


if __name__ == "__main__":  # python -m tulip_echo.bench.report RESULTS.json: print the table
    print(format_table(load(sys.argv[1])))
