"""Parallel array writes: plan picklable tasks, run them in worker processes or on a Dask cluster.

Layer: parallel (below write). A task names its target by a picklable store, the array's key and its
metadata document, and its source either by a pickled ``GenericDataChunkIterator`` (``write(...,
number_of_jobs=N)``, as hdmf-zarr sends the iterator to its workers) or by a reference to an HDF5 or
Zarr array the worker re-opens (conversions). Every task writes whole write units (shards, or chunks
when unsharded), so no two workers ever write the same stored object.
"""

from __future__ import annotations

import concurrent.futures
import functools
import importlib.util
import itertools
import multiprocessing
import os
import pickle
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from multiprocessing.context import BaseContext
from typing import Any, Literal

import numpy as np
import zarr
from zarr.abc.store import Store
from zarr.core.array import AsyncArray
from zarr.core.metadata import ArrayV2Metadata, ArrayV3Metadata
from zarr.storage import LocalStore, MemoryStore, StorePath

from hdmf_zarr.errors import ParallelWriteError, UnsupportedValueError
from hdmf_zarr.pipeline import DISABLE_ACCELERATION_ENV, array_construction

Selection = tuple[slice, ...]
#: How worker processes start unless ``multiprocessing_context`` says otherwise: "spawn" everywhere,
#: because a forked child inherits the Rust thread pools (zarrs, obstore) of its parent without their
#: threads. Scripts that write in parallel need the usual ``if __name__ == "__main__":`` guard.
DEFAULT_START_METHOD = "spawn"
#: Bytes of source data one conversion task reads and writes (a few write units at a time).
REGION_TASK_BYTES = 64 << 20
#: An array of many write units is split into at least this many conversion tasks (load balance).
MIN_REGION_TASKS = 8


@dataclass(frozen=True, slots=True)
class ParallelOptions:
    """How a write spreads its array data: ``number_of_jobs`` processes, or a Dask ``client``."""

    number_of_jobs: int = 1
    max_threads_per_process: int | None = None
    multiprocessing_context: Any = None  # a start method name ("fork", "spawn", ...) or a context
    client: Any = None  # a dask.distributed.Client

    @property
    def enabled(self) -> bool:
        return self.number_of_jobs > 1 or self.client is not None

    @classmethod
    def from_kwargs(cls, kwargs: dict[str, Any]) -> ParallelOptions:
        """Pop and check the parallel write options from a write's keyword arguments."""
        jobs = kwargs.pop("number_of_jobs", 1)
        threads = kwargs.pop("max_threads_per_process", None)
        context = kwargs.pop("multiprocessing_context", None)
        client = kwargs.pop("client", None)
        if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
            raise ParallelWriteError(f"number_of_jobs must be an integer >= 1, not {jobs!r}.")
        if threads is not None:
            if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
                raise ParallelWriteError(f"max_threads_per_process must be an integer >= 1, not {threads!r}.")
            if importlib.util.find_spec("threadpoolctl") is None:
                raise ParallelWriteError(
                    "max_threads_per_process needs threadpoolctl to limit the threads of each worker: "
                    "pip install 'hdmf_zarr[parallel]' (or threadpoolctl), or leave it unset."
                )
        _check_context(context)
        if client is not None and not callable(getattr(client, "map", None)):
            raise ParallelWriteError(
                f"client must be a dask.distributed.Client, not {type(client).__name__}."
            )
        return cls(jobs, threads, context, client)


def _check_context(context: Any) -> None:
    if context is None or isinstance(context, BaseContext):
        return
    methods = multiprocessing.get_all_start_methods()
    if context not in methods:
        raise ParallelWriteError(
            f"multiprocessing_context must be one of {methods} or a multiprocessing context, not {context!r}."
        )


