"""The phases of one libuv loop iteration and how their order changed: libuv 0.10 (the
2013 talk), libuv 1.x before 1.45 (pyuv 1.4.0 bundles 1.13) and libuv 1.45 onwards, in
English or Spanish (SVG).

Sources: libuv's src/unix/core.c uv_run() in 0.10 and in the 1.13.2 bundled by pyuv
1.4.0; libuv's design overview (docs/src/design.rst) and the 1.45.0 change "win,unix:
change execution order of timers" (libuv pull request 3927).

Run by the deck build: python diagrams/libuv_phases.py --lang es --output out.svg
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import drawing

# Phase keys in the order each version runs them.
ORDERS = [
    ["timers", "idle", "prepare", "pending", "poll", "check", "close"],
    ["timers", "pending", "idle", "prepare", "poll", "check", "close"],
    ["pending", "idle", "prepare", "poll", "check", "close", "timers"],
]
LABELS = {
    "en": {
        "columns": ["libuv 0.10 (2013)", "libuv 1.x before 1.45\n(pyuv 1.4.0: libuv 1.13)",
                    "libuv 1.45 and later (2023–)"],
        "phases": {"timers": "due timers", "pending": "pending callbacks",
                   "idle": "idle handles", "prepare": "prepare handles",
                   "poll": "poll for I/O", "check": "check handles",
                   "close": "close callbacks"},
        "note": "Before 1.45, UV_RUN_ONCE also ran due timers again after the poll.\n"
                "From 1.45, UV_RUN_DEFAULT also runs due timers once before the first iteration.",
    },
    "es": {
        "columns": ["libuv 0.10 (2013)", "libuv 1.x antes de la 1.45\n(pyuv 1.4.0: libuv 1.13)",
                    "libuv 1.45 y posteriores (2023–)"],
        "phases": {"timers": "temporizadores vencidos",
                   "pending": "callbacks pendientes", "idle": "handles idle",
                   "prepare": "handles prepare", "poll": "sondeo de E/S",
                   "check": "handles check", "close": "callbacks de cierre"},
        "note": "Antes de la 1.45, UV_RUN_ONCE volvía a ejecutar los temporizadores tras el "
                "sondeo.\nDesde la 1.45, UV_RUN_DEFAULT ejecuta además los vencidos una vez "
                "antes de la primera vuelta.",
    },
}
COLUMN = 3.65
BOX_W, BOX_H, STEP = 3.0, 0.46, 0.72
TOP = 5.15


def draw(labels: Mapping[str, Any]):
    fig, ax = drawing.canvas(3 * COLUMN, 6.45)
    for index, (title, order) in enumerate(zip(labels["columns"], ORDERS)):
        x = COLUMN * index + COLUMN / 2
        ax.text(x, TOP + 0.45, title, ha="center", va="bottom", fontsize=14, weight="bold",
                color=drawing.INK)
        for row, phase in enumerate(order):
            y = TOP - row * STEP
            timers, poll = phase == "timers", phase == "poll"
            drawing.box(ax, x, y, BOX_W, BOX_H, labels["phases"][phase], size=13.5,
                        fill=drawing.ACCENT if timers else (drawing.GREY if poll else drawing.FILL),
                        edge=drawing.ACCENT_INK if timers else drawing.INK,
                        weight="bold" if timers or poll else "normal")
            if row:
                drawing.arrow(ax, (x, y + STEP - BOX_H / 2 - 0.05), (x, y + BOX_H / 2 + 0.05),
                              shrink=0)
        # Back to the first phase: the next iteration.
        bottom = TOP - (len(order) - 1) * STEP
        drawing.arrow(ax, (x + BOX_W / 2 + 0.05, bottom), (x + BOX_W / 2 + 0.05, TOP),
                      rad=0.12, colour=drawing.MUTED, dashed=True, shrink=0)
    ax.text(0.15, 0.0, labels["note"], fontsize=12, color=drawing.MUTED, va="bottom")
    return fig


if __name__ == "__main__":
    drawing.main(draw, LABELS, __doc__, "libuv-phases")
