"""Tasks and coroutines on one loop: each waits for the other.

::

    python interop.py

evergreen's loop is an asyncio loop, so blocking-style tasks and asyncio
coroutines share it, in one thread:

* a task calls ``evergreen.wait_for(awaitable)``: it blocks (only itself)
  until the coroutine or future is done, and gets its result;
* a coroutine does ``await evergreen.spawn(blocking_function)``: the
  function runs in a task, the coroutine gets its result.

Here an asyncio streams server (coroutines) answers a blocking evergreen
client (a task), and a coroutine hands blocking work to tasks.
"""

from __future__ import annotations

import asyncio
import time

import evergreen
from evergreen import io


async def shout(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """An asyncio server handler: answers each line in capitals."""
    while line := await reader.readline():
        writer.write(line.upper())
        await writer.drain()
    writer.close()
    await writer.wait_closed()


def blocking_client(port: int, words: list[str]) -> list[str]:
    """Blocking-style code in a task: connect, send, read, as if it had a thread."""
    with io.TCPClient().connect(('127.0.0.1', port)) as conn:
        replies = []
        for word in words:
            conn.write(word.encode() + b'\n')
            replies.append(conn.readline().decode().strip())
        return replies


def slow_square(n: int) -> int:
    evergreen.sleep(0.1)        # blocking style: parks this task only
    return n * n


async def coroutine_side() -> list[int]:
    """A coroutine that hands blocking-style work to tasks and awaits them."""
    tasks = [evergreen.spawn(slow_square, n) for n in range(5)]
    return list(await asyncio.gather(*tasks))


def main() -> None:
    # A task starts an asyncio server (a coroutine) and waits for it to listen...
    server = evergreen.wait_for(asyncio.start_server(shout, '127.0.0.1', 0))
    port = server.sockets[0].getsockname()[1]
    # ...talks to it with blocking code...
    print('task -> coroutine server:', blocking_client(port, ['tulip', 'rose', 'evergreen']))
    # ...and waits for a coroutine that itself awaits tasks.
    started = time.monotonic()
    squares = evergreen.wait_for(coroutine_side())
    print(f'coroutine -> tasks: {squares} in {time.monotonic() - started:.2f} s')
    server.close()
    evergreen.wait_for(server.wait_closed())


if __name__ == '__main__':
    evergreen.run(main)
