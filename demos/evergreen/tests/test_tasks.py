"""Tasks, the hub and evergreen.run(): scheduling, outcomes, kill, reprs."""

from __future__ import annotations

import contextvars
import gc
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from greenlet import getcurrent

import evergreen
import evergreen.local
import evergreen.locks
import evergreen.tasks
from evergreen import Task, TaskExit
from evergreen.futures import CancelledError


def test_spawn_runs_concurrently_and_returns_results(run):
    def square(n):
        evergreen.sleep(0.05)
        return n * n

    def main():
        started = time.monotonic()
        tasks = [evergreen.spawn(square, n) for n in range(20)]
        results = [t.result() for t in tasks]
        return results, time.monotonic() - started

    results, elapsed = run(main)
    assert results == [n * n for n in range(20)]
    # Twenty 50 ms sleeps overlap; run one after the other they would take 1 s.
    assert elapsed < 0.5


def test_sleep_zero_yields_in_fifo_order(run):
    order = []

    def worker(name):
        for i in range(3):
            order.append((name, i))
            evergreen.sleep(0)

    def main():
        tasks = [evergreen.spawn(worker, name) for name in 'abc']
        evergreen.joinall(tasks)

    run(main)
    assert order == [(n, i) for i in range(3) for n in 'abc']


def test_sleep_zero_interrupted_with_its_wake_up_queued_is_not_woken_by_it_later(run):
    # A task's sleep(0) reuses one Waiter. Here a sleep(0) is interrupted while its
    # wake-up is still queued: the next sleep(0) must not be woken by that stale
    # wake-up (which would run the task ahead of the one it set, queued in between).
    class Boom(Exception):
        pass

    order = []

    def main():
        loop = evergreen.get_loop()
        event = evergreen.locks.Event()

        def other():
            event.wait()
            order.append('other')

        def sleeper():
            me = getcurrent()
            evergreen.sleep(0.01)       # resumed by a timer, not among the queued wake-ups
            loop.call_soon(loop.interrupt, me, Boom())
            try:
                evergreen.sleep(0)      # its wake-up is queued behind the interrupt
            except Boom:
                order.append('interrupted')
            event.set()                 # other's wake-up: queued behind the stale one
            evergreen.sleep(0)
            order.append('sleeper')

        tasks = [evergreen.spawn(other), evergreen.spawn(sleeper)]
        evergreen.joinall(tasks)

    run(main)
    assert order == ['interrupted', 'other', 'sleeper']


def test_tasks_start_in_spawn_order(run):
    order = []

    def main():
        for i in range(10):
            evergreen.spawn(order.append, i)
        evergreen.sleep(0)
        return list(order)

    assert run(main) == list(range(10))


def test_thread_like_api(run):
    class Doubler(Task):
        def run(self):
            evergreen.sleep(0.01)
            return 2 * self.value

    def main():
        t = Task(target=lambda a, b=0: a + b, name='adder', args=(1,), kwargs={'b': 2})
        assert t.name == 'adder'
        assert not t.is_alive() and t.ident is None
        with pytest.raises(RuntimeError, match='before it is started'):
            t.join()
        t.start()
        assert t.is_alive()
        with pytest.raises(RuntimeError, match='only be started once'):
            t.start()
        assert t.join(1) is True
        assert not t.is_alive()
        assert t.result() == 3
        d = Doubler(name='doubler')
        d.value = 21
        d.start()
        assert d.join(timeout=0) is False
        assert d.result() == 42
        t.name = 'renamed'
        assert t.name == 'renamed'
        assert evergreen.current_task().name == 'TestMain'
        with pytest.raises(RuntimeError, match='cannot join current task'):
            evergreen.current_task().join()

    run(main)


def test_default_names_are_numbered_with_target(loop):
    def job():
        pass
    t = Task(target=job)
    assert t.name.startswith('Task-') and t.name.endswith('(test_default_names_are_numbered_with_target.<locals>.job)')
    with pytest.raises(TypeError, match='callable'):
        Task(target=42)


def test_join_timeout_returns_false_then_true(run):
    def main():
        t = evergreen.spawn(evergreen.sleep, 1)
        started = time.monotonic()
        assert t.join(0.05) is False
        assert 0.04 < time.monotonic() - started < 0.9
        assert t.join() is True

    run(main)


