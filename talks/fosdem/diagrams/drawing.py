"""What the talk's diagram scripts share: the command line, the colours, boxes and
arrows, and a deterministic SVG (the same labels give the same bytes).

A script defines ``LABELS = {"en": ..., "es": ...}`` and ``draw(labels) -> Figure``
and ends with ``drawing.main(draw, LABELS, __doc__, "name")``; the deck build runs it
as ``python diagrams/<name>.py --lang es --output OUT.svg`` from the talk's folder.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

INK = "#1a4d8f"       # lines and text accents
FILL = "#e8f0fe"      # ordinary boxes
ACCENT = "#fde7c8"    # the box a diagram is about
ACCENT_INK = "#b35c00"
GREY = "#f0f0f0"
MUTED = "#666666"


def canvas(width: float, height: float) -> tuple[Figure, Any]:
    """A figure of ``width`` x ``height`` inches whose axes run 0..width, 0..height."""
    fig, ax = plt.subplots(figsize=(width, height))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_axis_off()
    fig.subplots_adjust(0, 0, 1, 1)
    return fig, ax


def box(ax: Any, x: float, y: float, w: float, h: float, text: str, *,
        fill: str = FILL, edge: str = INK, size: float = 11, weight: str = "normal",
        colour: str = "black") -> None:
    """A rounded box centred on (x, y) with centred text."""
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.04",
                                fc=fill, ec=edge, lw=1.2))
    ax.text(x, y, text, ha="center", va="center", fontsize=size, weight=weight,
            color=colour)


def arrow(ax: Any, start: tuple[float, float], end: tuple[float, float], *,
          colour: str = INK, style: str = "-|>", dashed: bool = False, rad: float = 0.0,
          shrink: float = 2.0) -> None:
    """An arrow from ``start`` to ``end`` (points), optionally curved by ``rad``."""
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=14, lw=1.3,
                                 color=colour, linestyle="--" if dashed else "-",
                                 connectionstyle=f"arc3,rad={rad}",
                                 shrinkA=shrink, shrinkB=shrink))


def main(draw: Callable[[Mapping[str, Any]], Figure], labels: Mapping[str, Any],
         doc: str | None, name: str) -> None:
    """Parse ``--lang``/``--output``, draw in that language, write a deterministic SVG."""
    parser = argparse.ArgumentParser(description=(doc or name).splitlines()[0])
    parser.add_argument("--lang", choices=sorted(labels), required=True)
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    plt.rcParams["svg.hashsalt"] = name  # stable ids: same input, same SVG
    fig = draw(labels[args.lang])
    fig.savefig(args.output, format="svg", bbox_inches="tight", pad_inches=0.05,
                metadata={"Date": None})
    plt.close(fig)
