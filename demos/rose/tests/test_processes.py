"""Pipes and child processes, on rose and on asyncio's loop."""

import asyncio
import os
import signal
import subprocess
import sys
import tempfile

from rose.testing import loop_test_cases

PY = sys.executable


# The process's open descriptors: /proc on Linux, /dev/fd on macOS and the BSDs.
FD_DIR = '/proc/self/fd' if os.path.isdir('/proc/self/fd') else '/dev/fd'


class PipeProtocol(asyncio.Protocol):

    def __init__(self, loop):
        self.data = bytearray()
        self.events = []
        self.lost = loop.create_future()

    def connection_made(self, transport):
        self.transport = transport
        self.events.append('made')

    def data_received(self, data):
        self.data += data

    def eof_received(self):
        self.events.append('eof')

    def connection_lost(self, exc):
        self.events.append('lost')
        self.lost.set_result(exc)


class PipeBehaviour:

    def test_read_and_write_pipes(self):
        async def main():
            r, w = os.pipe()
            read_tr, reader = await self.loop.connect_read_pipe(
                lambda: PipeProtocol(self.loop), open(r, 'rb', buffering=0))
            write_tr, writer = await self.loop.connect_write_pipe(
                lambda: PipeProtocol(self.loop), open(w, 'wb', buffering=0))
            self.assertIsInstance(read_tr, asyncio.ReadTransport)
            self.assertIsInstance(write_tr, asyncio.WriteTransport)
            self.assertNotIsInstance(read_tr, asyncio.WriteTransport)
            self.assertIsNotNone(read_tr.get_extra_info('pipe'))
            payload = os.urandom(300000)
            write_tr.write(payload)
            write_tr.close()
            self.assertIsNone(await writer.lost)
            self.assertIsNone(await reader.lost)
            self.assertEqual(bytes(reader.data), payload)
            self.assertEqual(reader.events, ['made', 'eof', 'lost'])

        self.run_loop(main())

    def test_write_pipe_notices_a_departed_reader(self):
        async def main():
            r, w = os.pipe()
            write_tr, writer = await self.loop.connect_write_pipe(
                lambda: PipeProtocol(self.loop), open(w, 'wb', buffering=0))
            write_tr.write(b'x')
            os.close(r)
            exc = await writer.lost
            self.assertTrue(exc is None or isinstance(exc, BrokenPipeError), exc)
            self.assertTrue(write_tr.is_closing())

        self.run_loop(main())

    def test_pipe_bad_input(self):
        async def main():
            with tempfile.TemporaryFile() as f:
                with self.assertRaisesRegex(ValueError, 'pipes'):
                    await self.loop.connect_read_pipe(asyncio.Protocol, f)
                with self.assertRaisesRegex(ValueError, 'pipes'):
                    await self.loop.connect_write_pipe(asyncio.Protocol, f)

        self.run_loop(main())

    def test_read_pipe_pause_and_resume(self):
        async def main():
            r, w = os.pipe()
            read_tr, reader = await self.loop.connect_read_pipe(
                lambda: PipeProtocol(self.loop), open(r, 'rb', buffering=0))
            read_tr.pause_reading()
            self.assertFalse(read_tr.is_reading())
            os.write(w, b'held back')
            await asyncio.sleep(0.02)
            self.assertEqual(reader.data, b'')
            read_tr.resume_reading()
            while not reader.data:
                await asyncio.sleep(0.001)
            self.assertEqual(reader.data, b'held back')
            os.close(w)
            await reader.lost

        self.run_loop(main())


