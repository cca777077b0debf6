"""Turn benchmark samples into the summary, the terminal table and the chart.

Results are plain JSON (``format`` 1)::

    meta      machine, date, Python, package versions, load average, settings
    kinds     every kind asked for, with "available" and, if not, the reason
    samples   one entry per measurement (kind, size, connections, round, ...)
    failures  measurements that failed, with the error
    hold      the many-connections check, one entry per kind
    summary   per (kind, size, connections): medians over the rounds;
              "ratio", messages/s relative to asyncio's own loop (the
              asyncio Protocol server) in the same run; "ratio_same_style",
              streams kinds relative to asyncio streams; "others_cpu", the
              share of the server's CPU that other processes (or the
              hypervisor) took; "contended", true when that share was high
              or neither server nor load generator was saturated

:func:`chart` draws the FOSDEM deck's figure from such a file (or dict)
without running anything, so the deck builds offline from the committed
``benchmarks/reference.json``.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from . import loadgen

__all__ = ["chart", "format_table", "load", "machine_metadata", "summarize"]

BASELINE = "asyncio-protocol"
SAME_STYLE_BASELINE = {"streams": "asyncio-streams"}
PACKAGES = ("uvloop", "gevent", "greenlet", "pyuv", "rose-pyuv", "evergreen-pyuv", "tulip-echo")
#: Below this share, neither the server's CPU nor the load generator is saturated: with
#: ten or more messages in flight that only happens when other processes take the CPU.
SATURATED = 0.75
#: Above this share of the server's CPU taken by other processes (or stolen by the
#: hypervisor) during a measurement, its figure says more about the machine than the server.
OTHERS_LIMIT = 0.10
METRICS = ("messages_per_s", "mib_per_s", "p50_us", "p99_us", "loadgen_busy", "server_cpu")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


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
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
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
    order = {kind["name"]: i for i, kind in enumerate(results["kinds"])}
    summary.sort(key=lambda e: (e["size"], e["connections"], order.get(e["kind"], 99)))
    return summary


def load(source: str | os.PathLike | Mapping[str, Any]) -> Mapping[str, Any]:
    """Results from a JSON file's path, or a dict passed through."""
    if isinstance(source, Mapping):
        return source
    return json.loads(Path(source).read_text())


def _size_label(size: int) -> str:
    return f"{size // 1024} KiB" if size % 1024 == 0 else f"{size} B"


def describe_run(results: Mapping[str, Any]) -> str:
    meta, settings = results["meta"], results["settings"]
    pin = meta.get("pinning")
    where = (f"servers on CPU {pin['servers']}, load generator on CPU {pin['loadgen']}"
             if pin else "no CPU pinning")
    where += f"; the load generator {'sleeps' if settings.get('wait') == 'block' else 'busy-polls'}"
    load = meta.get("loadavg_start") or [0]
    return (f"{meta['mode']} run, {meta['date']}: Python {meta['python']}, {meta['cpu']} "
            f"({meta['cpus']} CPUs, load average {load[0]:.2f} at start); "
            f"{settings['rounds']} round(s) of {settings['duration']:g} s after "
            f"{settings['warmup']:g} s warm-up, medians; {where}")


def format_table(results: Mapping[str, Any]) -> str:
    """The terminal report: one block per (size, connections), then what was not measured."""
    labels = {kind["name"]: kind["label"] for kind in results["kinds"]}
    lines = [describe_run(results), ""]
    blocks: dict[tuple[int, int], list[Mapping[str, Any]]] = {}
    for entry in results["summary"]:
        blocks.setdefault((entry["size"], entry["connections"]), []).append(entry)
    width = max([len(label) for label in labels.values()] + [10])
    header = (f"  {'server':<{width}}  {'msg/s':>9}  {'MiB/s':>8}  {'p50 µs':>7}  "
              f"{'p99 µs':>7}  {'×asyncio':>8}  {'srv CPU':>7}  {'gen busy':>8}")
    for (size, connections), entries in blocks.items():
        lines.append(f"{_size_label(size)} messages, {connections} connections")
        lines.append(header)
        for e in entries:
            ratio = f"{e['ratio']:.2f}" if e["ratio"] is not None else "-"
            mark = "*" if e.get("contended") else " "
            lines.append(f"  {labels.get(e['kind'], e['kind']):<{width}}  "
                         f"{e['messages_per_s']:>9,.0f}{mark} {e['mib_per_s']:>8.1f}  "
                         f"{e['p50_us']:>7,.0f}  {e['p99_us']:>7,.0f}  {ratio:>8}  "
                         f"{e['server_cpu']:>7.0%}  {e['loadgen_busy']:>8.0%}")
        lines.append("")
    lines.append("×asyncio: messages/s over asyncio's own loop (asyncio Protocol) in the same run.\n"
                 "srv CPU: share of one core the server used. gen busy: share of the time the load "
                 "generator had work (it busy-polls);\na row near 100% busy, or near the ceiling "
                 "row's messages/s, is limited by the load generator, and its ratio is a lower bound.")
    contended = sum(1 for e in results["summary"] if e.get("contended"))
    if contended:
        lines.append(f"* {contended} of {len(results['summary'])} rows measured on a busy machine: "
                     f"other processes took over {OTHERS_LIMIT:.0%} of the server's CPU, or neither "
                     f"the server\n  nor the load generator was saturated (both below "
                     f"{SATURATED:.0%}); those figures are not reliable: rerun on a quiet machine.")
    if results.get("hold"):
        lines.append("")
        for entry in results["hold"]:
            name = labels.get(entry["kind"], entry["kind"])
            if entry["ok"]:
                lines.append(f"held {entry['connections']:,} connections at once: {name}: "
                             f"connected in {entry['connect_s']:.2f} s, all echoed in "
                             f"{entry['echo_s']:.2f} s, all closed in {entry['close_s']:.2f} s")
            else:
                lines.append(f"FAILED to hold {entry['connections']:,} connections: "
                             f"{name}: {entry['error']}")
    for kind in results["kinds"]:
        if not kind["available"]:
            lines.append(f"not measured: {kind['label']}: {kind['reason']}")
    for failure in results["failures"]:
        where = (f" ({_size_label(failure['size'])} x {failure['connections']}, "
                 f"round {failure['round']})" if "size" in failure else "")
        lines.append(f"FAILED: {failure['kind']}{where}: {failure['error']}")
    return "\n".join(lines)


