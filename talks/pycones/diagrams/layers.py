"""The layers of asyncio, from the loop up to async/await (SVG, per language).

Run by the deck build: python layers.py --lang es --output out.svg
"""

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
from matplotlib.patches import FancyBboxPatch  # noqa: E402

# Each layer: (title, examples) per language, top of the stack first.
LAYERS = {
    "en": [("your code: coroutines and tasks",
            "async def / await, create_task, TaskGroup, timeout"),
           ("streams", "open_connection, start_server, StreamReader/Writer"),
           ("transports and protocols",
            "create_connection, create_server, data_received"),
           ("the event loop", "callbacks, timers, waiting for I/O")],
    "es": [("tu código: corrutinas y tareas",
            "async def / await, create_task, TaskGroup, timeout"),
           ("streams", "open_connection, start_server, StreamReader/Writer"),
           ("transportes y protocolos",
            "create_connection, create_server, data_received"),
           ("el bucle de eventos", "callbacks, temporizadores, esperar E/S")],
}
ENGINES = {
    "en": ["SelectorEventLoop\nepoll, kqueue, select", "ProactorEventLoop\nIOCP (Windows)",
           "rose, uvloop\nlibuv"],
    "es": ["SelectorEventLoop\nepoll, kqueue, select", "ProactorEventLoop\nIOCP (Windows)",
           "rose, uvloop\nlibuv"],
}
FUTURES = {"en": "futures: results\nthat are not\nthere yet",
           "es": "futuros:\nresultados que\naún no han\nllegado"}
FILLS = ["#fdebd3", "#e3f2e1", "#e8f0fe", "#dbe4f3"]
EDGE = "#1a4d8f"


def box(ax, x, y, w, h, fill):
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.01,rounding_size=0.02",
                                fc=fill, ec=EDGE, lw=1.3))


def draw(lang: str, output: str) -> None:
    plt.rcParams["svg.hashsalt"] = "asyncio-layers"  # stable ids: same input, same SVG
    fig, ax = plt.subplots(figsize=(9, 5.2))
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(0.04, 0.99)
    ax.set_axis_off()
    left, width, height, gap = 0.0, 0.76, 0.15, 0.03
    top = 0.97
    for row, ((title, examples), fill) in enumerate(zip(LAYERS[lang], FILLS)):
        y = top - (row + 1) * height - row * gap
        box(ax, left, y, width, height, fill)
        ax.text(left + width / 2, y + height * 0.66, title, ha="center", va="center",
                fontsize=13, weight="bold")
        prose = row == len(LAYERS[lang]) - 1  # the loop's line is words, not code
        ax.text(left + width / 2, y + height * 0.28, examples, ha="center", va="center",
                fontsize=11 if prose else 10.5, family="sans-serif" if prose else "monospace")
    # The engines below the loop: any of them implements the same loop API.
    engine_top = top - 4 * height - 4 * gap
    engine_width = (width - 2 * gap) / 3
    for column, label in enumerate(ENGINES[lang]):
        x = left + column * (engine_width + gap)
        box(ax, x, engine_top - height, engine_width, height, "#f4f4f4")
        ax.text(x + engine_width / 2, engine_top - height / 2, label, ha="center",
                va="center", fontsize=10.5)
    # Futures run through every layer above the engines.
    fx = left + width + 0.04
    box(ax, fx, engine_top + 0.005, 1 - fx - 0.005, top - engine_top - 0.005, "#fff7c2")
    ax.text(fx + (1 - fx) / 2, (top + engine_top) / 2, FUTURES[lang], ha="center",
            va="center", fontsize=12)
    fig.savefig(output, format="svg", bbox_inches="tight", metadata={"Date": None})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", choices=sorted(LAYERS), required=True)
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    draw(args.lang, args.output)
