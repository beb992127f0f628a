"""hdmf_zarr.parallel: option checks, picklable targets and sources, region tasks aligned to write units."""

from __future__ import annotations

import pickle
from pathlib import Path

import h5py
import numpy as np
import pytest
import zarr
from zarr.storage import LocalStore, MemoryStore

from hdmf_zarr.errors import ParallelWriteError
from hdmf_zarr.parallel import ParallelOptions, region_tasks, source_ref, target_for, write_unit


def test_options_default_to_serial_and_pop_only_their_keys() -> None:
    kwargs = {"number_of_jobs": 3, "link_data": False}
    options = ParallelOptions.from_kwargs(kwargs)
    assert options.number_of_jobs == 3
    assert options.enabled
    assert kwargs == {"link_data": False}
    assert not ParallelOptions.from_kwargs({}).enabled


def test_sources_workers_can_reopen(tmp_path: Path) -> None:
    with h5py.File(tmp_path / "f.h5", "w") as f:
        f["numbers"] = np.arange(10)
        f["text"] = np.array([b"a", b"b"])
    with h5py.File(tmp_path / "f.h5", "r") as f:
        ref = source_ref(f["numbers"])
        assert ref is not None
        assert (ref.kind, ref.path) == ("hdf5", "/numbers")
        assert source_ref(f["text"]) is None  # text is decoded by this process's reader
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(ref)).read((slice(2, 5),)), [2, 3, 4])
    on_disk = zarr.create_array(LocalStore(tmp_path / "z"), name="a", shape=(10,), dtype="i4")
    on_disk[:] = np.arange(10)
    assert source_ref(on_disk) is not None
    assert source_ref(zarr.create_array(MemoryStore(), shape=(3,), dtype="i4")) is None
    assert source_ref(np.arange(3)) is None


@pytest.mark.parametrize(("chunks", "shards"), [((1000, 4), None), ((500, 4), (2000, 4))])
def test_region_tasks_cover_the_array_in_whole_write_units(
    tmp_path: Path, chunks: tuple[int, int], shards: tuple[int, int] | None
) -> None:
    array = zarr.create_array(
        LocalStore(tmp_path / "z"), shape=(20_500, 4), dtype="i2", chunks=chunks, shards=shards
    )
    with h5py.File(tmp_path / "f.h5", "w") as f:
        f["x"] = np.zeros((20_500, 4), dtype="i2")
    with h5py.File(tmp_path / "f.h5", "r") as f:
        ref = source_ref(f["x"])
    assert ref is not None
    target = target_for(array.store, array._async_array, "/x")
    tasks = region_tasks(ref, target, array._async_array)
    unit = write_unit(array._async_array)[0]
    starts = [t.selections[0][0].start for t in tasks]
    stops = [t.selections[0][0].stop for t in tasks]
    assert starts[0] == 0
    assert stops[-1] == 20_500
    assert starts[1:] == stops[:-1]
    assert all(s % unit == 0 for s in starts)
    assert len(tasks) >= min(8, -(-20_500 // unit))  # work to share between workers


def test_a_memory_store_target_is_refused() -> None:
    array = zarr.create_array(MemoryStore(), shape=(3,), dtype="i4")
    with pytest.raises(ParallelWriteError, match="MemoryStore"):
        target_for(array.store, array._async_array, "/acquisition/x/data")
