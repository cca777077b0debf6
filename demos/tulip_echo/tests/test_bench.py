"""The benchmark: its quick mode on a tiny setting (a smoke test, no timing assertions),
the warm-up cycle, the load generator's checks, the report's arithmetic and table, and the
charts (both languages, deterministic files, old result files)."""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import threading
from types import SimpleNamespace

import pytest

from tulip_echo import bench
from tulip_echo.bench import instructions, loadgen, report, runner


def test_tiny_run_measures_every_available_kind(tmp_path):
    result = subprocess.run([sys.executable, "-m", "tulip_echo", "bench", "--tiny",
                             "--out", str(tmp_path)], capture_output=True, text=True, timeout=240)
    results = json.loads((tmp_path / "echo-tiny.json").read_text())
    assert not results["failures"], results["failures"]
    assert result.returncode == 0, result.stderr
    available = {k["name"] for k in results["kinds"] if k["available"]}
    assert {"asyncio-protocol", "asyncio-streams", "uvloop-protocol", "uvloop-streams",
            "gevent", "pyuv", "ceiling"} <= available
    measured = {s["kind"] for s in results["summary"]}
    assert measured == available
    for entry in results["summary"]:
        assert entry["messages_per_s"] > 0 and entry["p99_us"] >= entry["p50_us"]
    assert {h["kind"] for h in results["hold"]} == available - {"ceiling"}
    assert all(h["ok"] for h in results["hold"]), results["hold"]
    for kind in results["kinds"]:
        if not kind["available"]:
            assert kind["reason"] and f"not measured: {kind['label']}" in result.stdout
    assert "1 KiB messages, 2 connections" in result.stdout
    for suffix in ("json", "txt", "png", "svg"):
        assert (tmp_path / f"echo-tiny.{suffix}").stat().st_size > 0
    meta = results["meta"]
    assert meta["python"] and meta["versions"]["uvloop"] and meta["mode"] == "tiny"
    # Every server went through the warm-up cycle, once per size, before its first measurement.
    assert results["format"] == 2
    prewarm = results["prewarm"]
    assert prewarm["seconds_per_size"] == results["settings"]["prewarm"] > 0
    assert sorted(run["kind"] for run in prewarm["runs"]) == sorted(available)
    assert "every server warmed up first" in " ".join(result.stdout.split())
    # The server's CPU per message, split into user and system time, with asyncio's ratio.
    for entry in results["summary"]:
        user, system = entry["user_us_per_msg"], entry["sys_us_per_msg"]
        assert user is not None and system is not None, entry
        assert user >= 0 and system >= 0 and 0 < user + system < 10_000, entry
        assert entry["faults_per_msg"] is not None and entry["faults_per_msg"] >= 0
        if entry["kind"] == "asyncio-protocol":
            assert entry["less_user_cpu"] == 1.0
    for sample in results["samples"]:
        assert {"user_us_per_msg", "sys_us_per_msg", "faults_per_msg"} <= sample.keys()
    assert "usr µs" in result.stdout and "less usr" in result.stdout
    for suffix in ("png", "svg"):
        assert (tmp_path / f"echo-tiny-cpu.{suffix}").stat().st_size > 0
    assert not list((tmp_path / "logs").glob("*.log")) or all(
        "Traceback" not in p.read_text() for p in (tmp_path / "logs").glob("*.log"))


def test_unavailable_kind_is_reported_not_measured(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "KINDS", tuple(
        runner.Kind(k.name, k.label, k.family, k.style, k.command,
                    (lambda: "not here (test)") if k.name == "gevent" else k.unavailable)
        for k in runner.KINDS))
    settings = runner.Settings(sizes=[512], connections=[1], warmup=0, duration=0.1, rounds=1,
                               prewarm=0, hold=0, kinds=["asyncio-protocol", "gevent"], mode="test")
    results = runner.run(settings, tmp_path)
    assert [s["kind"] for s in results["summary"]] == ["asyncio-protocol"]
    gevent = next(k for k in results["kinds"] if k["name"] == "gevent")
    assert gevent == {**gevent, "available": False, "reason": "not here (test)"}
    assert "not measured: gevent StreamServer: not here (test)" in report.format_table(results)
    assert results["prewarm"]["runs"] == []
    assert "no warm-up cycle" in report.describe_run(results)


