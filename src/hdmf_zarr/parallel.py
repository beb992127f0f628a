"""Parallel array writes: plan picklable tasks, run them in worker processes or on a Dask cluster.

Layer: parallel (below write). A task names its target by a picklable store, the array's key and its
metadata document, and its source either by a pickled ``GenericDataChunkIterator`` (``write(...,
number_of_jobs=N)``, as hdmf-zarr sends the iterator to its workers) or by a reference to an HDF5 or
Zarr array the worker re-opens (conversions). Every task writes whole write units (shards, or chunks
when unsharded), so no two processes ever write the same stored object. ``number_of_jobs=N`` runs
the tasks in this process and N-1 workers that claim them one at a time (taskpool.py); bytes stored
advance the progress reporter as they are written, and failures name the dataset, buffer and file.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import importlib.util
import multiprocessing
import os
import pickle
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from multiprocessing.context import BaseContext
from typing import Any, Literal

import numpy as np
import zarr
from zarr.abc.store import Store
from zarr.core.array import AsyncArray
from zarr.core.metadata import ArrayV2Metadata, ArrayV3Metadata
from zarr.storage import LocalStore, MemoryStore, StorePath

from hdmf_zarr import progress
from hdmf_zarr.bulk import local_path
from hdmf_zarr.errors import (
    HdmfZarrError,
    ParallelWriteError,
    SourceReadError,
    UnsupportedValueError,
    write_failure,
)
from hdmf_zarr.pipeline import DISABLE_ACCELERATION_ENV, array_construction
from hdmf_zarr.store import store_url
from hdmf_zarr.taskpool import Processes, run_shared
from hdmf_zarr.workerpaths import Witness

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
    witness: Witness | None = None  # a cluster's worker checks it sees the local folder (workerpaths.py)

    def location(self) -> str:
        """The array's folder, or its URL in the store (error messages name it)."""
        return local_path(self.store, self.key) or f"{store_url(self.store) or self.store}/{self.key}"

    def open(self) -> zarr.Array:
        if self.witness is not None:
            self.witness.check()
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


def _init_worker(max_threads: int | None, *, forked: bool = False) -> None:
    """Set up a worker process before it writes: thread limits, and the codec pipeline of forked ones."""
    if forked:
        # A forked child inherits the parent's Rust thread pools without their threads: the zarrs
        # pipeline would wait on them forever, so this child encodes with zarr's own pipeline.
        os.environ[DISABLE_ACCELERATION_ENV] = "zarr"
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


Task = IteratorTask | RegionTask
Step = tuple[Task, zarr.Array, Selection, Callable[[], Any]]


def _steps(tasks: Iterable[Task], iterators: Mapping[str, Any]) -> Iterator[Step]:
    """(task, target array, selection, read) for every selection of *tasks*, claiming tasks as needed."""
    for task in tasks:
        array = task.target.open()
        for selection in task.selections:
            if isinstance(task, RegionTask):
                read = functools.partial(task.source.read, selection)
            else:
                it = iterators[task.token] if task.token in iterators else _iterator_of(task)
                read = functools.partial(it._get_data, selection=selection)
            yield task, array, selection, read


def _text(selection: Selection) -> str:
    return "[" + ", ".join(f"{s.start}:{s.stop}" for s in selection) + "]"


def _read(step: Step) -> np.ndarray:
    """Read the data of *step*; a failure names the dataset, the buffer, the file and what to do."""
    task, _, selection, read = step
    try:
        return np.asarray(read())
    except HdmfZarrError:
        raise
    except Exception as exc:  # the iterator is the user's code: any exception, named and chained
        where = f"dataset {task.target.where!r} of {task.target.location()}"
        if isinstance(task, RegionTask):
            what = (
                f"Reading {task.source.path!r} {_text(selection)} of {task.source.location} for the {where}"
            )
            fix = "Check that every process can read the source file, and that nothing changes it meanwhile."
        else:
            what = f"The data iterator of the {where} (its buffer {_text(selection)})"
            fix = "Fix the iterator's _get_data (with number_of_jobs=1 it runs in this process, to debug it)."
        raise SourceReadError(
            f"{what} failed in process {os.getpid()}: {type(exc).__name__}: {exc}. The write was stopped "
            f"and is not presented as complete. {fix} Then write again."
        ) from exc


def _store(step: Step, data: np.ndarray) -> None:
    """Store *data* at *step*; an OS failure (disk full, no permission) names the dataset and the file."""
    task, array, selection, _ = step
    try:
        array[selection] = data
    except (OSError, RuntimeError) as exc:
        what = f"the dataset {task.target.where!r} {_text(selection)} in process {os.getpid()}"
        failure = write_failure(exc, what=what, filename=task.target.location())
        if failure is exc:
            raise
        raise failure from exc


