"""The echo benchmark: every server kind in its own process, one C load generator.

``make bench`` (the full run) and ``python -m tulip_echo bench --quick`` (under a
minute, for rehearsals) run it; see :mod:`tulip_echo.bench.runner` for the design
and :mod:`tulip_echo.bench.report` for the results' format. The FOSDEM deck draws
its chart offline from the committed reference result::

    from tulip_echo.bench import REFERENCE, chart
    chart(REFERENCE, "build/echo-benchmark")   # writes .png and .svg
"""

from pathlib import Path

from .report import chart, format_table, load, summarize
from .runner import KINDS, PRESETS, Settings, run

__all__ = ["KINDS", "PRESETS", "REFERENCE", "Settings", "chart", "format_table", "load", "run",
           "summarize"]

#: A full run measured on a real machine, committed as data for the decks.
REFERENCE = Path(__file__).resolve().parent.parent.parent / "benchmarks" / "reference.json"
