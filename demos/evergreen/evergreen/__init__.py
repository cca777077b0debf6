"""evergreen: cooperative multitasking and I/O on greenlet and pyuv.

This is the package's skeleton; the library itself is the subject of issue 4.
"""

__version__ = "0.1.0"