def test_join_and_result_refuse_a_nan_timeout(run):
    def main():
        t = evergreen.spawn(evergreen.sleep, 0.01)
        with pytest.raises(ValueError, match='NaN'):
            t.join(float('nan'))
        with pytest.raises(ValueError, match='NaN'):
            t.result(float('nan'))
        with pytest.raises(ValueError, match='NaN'):
            evergreen.joinall([t], timeout=float('nan'))
        assert t.join(5) is True
        assert t.result(float('nan')) is None   # ended: nothing to wait for

    run(main)


def test_exception_is_kept_and_raised_by_result(run):
    def fail():
        raise ValueError('boom')

    def main():
        t = evergreen.spawn(fail)
        with pytest.raises(ValueError, match='boom'):
            t.result()
        assert isinstance(t.exception(), ValueError)
        assert not t.cancelled() and t.done()
        assert 'failed ValueError' in repr(t)

    run(main)


def test_unobserved_exception_is_reported(loop, run):
    def fail():
        raise KeyError('lost')

    def main():
        evergreen.spawn(fail)           # fire and forget: reported as it ends
        evergreen.sleep(0.01)
        assert len(loop.reports) == 1
        kept = evergreen.spawn(fail)    # kept: reported when dropped unretrieved
        evergreen.sleep(0.01)
        assert len(loop.reports) == 1
        del kept
        assert len(loop.reports) == 2
        collected = [evergreen.spawn(fail) for _ in range(3)]
        evergreen.sleep(0.01)
        for t in collected:             # retrieved in order: never reported
            with pytest.raises(KeyError):
                t.result()

    run(main)
    assert len(loop.reports) == 2
    for report in loop.reports:
        assert isinstance(report['exception'], KeyError)
        assert 'Exception in <evergreen.Task' in report['message']
        assert 'was never retrieved' in report['message']
        # The traceback starts in the user's code, not in evergreen's machinery.
        assert report['exception'].__traceback__.tb_frame.f_code.co_name == 'fail'
    loop.reports.clear()


def test_system_exit_ends_only_that_task(loop, run):
    def main():
        t = evergreen.spawn(sys.exit, 3)
        t.join()
        return t.exception()

    assert isinstance(run(main), SystemExit)
    assert loop.reports == []


def test_kill_while_blocked_runs_finally(run):
    events = []

    def victim():
        try:
            evergreen.sleep(10)
        finally:
            events.append('finally')

    def main():
        t = evergreen.spawn(victim)
        evergreen.sleep(0.01)
        started = time.monotonic()
        t.kill()
        assert time.monotonic() - started < 1
        assert not t.is_alive()
        assert t.cancelled()
        with pytest.raises(CancelledError):
            t.result()
        assert 'killed' in repr(t)

    run(main)
    assert events == ['finally']


def test_kill_with_custom_exception_and_catching_it(run):
    def victim():
        try:
            evergreen.sleep(10)
        except TaskExit:
            return 'caught'

    def other():
        evergreen.sleep(10)

    def main():
        a = evergreen.spawn(victim)
        b = evergreen.spawn(other)
        evergreen.sleep(0)
        a.kill()
        b.kill(RuntimeError('stop'))
        assert a.result() == 'caught'
        with pytest.raises(RuntimeError, match='stop'):
            b.result()

    run(main)


def test_kill_before_start_never_runs(run):
    ran = []

    def main():
        t = evergreen.spawn(ran.append, 1)
        t.kill()
        assert t.cancelled()
        late = evergreen.spawn_later(0.01, ran.append, 2)
        late.kill(block=False)
        evergreen.sleep(0.05)
        unstarted = Task(target=ran.append, args=(3,))
        unstarted.kill()
        assert unstarted.cancelled()

    run(main)
    assert ran == []


def test_kill_self_raises_at_once(run):
    def suicidal():
        evergreen.current_task().kill()
        return 'unreachable'

    def main():
        t = evergreen.spawn(suicidal)
        t.join()
        return t.cancelled()

    assert run(main) is True


