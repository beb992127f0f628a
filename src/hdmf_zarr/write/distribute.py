"""Hand the array data of a write plan to worker processes or a Dask cluster, where it can go there.

Layer: write. What goes: every ``GenericDataChunkIterator`` (its buffers, sent with the pickled
iterator, as hdmf-zarr does) and every array-like a worker can re-open itself (an HDF5 dataset in a
file, a Zarr array in a store other processes reach). What stays in this process: other iterators
(``DataChunkIterator`` yields its chunks in order, from one generator), dask arrays (dask's own scheduler
writes them) and array-likes that live only here. A Dask cluster's workers must see a local
destination folder (workerpaths.py): that is checked before any task is sent, and by each task before
it writes.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import functools
from pathlib import Path
from typing import Any

from hdmf.data_utils import GenericDataChunkIterator
from zarr.core.array import AsyncArray
from zarr.storage import LocalStore

from hdmf_zarr.parallel import (
    IteratorTask,
    ParallelOptions,
    RegionTask,
    forks,
    group_selections,
    iterator_tasks,
    normalise_selection,
    region_tasks,
    run_tasks,
    source_ref,
    target_for,
    write_unit,
)
from hdmf_zarr.workerpaths import Witness, local_roots, workers_see
from hdmf_zarr.write.plan import ArrayPlan, DataKind

Queued = tuple[ArrayPlan, AsyncArray[Any]]


def _iterator_tasks(plan: ArrayPlan, array: AsyncArray[Any], *, inherited: bool) -> list[IteratorTask]:
    it: GenericDataChunkIterator = plan.data
    shape = tuple(int(s) for s in array.shape)
    selections = [normalise_selection(s, shape) for s in it.buffer_selection_generator]
    groups = group_selections(selections, write_unit(array), shape)
    target = target_for(array.store_path.store, array, plan.path)
    return iterator_tasks(target, it, groups, inherited=inherited)


def _region_tasks(plan: ArrayPlan, array: AsyncArray[Any]) -> list[RegionTask] | None:
    ref = source_ref(plan.data) if plan.shape else None  # a 0-d value is one read: not worth a task
    if ref is None:
        return None
    return region_tasks(ref, target_for(array.store_path.store, array, plan.path), array)


def _tasks(
    plan: ArrayPlan, array: AsyncArray[Any], options: ParallelOptions
) -> list[IteratorTask] | list[RegionTask] | None:
    """The worker tasks that write *plan*, or None when this process must write it."""
    if plan.kind is DataKind.ITERATOR and isinstance(plan.data, GenericDataChunkIterator):
        return _iterator_tasks(plan, array, inherited=forks(options))
    if plan.kind is DataKind.ARRAY_LIKE:
        return _region_tasks(plan, array)
    return None


async def write_distributed(queued: list[Queued], options: ParallelOptions | None) -> list[Queued]:
    """Write what workers can write (all arrays' tasks in one pool); return what is left for this process."""
    if options is None or not options.enabled:
        return queued
    tasks: list[IteratorTask | RegionTask] = []
    rest: list[Queued] = []
    originals: dict[str, Any] = {}  # this process writes a share too, with the iterators it holds
    for plan, array in queued:
        found = _tasks(plan, array, options)
        if found is None:
            rest.append((plan, array))
            continue
        tasks.extend(found)
        originals.update((t.token, plan.data) for t in found if isinstance(t, IteratorTask))
    if tasks:
        loop = asyncio.get_running_loop()
        # A thread of its own: this process writes its share through zarr's event loop and thread
        # pool, so the run must not hold one of that pool's threads (it may have only one).
        with (
            concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="hdmf_zarr-share") as own,
            contextlib.ExitStack() as probes,
        ):
            if options.client is not None:  # remote workers must see a local destination folder
                roots = local_roots(task.target.store for task in tasks)
                check = workers_see(options.client, roots)
                witnesses = await loop.run_in_executor(own, probes.enter_context, check)
                tasks = [_witnessed(task, witnesses) for task in tasks]
            await loop.run_in_executor(own, functools.partial(run_tasks, tasks, options, iterators=originals))
    return rest


def _witnessed(task: IteratorTask | RegionTask, witnesses: dict[Path, Witness]) -> IteratorTask | RegionTask:
    """*task* with the witness of its local destination folder, which its worker checks before writing."""
    store = task.target.store
    witness = witnesses.get(Path(store.root)) if isinstance(store, LocalStore) else None
    if witness is None:
        return task
    return dataclasses.replace(task, target=dataclasses.replace(task.target, witness=witness))