def _recording_measure(monkeypatch, fail_first: bool = False) -> list[tuple]:
    """Record every call the runner makes to the load generator: (port, size, conns, duration)."""
    calls: list[tuple] = []
    real = loadgen.measure

    def measure(host, port, **options):
        calls.append((port, options["size"], options["connections"], options["duration"]))
        if fail_first and len(calls) == 1:
            raise loadgen.LoadgenError("refused (test)")
        return real(host, port, **options)
    monkeypatch.setattr(loadgen, "measure", measure)
    return calls


def test_every_server_warms_up_before_any_measurement(tmp_path, monkeypatch):
    calls = _recording_measure(monkeypatch)
    settings = runner.Settings(sizes=[512, 4096], connections=[1, 3], warmup=0, duration=0.05,
                               rounds=1, prewarm=0.07, hold=0,
                               kinds=["asyncio-protocol", "ceiling"], mode="test")
    results = runner.run(settings, tmp_path)
    assert not results["failures"], results["failures"]
    # Two servers, each warmed with every size over the most connections, before anything else.
    assert [call[1:] for call in calls[:4]] == [(512, 3, 0.07), (4096, 3, 0.07)] * 2
    assert calls[0][0] == calls[1][0] != calls[2][0] == calls[3][0]
    assert all(duration == 0.05 for *_, duration in calls[4:]) and len(calls) == 4 + 8
    assert [(run["kind"], run["size"]) for run in results["prewarm"]["runs"]] == [
        ("asyncio-protocol", 512), ("asyncio-protocol", 4096), ("ceiling", 512), ("ceiling", 4096)]
    assert results["prewarm"]["connections"] == 3
    assert "every server warmed up first (each size for 0.07 s over 3 connections, then closed)" \
        in " ".join(report.format_table(results).split())


def test_a_server_whose_warm_up_fails_is_not_measured(tmp_path, monkeypatch):
    _recording_measure(monkeypatch, fail_first=True)
    settings = runner.Settings(sizes=[512], connections=[1], warmup=0, duration=0.05, rounds=1,
                               prewarm=0.05, hold=0, kinds=["asyncio-protocol", "ceiling"],
                               mode="test")
    results = runner.run(settings, tmp_path)
    assert results["failures"] == [
        {"kind": "asyncio-protocol", "error": "warm-up (512 B x 1) failed: refused (test)"}]
    assert {entry["kind"] for entry in results["summary"]} == {"ceiling"}


def test_the_load_generator_says_it_needs_linux_elsewhere(monkeypatch):
    # macOS (and any other system): one clear error before anything is compiled or run
    monkeypatch.setattr(loadgen, "sys", SimpleNamespace(platform="darwin"))
    with pytest.raises(loadgen.LoadgenError, match=r"uses epoll and /proc, which only Linux "
                                                   r"has; on darwin run the echo demo by hand"):
        loadgen.build()


def test_loadgen_reports_a_refused_connection():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(loadgen.LoadgenError, match="connect: Connection refused"):
        loadgen.measure("127.0.0.1", port, connections=1, size=16, warmup=0, duration=0.1)


def test_loadgen_detects_a_corrupted_echo():
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def corrupting_server():
        conn, _ = listener.accept()
        with conn:
            data = conn.recv(64)
            conn.sendall(bytes([data[0] ^ 1]) + data[1:])
            conn.recv(64)

    thread = threading.Thread(target=corrupting_server, daemon=True)
    thread.start()
    try:
        with pytest.raises(loadgen.LoadgenError, match="echo differs"):
            loadgen.measure("127.0.0.1", port, connections=1, size=64, warmup=0, duration=1)
    finally:
        thread.join(5)
        listener.close()


