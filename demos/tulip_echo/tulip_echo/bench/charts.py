"""The decks' figures, drawn from benchmark results without running anything.

- :func:`chart`: messages/s per server kind, one panel per message size, each
  bar labelled with its ratio to asyncio's own loop.
- :func:`chart_cpu`: the server's CPU time per echoed message, per kind,
  stacked as *user* (the server's own code: Python, the loop) and *system*
  (the kernel: system calls and loopback TCP). It shows how much of an echo
  is the kernel's, which no loop can make cheaper.

Both read a results file or dict (:func:`tulip_echo.bench.report.load`), so
the FOSDEM deck draws them offline from the committed
``benchmarks/reference.json``; both take ``lang`` ("en" or "es": every
title, label, legend and note in that language), ``sizes`` and
``connections`` (what to draw; default: all), write PNG and SVG, and return
the paths. Drawn for one size and one connection count, a figure is sized
for a 960x700 slide. The same input always gives byte-identical files: the
SVG's ids come from a fixed salt, and neither file records a date or the
software's version.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from .report import BASELINE, has_cpu_split, labels, load
from .runner import size_label

__all__ = ["LANGS", "chart", "chart_cpu"]

LANGS = ("en", "es")

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "Echo servers: messages per second (higher is better)",
        "ratio_key": "×N: ratio to asyncio's own loop in the same run",
        "panel": "{size} messages",
        "panel_one": "{size} messages, {connections} connections",
        "rate_axis": "messages/s (median over rounds)",
        "server_axis": "server",
        "connections": "{n} connections",
        "cpu_title": "Server CPU time per echoed message (lower is better)",
        "cpu_key": "÷N (×N): N times less (more) user CPU than asyncio's own loop",
        "cpu_axis": "CPU µs per message (median over rounds)",
        "user": "user: the server's own code",
        "kernel": "kernel: system calls and loopback TCP",
        "less": "user ÷{n}",
        "more": "user ×{n}",
        "no_bar": "no CPU split",
        "no_split": ("This results file has no user/system CPU split:\n"
                     "it was measured before the benchmark recorded it.\n"
                     "Run the benchmark again to draw this chart."),
        "contended": "* measured while other processes took the CPU: not reliable",
        "ceiling": "C epoll server: the load generator's ceiling",
        "run": "{mode} run, {date}, Python {python}, {cpu} ({cpus} CPUs); "
               "{rounds} of {duration} s, medians",
        "round": "round", "rounds": "rounds",
        "warm": "servers warmed up before measuring",
        "cold": "servers not warmed up before measuring",
        "kilo": "{n}k",
    },
    "es": {
        "title": "Servidores de eco: mensajes por segundo (más es mejor)",
        "ratio_key": "×N: cociente respecto al bucle de asyncio en la misma ejecución",
        "panel": "mensajes de {size}",
        "panel_one": "mensajes de {size}, {connections} conexiones",
        "rate_axis": "mensajes/s (mediana de las rondas)",
        "server_axis": "servidor",
        "connections": "{n} conexiones",
        "cpu_title": "Tiempo de CPU del servidor por mensaje (menos es mejor)",
        "cpu_key": "÷N (×N): N veces menos (más) CPU de usuario que el bucle de asyncio",
        "cpu_axis": "µs de CPU por mensaje (mediana de las rondas)",
        "user": "usuario: el código del propio servidor",
        "kernel": "núcleo: llamadas al sistema y TCP por loopback",
        "less": "usuario ÷{n}",
        "more": "usuario ×{n}",
        "no_bar": "sin desglose de CPU",
        "no_split": ("Este fichero de resultados no separa la CPU de usuario y la del núcleo:\n"
                     "se midió antes de que el benchmark registrara ese desglose.\n"
                     "Vuelve a ejecutar el benchmark para dibujar esta gráfica."),
        "contended": "* medido mientras otros procesos ocupaban la CPU: no es fiable",
        "ceiling": "servidor epoll en C: el techo del generador de carga",
        "run": "ejecución {mode}, {date}, Python {python}, {cpu} ({cpus} CPU); "
               "{rounds} de {duration} s, medianas",
        "round": "ronda", "rounds": "rondas",
        "warm": "servidores calentados antes de medir",
        "cold": "servidores sin calentar antes de medir",
        "kilo": "{n} mil",
    },
}
#: Kind labels that read differently in Spanish (the others are names: "uvloop streams").
KIND_LABELS_ES = {"evergreen": "tareas de evergreen", "pyuv": "callbacks de pyuv a pelo",
                  "ceiling": "servidor epoll en C (techo)"}
MODES_ES = {"full": "completa", "quick": "rápida", "tiny": "mínima", "custom": "(a medida)"}

COLOURS = {"asyncio": "#4C72B0", "rose": "#C44E52", "uvloop": "#55A868", "evergreen": "#DD8452",
           "gevent": "#8172B2", "pyuv": "#CCB974", "c": "#999999"}
USER_COLOUR, KERNEL_COLOUR = "#3A6EA5", "#C8C8C8"
#: A slide is 960x700 px: one panel is drawn at that size (inches at 100 px per inch).
SLIDE = (9.6, 7.0)
EXTRA_PANEL_WIDTH = 4.6
STYLE = {"font.size": 12, "axes.titlesize": 13, "axes.labelsize": 12, "xtick.labelsize": 11,
         "ytick.labelsize": 12, "legend.fontsize": 11, "figure.titlesize": 15,
         # Fixed ids in the SVG, so that the same input gives the same bytes.
         "svg.hashsalt": "tulip_echo.bench.charts"}
PNG_DPI = 150


def chart(results_json: str | os.PathLike | Mapping[str, Any], out_path: str | os.PathLike,
          *, sizes: Iterable[int] | None = None, connections: int | Iterable[int] | None = None,
          lang: str = "en") -> list[Path]:
    """Draw messages/s per server kind, one panel per message size; write PNG and SVG.

    ``out_path`` names the files without (or with) a suffix: ``chart(r,
    "bench-results/echo")`` writes ``echo.png`` and ``echo.svg``. Bars are
    medians; the label at each bar's end is its ratio to asyncio's own loop.
    ``sizes`` (bytes) and ``connections`` (one count or several) choose what
    to draw, by default everything measured; several connection counts are
    drawn as grouped bars, the lighter for the fewer connections. Raises
    ValueError for an unknown ``lang`` or a size or count the results do not
    hold. Returns the paths written.
    """
    plt = _pyplot()
    view = _View(load(results_json), sizes, connections, lang)
    text = view.text
    with plt.rc_context(STYLE):
        fig, axes = _figure(plt, view)
        for ax, kind, entry, y, alpha in view.bars(axes):
            value = entry["messages_per_s"]
            ax.barh(y, value, height=view.bar_height, color=COLOURS.get(kind["family"], "#777777"),
                    alpha=alpha, hatch="//" if kind["family"] == "c" else None, edgecolor="white")
            if entry.get("ratio") is not None:
                mark = "*" if entry.get("contended") else ""
                ax.text(value, y, f" ×{_number(entry['ratio'], 2, lang)}{mark}", va="center",
                        fontsize=view.bar_font, in_layout=False)
        _label_panels(axes, view, text["rate_axis"])
        handles = _count_handles(view, text)
        _frame(fig, view, text["title"], text["ratio_key"], handles, any_contended=any(
            e.get("contended") for e in view.summary))
        return _save(plt, fig, out_path)


def chart_cpu(results_json: str | os.PathLike | Mapping[str, Any], out_path: str | os.PathLike,
              *, sizes: Iterable[int] | None = None,
              connections: int | Iterable[int] | None = None, lang: str = "en") -> list[Path]:
    """Draw each server's CPU time per echoed message, stacked as user and kernel time.

    Same arguments, files and errors as :func:`chart`. Each bar is the
    server's user CPU (its own code: Python, the event loop) followed by its
    system CPU (the kernel: system calls, and loopback TCP, whose delivery to
    the receiving socket the sender pays for), both medians per message over
    the rounds; the label gives both in µs and the user time relative to
    asyncio's own loop (÷2 is half as much). A results file without the split
    (format 1) gives a figure that says so instead of bars.
    """
    plt = _pyplot()
    from matplotlib.patches import Patch

    view = _View(load(results_json), sizes, connections, lang)
    text = view.text
    with plt.rc_context(STYLE):
        fig, axes = _figure(plt, view)
        if not has_cpu_split(view.results):
            for ax in axes:
                ax.set_axis_off()
            fig.text(0.5, 0.5, text["no_split"], ha="center", va="center", fontsize=14,
                     linespacing=1.6)
            _frame(fig, view, text["cpu_title"], "", [], any_contended=False)
            return _save(plt, fig, out_path)
        for ax, kind, entry, y, alpha in view.bars(axes):
            user, system = entry.get("user_us_per_msg"), entry.get("sys_us_per_msg")
            if user is None or system is None:
                ax.text(0, y, f" {text['no_bar']}", va="center", fontsize=view.bar_font,
                        style="italic", in_layout=False)
                continue
            ax.barh(y, user, height=view.bar_height, color=USER_COLOUR, alpha=alpha,
                    edgecolor="white")
            ax.barh(y, system, left=user, height=view.bar_height, color=KERNEL_COLOUR, alpha=alpha,
                    edgecolor="white", hatch="//" if kind["family"] == "c" else None)
            label = f" {_number(user, 1, lang)} + {_number(system, 1, lang)} µs"
            less = entry.get("less_user_cpu")
            if less and kind["name"] != BASELINE:
                label += "   " + (text["less"].format(n=_number(less, 1, lang)) if less >= 1
                                  else text["more"].format(n=_number(1 / less, 1, lang)))
            if entry.get("contended"):
                label += " *"
            ax.text(user + system, y, label, va="center", fontsize=view.bar_font, in_layout=False)
        _label_panels(axes, view, text["cpu_axis"])
        handles = [Patch(facecolor=USER_COLOUR, label=text["user"]),
                   Patch(facecolor=KERNEL_COLOUR, label=text["kernel"]),
                   *_count_handles(view, text)]
        _frame(fig, view, text["cpu_title"], text["cpu_key"], handles, any_contended=any(
            e.get("contended") for e in view.summary))
        return _save(plt, fig, out_path)


def _pyplot():
    import matplotlib
    matplotlib.use("Agg", force=False)   # files only: never needs a display
    import matplotlib.pyplot as plt
    return plt


def _text(lang: str) -> dict[str, str]:
    if lang not in TEXT:
        raise ValueError(f"unknown lang {lang!r}: choose one of {', '.join(LANGS)}")
    return TEXT[lang]


def _number(value: float, digits: int, lang: str) -> str:
    """``value`` as written in ``lang``: 1,234.5 in English, 1 234,5 in Spanish."""
    text = f"{value:,.{digits}f}"
    if lang == "es":
        text = text.replace(",", "\u00a0").replace(".", ",")
    return text


class _View:
    """What one figure draws: the chosen sizes, counts and kinds, and where each bar goes."""

    def __init__(self, results: Mapping[str, Any], sizes: Iterable[int] | None,
                 connections: int | Iterable[int] | None, lang: str) -> None:
        self.text = _text(lang)
        summary = results["summary"]
        if not summary:
            raise ValueError("the results hold no measurements to chart")
        held_sizes = sorted({e["size"] for e in summary})
        held_counts = sorted({e["connections"] for e in summary})
        counts = [connections] if isinstance(connections, int) else connections
        self.sizes = _choose("size", sizes, held_sizes, size_label)
        self.counts = _choose("connection count", counts, held_counts, str)
        self.summary = [e for e in summary
                        if e["size"] in self.sizes and e["connections"] in self.counts]
        present = {e["kind"] for e in self.summary}
        self.kinds = [k for k in results["kinds"] if k["available"] and k["name"] in present]
        names = labels(results)
        self.labels = [KIND_LABELS_ES.get(k["name"], names[k["name"]]) if lang == "es"
                       else names[k["name"]] for k in self.kinds]
        self.by_key = {(e["kind"], e["size"], e["connections"]): e for e in self.summary}
        self.results, self.lang = results, lang
        self.group = 0.8 / len(self.counts)
        self.bar_height = self.group * 0.92
        self.bar_font = 11 if len(self.kinds) * len(self.counts) <= 12 else 9

    def bars(self, axes: list) -> Iterator[tuple[Any, Mapping[str, Any], Mapping[str, Any],
                                                  float, float]]:
        """(axis, kind, summary entry, y, alpha) for every bar, one panel per size."""
        for ax, size in zip(axes, self.sizes):
            for c_index, count in enumerate(self.counts):
                for k_index, kind in enumerate(self.kinds):
                    entry = self.by_key.get((kind["name"], size, count))
                    if entry is not None:
                        yield ax, kind, entry, self.y(k_index, c_index), self.alpha(c_index)

    def y(self, k_index: int, c_index: int) -> float:
        return k_index + (c_index - (len(self.counts) - 1) / 2) * self.group

    def alpha(self, c_index: int) -> float:
        return 1.0 if c_index == len(self.counts) - 1 else 0.55

    def panel_title(self, size: int) -> str:
        text = self.text
        if len(self.counts) == 1:
            return text["panel_one"].format(size=size_label(size), connections=self.counts[0])
        return text["panel"].format(size=size_label(size))

    def note(self) -> str:
        text = self.text
        meta, settings = self.results["meta"], self.results["settings"]
        mode = meta["mode"]
        if self.lang == "es":
            mode = " ".join(MODES_ES.get(part, part) for part in mode.split("-"))
        prewarm = self.results.get("prewarm") or {}
        run = text["run"].format(
            mode=mode, date=meta["date"][:10], python=meta["python"], cpu=meta["cpu"],
            cpus=meta["cpus"],
            rounds=f"{settings['rounds']} {text['round' if settings['rounds'] == 1 else 'rounds']}",
            duration=_number(settings["duration"], 0 if settings["duration"] % 1 == 0 else 1,
                             self.lang))
        warm = text["warm"] if prewarm.get("seconds_per_size") else text["cold"]
        parts = [run, warm]
        if any(k["name"] == "ceiling" for k in self.kinds):
            parts.append(text["ceiling"])
        return "; ".join(parts)


def _choose(what: str, wanted: Iterable[int] | None, held: list[int], show) -> list[int]:
    if wanted is None:
        return held
    chosen = sorted(set(wanted))
    missing = [value for value in chosen if value not in held]
    if missing or not chosen:
        raise ValueError(f"no measurements for {what} {', '.join(map(show, missing)) or '(none)'}: "
                         f"the results hold {', '.join(map(show, held))}")
    return chosen


def _figure(plt, view: _View):
    width = SLIDE[0] + EXTRA_PANEL_WIDTH * (len(view.sizes) - 1)
    fig, axes = plt.subplots(1, len(view.sizes), figsize=(width, SLIDE[1]), sharey=True,
                             squeeze=False)
    axes = list(axes[0])
    axes[0].set_yticks(range(len(view.kinds)), view.labels)
    axes[0].set_ylim(len(view.kinds) - 0.5, -0.5)   # the first kind on top
    return fig, axes


def _label_panels(axes: list, view: _View, x_label: str) -> None:
    """Titles, axis labels, grid and tick labels of every panel."""
    import matplotlib.ticker

    text = view.text

    def thousands(x, _):
        if x >= 1000:
            return text["kilo"].format(n=_number(x / 1000, 0 if x % 1000 == 0 else 1, view.lang))
        return _number(x, 0 if x == int(x) else 1, view.lang)
    for ax, size in zip(axes, view.sizes):
        ax.set_title(view.panel_title(size))
        ax.set_xlabel(x_label)
        ax.grid(axis="x", alpha=0.3)
        ax.set_axisbelow(True)
        ax.set_xlim(0, None)
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(thousands))
    axes[0].set_ylabel(text["server_axis"])


def _count_handles(view: _View, text: Mapping[str, str]) -> list:
    if len(view.counts) < 2:
        return []
    from matplotlib.patches import Patch
    return [Patch(facecolor="#555555", alpha=view.alpha(i), label=text["connections"].format(n=c))
            for i, c in enumerate(view.counts)]


def _frame(fig, view: _View, title: str, key: str, handles: list, *, any_contended: bool) -> None:
    """Title, legend, and the note that says what was measured, where and how."""
    text = view.text
    note = view.note() + ("\n" + text["contended"] if any_contended else "")
    top = 0.93 - (0.04 if key else 0) - (0.05 if handles else 0)
    # Laid out first: tight_layout would otherwise make room for the title below ``top``.
    # The labels at the bars' ends are left out of it (``in_layout=False``): the panels are
    # widened for them afterwards, instead of being shrunk to make room for them.
    fig.tight_layout(rect=(0, 0.075 if any_contended else 0.05, 1, top))
    _fit_bar_labels(fig)
    fig.suptitle(title, fontweight="bold", y=0.985)
    if key:
        fig.text(0.5, 0.935, key, ha="center", va="top", fontsize=11)
    if handles:
        fig.legend(handles=handles, loc="upper center", ncol=len(handles), frameon=False,
                   bbox_to_anchor=(0.5, 0.935 - (0.04 if key else 0)))
    fig.text(0.01, 0.01, note, fontsize=9, va="bottom", wrap=True)


def _fit_bar_labels(fig) -> None:
    """Widen each panel's x range just enough for the labels at its bars' ends.

    A label is as wide in pixels whatever the scale, so the range it needs
    is found from its width: starting at ``x`` and ``w`` pixels wide in a
    panel ``width`` pixels wide, it fits when the range reaches
    ``x / (1 - w / width)``.
    """
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        if not ax.texts or not ax.axison:
            continue
        width = ax.get_window_extent(renderer).width
        needed = ax.get_xlim()[1]
        for label in ax.texts:
            share = label.get_window_extent(renderer).width / width
            if share < 0.9:
                needed = max(needed, label.get_position()[0] / (1 - share) * 1.03)
        ax.set_xlim(0, needed)


def _save(plt, fig, out_path: str | os.PathLike) -> list[Path]:
    base = Path(out_path)
    if base.suffix in (".png", ".svg"):
        base = base.with_suffix("")
    base.parent.mkdir(parents=True, exist_ok=True)
    png, svg = base.parent / f"{base.name}.png", base.parent / f"{base.name}.svg"
    try:
        # No date and no software version in either file: the same data, the same bytes.
        fig.savefig(png, dpi=PNG_DPI, metadata={"Software": None})
        fig.savefig(svg, metadata={"Date": None, "Creator": None})
    finally:
        plt.close(fig)
    return [png, svg]