def test_spawn_later_and_joinall(run):
    def main():
        started = time.monotonic()
        t = evergreen.spawn_later(0.05, time.monotonic)
        assert t.is_alive()
        assert t.result() - started >= 0.045
        tasks = [evergreen.spawn(evergreen.sleep, d) for d in (0.01, 0.02, 0.5)]
        done = evergreen.joinall(tasks, timeout=0.1)
        assert done == tasks[:2]
        assert evergreen.joinall(tasks) == tasks

    run(main)
    with pytest.raises(ValueError):
        evergreen.spawn_later(-1, print)
    with pytest.raises(TypeError):
        evergreen.spawn_later('1', print)


def test_joinall_raise_error_stops_at_first_failure(loop, run):
    def fail():
        evergreen.sleep(0.01)
        raise OSError('disk')

    def main():
        slow = evergreen.spawn(evergreen.sleep, 1)
        bad = evergreen.spawn(fail)
        started = time.monotonic()
        with pytest.raises(OSError, match='disk'):
            evergreen.joinall([slow, bad], raise_error=True)
        assert time.monotonic() - started < 0.5
        slow.kill()

    run(main)
    assert loop.reports == []


def test_sleep_rejects_bad_arguments(loop):
    with pytest.raises(ValueError):
        evergreen.sleep(-1)
    with pytest.raises(TypeError):
        evergreen.sleep('1')
    with pytest.raises(ValueError):
        evergreen.sleep(float('nan'))


def test_current_task_is_none_outside_tasks(loop):
    assert evergreen.current_task() is None


def test_daemon_tasks_do_not_keep_run_alive(run):
    def main():
        d = Task(target=evergreen.sleep, args=(30,), daemon=True).start()
        evergreen.spawn(evergreen.sleep, 0.01)
        return d

    started = time.monotonic()
    d = run(main)
    assert time.monotonic() - started < 5
    assert d.daemon


def test_daemon_is_inherited_and_fixed_after_start(run):
    def child():
        return evergreen.current_task().daemon

    def parent():
        return evergreen.spawn(child).result()

    def main():
        d = Task(target=parent, daemon=True).start()
        assert d.result() is True
        with pytest.raises(RuntimeError):
            d.daemon = False

    run(main)


def test_contextvars_are_copied_per_task(run):
    var = contextvars.ContextVar('var', default='unset')

    def child():
        seen = var.get()
        var.set('child')
        return seen

    def main():
        var.set('parent')
        seen = evergreen.spawn(child).result()
        return seen, var.get()

    assert run(main) == ('parent', 'parent')


def test_task_runs_in_the_context_it_is_given(run):
    # Task(context=) as threading.Thread(context=) (3.14): that very context, not a copy.
    var = contextvars.ContextVar('var', default='unset')

    def child():
        seen = var.get()
        var.set('child')
        return seen

    def main():
        var.set('parent')
        given = contextvars.Context()
        assert evergreen.Task(target=child, context=given).start().result() == 'unset'
        assert given[var] == 'child'              # the task's change is in the given context
        assert var.get() == 'parent'
        copied = contextvars.copy_context()
        assert evergreen.Task(target=child, context=copied).start().result() == 'parent'
        assert copied[var] == 'child' and var.get() == 'parent'
        with pytest.raises(TypeError, match='contextvars.Context'):
            evergreen.Task(target=child, context={'var': 1})

    run(main)


def test_blocking_in_a_loop_callback_is_a_clear_error(run):
    errors = []

    def callback():
        try:
            evergreen.sleep(0.1)
        except evergreen.BlockingInLoopError as exc:
            errors.append(str(exc))

    def main():
        evergreen.get_loop().call_soon(callback)
        evergreen.sleep(0.01)

    run(main)
    assert errors and 'would block the event loop' in errors[0] and 'evergreen.spawn' in errors[0]


def test_blocking_from_the_main_greenlet_runs_the_loop(loop):
    t = evergreen.spawn(lambda: 5)
    assert t.result() == 5
    evergreen.sleep(0.01)
    assert not loop.is_running()
    # Between blocking calls of the main greenlet, the loop does not run.
    import asyncio
    assert asyncio.run(asyncio.sleep(0, 'ok')) == 'ok'


def test_loop_run_returns_when_all_tasks_end(loop):
    loop.run()  # nothing to do: returns at once
    order = []
    evergreen.spawn(lambda: (evergreen.sleep(0.02), order.append('slow')))
    evergreen.spawn(order.append, 'fast')
    loop.run()
    assert order == ['fast', 'slow']
    assert loop.tasks() == []


