"""The fault run's results: one table, fault x server, and the JSON it is printed from.

The JSON (``bench-results/faults-MODE.json``, beside the benchmark's files)
holds ``meta`` (machine, date, Python, package versions, fd limit, wall time),
``settings`` (the run's sizes, counts and bounds), ``unavailable`` (server
kinds not run, with the reason) and ``cases``: one entry per fault x server
with ``group`` (link, hostile, soak), ``fault``, ``server``, ``passed``,
``time_s``, ``rss_before_mib``, ``peak_rss_mib`` (the server's peak resident
memory during the case), ``fds_before``/``fds_after`` (the server's
descriptors before the case and once its clients were gone),
``worst_rtt_ms`` (the worst round trip of the case's client, or of the
well-behaved client running beside a hostile one), ``logged`` (error reports
in the server's log during the case), ``problems`` (why it failed, empty when
it passed) and ``detail`` (what the clients reported, the fault's parameters).
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from ..machine import cpu_model

__all__ = ["format_table", "machine_metadata", "markdown_table", "write"]

PACKAGES = ("rose-pyuv", "evergreen-pyuv", "pyuv", "uvloop", "greenlet")


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _commit() -> str | None:
    try:
        done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=5, check=False,
                              cwd=Path(__file__).resolve().parent)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None


def machine_metadata() -> dict[str, Any]:
    """Where the fault run ran: enough to judge and reproduce it."""
    import resource
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "memory_mib": os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2**20,
        "fd_limit": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
        "loadavg_start": list(os.getloadavg()),
        "versions": {package: _version(package) for package in PACKAGES},
        "commit": _commit(),
    }


def _cell(value: Any, fmt: str = "{}") -> str:
    return "-" if value is None else fmt.format(value)


def _rows(results: Mapping[str, Any]) -> list[list[str]]:
    rows = []
    for case in results["cases"]:
        fds = ("-" if case["fds_before"] is None
               else f"{case['fds_before']}->{_cell(case['fds_after'])}")
        peak = case["peak_rss_mib"]
        if peak is not None and case["rss_before_mib"] is not None:
            # The peak alone would carry one case's growth into the next rows
            # (freed memory stays with the process): the growth says whose it is.
            peak_cell = f"{peak:.0f} MiB (+{max(0.0, peak - case['rss_before_mib']):.0f})"
        else:
            peak_cell = _cell(peak, "{:.0f} MiB")
        rows.append([case["fault"], case["server"], "yes" if case["passed"] else "NO",
                     f"{case['time_s']:.1f} s", peak_cell,
                     fds, _cell(case["worst_rtt_ms"], "{:.0f} ms" if (case["worst_rtt_ms"] or 0)
                                >= 10 else "{:.1f} ms")])
    return rows


HEADERS = ["fault", "server", "passed", "time", "peak RSS", "descriptors", "worst round trip"]


def _summary(results: Mapping[str, Any]) -> list[str]:
    meta = results["meta"]
    cases = results["cases"]
    failed = [case for case in cases if not case["passed"]]
    lines = [f"{len(cases) - len(failed)} of {len(cases)} cases passed "
             f"({results['settings']['mode']} run, {meta.get('wall_s', 0):.0f} s, "
             f"Python {meta['python']}, {meta['cpus']} CPUs, fd limit {meta['fd_limit']})"]
    for name, reason in results["unavailable"].items():
        lines.append(f"not run: {name}: {reason}")
    for case in failed:
        lines.append(f"FAILED {case['fault']} / {case['server']}: {'; '.join(case['problems'])}")
    return lines


def format_table(results: Mapping[str, Any]) -> str:
    """The table as plain text, with a summary and every failure's reason below it."""
    rows = _rows(results)
    widths = [max(len(header), *(len(row[i]) for row in rows)) if rows else len(header)
              for i, header in enumerate(HEADERS)]
    right = {3, 4, 5, 6}

    def line(cells: list[str]) -> str:
        return "  ".join(cell.rjust(width) if i in right else cell.ljust(width)
                         for i, (cell, width) in enumerate(zip(cells, widths))).rstrip()

    out = [line(HEADERS), line(["-" * width for width in widths])]
    out += [line(row) for row in rows]
    return "\n".join([*out, "", *_summary(results)])


def markdown_table(results: Mapping[str, Any]) -> str:
    """The same table in Markdown, for the README."""
    out = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    out += ["| " + " | ".join(row) + " |" for row in _rows(results)]
    return "\n".join(out)


def write(results: Mapping[str, Any], out_dir: Path) -> list[Path]:
    """Write faults-MODE.json, .txt and .md into ``out_dir``; return the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    name = f"faults-{results['settings']['mode']}"
    paths = [out_dir / f"{name}.json", out_dir / f"{name}.txt", out_dir / f"{name}.md"]
    paths[0].write_text(json.dumps(results, indent=1) + "\n")
    paths[1].write_text(format_table(results) + "\n")
    paths[2].write_text(markdown_table(results) + "\n\n" + "\n\n".join(_summary(results)) + "\n")
    return paths
