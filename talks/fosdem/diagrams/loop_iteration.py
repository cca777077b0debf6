"""One iteration of an event loop (asyncio's, and the deck's TinyLoop), as a cycle of
three steps, in English or Spanish (SVG).

Run by the deck build: python diagrams/loop_iteration.py --lang es --output out.svg
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import drawing

LABELS = {
    "en": {"steps": ["1. wait for I/O\n(epoll, kqueue, select)\nat most until the next timer",
                     "2. ready I/O and due\ntimers become callbacks",
                     "3. run each callback\nthat is ready now, once"],
           "centre": "one\niteration"},
    "es": {"steps": ["1. esperar E/S\n(epoll, kqueue, select)\ncomo mucho hasta el\npróximo temporizador",
                     "2. la E/S lista y los\ntemporizadores vencidos\nse vuelven callbacks",
                     "3. ejecutar una vez cada\ncallback que ya está listo"],
           "centre": "una\nvuelta"},
}
CENTRES = [(4.5, 3.75), (7.3, 1.2), (1.7, 1.2)]
WIDTH, HEIGHT = 3.2, 1.55
# Edge to edge, clockwise: top -> right, right -> left, left -> top.
ARROWS = [((6.15, 3.75), (7.3, 2.02), -0.35), ((5.65, 1.2), (3.35, 1.2), 0.0),
          ((1.7, 2.02), (2.85, 3.75), -0.35)]


def draw(labels: Mapping[str, Any]):
    fig, ax = drawing.canvas(9.0, 4.7)
    for (x, y), text in zip(CENTRES, labels["steps"]):
        drawing.box(ax, x, y, WIDTH, HEIGHT, text, size=13)
    for start, end, rad in ARROWS:
        drawing.arrow(ax, start, end, rad=rad)
    ax.text(4.5, 2.35, labels["centre"], ha="center", va="center", fontsize=14,
            color=drawing.MUTED, style="italic")
    return fig


if __name__ == "__main__":
    drawing.main(draw, LABELS, __doc__, "loop-iteration")