def test_run_forever_and_stop(loop):
    loop.call_later(0.01, loop.stop)
    loop.run_forever()
    assert not loop.is_running()


def test_evergreen_run_returns_result_and_raises_main_exception():
    assert evergreen.run(lambda a, b: a * b, 6, 7) == 42

    def fail():
        raise LookupError('main failed')

    with pytest.raises(LookupError, match='main failed'):
        evergreen.run(fail)


def test_evergreen_run_waits_for_grandchildren():
    done = []

    def grandchild():
        evergreen.sleep(0.05)
        done.append('grandchild')

    def child():
        evergreen.spawn(grandchild)
        done.append('child')

    def main():
        evergreen.spawn(child)

    evergreen.run(main)
    assert done == ['child', 'grandchild']


def test_evergreen_run_accepts_async_main():
    import asyncio

    async def main(x):
        await asyncio.sleep(0.01)
        return x + 1

    assert evergreen.run(main, 1) == 2


def test_evergreen_run_refuses_nesting():
    def main():
        with pytest.raises(RuntimeError, match='cannot be called'):
            evergreen.run(print)

    evergreen.run(main)


def test_run_kills_daemons_and_closes_loop():
    killed = []

    def daemon():
        try:
            evergreen.sleep(60)
        except TaskExit:
            killed.append(True)
            raise

    def main():
        Task(target=daemon, daemon=True).start()
        evergreen.sleep(0.01)
        return evergreen.get_loop()

    loop = evergreen.run(main)
    assert killed == [True]
    assert loop.is_closed()


def test_reprs_are_readable(run):
    def sleeper():
        evergreen.sleep(1)

    def main():
        t = Task(target=sleeper, name='napper')
        assert repr(t) == "<evergreen.Task 'napper' initial>"
        t.start()
        assert repr(t) == "<evergreen.Task 'napper' started>"
        evergreen.sleep(0)
        text = repr(t)
        assert text.startswith("<evergreen.Task 'napper' blocked in sleep() at test_tasks.py:"), text
        assert 'running' in repr(evergreen.current_task())
        loop_repr = repr(evergreen.get_loop())
        assert 'running' in loop_repr and 'tasks=2' in loop_repr
        frames = t.get_stack()
        assert frames[-1].f_code.co_name == 'wait'
        assert any(f.f_code.co_name == 'sleeper' for f in frames)
        t.kill()
        assert repr(t) == "<evergreen.Task 'napper' killed>"
        done = evergreen.spawn(lambda: 'x' * 100)
        done.join()
        assert repr(done).endswith("done result='xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...>")

    run(main)


def test_done_callbacks(run):
    seen = []

    def main():
        t = evergreen.spawn(lambda: 7)
        t.add_done_callback(lambda task: seen.append(('cb', task.result())))
        t.join()
        t.add_done_callback(lambda task: seen.append(('late', task.result())))
        cb = seen.append
        t2 = evergreen.spawn(evergreen.sleep, 0.01)
        t2.add_done_callback(cb)
        t2.add_done_callback(cb)
        assert t2.remove_done_callback(cb) == 2
        t2.join()

    run(main)
    assert seen == [('cb', 7), ('late', 7)]


def test_a_finished_task_lets_go_of_its_greenlet_and_the_loop_ends_idle_ones(loop, run):
    def main():
        tasks = [evergreen.spawn(lambda: None) for _ in range(300)]
        evergreen.joinall(tasks)
        return [t._greenlet for t in tasks], list(loop.idle_greenlets)

    greenlets, idle = run(main)
    assert greenlets == [None] * 300
    # Tasks that ran one after another shared a greenlet, at most IDLE_GREENLETS are kept.
    assert 1 <= len(idle) <= evergreen.tasks.IDLE_GREENLETS
    loop.close()
    assert all(g.dead for g in idle) and loop.idle_greenlets == []
    gc.collect()


