"""How rose maps asyncio's event loop API onto libuv handles (through pyuv), in English
or Spanish (SVG). The rows follow rose's own description of its design (the docstrings
of ``rose`` and ``rose.loop``).

Run by the deck build: python diagrams/rose_mapping.py --lang es --output out.svg
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import drawing

# (asyncio API, how rose does it, the pyuv handle); the middle column, and the API
# where it is words rather than a method (None), come from the language's labels.
ROWS = [
    ("run_forever()", "run_once", "Loop.run()"),
    ("call_soon()", "ready", "Loop.stop()"),
    ("call_later(), call_at()", "timers", "Timer"),
    ("call_soon_threadsafe()", "wakeup", "Async"),
    ("add_reader(), add_writer()", "poll", "Poll"),
    (None, "streams", "TCP, Pipe"),
    (None, "udp", "UDP"),
    (None, "process", "Process"),
    ("add_signal_handler()", "signals", "Poll"),
]
LABELS = {
    "en": {
        "headers": ("asyncio's loop API", "rose: BaseEventLoop + libuv", "pyuv"),
        "api": {"streams": "TCP, Unix: connections,\nservers", "udp": "UDP endpoints",
                "process": "subprocesses"},
        "how": {
            "run_once": "one uv_run(): libuv polls\nuntil work is ready",
            "ready": "asyncio's ready queue; queuing\nwork ends uv_run()",
            "timers": "asyncio's heap; ONE timer\nfor the earliest deadline",
            "wakeup": "wakes uv_run() from a thread",
            "poll": "one watcher per descriptor",
            "streams": "native transports: libuv\nreads, accepts, writes",
            "udp": "a native datagram transport",
            "process": "libuv spawns and reaps",
            "signals": "set_wakeup_fd into a socket",
        },
    },
    "es": {
        "headers": ("API del bucle de asyncio", "rose: BaseEventLoop + libuv", "pyuv"),
        "api": {"streams": "TCP y Unix: conexiones,\nservidores", "udp": "extremos UDP",
                "process": "subprocesos"},
        "how": {
            "run_once": "un uv_run(): libuv sondea\nhasta que hay trabajo",
            "ready": "la cola de listos de asyncio;\nencolar trabajo acaba uv_run()",
            "timers": "el montículo de asyncio; UN\ntemporizador para el más próximo",
            "wakeup": "despierta a uv_run() desde un hilo",
            "poll": "un vigilante por descriptor",
            "streams": "transportes nativos: libuv\nlee, acepta y escribe",
            "udp": "un transporte de datagramas nativo",
            "process": "libuv lanza y recoge al hijo",
            "signals": "set_wakeup_fd hacia un socket",
        },
    },
}
X_API, X_HOW, X_UV = 1.55, 5.25, 8.35
W_API, W_HOW, W_UV = 2.95, 3.85, 1.7
ROW_H, STEP = 0.46, 0.52


def draw(labels: Mapping[str, Any]):
    height = STEP * len(ROWS) + 0.45
    fig, ax = drawing.canvas(9.3, height)
    top = height - 0.55
    for x, header in zip((X_API, X_HOW, X_UV), labels["headers"]):
        ax.text(x, top + 0.33, header, ha="center", fontsize=14, weight="bold",
                color=drawing.INK)
    for row, (api, key, handle) in enumerate(ROWS):
        y = top - row * STEP
        drawing.box(ax, X_API, y, W_API, ROW_H, api or labels["api"][key],
                    fill=drawing.GREY, edge=drawing.MUTED, size=12.5)
        drawing.box(ax, X_HOW, y, W_HOW, ROW_H, labels["how"][key], size=11)
        drawing.box(ax, X_UV, y, W_UV, ROW_H, handle, fill=drawing.ACCENT,
                    edge=drawing.ACCENT_INK, size=13, weight="bold")
        drawing.arrow(ax, (X_API + W_API / 2 + 0.05, y), (X_HOW - W_HOW / 2 - 0.05, y),
                      shrink=0)
        drawing.arrow(ax, (X_HOW + W_HOW / 2 + 0.05, y), (X_UV - W_UV / 2 - 0.05, y),
                      shrink=0)
    return fig


if __name__ == "__main__":
    drawing.main(draw, LABELS, __doc__, "rose-mapping")