COLOURS = {"asyncio": "#4C72B0", "rose": "#C44E52", "uvloop": "#55A868", "evergreen": "#DD8452",
           "gevent": "#8172B2", "pyuv": "#CCB974", "c": "#999999"}


def chart(results_json: str | os.PathLike | Mapping[str, Any], out_path: str | os.PathLike,
          *, connections: int | None = None) -> list[Path]:
    """Draw messages/s per server kind, one panel per message size; write PNG and SVG.

    ``out_path`` names the files without (or with) a suffix: ``chart(r,
    "bench-results/echo")`` writes ``echo.png`` and ``echo.svg``. Bars are
    medians; the label at each bar's end is its ratio to asyncio's own loop.
    ``connections`` limits the chart to one connection count (default: all,
    drawn as paired bars). Returns the paths written.
    """
    import matplotlib
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    results = load(results_json)
    kinds = [k for k in results["kinds"] if k["available"]]
    summary = [e for e in results["summary"]
               if connections is None or e["connections"] == connections]
    if not summary:
        raise ValueError("the results hold no measurements to chart")
    sizes = sorted({e["size"] for e in summary})
    counts = sorted({e["connections"] for e in summary})
    present = {e["kind"] for e in summary}
    kinds = [k for k in kinds if k["name"] in present]
    by_key = {(e["kind"], e["size"], e["connections"]): e for e in summary}

    height = 0.8 / len(counts)
    fig, axes = plt.subplots(1, len(sizes), figsize=(4.2 * len(sizes) + 1.6, 0.45 * len(kinds) + 1.8),
                             sharey=True, squeeze=False)
    for ax, size in zip(axes[0], sizes):
        for c_index, count in enumerate(counts):
            for k_index, kind in enumerate(kinds):
                entry = by_key.get((kind["name"], size, count))
                if entry is None:
                    continue
                y = k_index + (c_index - (len(counts) - 1) / 2) * height
                value = entry["messages_per_s"]
                ax.barh(y, value, height=height * 0.92, color=COLOURS.get(kind["family"], "#777777"),
                        alpha=1.0 if c_index == len(counts) - 1 else 0.55,
                        hatch="//" if kind["family"] == "c" else None, edgecolor="white")
                if entry.get("ratio") is not None:
                    mark = "*" if entry.get("contended") else ""
                    ax.text(value, y, f" ×{entry['ratio']:.2f}{mark}", va="center", fontsize=7)
        ax.set_title(f"{_size_label(size)} messages")
        ax.set_xlabel("messages/s (median)")
        ax.grid(axis="x", alpha=0.3)
        ax.set_xlim(0, ax.get_xlim()[1] * 1.18)
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(
            lambda x, _: f"{x / 1000:g}k" if x >= 1000 else f"{x:g}"))
    axes[0][0].set_yticks(range(len(kinds)), [k["label"] for k in kinds])
    axes[0][0].invert_yaxis()
    if len(counts) > 1:
        note = "; ".join(f"{'light' if i < len(counts) - 1 else 'dark'}: {c} connections"
                         for i, c in enumerate(counts))
    else:
        note = f"{counts[0]} connections"
    fig.suptitle("Echo server throughput (higher is better; ×N = ratio to asyncio's own loop)",
                 fontsize=11)
    if any(e.get("contended") for e in summary):
        note += ("; * measured while other processes took the CPU (see the table): "
                 "not reliable")
    fig.text(0.01, 0.01, f"{note}. {describe_run(results)}", fontsize=6, wrap=True)
    fig.tight_layout(rect=(0, 0.06, 1, 0.95))
    base = Path(out_path)
    if base.suffix in (".png", ".svg"):
        base = base.with_suffix("")
    base.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for suffix in (".png", ".svg"):
        path = base.with_suffix(suffix)
        fig.savefig(path, dpi=150)
        written.append(path)
    plt.close(fig)
    return written


if __name__ == "__main__":  # python -m tulip_echo.bench.report RESULTS.json: print the table
    print(format_table(load(sys.argv[1])))
