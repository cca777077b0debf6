"""The lineage of libuv-based loops for Python: pyuv, rose, aiouv, uvloop, and the
rebuilt rose and evergreen of this repository, in English or Spanish (SVG). Solid
arrows: built on; dashed: the same idea, new code.

Run by the deck build: python diagrams/lineage.py --lang es --output out.svg
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import drawing

LABELS = {
    "en": {
        "libuv": "libuv\nNode.js's I/O library (C)",
        "pyuv": "pyuv\nlibuv for Python:\none class per handle",
        "rose": "rose (2013)\na Tulip (PEP 3156)\nloop on pyuv",
        "aiouv": "aiouv\nrose renamed once Tulip\nbecame asyncio (3.4)",
        "uvloop": "uvloop (2016)\nasyncio's loop in Cython,\nstraight on libuv",
        "evergreen": "evergreen\ngreenlet tasks on pyuv",
        "here": "rose and evergreen, rebuilt here:\nasyncio's BaseEventLoop on pyuv,\n"
                "Python 3.11–3.15, CPython's asyncio tests",
        "today": "the libuv loop most people use today",
        "legend": ("built on", "same idea, new code"),
    },
    "es": {
        "libuv": "libuv\nla biblioteca de E/S\nde Node.js (C)",
        "pyuv": "pyuv\nlibuv para Python:\nuna clase por handle",
        "rose": "rose (2013)\nun bucle de Tulip\n(PEP 3156) sobre pyuv",
        "aiouv": "aiouv\nrose renombrado cuando\nTulip pasó a ser asyncio (3.4)",
        "uvloop": "uvloop (2016)\nel bucle de asyncio en\nCython, directo sobre libuv",
        "evergreen": "evergreen\ntareas con greenlets\nsobre pyuv",
        "here": "rose y evergreen, reconstruidos aquí:\nBaseEventLoop de asyncio sobre pyuv,\n"
                "Python 3.11–3.15, los tests de asyncio de CPython",
        "today": "el bucle sobre libuv más usado hoy",
        "legend": ("construido sobre", "la misma idea, código nuevo"),
    },
}
W, H = 2.65, 1.15


def draw(labels: Mapping[str, Any]):
    fig, ax = drawing.canvas(12.2, 4.7)
    drawing.box(ax, 1.5, 3.9, W, 0.85, labels["libuv"], fill=drawing.GREY,
                edge=drawing.MUTED, size=11.5)
    drawing.box(ax, 1.5, 2.3, W, H, labels["pyuv"], size=12)
    drawing.box(ax, 4.6, 2.3, W, H, labels["rose"], size=12)
    drawing.box(ax, 7.7, 2.3, W, H, labels["aiouv"], size=12)
    drawing.box(ax, 10.8, 2.3, W, H, labels["uvloop"], fill=drawing.ACCENT,
                edge=drawing.ACCENT_INK, size=12, weight="bold")
    drawing.box(ax, 1.5, 0.65, W, 0.9, labels["evergreen"], size=11.5)
    drawing.box(ax, 6.1, 0.65, 4.6, 0.9, labels["here"], fill=drawing.GREY,
                edge=drawing.MUTED, size=11.5)
    ax.text(10.8, 1.55, labels["today"], ha="center", fontsize=11, style="italic",
            color=drawing.ACCENT_INK)
    row = 2.3
    drawing.arrow(ax, (1.5, 3.45), (1.5, row + H / 2 + 0.05), shrink=0)
    for left, right in ((1.5, 4.6), (4.6, 7.7)):
        drawing.arrow(ax, (left + W / 2 + 0.05, row), (right - W / 2 - 0.05, row), shrink=0)
    # uvloop is its own code: the same idea, not a descendant of aiouv's.
    drawing.arrow(ax, (7.7 + W / 2 + 0.05, row), (10.8 - W / 2 - 0.05, row), dashed=True,
                  colour=drawing.MUTED, shrink=0)
    # libuv feeds uvloop directly, over the top.
    drawing.arrow(ax, (1.5 + W / 2 + 0.05, 3.9), (10.8, row + H / 2 + 0.05), rad=-0.12,
                  colour=drawing.ACCENT_INK, shrink=0)
    drawing.arrow(ax, (1.5, row - H / 2 - 0.05), (1.5, 0.65 + 0.45 + 0.05), shrink=0)
    drawing.arrow(ax, (4.6, row - H / 2 - 0.05), (5.3, 0.65 + 0.45 + 0.05), dashed=True,
                  colour=drawing.MUTED, shrink=0)
    for y, text, dashed in ((0.85, labels["legend"][0], False), (0.45, labels["legend"][1], True)):
        drawing.arrow(ax, (9.25, y), (9.85, y), dashed=dashed, shrink=0,
                      colour=drawing.MUTED if dashed else drawing.INK)
        ax.text(9.95, y, text, va="center", fontsize=11, color=drawing.MUTED)
    return fig


if __name__ == "__main__":
    drawing.main(draw, LABELS, __doc__, "lineage")
