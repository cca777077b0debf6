"""Reading is paced per loop iteration, so that pause_reading() lands in time.

asyncio's selector transport reads once per readable event per iteration. libuv
reads a readable socket up to 32 times per poll; when rose defers those reads
through the ready queue (the loop had callbacks ready before the poll, the usual
case for a busy server), the protocol sees them only after the poll, too late
for its pause_reading() to stop the rest. A busy rose streams server holding
2,000 connections that never read kept about 3.5 MiB each instead of asyncio's
0.76 (found by ``make faults``). The contract tested: while the loop is busy, a
transport delivers at most about one asyncio read's worth (256 KiB, plus the
chunk that crossed it) per iteration, on every loop.
"""

import asyncio
import socket
import threading

from rose.testing import loop_test_cases


class ReadPacingBehaviour:

    def test_a_busy_loop_delivers_at_most_one_read_per_transport_per_iteration(self):
        iteration = 0
        seen: list[tuple[int, int]] = []
        payload = b'p' * (2 * 1024 * 1024)

        class Counting(asyncio.Protocol):
            def connection_made(self, transport):
                self.transport = transport
                self.done = loop.create_future()
                self.received = 0

            def data_received(self, data):
                seen.append((iteration, len(data)))
                self.received += len(data)
                if self.received >= len(payload) and not self.done.done():
                    self.done.set_result(None)

            def connection_lost(self, exc):
                if not self.done.done():
                    self.done.set_result(None)

        loop = self.loop
        protocols = []

        def tick():
            # Always something ready: every poll's reads go through the ready queue.
            nonlocal iteration
            iteration += 1
            if not stop.is_set():
                loop.call_soon(tick)

        stop = threading.Event()

        async def main():
            server = await loop.create_server(
                lambda: protocols.append(Counting()) or protocols[-1], '127.0.0.1', 0)
            port = server.sockets[0].getsockname()[1]
            peer = socket.create_connection(('127.0.0.1', port), timeout=10)
            try:
                loop.call_soon(tick)
                sender = threading.Thread(target=peer.sendall, args=(payload,), daemon=True)
                sender.start()
                while not protocols:
                    await asyncio.sleep(0.01)
                await asyncio.wait_for(protocols[0].done, 20)
                sender.join(10)
            finally:
                stop.set()
                peer.close()
                server.close()
                await server.wait_closed()

        self.run_loop(main())
        self.assertEqual(protocols[0].received, len(payload))
        per_iteration: dict[int, int] = {}
        for when, size in seen:
            per_iteration[when] = per_iteration.get(when, 0) + size
        self.assertLessEqual(max(per_iteration.values()), 256 * 1024 + 64 * 1024,
                             f'one iteration delivered {max(per_iteration.values())} bytes '
                             f'({len(seen)} reads in {len(per_iteration)} iterations)')


globals().update(loop_test_cases(ReadPacingBehaviour))
