"""write/slabs.py: a large array written slab by slab (whole write units) equals a single write."""

from __future__ import annotations

import numpy as np
import pytest
import zarr
from hypothesis import given
from hypothesis import strategies as st
from zarr.core.sync import sync
from zarr.storage import MemoryStore

from hdmf_zarr.write.slabs import SLAB_BYTES, slab_rows, write_slabs


@given(
    st.lists(st.integers(1, 300), min_size=1, max_size=3),
    st.sampled_from([1, 2, 4, 8]),
    st.integers(1, 5000),
)
def test_slabs_are_whole_units_of_about_the_budget(shape: list[int], itemsize: int, unit_rows: int) -> None:
    rows = slab_rows(tuple(shape), itemsize, unit_rows)
    assert rows % unit_rows == 0
    assert rows >= unit_rows
    row_bytes = int(np.prod(shape[1:])) * itemsize
    assert rows == unit_rows or rows * row_bytes <= SLAB_BYTES


@pytest.mark.parametrize("shards", [None, (40_000, 64)])
def test_a_large_array_in_slabs_equals_the_data(shards: tuple[int, int] | None) -> None:
    data = np.random.default_rng(0).integers(-9, 9, (170_001, 64)).astype("int16")  # 21 MB, ragged end
    array = zarr.create_array(
        MemoryStore(), shape=data.shape, dtype="int16", chunks=(10_000, 64), shards=shards
    )
    sync(write_slabs(array._async_array, data))
    np.testing.assert_array_equal(array[:], data)


@pytest.mark.parametrize("data", [np.asarray(3.5), np.arange(10), np.zeros((0, 4))])
def test_small_and_scalar_arrays_are_one_write(data: np.ndarray) -> None:
    chunks = tuple(max(1, n) for n in data.shape)
    array = zarr.create_array(MemoryStore(), shape=data.shape, dtype=data.dtype, chunks=chunks)
    sync(write_slabs(array._async_array, data))
    np.testing.assert_array_equal(array[...], data)
