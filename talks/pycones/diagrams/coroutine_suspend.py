"""How a task runs a coroutine that awaits a future: a sequence diagram (SVG, per language).

Run by the deck build: python coroutine_suspend.py --lang es --output out.svg
"""

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

HEADS = {"en": ["event loop", "Task", "coroutine", "Future"],
         "es": ["bucle de eventos", "Task (tarea)", "corrutina", "Future (futuro)"]}
# (from column, to column, label per language, dashed); from == to is a note.
STEPS = [
    (0, 1, {"en": "task.__step()", "es": "task.__step()"}, False),
    (1, 2, {"en": "coro.send(None)", "es": "coro.send(None)"}, False),
    (2, 1, {"en": "await fut: yields fut", "es": "await fut: hace yield de fut"}, True),
    (1, 3, {"en": "fut.add_done_callback(task.__wakeup)",
            "es": "fut.add_done_callback(task.__wakeup)"}, False),
    (1, 0, {"en": "returns to the loop", "es": "vuelve al bucle"}, True),
    (0, 0, {"en": "other callbacks run", "es": "corren otros callbacks"}, False),
    (0, 3, {"en": "an I/O callback: fut.set_result(42)",
            "es": "un callback de E/S: fut.set_result(42)"}, False),
    (3, 0, {"en": "loop.call_soon(task.__wakeup)", "es": "loop.call_soon(task.__wakeup)"},
     True),
    (0, 1, {"en": "task.__wakeup()", "es": "task.__wakeup()"}, False),
    (1, 2, {"en": "coro.send(None)", "es": "coro.send(None)"}, False),
    (2, 2, {"en": "await fut returns 42", "es": "await fut devuelve 42"}, False),
]
COLUMNS = [0.1, 0.37, 0.64, 0.9]
HEAD_WIDTH = 0.19
EDGE = "#1a4d8f"
FILLS = ["#dbe4f3", "#e3f2e1", "#fdebd3", "#fff7c2"]


def draw(lang: str, output: str) -> None:
    plt.rcParams["svg.hashsalt"] = "coroutine-suspend"  # stable ids: same input, same SVG
    fig, ax = plt.subplots(figsize=(10, 5.6))
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(0, 1)
    ax.set_axis_off()
    top, bottom = 0.9, 0.02
    for x, head, fill in zip(COLUMNS, HEADS[lang], FILLS):
        ax.add_patch(FancyBboxPatch((x - HEAD_WIDTH / 2, top), HEAD_WIDTH, 0.07,
                                    boxstyle="round,pad=0.01",
                                    fc=fill, ec=EDGE, lw=1.3))
        ax.text(x, top + 0.035, head, ha="center", va="center", fontsize=11.5,
                weight="bold")
        ax.plot([x, x], [bottom, top - 0.005], color="#999999", lw=1, ls=(0, (4, 3)))
    step = (top - bottom - 0.04) / len(STEPS)
    for row, (source, target, labels, dashed) in enumerate(STEPS):
        y = top - 0.06 - row * step
        label = labels[lang]
        if source == target:
            ax.text(COLUMNS[source], y, label, ha="center", va="center", fontsize=10.5,
                    bbox={"boxstyle": "round,pad=0.3", "fc": "white", "ec": EDGE})
            continue
        start, end = (COLUMNS[source], y), (COLUMNS[target], y)
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=15,
                                     lw=1.4, color=EDGE, ls="--" if dashed else "-",
                                     shrinkA=2, shrinkB=2))
        ax.text((start[0] + end[0]) / 2, y + 0.012, label, ha="center", va="bottom",
                fontsize=10.5, family="monospace" if "(" in label else "sans-serif")
    fig.savefig(output, format="svg", bbox_inches="tight", metadata={"Date": None})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", choices=sorted(HEADS), required=True)
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    draw(args.lang, args.output)
