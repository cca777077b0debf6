"""Readiness (epoll, kqueue, select) next to completion (IOCP, io_uring): who does the
read, and when the program hears about it. Two sequence diagrams, English or Spanish (SVG).

Run by the deck build: python diagrams/readiness_completion.py --lang es --output out.svg
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import drawing

# Each step: (direction, label); "->" program to kernel, "<-" kernel to program,
# "kernel" work the kernel does on its own.
LABELS = {
    "en": {
        "program": "your program", "kernel": "kernel",
        "panels": [
            ("Readiness: select, epoll, kqueue",
             [("->", "watch this socket (epoll_ctl)"), ("->", "wait (epoll_wait)"),
              ("<-", "it is readable"), ("->", "recv(buffer)"),
              ("<-", "bytes, copied now")],
             "“you may read now, without blocking”"),
            ("Completion: IOCP, io_uring",
             [("->", "read into this buffer"), ("kernel", "the kernel reads\ninto the buffer"),
              ("->", "wait for completions"), ("<-", "done: n bytes are\nin your buffer")],
             "“it has been read for you”"),
        ],
    },
    "es": {
        "program": "tu programa", "kernel": "kernel",
        "panels": [
            ("Disponibilidad: select, epoll, kqueue",
             [("->", "vigila este socket (epoll_ctl)"), ("->", "espera (epoll_wait)"),
              ("<-", "ya se puede leer"), ("->", "recv(búfer)"),
              ("<-", "bytes, copiados ahora")],
             "«ya puedes leer sin bloquearte»"),
            ("Finalización: IOCP, io_uring",
             [("->", "lee en este búfer"), ("kernel", "el kernel lee\nen el búfer"),
              ("->", "espera finalizaciones"), ("<-", "hecho: hay n bytes\nen tu búfer")],
             "«ya lo he leído por ti»"),
        ],
    },
}
PANEL_WIDTH = 5.2
LEFT, RIGHT = 0.9, 4.3     # lifelines, within a panel
TOP, STEP = 4.3, 0.74


def _panel(ax: Any, x0: float, title: str, steps: list, moral: str,
           program: str, kernel: str) -> None:
    left, right = x0 + LEFT, x0 + RIGHT
    ax.text(x0 + PANEL_WIDTH / 2 - 0.1, 5.35, title, ha="center", fontsize=15, weight="bold",
            color=drawing.INK)
    for x, name in ((left, program), (right, kernel)):
        drawing.box(ax, x, 4.85, 1.7, 0.46, name, fill=drawing.GREY, edge=drawing.MUTED,
                    size=13)
        ax.plot([x, x], [0.75, 4.6], color=drawing.MUTED, lw=1, ls=":")
    y = TOP
    for direction, label in steps:
        if direction == "kernel":
            drawing.box(ax, right - 0.25, y - 0.12, 2.2, 0.7, label, fill=drawing.ACCENT,
                        edge=drawing.ACCENT_INK, size=12.5)
            y -= STEP + 0.15
            continue
        start, end = (left, right) if direction == "->" else (right, left)
        colour = drawing.INK if direction == "->" else drawing.ACCENT_INK
        drawing.arrow(ax, (start, y), (end, y), colour=colour)
        ax.text((left + right) / 2, y + 0.07, label, ha="center", va="bottom", fontsize=13,
                color=colour, linespacing=1.1)
        y -= STEP + (0.2 if "\n" in label else 0)
    ax.text(x0 + PANEL_WIDTH / 2 - 0.1, 0.35, moral, ha="center", fontsize=14,
            style="italic", color=drawing.MUTED)


def draw(labels: Mapping[str, Any]):
    fig, ax = drawing.canvas(2 * PANEL_WIDTH + 0.3, 5.7)
    for index, (title, steps, moral) in enumerate(labels["panels"]):
        _panel(ax, 0.1 + index * (PANEL_WIDTH + 0.1), title, steps, moral,
               labels["program"], labels["kernel"])
    ax.plot([PANEL_WIDTH + 0.15] * 2, [0.2, 5.5], color="#cccccc", lw=1)
    return fig


if __name__ == "__main__":
    drawing.main(draw, LABELS, __doc__, "readiness-completion")
