"""rose: an asyncio event loop whose I/O is done by libuv, through pyuv.

This is the package's skeleton; the loop itself is the subject of issue 3.
"""

__version__ = "0.1.0"