def test_loadgen_reports_the_server_cpu_within_the_measured_window():
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def echo_server():
        conn, _ = listener.accept()
        # The load generator closes with an echo still unread, which resets the connection.
        with conn, contextlib.suppress(ConnectionError):
            while data := conn.recv(65536):
                conn.sendall(data)

    thread = threading.Thread(target=echo_server, daemon=True)
    thread.start()
    try:
        run = loadgen.measure("127.0.0.1", port, connections=1, size=100, warmup=0, duration=0.3,
                              server_pid=os.getpid())
    finally:
        thread.join(5)
        listener.close()
    assert run.messages > 0
    assert run.server_user is not None and run.server_user >= 0
    assert run.server_system is not None and run.server_system >= 0
    assert run.server_minor_faults is not None and run.server_minor_faults >= 0
    assert run.per_message_us(run.server_user) == run.server_user / run.messages * 1e6


def test_loadgen_reports_a_server_that_is_gone():
    listener = socket.create_server(("127.0.0.1", 0))
    with listener, subprocess.Popen([sys.executable, "-c", "pass"]) as gone:
        gone.wait()
        with pytest.raises(loadgen.LoadgenError, match=r"cannot read the server's /proc/PID/stat"):
            loadgen.measure("127.0.0.1", listener.getsockname()[1], connections=1, size=16,
                            warmup=0, duration=5, server_pid=gone.pid)


def _results(samples):
    kinds = [{"name": n, "label": n, "family": n.split("-")[0], "style": n.split("-")[-1],
              "available": True, "reason": None}
             for n in ("asyncio-protocol", "asyncio-streams", "rose-streams")]
    return {"kinds": kinds, "samples": samples}


def _sample(kind, rate, **extra):
    return {"kind": kind, "size": 1024, "connections": 10, "messages_per_s": rate,
            "mib_per_s": rate / 1024, "p50_us": 100, "p99_us": 200, "loadgen_busy": 0.5,
            "server_cpu": 1.0, **extra}


def test_summary_takes_medians_and_ratios_to_asyncio():
    results = _results([_sample("asyncio-protocol", r) for r in (9, 10, 30)]
                       + [_sample("asyncio-streams", r) for r in (5, 6, 7)]
                       + [_sample("rose-streams", r) for r in (15, 18, 60)])
    summary = {e["kind"]: e for e in report.summarize(results)}
    assert summary["asyncio-protocol"]["messages_per_s"] == 10
    assert summary["rose-streams"]["messages_per_s"] == 18
    assert summary["rose-streams"]["ratio"] == 1.8
    assert summary["rose-streams"]["ratio_same_style"] == 3.0
    assert summary["rose-streams"]["rounds"] == 3


def test_summary_takes_cpu_medians_and_the_user_cpu_ratio_to_asyncio():
    results = _results([_sample("asyncio-protocol", 10, user_us_per_msg=u, sys_us_per_msg=8.0)
                        for u in (3.0, 4.0, 9.0)]
                       + [_sample("rose-streams", 10, user_us_per_msg=u, sys_us_per_msg=s)
                          for u, s in ((1.0, 7.0), (2.0, 8.5), (2.0, 9.0))]
                       + [_sample("asyncio-streams", 10)])   # a sample from a format-1 file
    summary = {e["kind"]: e for e in report.summarize(results)}
    assert summary["asyncio-protocol"]["user_us_per_msg"] == 4.0
    assert summary["rose-streams"]["user_us_per_msg"] == 2.0
    assert summary["rose-streams"]["sys_us_per_msg"] == 8.5
    assert summary["rose-streams"]["less_user_cpu"] == 2.0
    assert summary["asyncio-protocol"]["less_user_cpu"] == 1.0
    assert summary["asyncio-streams"]["user_us_per_msg"] is None
    assert summary["asyncio-streams"]["less_user_cpu"] is None


def test_no_ratio_without_a_baseline():
    summary = report.summarize(_results([_sample("rose-streams", 5)]))
    assert summary[0]["ratio"] is None


