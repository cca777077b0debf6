"""Faults: the echo servers on broken links, against hostile peers, and soaked.

``make faults`` (``python -m tulip_echo.faults``; ``--quick`` for a shorter
run) runs every case against every demo server kind, each server in a process
of its own, and prints one table (fault x server: passed, time, peak RSS,
descriptors, worst round trip), written as JSON beside the benchmark's
results in ``bench-results/``. One concern per module, importing downwards:

- :mod:`.proxy`: the fault proxy (delay and jitter, 1-byte segments, stalls,
  resets, half-closes), a userspace TCP relay on loopback;
- :mod:`.servers`: a server under test, and what /proc says about it;
- :mod:`.links`: the demo's clients through the proxy, checked by SHA-256;
- :mod:`.hostile`: hostile clients, and the well-behaved client that measures;
- :mod:`.soak`: a million echoes, watching memory and latency;
- :mod:`.runner`: the matrix; :mod:`.report`: the table and the JSON.
"""
