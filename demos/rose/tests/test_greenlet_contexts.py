"""A greenlet switch inside a protocol callback leaves no contextvars context entered.

rose enters a protocol's context where libuv calls Python (``Context.run``).
evergreen switches greenlets inside such callbacks: the greenlet running the
loop is suspended with the context entered, another greenlet runs, and the
first is switched back to later. greenlet keeps a context per greenlet, so
the other greenlet must not see the callback's values, the callback must see
its own again when resumed, and once it returns the context must have been
left: the next callback entering it must not fail with "cannot enter
context: ... is already entered", and the loop's own context must hold no
value a callback set.
"""

import asyncio
import contextvars
import socket

import greenlet

from rose.testing import loop_test_cases

VAR = contextvars.ContextVar('rose_test_greenlet_var', default='unset')


class Switching(asyncio.Protocol):
    """Sets VAR in data_received, then (while *switch_to* is set) leaves for that greenlet."""

    def __init__(self, loop, log):
        self.loop = loop
        self.log = log
        self.switch_to = None
        self.received = None

    def expect(self):
        self.received = self.loop.create_future()
        return self.received

    def data_received(self, data):
        before = VAR.get()
        VAR.set(f'set for {data.decode()}')
        if self.switch_to is not None:
            came_back_with = self.switch_to.switch('left data_received')
            self.log.append(('resumed', came_back_with, VAR.get()))
        self.log.append(('received', data.decode(), before, VAR.get()))
        if self.received is not None and not self.received.done():
            self.received.set_result(data)


class GreenletSwitchBehaviour:

    def test_data_received_switches_to_another_greenlet_and_back(self):
        # In a context of its own: this greenlet sets VAR too.
        contextvars.Context().run(self.switch_in_data_received)

    def switch_in_data_received(self):
        loop = self.loop
        log = []
        outer = greenlet.getcurrent()
        a, b = socket.socketpair()
        self.addCleanup(a.close)
        self.addCleanup(b.close)
        b.setblocking(False)
        protocol = Switching(loop, log)

        async def exchange(message):
            received = protocol.expect()
            b.send(message)
            await received

        async def main():
            transport, _ = await loop.create_unix_connection(lambda: protocol, sock=a)
            protocol.switch_to = outer
            await exchange(b'first')
            await exchange(b'second')
            return transport

        # The loop runs in its own greenlet; data_received leaves it for this
        # one, with the protocol's context entered, and is resumed from here.
        runner = greenlet.greenlet(lambda: self.run_loop(main()))
        try:
            result = runner.switch()
            visits = 0
            own = 'unset'
            while not runner.dead:
                self.assertEqual(result, 'left data_received')
                # This greenlet's context holds its own value, nothing the callback set.
                self.assertEqual(VAR.get(), own)
                own = f'set by the outer greenlet, visit {visits}'
                VAR.set(own)
                visits += 1
                self.assertLess(visits, 10, 'data_received kept switching out')
                result = runner.switch(f'resumed {visits}')
        finally:
            if not runner.dead:
                # A failed check: unwind the loop's greenlet, so the loop stops.
                runner.throw(greenlet.GreenletExit)
        transport = result
        self.assertEqual(visits, 2)
        self.assertEqual(VAR.get(), 'set by the outer greenlet, visit 1')

        # The callback's context was left: the same transport's next read
        # enters it again, and the loop's context holds no callback's value.
        protocol.switch_to = None
        outer_context = contextvars.Context()

        async def after():
            await exchange(b'third')
            seen = loop.create_future()
            loop.call_soon(lambda: seen.set_result(VAR.get()))
            return await seen

        self.assertEqual(outer_context.run(self.run_loop, after()), 'unset')
        transport.close()
        self.run_loop(asyncio.sleep(0))

        self.assertEqual(log[0], ('resumed', 'resumed 1', 'set for first'))
        self.assertEqual(log[1][:2], ('received', 'first'))
        self.assertEqual(log[2], ('resumed', 'resumed 2', 'set for second'))
        self.assertEqual(log[3][:2], ('received', 'second'))
        self.assertEqual(log[4][0:2], ('received', 'third'))
        self.assertEqual(len(log), 5)
        # Whatever a read sees before it sets VAR (a copy of the context per
        # read before Python 3.15, the connection's own from 3.15 on), it is
        # never the outer greenlet's value.
        for entry in log[1], log[3], log[4]:
            self.assertNotIn('outer', entry[2])


globals().update(loop_test_cases(GreenletSwitchBehaviour))