def test_chart_draws_the_committed_reference(tmp_path):
    assert bench.REFERENCE.exists(), "benchmarks/reference.json must be committed for the deck"
    reference = json.loads(bench.REFERENCE.read_text())
    for key in ("date", "python", "cpu", "versions", "mode"):
        assert reference["meta"][key], key
    written = bench.chart(bench.REFERENCE, tmp_path / "echo")
    assert sorted(p.name for p in written) == ["echo.png", "echo.svg"]
    assert (tmp_path / "echo.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in (tmp_path / "echo.svg").read_text()
    assert report.format_table(reference).startswith(f"{reference['meta']['mode']} run")


def test_bench_rejects_an_unknown_kind():
    result = subprocess.run([sys.executable, "-m", "tulip_echo", "bench", "--kinds", "twisted"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "unknown server kind 'twisted'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def _format2_results() -> dict:
    """Results as a run of this version writes them: every kind, two sizes, two counts."""
    kinds = [{"name": k.name, "label": k.label, "family": k.family, "style": k.style,
              "available": True, "reason": None} for k in runner.KINDS]
    samples = []
    for index, kind in enumerate(runner.KINDS):
        for size in (1024, 102400):
            for connections in (10, 100):
                rate = 10_000 + 1_000 * index
                samples.append({
                    "kind": kind.name, "size": size, "connections": connections, "round": 1,
                    "messages": rate * 3, "elapsed": 3.0, "messages_per_s": rate,
                    "mib_per_s": rate * size / 2**20, "p50_us": 150, "p99_us": 123_456,
                    "mean_us": 200, "loadgen_busy": 0.5, "server_cpu": 0.99,
                    "others_cpu": 0.2 if kind.name == "gevent" else 0.01,
                    "user_us_per_msg": 5.0 / (1 + index), "sys_us_per_msg": 8.0,
                    "faults_per_msg": 0.0})
    results = {
        "format": 2,
        "meta": {"date": "2026-01-31T10:00:00+00:00", "python": "3.11.7", "cpu": "Test CPU",
                 "cpus": 2, "loadavg_start": [0.25, 0.2, 0.1], "mode": "full",
                 "pinning": {"servers": 0, "loadgen": 1}},
        "settings": {"rounds": 1, "duration": 3.0, "warmup": 1.0, "wait": "spin", "prewarm": 0.5},
        "kinds": kinds,
        "prewarm": {"seconds_per_size": 0.5, "connections": 100, "sizes": [1024, 102400],
                    "runs": []},
        "samples": samples, "failures": [],
        "hold": [{"kind": k.name, "connections": 10_000, "ok": True, "connect_s": 1.5,
                  "echo_s": 0.75, "close_s": 0.5, "total_s": 2.75} for k in runner.KINDS[:-1]],
    }
    results["summary"] = report.summarize(results)
    return results


def _svg_texts(path) -> list[str]:
    """The texts drawn in an SVG (matplotlib writes each one as a comment beside its glyphs)."""
    return re.findall(r"<!-- (.*?) -->", path.read_text())


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("draw", [bench.chart, bench.chart_cpu], ids=["rate", "cpu"])
def test_charts_are_byte_identical_for_the_same_input(tmp_path, draw, lang):
    results = _format2_results()
    first = draw(results, tmp_path / "one" / "figure", lang=lang)
    again = draw(json.loads(json.dumps(results)), tmp_path / "two" / "figure", lang=lang)
    assert [p.name for p in first] == ["figure.png", "figure.svg"]
    for one, two in zip(first, again):
        assert one.read_bytes() == two.read_bytes(), f"{one.name} differs between two draws"
    assert "<dc:date>" not in first[1].read_text()


def test_charts_in_english(tmp_path):
    results = _format2_results()
    rate = " | ".join(_svg_texts(bench.chart(results, tmp_path / "rate")[1]))
    cpu = " | ".join(_svg_texts(bench.chart_cpu(results, tmp_path / "cpu")[1]))
    for words in ("messages/s (median over rounds)", "1 KiB messages", "10 connections",
                  "100 connections", "server", "×1.10", "evergreen tasks", "raw pyuv callbacks",
                  "C epoll server (ceiling)", "Test CPU", "servers warmed up before measuring",
                  "* measured while other processes took the CPU: not reliable"):
        assert words in rate, words
    for words in ("CPU µs per message (median over rounds)", "user: the server's own code",
                  "kernel: system calls and loopback TCP", "5.0 + 8.0 µs", "user ÷2.0",
                  "user ÷10.0", "100 KiB messages", "100 connections"):
        assert words in cpu, words


def test_charts_in_spanish(tmp_path):
    results = _format2_results()
    rate = _svg_texts(bench.chart(results, tmp_path / "rate", lang="es")[1])
    cpu = _svg_texts(bench.chart_cpu(results, tmp_path / "cpu", lang="es")[1])
    for texts, expected in (
            (rate, ("mensajes/s (mediana de las rondas)", "mensajes de 1 KiB", "10 conexiones",
                    "100 conexiones", "servidor", "×1,10", "tareas de evergreen",
                    "callbacks de pyuv a pelo", "servidor epoll en C (techo)", "10 mil",
                    "servidores calentados antes de medir", "no es fiable", "más es mejor")),
            (cpu, ("µs de CPU por mensaje (mediana de las rondas)",
                   "usuario: el código del propio servidor",
                   "núcleo: llamadas al sistema y TCP por loopback", "5,0 + 8,0 µs",
                   "usuario ÷2,0", "mensajes de 100 KiB", "menos es mejor"))):
        joined = " | ".join(texts)
        for words in expected:
            assert words in joined, words
        for english in ("messages", "connections", "server", "user", "kernel", "round",
                        "over rounds", "run,", "ceiling", "tasks", "better"):
            assert english not in joined, english


@pytest.mark.parametrize("draw", [bench.chart, bench.chart_cpu], ids=["rate", "cpu"])
def test_one_size_and_count_fit_a_960x700_slide(tmp_path, draw):
    png, svg = draw(_format2_results(), tmp_path / "slide", sizes=[102400], connections=100,
                    lang="es")
    width, height = struct.unpack(">II", png.read_bytes()[16:24])
    assert (width, height) == (1440, 1050)   # 960x700 at 1.5 px per slide pixel
    texts = " | ".join(_svg_texts(svg))
    assert "mensajes de 100 KiB, 100 conexiones" in texts and "1 KiB" not in texts


def test_chart_selection_is_checked(tmp_path):
    results = _format2_results()
    with pytest.raises(ValueError, match="no measurements for size 10 KiB: the results hold "
                                         "1 KiB, 100 KiB"):
        bench.chart(results, tmp_path / "x", sizes=[10240])
    with pytest.raises(ValueError, match="no measurements for connection count 7"):
        bench.chart_cpu(results, tmp_path / "x", connections=[10, 7])
    with pytest.raises(ValueError, match="unknown lang 'fr': choose one of en, es"):
        bench.chart(results, tmp_path / "x", lang="fr")
    assert not list(tmp_path.iterdir())


def _format1_results() -> dict:
    """The committed reference as format 1 wrote it: no CPU split, no warm-up cycle."""
    results = copy.deepcopy(dict(bench.load(bench.REFERENCE)))
    results["format"] = 1
    results.pop("prewarm", None)
    results["settings"].pop("prewarm", None)
    for entry in results["summary"] + results["samples"]:
        for metric in (*report.CPU_METRICS, "less_user_cpu"):
            entry.pop(metric, None)
    return results


def test_an_old_results_file_still_draws(tmp_path):
    assert bench.REFERENCE.exists(), "benchmarks/reference.json must be committed for the deck"
    reference = bench.load(_format1_results())
    for lang, says in (("en", "This results file has no user/system CPU split:"),
                       ("es", "Este fichero de resultados no separa la CPU de usuario")):
        png, svg = bench.chart_cpu(reference, tmp_path / f"cpu-{lang}", lang=lang)
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert any(text.startswith(says) for text in _svg_texts(svg)), lang
        bench.chart(reference, tmp_path / f"rate-{lang}", lang=lang, sizes=[1024])
    table = report.format_table(reference)
    assert "usr µs, sys µs: not in this file" in table
    assert "no warm-up cycle" in " ".join(table.split())


def test_one_kind_without_a_cpu_split_is_marked_not_drawn(tmp_path):
    results = _format2_results()
    for entry in results["summary"]:
        if entry["kind"] == "gevent":
            entry["user_us_per_msg"] = entry["sys_us_per_msg"] = None
    texts = _svg_texts(bench.chart_cpu(results, tmp_path / "cpu", sizes=[1024],
                                       connections=10)[1])
    assert "no CPU split" in " | ".join(texts)


def test_the_table_fits_130_columns():
    results = _format2_results()
    table = report.format_table(results)
    assert "usr µs" in table and "less usr" in table and "×10.00" in table
    widest = max(table.splitlines(), key=len)
    assert len(widest) <= report.TABLE_WIDTH, widest
    reference = report.format_table(bench.load(bench.REFERENCE))
    assert max(map(len, reference.splitlines())) <= report.TABLE_WIDTH


def test_load_rejects_what_is_not_a_results_file(tmp_path):
    other = tmp_path / "other.json"
    other.write_text('{"hello": 1}')
    with pytest.raises(ValueError, match="not an echo benchmark results file"):
        bench.load(other)
    newer = dict(_format2_results(), format=99)
    with pytest.raises(ValueError, match="results format 99 is newer"):
        bench.load(newer)


def test_chart_from_redraws_in_spanish_for_a_chosen_size(tmp_path):
    result = subprocess.run([sys.executable, "-m", "tulip_echo", "bench", "--chart-from",
                             str(bench.REFERENCE), "--out", str(tmp_path), "--lang", "es",
                             "--sizes", "1K", "--connections", "10"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "reference-cpu-es.png", "reference-cpu-es.svg", "reference-es.png", "reference-es.svg"]
    assert "mensajes de 1 KiB, 10 conexiones" in _svg_texts(tmp_path / "reference-es.svg")
    bad = subprocess.run([sys.executable, "-m", "tulip_echo", "bench", "--chart-from",
                          str(bench.REFERENCE), "--out", str(tmp_path), "--sizes", "3K"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    assert bad.stderr.strip() == (f"tulip_echo: error: cannot chart {bench.REFERENCE}: no "
                                  "measurements for size 3 KiB: the results hold 1 KiB, 10 KiB, "
                                  "100 KiB")


# Instructions per message (tulip_echo.bench.instructions): the driver's checks
# without valgrind, the whole measurement where valgrind is installed.

def _one_shot_server(reply):
    """A listener whose first connection gets reply(first chunk) back; (port, finish)."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve():
        conn, _ = listener.accept()
        with conn:
            data = conn.recv(64)
            answer = reply(data)
            if answer:
                conn.sendall(answer)
            conn.recv(64)   # until the client leaves

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()

    def finish():
        thread.join(5)
        listener.close()
    return port, finish


def test_instruction_driver_detects_a_wrong_echo():
    port, finish = _one_shot_server(lambda data: bytes([data[0] ^ 1]) + data[1:])
    try:
        with pytest.raises(ConnectionError, match=f"127.0.0.1:{port} echoed other bytes"):
            instructions.drive("127.0.0.1", port, connections=1, messages=3, size=64, timeout=5)
    finally:
        finish()


def test_instruction_driver_gives_up_on_a_silent_server():
    port, finish = _one_shot_server(lambda data: b"")
    try:
        with pytest.raises(TimeoutError, match=f"127.0.0.1:{port}: 0 of 2 echoes in 0.3 s"):
            instructions.drive("127.0.0.1", port, connections=1, messages=2, size=64, timeout=0.3)
    finally:
        finish()


def test_instruction_counts_refuse_counts_in_the_wrong_order():
    kind = next(kind for kind in runner.KINDS if kind.name == "pyuv")
    if shutil.which("valgrind") is None:
        with pytest.raises(FileNotFoundError, match="valgrind is not installed"):
            instructions.count(kind, messages=(10, 5))
    else:
        with pytest.raises(ValueError, match="the first smaller: got 10, 5"):
            instructions.count(kind, messages=(10, 5))


@pytest.mark.skipif(shutil.which("valgrind") is None,
                    reason="valgrind is not installed: instruction counts run under it")
def test_instruction_count_of_rose():
    # One kind (two runs under valgrind, some 50 s): the baseline of its own ratio.
    result = subprocess.run([sys.executable, "-m", "tulip_echo.bench.instructions",
                             "--kinds", "rose-protocol", "--messages", "200,2200",
                             "--connections", "2"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    row = re.search(r"^  rose-protocol\s+([\d,]+)\s+x1\.000$", result.stdout, re.MULTILINE)
    assert row, result.stdout
    # Python callbacks per read: thousands of instructions, not a count of nothing.
    assert int(row.group(1).replace(",", "")) > 1000, result.stdout
