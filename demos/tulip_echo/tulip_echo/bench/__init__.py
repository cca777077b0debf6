"""The echo benchmark: every server kind in its own process, one C load generator.

``make bench`` (the full run) and ``python -m tulip_echo bench --quick`` (under a
minute, for rehearsals) run it; see :mod:`tulip_echo.bench.runner` for the design,
:mod:`tulip_echo.bench.report` for the results' format and
:mod:`tulip_echo.bench.charts` for the figures. The FOSDEM deck draws its charts
offline from the committed reference result::

    from tulip_echo.bench import REFERENCE, chart, chart_cpu
    chart(REFERENCE, "build/echo", sizes=[1024], connections=10, lang="es")
    chart_cpu(REFERENCE, "build/echo-cpu", sizes=[1024], connections=10)
"""

from pathlib import Path

from .charts import chart, chart_cpu
from .report import format_table, load, summarize
from .runner import KINDS, PRESETS, Settings, run

__all__ = ["KINDS", "PRESETS", "REFERENCE", "Settings", "chart", "chart_cpu", "format_table",
           "load", "run", "summarize"]

#: A full run measured on a real machine, committed as data for the decks.
REFERENCE = Path(__file__).resolve().parent.parent.parent / "benchmarks" / "reference.json"
