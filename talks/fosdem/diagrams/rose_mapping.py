"""How rose maps asyncio's event loop API onto libuv handles (through pyuv), in English
or Spanish (SVG). The rows follow rose's own description of its design (the docstrings
of ``rose`` and ``rose.loop``).

Run by the deck build: python diagrams/rose_mapping.py --lang es --output out.svg
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import drawing

# (asyncio API, how rose does it, the pyuv handle); the middle column per language.
ROWS = [
    ("run_forever()", "run_once", "Loop.run()"),
    ("call_soon()", "ready", "Prepare"),
    ("call_later(), call_at()", "timers", "Timer"),
    ("call_soon_threadsafe()", "wakeup", "Async"),
    ("add_reader(), add_writer()", "poll", "Poll"),
    ("create_server(),\ncreate_connection()", "streams", "TCP, Pipe"),
    ("create_datagram_endpoint()", "udp", "UDP"),
    ("subprocess_exec()", "process", "Process, Pipe"),
    ("add_signal_handler()", "signals", "Poll"),
]
LABELS = {
    "en": {
        "headers": ("asyncio's loop API", "rose (BaseEventLoop + libuv)", "pyuv handle"),
        "how": {
            "run_once": "one iteration = one uv_run()",
            "ready": "asyncio's ready queue; a prepare handle\nstops libuv from blocking if it is not empty",
            "timers": "asyncio's heap; ONE unref'd timer\narmed for the earliest deadline",
            "wakeup": "wakes uv_run() from another thread",
            "poll": "one poll watcher per file descriptor",
            "streams": "native transports; uv_listen accepts,\nthe read callback calls data_received",
            "udp": "a native datagram transport",
            "process": "children spawned by libuv",
            "signals": "signal.set_wakeup_fd into a watched socket",
        },
    },
    "es": {
        "headers": ("API del bucle de asyncio", "rose (BaseEventLoop + libuv)", "handle de pyuv"),
        "how": {
            "run_once": "una vuelta = una llamada a uv_run()",
            "ready": "la cola de listos de asyncio; un handle prepare\nimpide que libuv se bloquee si no está vacía",
            "timers": "el montículo de asyncio; UN solo temporizador\n(sin ref) para el vencimiento más próximo",
            "wakeup": "despierta a uv_run() desde otro hilo",
            "poll": "un vigilante de sondeo por descriptor",
            "streams": "transportes nativos; uv_listen acepta,\nel callback de lectura llama a data_received",
            "udp": "un transporte de datagramas nativo",
            "process": "procesos hijos lanzados por libuv",
            "signals": "signal.set_wakeup_fd hacia un socket vigilado",
        },
    },
}
X_API, X_HOW, X_UV = 1.75, 6.0, 9.75
W_API, W_HOW, W_UV = 3.2, 4.6, 2.1
ROW_H, STEP = 0.58, 0.68


def draw(labels: Mapping[str, Any]):
    height = STEP * len(ROWS) + 0.9
    fig, ax = drawing.canvas(10.9, height)
    top = height - 0.75
    for x, header in zip((X_API, X_HOW, X_UV), labels["headers"]):
        ax.text(x, top + 0.42, header, ha="center", fontsize=12, weight="bold",
                color=drawing.INK)
    for row, (api, key, handle) in enumerate(ROWS):
        y = top - row * STEP
        drawing.box(ax, X_API, y, W_API, ROW_H, api, fill=drawing.GREY, edge=drawing.MUTED,
                    size=10.5)
        drawing.box(ax, X_HOW, y, W_HOW, ROW_H, labels["how"][key], size=9.5)
        drawing.box(ax, X_UV, y, W_UV, ROW_H, handle, fill=drawing.ACCENT,
                    edge=drawing.ACCENT_INK, size=10.5, weight="bold")
        drawing.arrow(ax, (X_API + W_API / 2 + 0.05, y), (X_HOW - W_HOW / 2 - 0.05, y),
                      shrink=0)
        drawing.arrow(ax, (X_HOW + W_HOW / 2 + 0.05, y), (X_UV - W_UV / 2 - 0.05, y),
                      shrink=0)
    return fig


if __name__ == "__main__":
    drawing.main(draw, LABELS, __doc__, "rose-mapping")
