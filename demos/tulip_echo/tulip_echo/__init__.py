"""tulip_echo: the echo server and client of the talks, on every loop, and their benchmark.

This is the package's skeleton; the demo itself is the subject of issue 5.
"""

__version__ = "0.1.0"
