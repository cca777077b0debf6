"""The benchmark: its quick mode on a tiny setting (a smoke test, no timing assertions),
the load generator's checks, the report's arithmetic and the chart from reference data."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading

import pytest

from tulip_echo import bench
from tulip_echo.bench import loadgen, report, runner


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
    assert not list((tmp_path / "logs").glob("*.log")) or all(
        "Traceback" not in p.read_text() for p in (tmp_path / "logs").glob("*.log"))


def test_unavailable_kind_is_reported_not_measured(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "KINDS", tuple(
        runner.Kind(k.name, k.label, k.family, k.style, k.command,
                    (lambda: "not here (test)") if k.name == "gevent" else k.unavailable)
        for k in runner.KINDS))
    settings = runner.Settings(sizes=[512], connections=[1], warmup=0, duration=0.1, rounds=1,
                               hold=0, kinds=["asyncio-protocol", "gevent"], mode="test")
    results = runner.run(settings, tmp_path)
    assert [s["kind"] for s in results["summary"]] == ["asyncio-protocol"]
    gevent = next(k for k in results["kinds"] if k["name"] == "gevent")
    assert gevent == {**gevent, "available": False, "reason": "not here (test)"}
    assert "not measured: gevent StreamServer: not here (test)" in report.format_table(results)


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