class SubprocessBehaviour:

    def test_exec_communicate_and_returncode(self):
        async def main():
            proc = await asyncio.create_subprocess_exec(
                PY, '-c', 'import sys; data = sys.stdin.read(); print(data.upper()); sys.exit(3)',
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            out, err = await proc.communicate(b'hello child')
            self.assertEqual(out.strip(), b'HELLO CHILD')
            self.assertEqual(err, b'')
            self.assertEqual(proc.returncode, 3)

        self.run_loop(main())

    def test_shell_stderr_to_stdout_env_and_cwd(self):
        async def main():
            with tempfile.TemporaryDirectory() as tmp:
                proc = await asyncio.create_subprocess_shell(
                    'echo "$ROSE_VALUE"; pwd; echo oops 1>&2',
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                    env={'ROSE_VALUE': 'from env', 'PATH': os.environ['PATH']}, cwd=tmp)
                out, _ = await proc.communicate()
                lines = out.decode().split()
                self.assertEqual(lines[:2], ['from', 'env'])
                self.assertEqual(os.path.realpath(lines[2]), os.path.realpath(tmp))
                self.assertEqual(lines[3], 'oops')
                self.assertEqual(await proc.wait(), 0)

        self.run_loop(main())

    def test_kill_terminate_and_signals(self):
        async def main():
            for method, expected in (('kill', -signal.SIGKILL), ('terminate', -signal.SIGTERM)):
                proc = await asyncio.create_subprocess_exec(PY, '-c', 'import time; time.sleep(30)')
                getattr(proc, method)()
                self.assertEqual(await proc.wait(), expected)
            proc = await asyncio.create_subprocess_exec(
                PY, '-c', 'import signal, sys, time\n'
                'signal.signal(signal.SIGUSR1, lambda *a: sys.exit(7))\n'
                'print("ready", flush=True)\ntime.sleep(30)', stdout=subprocess.PIPE)
            self.assertEqual(await proc.stdout.readline(), b'ready\n')
            proc.send_signal(signal.SIGUSR1)
            self.assertEqual(await proc.wait(), 7)

        self.run_loop(main())

    def test_missing_program_is_file_not_found(self):
        async def main():
            before = len(os.listdir(FD_DIR))
            with self.assertRaises(FileNotFoundError) as caught:
                await asyncio.create_subprocess_exec('/nonexistent/rose-program', stdout=subprocess.PIPE)
            self.assertIn('rose-program', str(caught.exception))
            self.assertEqual(len(os.listdir(FD_DIR)), before)
            with self.assertRaises(ValueError):
                await asyncio.create_subprocess_exec(PY, '-c', 'pass', text=True)
            with self.assertRaises(ValueError):
                await asyncio.create_subprocess_shell('true', bufsize=4096)

        self.run_loop(main())

    def test_pass_fds_and_new_session(self):
        async def main():
            r, w = os.pipe()
            try:
                proc = await asyncio.create_subprocess_exec(
                    PY, '-c', f'import os; os.write({w}, str(os.getsid(0) == os.getpid()).encode())',
                    pass_fds=(w,), start_new_session=True)
                self.assertEqual(await proc.wait(), 0)
                self.assertEqual(os.read(r, 100), b'True')
            finally:
                os.close(r)
                os.close(w)

        self.run_loop(main())

    def test_options_libuv_lacks_still_work(self):
        async def main():
            marker = []
            proc = await asyncio.create_subprocess_exec(
                PY, '-c', 'import os; print(oct(os.umask(0)))', stdout=subprocess.PIPE,
                umask=0o027, preexec_fn=lambda: marker.append(1))
            out, _ = await proc.communicate()
            self.assertEqual(out.strip(), b'0o27')

        self.run_loop(main())

    def test_devnull_and_inherited_file(self):
        async def main():
            with tempfile.TemporaryFile() as f:
                proc = await asyncio.create_subprocess_exec(
                    PY, '-c', 'import sys; print(sys.stdin.read() == "")',
                    stdin=subprocess.DEVNULL, stdout=f)
                self.assertEqual(await proc.wait(), 0)
                f.seek(0)
                self.assertEqual(f.read().strip(), b'True')

        self.run_loop(main())

    def test_cancelled_wait_leaves_process_manageable(self):
        async def main():
            proc = await asyncio.create_subprocess_exec(PY, '-c', 'import time; time.sleep(30)')
            with self.assertRaises(TimeoutError):
                await asyncio.wait_for(proc.wait(), 0.05)
            proc.kill()
            self.assertEqual(await proc.wait(), -signal.SIGKILL)

        self.run_loop(main())


for _mixin in (PipeBehaviour, SubprocessBehaviour):
    globals().update(loop_test_cases(_mixin))
