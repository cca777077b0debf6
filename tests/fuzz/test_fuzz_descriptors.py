"""Differential fuzzing of the descriptor methods: sock_* and add_reader/add_writer, rose vs asyncio.

Each side holds a connected TCP socket (``sock``, non-blocking) whose peer is
a plain socket, and a listener. Rules start ``sock_recv``, ``sock_sendall``,
``sock_accept`` and ``sock_connect`` as tasks, add and remove one-shot
readers and writers, cancel a pending task, make the peer send, close or
reset, and take the socket away at random points: closed, shut down, or
replaced by a new one (which gets the same descriptor number), from the step
itself, another task, a callback, or another thread through
``call_soon_threadsafe``; or closed in the very iteration a sock_* call
starts waiting. After each step the side notes every task that ended (its
result's size or exception type, or cancelled), every reader or writer call,
the exception handler's calls, and which tasks are still pending.
"""

from __future__ import annotations

import asyncio
import os
import socket
import struct
import threading
from typing import Any

from differential import LOOP_NAMES, Side, assert_same_traces, ends_as_sets, exc_name, rule_applies
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

_SETTLE_LIMIT = 3.0
_QUIET = 0.015
_PATTERN = bytes(range(251)) * 1200

WHERE = ['step', 'task', 'callback', 'thread']
TAKE_AWAY = ['close', 'shutdown-read', 'shutdown-write', 'shutdown-both', 'replace']
SOCK_OPS = ['sock_recv', 'sock_sendall', 'sock_accept', 'sock_connect']


class DescriptorSide(Side):
    """One loop, its socket under test and that socket's peer."""

    def __init__(self, loop_name: str) -> None:
        super().__init__(loop_name)
        self.listener_sock = self.listener()
        self.listener_sock.setblocking(False)
        self.tasks: dict[str, asyncio.Task] = {}
        self.count = 0
        self.sock, self.peer = self._connected_pair()
        self.peer_reading = True
        self.peer_received = 0

    def _connected_pair(self) -> tuple[socket.socket, socket.socket]:
        server = socket.create_server(('127.0.0.1', 0))
        try:
            sock = socket.create_connection(server.getsockname()[:2], timeout=5)
            peer, _ = server.accept()
        finally:
            server.close()
        for s in (sock, peer):
            s.setblocking(False)
            self.on_close(s.close)
        return sock, peer

    # -- what a step does, inside the running loop --

    def start(self, op: str, size: int) -> str:
        """Start a sock_* call on the current socket as a task; its label."""
        loop, sock = self.loop, self.sock
        self.count += 1
        label = f'{op}#{self.count}'
        if op == 'sock_recv':
            coro = loop.sock_recv(sock, size)
        elif op == 'sock_sendall':
            coro = loop.sock_sendall(sock, _PATTERN[:size])
        elif op == 'sock_accept':
            coro = loop.sock_accept(self.listener_sock)
        else:
            fresh = socket.socket()
            fresh.setblocking(False)
            self.on_close(fresh.close)
            coro = loop.sock_connect(fresh, self.listener_sock.getsockname())
        task = loop.create_task(coro)
        self.tasks[label] = task
        task.add_done_callback(lambda t: self._ended(label, t))
        return label

    def _ended(self, label: str, task: asyncio.Task) -> None:
        if task.cancelled():
            self.note('ended', label, 'cancelled')
        elif task.exception() is not None:
            self.note('ended', label, 'raised', exc_name(task.exception()))
        else:
            result = task.result()
            if isinstance(result, tuple):  # sock_accept
                result[0].close()
                result = 'a socket'
            elif isinstance(result, bytes):
                result = len(result)
            self.note('ended', label, result)

    def take_away(self, how: str) -> None:
        sock = self.sock
        if how == 'close':
            sock.close()
        elif how == 'replace':
            # A new connection under the old descriptor's number, as when a number
            # is reused; by dup2, because which free number the kernel hands out
            # next depends on each loop's own descriptors.
            number = sock.fileno()
            fresh, peer = self._connected_pair()
            sock.close()
            self.peer.close()
            os.dup2(fresh.fileno(), number)
            self.sock = socket.socket(fileno=number)
            self.on_close(self.sock.close)
            fresh.close()
            self.peer = peer
        else:
            sock.shutdown({'shutdown-read': socket.SHUT_RD, 'shutdown-write': socket.SHUT_WR,
                           'shutdown-both': socket.SHUT_RDWR}[how])

    def from_where(self, where: str, action: Any, *args: Any) -> None:
        """Run *action* now, from another task, from a callback, or from another thread."""
        loop = self.loop

        def guarded() -> None:
            try:
                action(*args)
            except OSError as exc:
                self.note('take-away raised', exc_name(exc))

        if where == 'step':
            guarded()
        elif where == 'task':
            async def other_task() -> None:
                guarded()
            loop.create_task(other_task())
        elif where == 'callback':
            loop.call_soon(guarded)
        else:
            thread = threading.Thread(target=loop.call_soon_threadsafe, args=(guarded,))
            thread.start()
            thread.join(5)

    def watch(self, side: str) -> Any:
        """add_reader/add_writer on the socket with a one-shot callback."""
        add = self.loop.add_reader if side == 'reader' else self.loop.add_writer
        remove = self.loop.remove_reader if side == 'reader' else self.loop.remove_writer
        sock = self.sock

        def called() -> None:
            self.note(f'{side} called', remove(sock))
        return add(sock, called)

    def unwatch(self, side: str) -> bool:
        remove = self.loop.remove_reader if side == 'reader' else self.loop.remove_writer
        return remove(self.sock)

    def peer_act(self, how: str, size: int) -> Any:
        if how == 'send':
            return self.peer.send(_PATTERN[:size])
        if how == 'reset':
            self.peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        if how == 'half-close':
            self.peer.shutdown(socket.SHUT_WR)
            return None
        self.peer.close()
        return None

    # -- running a step and noting what it left --

    def apply(self, name: str, operation: Any, *args: Any) -> None:
        """Call *operation* inside the running loop, note its outcome at once, then settle."""
        async def call() -> None:
            # Noted before the loop runs again: what the call caused comes after it.
            self.call_and_note(name, operation, *args)
        self.run(call())
        self.run(self._settle(), timeout=_SETTLE_LIMIT + 5)

    def _pump_peer(self) -> None:
        while self.peer_reading and self.peer.fileno() != -1:
            try:
                data = self.peer.recv(65536)
            except OSError:
                return
            if not data:
                return
            self.peer_received += len(data)

    def _snapshot(self) -> tuple[int, int, int]:
        return len(self.trace), self.peer_received, sum(t.done() for t in self.tasks.values())

    async def _settle(self) -> None:
        loop = self.loop
        deadline = loop.time() + _SETTLE_LIMIT
        last, quiet_since = self._snapshot(), loop.time()
        while loop.time() < deadline:
            self._pump_peer()
            await asyncio.sleep(0.001)
            snapshot = self._snapshot()
            if snapshot != last:
                last, quiet_since = snapshot, loop.time()
            elif loop.time() - quiet_since >= _QUIET:
                break
        self.note('pending', sorted(label for label, t in self.tasks.items() if not t.done()),
                  'peer got', self.peer_received)