@dataclass(frozen=True, slots=True)
class ArrayTarget:
    """The array a task writes into: re-opened in the worker from these picklable fields."""

    store: Store
    key: str
    metadata: dict[str, Any]  # the array's metadata document (to_dict)
    where: str  # the dataset's path, for messages

    def open(self) -> zarr.Array:
        meta: ArrayV2Metadata | ArrayV3Metadata
        if self.metadata.get("zarr_format") == 2:
            meta = ArrayV2Metadata.from_dict(dict(self.metadata))
        else:
            meta = ArrayV3Metadata.from_dict(dict(self.metadata))
        with array_construction(self.store):
            return zarr.Array(AsyncArray(metadata=meta, store_path=StorePath(self.store, self.key)))


def target_for(store: Store, array: AsyncArray[Any], where: str) -> ArrayTarget:
    """The picklable target of *array*; refuses stores that other processes cannot reach."""
    if isinstance(store, MemoryStore):
        raise ParallelWriteError(
            f"Cannot write dataset {where!r} in parallel: it goes to a MemoryStore, which lives in this "
            "process only. Write to a folder, a zip file or an object store, or use number_of_jobs=1."
        )
    return ArrayTarget(store, array.store_path.path, array.metadata.to_dict(), where)


def write_unit(array: AsyncArray[Any]) -> tuple[int, ...]:
    """The shape of the smallest independently stored block of *array* (its shard, else its chunk)."""
    shards = getattr(array, "shards", None)
    return tuple(int(s) for s in (shards or array.chunks))


# -- grouping selections so that no two groups share a write unit ----------------------------------


def _unit_range(sel: slice, unit: int, extent: int) -> tuple[int, int, bool, bool]:
    """(first unit, last unit + 1, start misaligned, stop misaligned) of *sel* along one axis."""
    start = 0 if sel.start is None else int(sel.start)
    stop = extent if sel.stop is None else min(int(sel.stop), extent)
    return start // unit, -(-stop // unit), start % unit != 0, stop % unit != 0 and stop != extent


def _partial_units(
    sel: Selection, unit: tuple[int, ...], shape: tuple[int, ...]
) -> Iterable[tuple[int, ...]]:
    """The write units *sel* covers only in part (the only units another selection can also touch)."""
    ranges = [_unit_range(s, u, n) for s, u, n in zip(sel, unit, shape, strict=True)]
    for axis, (lo, hi, lo_cut, hi_cut) in enumerate(ranges):
        edges = {i for i, cut in ((lo, lo_cut), (hi - 1, hi_cut)) if cut and lo < hi}
        for edge in edges:
            axes = [range(a, b) for a, b, _, _ in ranges]
            axes[axis] = range(edge, edge + 1)
            yield from _product(axes)


def _product(axes: Sequence[range]) -> Iterable[tuple[int, ...]]:
    if not axes:
        yield ()
        return
    for head in axes[0]:
        for tail in _product(axes[1:]):
            yield (head, *tail)


