"""One iteration of asyncio's event loop, as a cycle of three steps (SVG, per language).

Run by the deck build: python loop_iteration.py --lang es --output out.svg
"""

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

LABELS = {
    "en": ["wait for I/O\n(epoll, kqueue, select)\nat most until the next timer",
           "ready I/O and due\ntimers become callbacks",
           "run each ready\ncallback once"],
    "es": ["esperar E/S\n(epoll, kqueue, select)\nhasta el próximo temporizador",
           "la E/S lista y los\ntemporizadores vencidos\npasan a callbacks",
           "ejecutar una vez\ncada callback listo"],
}
CENTRES = [(0.5, 0.8), (0.82, 0.2), (0.18, 0.2)]
WIDTH, HEIGHT = 0.36, 0.26


def draw(lang: str, output: str) -> None:
    plt.rcParams["svg.hashsalt"] = "loop-iteration"  # stable ids: same input, same SVG
    fig, ax = plt.subplots(figsize=(8, 4.6))
    ax.set_xlim(-0.03, 1.03)
    ax.set_ylim(0.03, 0.97)
    ax.set_axis_off()
    for (x, y), label in zip(CENTRES, LABELS[lang]):
        ax.add_patch(FancyBboxPatch((x - WIDTH / 2, y - HEIGHT / 2), WIDTH, HEIGHT,
                                    boxstyle="round,pad=0.02", fc="#e8f0fe", ec="#1a4d8f"))
        ax.text(x, y, label, ha="center", va="center", fontsize=11)
    for start, end in zip(CENTRES, CENTRES[1:] + CENTRES[:1]):
        ax.add_patch(FancyArrowPatch(start, end, connectionstyle="arc3,rad=-0.25",
                                     arrowstyle="-|>", mutation_scale=18, lw=1.5,
                                     shrinkA=60, shrinkB=60, color="#1a4d8f"))
    fig.savefig(output, format="svg", bbox_inches="tight", metadata={"Date": None})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", choices=sorted(LABELS), required=True)
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    draw(args.lang, args.output)
