"""What the demos need to know about, and ask of, the machine they run on.

Shared by the command line, the benchmark and the fault runs (and their child
processes), which all hold many connections and describe the machine they measured.
"""

from __future__ import annotations

import platform
from pathlib import Path

__all__ = ["cpu_model", "raise_fd_limit"]


def raise_fd_limit() -> int | None:
    """Raise this process's descriptor limit to the hard limit; return the limit now in force.

    Children inherit it. Failing to raise it is not fatal (the process just holds fewer
    connections); None where the platform has no ``resource`` module.
    """
    try:
        import resource
    except ImportError:
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            pass  # e.g. macOS refuses an unlimited hard limit: keep the soft one
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def cpu_model() -> str:
    """The processor's name, as /proc/cpuinfo or the platform module gives it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