def group_selections(
    selections: Sequence[Selection], unit: tuple[int, ...], shape: tuple[int, ...]
) -> list[list[Selection]]:
    """Split disjoint *selections* into groups such that no write unit is touched by two groups.

    Selections aligned to the write units are each a group of their own; misaligned ones that share a
    unit are kept together (one worker writes them in order).
    """
    parent = list(range(len(selections)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[tuple[int, ...], int] = {}
    for i, sel in enumerate(selections):
        for u in _partial_units(sel, unit, shape):
            j = owner.setdefault(u, i)
            parent[find(i)] = find(j)
    groups: dict[int, list[Selection]] = {}
    for i, sel in enumerate(selections):
        groups.setdefault(find(i), []).append(sel)
    return list(groups.values())


def normalise_selection(selection: Any, shape: tuple[int, ...]) -> Selection:
    """A buffer selection as one slice per axis (GenericDataChunkIterator yields tuples of slices)."""
    sel = selection if isinstance(selection, tuple) else (selection,)
    if len(sel) < len(shape):
        sel = sel + (slice(None),) * (len(shape) - len(sel))
    if not all(isinstance(s, slice) and s.step in (None, 1) for s in sel):
        raise ParallelWriteError(f"A parallel write needs slice selections, not {selection!r}.")
    return tuple(slice(*s.indices(n)[:2]) for s, n in zip(sel, shape, strict=True))


# -- tasks -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IteratorTask:
    """Write the buffers *selections* of one pickled GenericDataChunkIterator into *target*."""

    target: ArrayTarget
    token: str  # identifies the pickled iterator: each worker unpickles it once
    iterator: Any  # the pickled iterator (bytes), or the iterator itself for forked workers
    selections: tuple[Selection, ...]


@dataclass(frozen=True, slots=True)
class SourceRef:
    """A source array a worker re-opens: an HDF5 dataset (file, name) or a Zarr array (store, key)."""

    kind: Literal["hdf5", "zarr"]
    location: Any  # the HDF5 file's path, or a picklable zarr Store
    path: str

    def read(self, selection: Selection) -> np.ndarray:
        if self.kind == "hdf5":
            import h5py

            with h5py.File(self.location, "r") as f:
                return np.asarray(f[self.path][selection])
        return np.asarray(zarr.open_array(self.location, path=self.path, mode="r")[selection])


@dataclass(frozen=True, slots=True)
class RegionTask:
    """Copy *selections* of *source* into the same selections of *target*."""

    source: SourceRef
    target: ArrayTarget
    selections: tuple[Selection, ...]


def source_ref(data: Any) -> SourceRef | None:
    """How a worker re-opens *data*, or None when only this process can read it."""
    module = type(data).__module__
    if module.startswith("h5py") and hasattr(data, "file") and hasattr(data, "name"):
        filename = data.file.filename
        plain = data.dtype.kind in "biuf" and data.dtype.names is None
        return SourceRef("hdf5", filename, data.name) if plain and os.path.isfile(filename) else None
    if isinstance(data, zarr.Array) and not isinstance(data.store, MemoryStore):
        stored = tuple(data.metadata.shape)
        if stored != tuple(data.shape) or data.dtype.kind not in "biuf":  # pending appends, text
            return None
        return SourceRef("zarr", data.store, data.path)
    return None


def iterator_tasks(
    target: ArrayTarget, iterator: Any, groups: list[list[Selection]], *, inherited: bool = False
) -> list[IteratorTask]:
    """One task per group of buffer selections, each carrying the iterator pickled once (here).

    With *inherited* (forked workers), the iterator itself rides along: a forked child inherits it
    without pickling, so iterators without ``_to_dict`` (neuroconv's, for one) work too.
    """
    if inherited:
        return [IteratorTask(target, f"{os.getpid()}-{id(iterator)}", iterator, tuple(g)) for g in groups]
    try:
        payload = pickle.dumps(iterator, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # the user's iterator decides what fails: NotImplementedError, TypeError, ...
        raise UnsupportedValueError(
            f"Cannot write dataset {target.where!r} with number_of_jobs > 1: its "
            f"{type(iterator).__name__} cannot be sent to worker processes ({type(exc).__name__}: {exc}). "
            "Implement _to_dict()/_from_dict() on the iterator (see GenericDataChunkIterator), pass "
            "multiprocessing_context='fork' (folders and zips: forked workers inherit the iterator), "
            "or write with number_of_jobs=1."
        ) from exc
    token = f"{os.getpid()}-{id(iterator)}-{len(payload)}"
    return [IteratorTask(target, token, payload, tuple(g)) for g in groups]


def region_tasks(source: SourceRef, target: ArrayTarget, array: AsyncArray[Any]) -> list[RegionTask]:
    """Tasks that copy *source* into *target*, each a few write units along the first axis."""
    shape = tuple(int(s) for s in array.shape)
    unit = write_unit(array)
    if not shape or 0 in shape:
        return []
    row_bytes = max(1, int(np.prod(shape[1:], dtype=np.int64)) * array.dtype.itemsize)
    budget_units = max(1, REGION_TASK_BYTES // (row_bytes * unit[0]))
    bands = -(-shape[0] // unit[0])
    # At least MIN_REGION_TASKS tasks when the array has that many bands of write units: work to share.
    rows = unit[0] * max(1, min(budget_units, bands // MIN_REGION_TASKS))
    tails = [slice(0, n) for n in shape[1:]]
    selections = [(slice(r, min(r + rows, shape[0])), *tails) for r in range(0, shape[0], rows)]
    return [RegionTask(source, target, (s,)) for s in selections]


# -- worker side -------------------------------------------------------------------------------------

_ITERATORS: dict[str, Any] = {}  # per worker process: the iterators it has unpickled, by token


def _init_worker(max_threads: int | None) -> None:
    if max_threads is None:
        return
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=max_threads)  # kept for the worker's life (BLAS, OpenMP)
    zarr.config.set({"threading.max_workers": max_threads})


def _iterator_of(task: IteratorTask) -> Any:
    if not isinstance(task.iterator, bytes):
        return task.iterator  # inherited by a forked worker
    it = _ITERATORS.get(task.token)
    if it is None:
        _ITERATORS.clear()  # one iterator at a time per worker: bounded memory
        try:
            it = pickle.loads(task.iterator)  # our own pickle of the user's iterator
        except (AttributeError, ImportError) as exc:  # its class cannot be imported in this process
            raise ParallelWriteError(
                f"A worker process cannot rebuild the iterator of dataset {task.target.where!r}: {exc}. "
                "Define the iterator's class in an importable module (not in a notebook or in the script "
                "run as __main__), or pass multiprocessing_context='fork' (folders and zips only)."
            ) from exc
        _ITERATORS[task.token] = it
    return it


def _steps(
    batch: Sequence[IteratorTask | RegionTask],
) -> list[tuple[zarr.Array, Selection, Callable[[], Any]]]:
    """(target array, selection, read) for every selection of *batch*, in order."""
    steps: list[tuple[zarr.Array, Selection, Callable[[], Any]]] = []
    for task in batch:
        array = task.target.open()
        for selection in task.selections:
            if isinstance(task, IteratorTask):
                it = _iterator_of(task)
                steps.append((array, selection, functools.partial(it._get_data, selection=selection)))
            else:
                steps.append((array, selection, functools.partial(task.source.read, selection)))
    return steps


def run_batch(batch: Sequence[IteratorTask | RegionTask]) -> int:
    """Write every selection of *batch*, reading the next one in a thread while the current is stored.

    At most two regions are in memory; returns this worker's pid (reports count the workers).
    """
    steps = _steps(batch)
    if not steps:
        return os.getpid()
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="hdmf_zarr-read") as reader:
        pending = reader.submit(steps[0][2])
        for i, (array, selection, _) in enumerate(steps):
            data = np.asarray(pending.result())
            if i + 1 < len(steps):
                pending = reader.submit(steps[i + 1][2])
            array[selection] = data
    return os.getpid()


def _run_one(task: IteratorTask | RegionTask) -> int:
    return run_batch([task])


@dataclass(slots=True)
class RunReport:
    """Which processes wrote the tasks (pid -> number of tasks)."""

    workers: dict[int, int] = field(default_factory=dict)


def run_tasks(tasks: Sequence[IteratorTask | RegionTask], options: ParallelOptions) -> RunReport:
    """Run *tasks* on the Dask client, or split in ``number_of_jobs`` worker processes; re-raise failures."""
    report = RunReport()
    if not tasks:
        return report
    if options.client is not None:
        futures = options.client.map(_run_one, list(tasks), pure=False)
        for pid in options.client.gather(futures):
            report.workers[pid] = report.workers.get(pid, 0) + 1
        return report
    for pid, count in _run_in_processes(tasks, options):
        report.workers[pid] = report.workers.get(pid, 0) + count
    return report


def split_evenly(tasks: Sequence[Any], parts: int) -> list[list[Any]]:
    """*tasks* in at most *parts* contiguous runs whose lengths differ by at most one."""
    parts = max(1, min(parts, len(tasks)))
    bounds = [len(tasks) * k // parts for k in range(parts + 1)]
    return [list(tasks[a:b]) for a, b in itertools.pairwise(bounds) if b > a]


def _worker_main(
    batch: list[IteratorTask | RegionTask], max_threads: int | None, conn: Any, *, forked: bool
) -> None:
    """Body of one worker process: run its share of the tasks, report (pid, count, error) back."""
    try:
        if forked:
            # A forked child inherits the parent's Rust thread pools without their threads: the zarrs
            # pipeline would wait on them forever, so this child encodes with zarr's own pipeline.
            os.environ[DISABLE_ACCELERATION_ENV] = "zarr"
        _init_worker(max_threads)
        run_batch(batch)
        conn.send((os.getpid(), len(batch), None))
    except BaseException as exc:  # the one boundary: any failure goes back to the parent, which raises it
        conn.send((os.getpid(), 0, _portable(exc)))
    finally:
        conn.close()


def _portable(exc: BaseException) -> BaseException:
    """*exc* with its worker traceback as a note, or a ParallelWriteError when it cannot be pickled."""
    text = "".join(traceback.format_exception(exc))
    try:
        exc.add_note(f"In worker process {os.getpid()}:\n{text}")
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return ParallelWriteError(f"A worker process failed ({type(exc).__name__}): {exc}\n{text}")
    return exc


def forks(options: ParallelOptions) -> bool:
    """Whether *options* run worker processes started by fork (which inherit the parent's objects)."""
    if options.client is not None or options.number_of_jobs < 2:
        return False
    context = options.multiprocessing_context or DEFAULT_START_METHOD
    ctx: Any = multiprocessing.get_context(context) if not isinstance(context, BaseContext) else context
    return bool(ctx.get_start_method() == "fork")


def _check_forkable(tasks: Sequence[IteratorTask | RegionTask]) -> None:
    """Refuse forked workers for object stores: their clients' event loops and thread pools do not survive."""
    for task in tasks:
        if not isinstance(task.target.store, LocalStore):
            raise ParallelWriteError(
                f"Cannot write dataset {task.target.where!r} from forked worker processes: it goes to "
                f"{task.target.store!r}, whose client does not survive a fork. Use "
                "multiprocessing_context='spawn' (the default) or 'forkserver'."
            )


def _run_in_processes(
    tasks: Sequence[IteratorTask | RegionTask], options: ParallelOptions
) -> list[tuple[int, int]]:
    """Start one process per share of *tasks* (each writes its own share), wait for all, re-raise."""
    context = options.multiprocessing_context or DEFAULT_START_METHOD
    ctx: Any = multiprocessing.get_context(context) if not isinstance(context, BaseContext) else context
    forked = ctx.get_start_method() == "fork"
    if forked:
        _check_forkable(tasks)
    running = []
    for batch in split_evenly(tasks, options.number_of_jobs):
        receiver, sender = ctx.Pipe(duplex=False)
        proc = ctx.Process(
            target=_worker_main,
            args=(batch, options.max_threads_per_process, sender),
            kwargs={"forked": forked},
        )
        proc.start()
        sender.close()  # the child holds the only sending end: EOF when it dies without reporting
        running.append((proc, receiver))
    results, errors = [], []
    for proc, receiver in running:
        try:
            pid, count, error = receiver.recv()
        except EOFError:
            proc.join()
            pid, count = proc.pid or 0, 0
            error = ParallelWriteError(
                f"A worker process (pid {pid}) of a parallel write exited with code {proc.exitcode} "
                "before reporting; the arrays it was writing are incomplete."
            )
        proc.join()
        receiver.close()
        results.append((pid, count))
        if error is not None:
            errors.append(error)
    if errors:
        raise errors[0]
    return results


__all__ = [
    "ArrayTarget",
    "IteratorTask",
    "ParallelOptions",
    "RegionTask",
    "RunReport",
    "SourceRef",
    "group_selections",
    "iterator_tasks",
    "normalise_selection",
    "region_tasks",
    "run_tasks",
    "source_ref",
    "split_evenly",
    "target_for",
    "write_unit",
]
