"""Run a list of tasks in this process and worker processes that claim them one at a time.

Layer: primitives (below parallel). Knows nothing of arrays: a task is any picklable value, and what a
process does with the tasks it claims is a function given by the caller. ``processes=N`` means N
processes work: this one and N-1 workers it starts. Each process begins with one task of its own (task
k for process k, so every started process writes something) and then claims the next unclaimed task
from a shared counter, so a worker that starts late (a spawned interpreter imports for a second or two)
takes less, and this process works while the workers start. Workers report claims, bytes written and
failures through their pipes; a thread here turns them into progress and errors as they arrive. The
first failure stops every process after its current task; a worker that dies without reporting (kill
-9, out of memory) is a :class:`~hdmf_zarr.errors.ParallelWriteError` naming what it was writing.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

from hdmf_zarr.errors import ParallelWriteError

#: What a process does with the tasks it claims: ``run(claimed, report_bytes)``. Workers get it pickled
#: (a module-level function or a partial of one); this process may use another (see :func:`run_shared`).
Run = Callable[[Iterator[Any], Callable[[int], None]], None]


class _Claims:
    """The shared state of one run: the next unclaimed task, and the stop flag every process obeys."""

    def __init__(self, counter: Any, stop: Any, total: int) -> None:
        self.counter, self.stop, self.total = counter, stop, total

    def claimed[T](self, tasks: Sequence[T], first: int, notify: Callable[[int], None]) -> Iterator[T]:
        """Task *first*, then each next unclaimed task, until none is left or the run is stopped."""
        index: int | None = first
        while index is not None and not self.stop.is_set():
            notify(index)
            yield tasks[index]
            index = self._next()

    def _next(self) -> int | None:
        with self.counter.get_lock():
            index = int(self.counter.value)
            if index >= self.total:
                return None
            self.counter.value = index + 1
        return index


def _portable(exc: BaseException) -> tuple[BaseException, BaseException | None]:
    """(*exc* with its worker traceback as a note, *exc*'s cause) in forms the parent can unpickle."""
    text = "".join(traceback.format_exception(exc))
    cause = exc.__cause__
    try:
        exc.add_note(f"In worker process {os.getpid()}:\n{text}")
        pickle.loads(pickle.dumps(exc))
    except Exception:
        exc = ParallelWriteError(f"A worker process failed ({type(exc).__name__}): {exc}\n{text}")
    try:
        pickle.loads(pickle.dumps(cause))
    except Exception:
        cause = None
    return exc, cause


def _worker_main(
    tasks: Sequence[Any], first: int, shared: tuple[Any, Any], run: Run, setup: Any, conn: Connection
) -> None:
    """Body of one worker process: claim and run tasks, report claims, bytes, the end or the failure."""
    claims = _Claims(*shared, total=len(tasks))
    try:
        if setup is not None:
            setup()
        run(
            claims.claimed(tasks, first, lambda i: conn.send(("claim", i))), lambda n: conn.send(("bytes", n))
        )
        conn.send(("done", None))
    except BaseException as exc:  # the one boundary: any failure goes back to the parent, which raises it
        claims.stop.set()
        conn.send(("error", _portable(exc)))
    finally:
        conn.close()


@dataclass(slots=True)
class _Worker:
    process: Any
    conn: Connection
    current: int | None = None  # the task it claimed last
    claimed: int = 0
    finished: bool = False


@dataclass(slots=True)
class _Outcome[T]:
    """What the run produced: tasks run per pid, failures in the order they happened."""

    tasks: Sequence[T]
    describe: Callable[[T], str]
    on_bytes: Callable[[int], None]
    counts: dict[int, int] = field(default_factory=dict)
    errors: list[tuple[BaseException, BaseException | None]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(self, error: BaseException, cause: BaseException | None, stop: Any) -> None:
        stop.set()
        with self.lock:
            self.errors.append((error, cause))

    def receive(self, worker: _Worker, stop: Any) -> bool:
        """Handle one message of *worker*; False once its pipe is closed."""
        try:
            kind, payload = worker.conn.recv()
        except EOFError:
            worker.process.join()
            if not worker.finished:
                self.fail(self._died(worker), None, stop)
            return False
        if kind == "claim":
            worker.current, worker.claimed = payload, worker.claimed + 1
        elif kind == "bytes":
            try:
                self.on_bytes(payload)
            except Exception as exc:  # a progress reporter's failure: keep reading, or the workers block
                self.fail(exc, exc.__cause__, stop)
        else:
            worker.finished = True
            self.counts[worker.process.pid] = worker.claimed
            if kind == "error":
                error, cause = payload
                self.fail(error, cause, stop)
        return True

    def _died(self, worker: _Worker) -> ParallelWriteError:
        doing = (
            "" if worker.current is None else f", while writing {self.describe(self.tasks[worker.current])}"
        )
        return ParallelWriteError(
            f"A worker process (pid {worker.process.pid}) of a parallel write exited with code "
            f"{worker.process.exitcode} before reporting{doing}; the arrays it was writing are incomplete, "
            "so the write was stopped and nothing of it is presented as complete. Find what ended the "
            "process (out of memory? killed?) and write again, or write with fewer jobs."
        )


def _listen(workers: list[_Worker], outcome: _Outcome[Any], stop: Any) -> None:
    """Forward the workers' messages until every pipe is closed (runs in a thread of this process)."""
    open_ = {w.conn: w for w in workers}
    while open_:
        for conn in wait(list(open_)):
            assert isinstance(conn, Connection)
            if not outcome.receive(open_[conn], stop):
                conn.close()
                del open_[conn]


@dataclass(frozen=True, slots=True)
class Processes:
    """The processes of one run: how many (this one included), how workers start, what each runs."""

    count: int
    context: Any  # a multiprocessing context
    run: Run  # what workers run (pickled for spawned workers)
    run_here: Run  # what this process runs
    setup: Callable[[], None] | None = None  # run by each worker first (picklable)
    here: Callable[[], contextlib.AbstractContextManager[Any]] = contextlib.nullcontext  # around run_here


def _start(processes: Processes, tasks: Sequence[Any], shared: tuple[Any, Any], count: int) -> list[_Worker]:
    """Start workers 1 .. count-1 (worker k begins with task k); stops the started ones if one fails."""
    started: list[_Worker] = []
    try:
        for first in range(1, count):
            receiver, sender = processes.context.Pipe(duplex=False)
            proc = processes.context.Process(
                target=_worker_main, args=(tasks, first, shared, processes.run, processes.setup, sender)
            )
            try:
                proc.start()
            finally:
                sender.close()  # the child holds the only sending end: EOF when it dies without reporting
            started.append(_Worker(proc, receiver))
    except BaseException:
        shared[1].set()
        for w in started:
            w.process.join()
            w.conn.close()
        raise
    return started


def run_shared[T](
    tasks: Sequence[T],
    processes: Processes,
    *,
    on_bytes: Callable[[int], None],
    describe: Callable[[T], str],
) -> dict[int, int]:
    """Run *tasks* in this process and ``processes.count - 1`` workers started for this run.

    Returns the number of tasks each process ran, by pid; raises the first failure (a worker's with
    its cause chained). *describe* names a task in the message about a worker that died.
    """
    count = max(1, min(processes.count, len(tasks)))
    shared = (processes.context.Value("q", count), processes.context.Event())
    claims = _Claims(*shared, total=len(tasks))
    outcome = _Outcome(tasks, describe, on_bytes)
    workers: list[_Worker] = []
    listener = threading.Thread(target=_listen, args=(workers, outcome, claims.stop), name="hdmf_zarr-jobs")
    mine = 0

    def tally(_: int) -> None:
        nonlocal mine
        mine += 1

    try:
        workers.extend(_start(processes, tasks, shared, count))
        listener.start()
        with processes.here():
            processes.run_here(claims.claimed(tasks, 0, tally), on_bytes)
    except Exception as exc:
        outcome.fail(exc, exc.__cause__, claims.stop)
    except BaseException:  # interrupted (Ctrl-C): do not wait for the workers' current tasks
        claims.stop.set()
        for w in workers:
            w.process.terminate()
        raise
    finally:
        if listener.ident is None:  # it never started: read the started workers' pipes here
            _listen(workers, outcome, claims.stop)
        else:
            listener.join()
        for w in workers:
            w.process.join()
    outcome.counts[os.getpid()] = mine
    if outcome.errors:
        error, cause = outcome.errors[0]
        if error.__cause__ is None and cause is not None and cause is not error:
            raise error from cause
        raise error
    return outcome.counts


__all__ = ["Processes", "Run", "run_shared"]