def run_claims(
    tasks: Iterable[Task], report: Callable[[int], None], iterators: Mapping[str, Any] | None = None
) -> None:
    """Write every selection of *tasks*, reading the next one in a thread while the current is stored.

    *tasks* may be claimed lazily (the next is taken when the current one's last selection is read).
    At most two regions are in memory; *report* gets the bytes of each region stored. *iterators*
    (token -> iterator) are the originals this process holds, used instead of unpickling a copy.
    """
    steps = _steps(tasks, iterators or {})
    step = next(steps, None)
    if step is None:
        return
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="hdmf_zarr-read") as reader:
        pending = reader.submit(_read, step)
        while step is not None:
            data = pending.result()
            following = next(steps, None)
            if following is not None:
                pending = reader.submit(_read, following)
            _store(step, data)
            report(data.nbytes)
            step = following


def run_batch(batch: Sequence[Task]) -> tuple[int, int]:
    """Write every selection of *batch*; returns (this process's pid, bytes written)."""
    written = [0]

    def add(nbytes: int) -> None:
        written[0] += nbytes

    run_claims(batch, add)
    return os.getpid(), written[0]


def _run_one(task: Task) -> tuple[int, int]:
    return run_batch([task])


@dataclass(slots=True)
class RunReport:
    """Which processes wrote the tasks (pid -> number of tasks)."""

    workers: dict[int, int] = field(default_factory=dict)


def run_tasks(
    tasks: Sequence[Task], options: ParallelOptions, *, iterators: Mapping[str, Any] | None = None
) -> RunReport:
    """Run *tasks* on the Dask client, or in this process and ``number_of_jobs - 1`` worker processes.

    Bytes stored advance the active progress reporter as they are written (workers report through
    their pipes, cluster tasks as they finish). *iterators* (token -> iterator): the originals, which
    this process uses for its share. Failures are re-raised here.
    """
    report = RunReport()
    if not tasks:
        return report
    if options.client is not None:
        report.workers = _run_on_cluster(tasks, options.client)
        return report
    context = options.multiprocessing_context or DEFAULT_START_METHOD
    ctx: Any = multiprocessing.get_context(context) if not isinstance(context, BaseContext) else context
    forked = ctx.get_start_method() == "fork"
    if forked:
        _check_forkable(tasks)
    threads = options.max_threads_per_process
    processes = Processes(
        options.number_of_jobs,
        ctx,
        run=run_claims,
        run_here=functools.partial(run_claims, iterators=iterators or {}),
        setup=functools.partial(_init_worker, threads, forked=forked),
        here=functools.partial(_limits, threads),
    )
    report.workers = run_shared(tasks, processes, on_bytes=progress.advance, describe=_describe)
    return report


def _run_on_cluster(tasks: Sequence[Task], client: Any) -> dict[int, int]:
    from distributed import as_completed  # the client is a dask.distributed one

    workers: dict[int, int] = {}
    for future in as_completed(client.map(_run_one, list(tasks), pure=False)):
        pid, nbytes = future.result()
        progress.advance(nbytes=nbytes)
        workers[pid] = workers.get(pid, 0) + 1
    return workers


def _describe(task: Task) -> str:
    more = f" and {len(task.selections) - 1} more" if len(task.selections) > 1 else ""
    return f"dataset {task.target.where!r} {_text(task.selections[0])}{more} of {task.target.location()}"


@contextlib.contextmanager
def _limits(max_threads: int | None) -> Iterator[None]:
    """Limit BLAS and OpenMP threads to ``max_threads_per_process`` while this process writes its share.

    zarr's own thread pool is made once per process, so this process keeps the one it has.
    """
    if max_threads is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=max_threads):
        yield


def forks(options: ParallelOptions) -> bool:
    """Whether *options* run worker processes started by fork (which inherit the parent's objects)."""
    if options.client is not None or options.number_of_jobs < 2:
        return False
    context = options.multiprocessing_context or DEFAULT_START_METHOD
    ctx: Any = multiprocessing.get_context(context) if not isinstance(context, BaseContext) else context
    return bool(ctx.get_start_method() == "fork")


def _check_forkable(tasks: Sequence[Task]) -> None:
    """Refuse forked workers for object stores: their clients' event loops and thread pools do not survive."""
    for task in tasks:
        if not isinstance(task.target.store, LocalStore):
            raise ParallelWriteError(
                f"Cannot write dataset {task.target.where!r} from forked worker processes: it goes to "
                f"{task.target.store!r}, whose client does not survive a fork. Use "
                "multiprocessing_context='spawn' (the default) or 'forkserver'."
            )


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
    "run_claims",
    "run_tasks",
    "source_ref",
    "target_for",
    "write_unit",
]
