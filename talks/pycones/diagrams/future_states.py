"""The states of an asyncio Future and what moves it between them (SVG, per language).

Run by the deck build: python future_states.py --lang es --output out.svg
"""

import argparse
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

TEXT = {
    "en": {
        "pending": "PENDING\ndone() is False",
        "result": "FINISHED\nwith a result",
        "exception": "FINISHED\nwith an exception",
        "cancelled": "CANCELLED",
        "awaiting": "await fut: the coroutine\nwaits here",
        "after": "once done, it never changes again;\n"
                 "each done callback is scheduled\nwith loop.call_soon()",
    },
    "es": {
        "pending": "PENDIENTE\ndone() es False",
        "result": "TERMINADO\ncon un resultado",
        "exception": "TERMINADO\ncon una excepción",
        "cancelled": "CANCELADO",
        "awaiting": "await fut: la corrutina\nespera aquí",
        "after": "una vez terminado, ya no cambia;\n"
                 "cada callback se programa\ncon loop.call_soon()",
    },
}
# state -> (centre, the call that leads there from PENDING)
FINAL = {
    "result": ((0.78, 0.82), "set_result(x)"),
    "exception": ((0.78, 0.5), "set_exception(e)"),
    "cancelled": ((0.78, 0.18), "cancel()"),
}
PENDING = (0.2, 0.5)
W, H = 0.27, 0.19
EDGE = "#1a4d8f"


def state(ax, centre, label, fill):
    x, y = centre
    ax.add_patch(FancyBboxPatch((x - W / 2, y - H / 2), W, H, boxstyle="round,pad=0.015",
                                fc=fill, ec=EDGE, lw=1.4))
    ax.text(x, y, label, ha="center", va="center", fontsize=12)


def draw(lang: str, output: str) -> None:
    plt.rcParams["svg.hashsalt"] = "future-states"  # stable ids: same input, same SVG
    text = TEXT[lang]
    fig, ax = plt.subplots(figsize=(9, 4.6))
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(0.0, 1.0)
    ax.set_axis_off()
    state(ax, PENDING, text["pending"], "#fff7c2")
    fills = {"result": "#e3f2e1", "exception": "#fbe3e1", "cancelled": "#eeeeee"}
    for name, (centre, call) in FINAL.items():
        state(ax, centre, text[name], fills[name])
        start = (PENDING[0] + W / 2 + 0.015, PENDING[1])
        end = (centre[0] - W / 2 - 0.015, centre[1])
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=18,
                                     lw=1.5, color=EDGE))
        # The call's name sits just above its arrow, along it.
        (x0, y0), (x1, y1) = ax.transData.transform([start, end])
        angle = math.degrees(math.atan2(y1 - y0, x1 - x0))
        middle = ((start[0] + end[0]) / 2, (start[1] + end[1]) / 2)
        ax.annotate(call, middle, xytext=(0, 9), textcoords="offset points",
                    rotation=angle, rotation_mode="anchor", ha="center", va="bottom",
                    fontsize=11, family="monospace")
    ax.text(PENDING[0], PENDING[1] + H / 2 + 0.1, text["awaiting"], ha="center",
            va="center", fontsize=10.5, style="italic")
    ax.text(PENDING[0], 0.12, text["after"], ha="center", va="center", fontsize=10.5,
            color="#333333")
    fig.savefig(output, format="svg", bbox_inches="tight", metadata={"Date": None})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", choices=sorted(TEXT), required=True)
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    draw(args.lang, args.output)