class DescriptorMachine(RuleBasedStateMachine):
    """The same descriptor operations on rose and on asyncio; the same observations."""

    def __init__(self) -> None:
        super().__init__()
        self.sides = [DescriptorSide(name) for name in LOOP_NAMES]
        self.watched = False            # a reader or writer was ever added, or a sock_recv/sock_sendall
        self.rewatch_excluded: str = ''  # the rule's name once it applies

    def teardown(self) -> None:
        for side in self.sides:
            side.close()

    def each(self, name: str, method: str, *args: Any) -> None:
        for side in self.sides:
            side.apply(name, getattr(side, method), *args)

    @rule(op=st.sampled_from(SOCK_OPS), size=st.sampled_from([1, 100, 65536, 300_000]))
    def start(self, op: str, size: int) -> None:
        if op != 'sock_accept' and self.rewatch_excluded:
            return
        self.note_watching(op)
        self.each(op, 'start', op, size)

    @rule(op=st.sampled_from(SOCK_OPS), how=st.sampled_from(TAKE_AWAY),
          where=st.sampled_from(['step', 'callback']))
    def start_then_take_away(self, op: str, how: str, where: str) -> None:
        # In the same loop iteration as the call starts waiting (issue 12's abort).
        if op != 'sock_accept' and self.rewatch_excluded:
            return
        self.note_watching(op)
        self.number_may_be_reused(how)
        for side in self.sides:
            def both(side: DescriptorSide = side) -> str:
                label = side.start(op, 1)
                side.from_where(where, side.take_away, how)
                return label
            side.apply(f'{op}, then {how} from {where}', both)

    def note_watching(self, op: str) -> None:
        if op in ('sock_recv', 'sock_sendall'):
            # Both watch the socket while they wait, as add_reader/add_writer do
            # (sock_accept watches the listener, sock_connect a socket of its own).
            self.watched = True

    def number_may_be_reused(self, how: str) -> None:
        if how in ('close', 'replace') and self.watched:
            # Rule REUSED_NUMBER_REWATCH (DIFFERENCES.md): from now on, watching the
            # number again (add_reader/add_writer, sock_recv/sock_sendall on the
            # replacement, sock_connect's fresh socket that may get it) differs on
            # purpose; those rules stop (sock_accept watches the listener).
            self.rewatch_excluded = rule_applies('REUSED_NUMBER_REWATCH')

    @rule(how=st.sampled_from(TAKE_AWAY), where=st.sampled_from(WHERE))
    def take_away(self, how: str, where: str) -> None:
        self.number_may_be_reused(how)
        for side in self.sides:
            side.apply(f'{how} from {where}', side.from_where, where, side.take_away, how)

    @precondition(lambda self: not self.rewatch_excluded)
    @rule(side=st.sampled_from(['reader', 'writer']))
    def watch(self, side: str) -> None:
        self.watched = True
        self.each(f'add_{side}', 'watch', side)

    @precondition(lambda self: not self.rewatch_excluded)
    @rule(side=st.sampled_from(['reader', 'writer']))
    def unwatch(self, side: str) -> None:
        self.each(f'remove_{side}', 'unwatch', side)

    @precondition(lambda self: any(not t.done() for t in self.sides[0].tasks.values()))
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        pending = sorted(label for label, t in self.sides[0].tasks.items() if not t.done())
        label = data.draw(st.sampled_from(pending))
        for side in self.sides:
            side.apply(f'cancel {label}', side.tasks[label].cancel)

    @rule(how=st.sampled_from(['send', 'half-close', 'close', 'reset']),
          size=st.sampled_from([1, 1000, 60000]))
    def peer(self, how: str, size: int) -> None:
        self.each(f'peer {how}', 'peer_act', how, size)

    @rule(reading=st.booleans())
    def peer_reads(self, reading: bool) -> None:
        for side in self.sides:
            side.peer_reading = reading

    @invariant()
    def same_observations(self) -> None:
        assert_same_traces(self.sides, ends_as_sets)


class TestDescriptors(DescriptorMachine.TestCase):
    """rose's sock_* methods and fd watchers against asyncio's, as many sequences as the profile says."""

    settings = settings(stateful_step_count=20)