def test_a_reused_greenlet_carries_nothing_from_its_previous_task(run):
    var = contextvars.ContextVar('var', default='unset')
    store = evergreen.local.local()

    def first():
        var.set('first')
        store.value = 'first'
        try:
            raise ValueError('caught in the first task')
        except ValueError:
            pass
        return getcurrent(), evergreen.current_task()

    def second():
        return (getcurrent(), evergreen.current_task(), var.get(),
                getattr(store, 'value', 'unset'), sys.exc_info())

    def main():
        one = evergreen.spawn(first)
        g1, t1 = one.result()
        two = evergreen.spawn(second)
        g2, t2, value, local_value, exc_info = two.result()
        return one, t1, two, t2, g1 is g2, value, local_value, exc_info

    one, t1, two, t2, same_greenlet, value, local_value, exc_info = run(main)
    assert same_greenlet  # the point of the pool: the second task ran in the first's greenlet
    assert (t1, t2) == (one, two)
    assert (value, local_value, exc_info) == ('unset', 'unset', (None, None, None))


def test_an_rlock_left_held_by_an_ended_task_is_not_owned_by_the_next(run):
    lock = evergreen.locks.RLock()

    def main():
        evergreen.spawn(lock.acquire).join()
        nxt = evergreen.spawn(lambda: lock.acquire(timeout=0.01))
        return nxt.result()

    assert run(main) is False


def test_a_task_killed_before_it_starts_keeps_its_name_and_never_runs(run):
    ran = []

    def body():
        ran.append(1)

    def main():
        task = evergreen.spawn(body)
        task.kill()
        evergreen.sleep(0)
        return task

    task = run(main)
    assert task.cancelled() and ran == [] and task.name.endswith('.<locals>.body)')


def test_spawn_threadsafe_from_another_thread(run):
    import threading

    def main():
        loop = evergreen.get_loop()
        results = []

        def thread_body():
            future = loop.spawn_threadsafe(lambda x: (evergreen.sleep(0.01), x * 2)[1], 21)
            results.append(future.result(timeout=5))

        thread = threading.Thread(target=thread_body)
        thread.start()
        # The thread blocks on a real future; this task must keep the loop going.
        while thread.is_alive():
            evergreen.sleep(0.01)
        thread.join()
        return results

    assert run(main) == [42]


def test_task_can_be_joined_from_another_thread(run):
    import threading

    def main():
        t = evergreen.spawn(evergreen.sleep, 0.05)
        joined = []
        thread = threading.Thread(target=lambda: joined.append(t.join(5)))
        thread.start()
        t.join()
        while thread.is_alive():
            evergreen.sleep(0.01)
        return joined

    assert run(main) == [True]


_CTRL_C_PROGRAM = textwrap.dedent('''
    import os, signal, sys, evergreen
    cleaned = []
    def worker():
        try:
            evergreen.sleep(60)
        finally:
            cleaned.append('worker')
    def main():
        evergreen.spawn(worker)
        print('ready', flush=True)
        try:
            evergreen.sleep(60)
        finally:
            cleaned.append('main')
    try:
        evergreen.run(main)
    except KeyboardInterrupt:
        print('interrupted', sorted(cleaned), flush=True)
''')


def _interrupt_when_ready(program: str) -> tuple[str, str, int]:
    """Run *program*, send it SIGINT once it prints 'ready'; return stdout, stderr, status."""
    proc = subprocess.Popen([sys.executable, '-c', program],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == 'ready'
        time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return out, err, proc.returncode


def test_ctrl_c_interrupts_a_program_blocked_in_a_task():
    out, err, status = _interrupt_when_ready(_CTRL_C_PROGRAM)
    assert out.strip() == "interrupted ['main', 'worker']", err
    assert status == 0


def test_ctrl_c_interrupts_the_main_greenlet_blocked_outside_run():
    out, err, _ = _interrupt_when_ready(textwrap.dedent('''
        import evergreen
        print('ready', flush=True)
        try:
            evergreen.sleep(60)
        except KeyboardInterrupt:
            print('interrupted', flush=True)
    '''))
    assert out.strip() == 'interrupted', err


def test_signal_handler_runs_on_the_loop(uv_run):
    def main():
        loop = evergreen.get_loop()
        got = evergreen.futures.Future()
        loop.add_signal_handler(signal.SIGUSR1, got.set_result, 'usr1')
        try:
            os.kill(os.getpid(), signal.SIGUSR1)
            return got.result(timeout=5)
        finally:
            loop.remove_signal_handler(signal.SIGUSR1)

    import evergreen.futures  # noqa: F401
    assert uv_run(main) == 'usr1'
