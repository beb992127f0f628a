"""read/pages: ``empty`` is ``np.empty`` (shape, dtype, layout, values written stay written) whether or
not its pages were faulted in at once; ``buffer`` is a byte array of the asked length; results never
share memory; and region reads whose results are faulted in that way return exactly what zarr returns."""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hdmf_zarr.read import pages
from support.recordings import recording

DTYPES = ["int8", "uint16", "<i2", ">i4", "float32", ">f8", "bool", "complex64", "U3", "O"]


@settings(max_examples=200, deadline=None)
@given(
    shape=st.lists(st.integers(0, 300), min_size=0, max_size=3).map(tuple),
    dtype=st.sampled_from(DTYPES),
    populate_from=st.sampled_from([0, pages.POPULATE_MIN_BYTES]),
)
def test_empty_is_an_array_of_the_shape_and_dtype_asked_for(
    shape: tuple[int, ...], dtype: str, populate_from: int
) -> None:
    """*populate_from* 0: every result is faulted in at once, so that small ones take that path too."""
    kind = np.dtype(dtype)
    saved = pages.POPULATE_MIN_BYTES
    pages.POPULATE_MIN_BYTES = populate_from
    try:
        first = pages.empty(shape, kind)
        second = pages.empty(shape, kind)
    finally:
        pages.POPULATE_MIN_BYTES = saved
    assert first.shape == shape
    assert first.dtype == kind
    assert first.flags.c_contiguous
    assert first.flags.writeable
    assert not np.shares_memory(first, second)
    if first.size and kind.kind != "O":
        values = (np.arange(first.size) % 7).astype(kind).reshape(shape)
        first[...] = values
        second[...] = 0
        np.testing.assert_array_equal(first, values)


@pytest.mark.parametrize("nbytes", [0, 1, 4095, 4096, 4097, 1 << 20, (8 << 20) + 5])
def test_buffer_is_a_byte_array_of_the_asked_length(nbytes: int) -> None:
    got = pages.buffer(nbytes)
    assert got.dtype == np.uint8
    assert got.shape == (nbytes,)
    assert got.flags.writeable
    got[:] = 5
    assert (got == 5).all()


def test_populate_maps_new_memory_and_leaves_values_alone() -> None:
    """On Linux 5.14 or later, a new large result's pages are mapped once ``empty`` returns; elsewhere
    this only checks that nothing breaks. Memory already mapped keeps what it holds."""
    out = pages.empty((30_000, 64), np.dtype("int16"))
    libc = pages._libc()
    if libc is not None and libc.works:
        end = (out.ctypes.data + out.nbytes) // pages._PAGE * pages._PAGE
        resident = ctypes.create_string_buffer(1)
        assert libc.mincore(end - pages._PAGE, pages._PAGE, resident) == 0
        assert resident.raw[0] & 1
    out[...] = 3
    pages._populate(out, only_new=False)  # on mapped memory: nothing changes
    assert (out == 3).all()


@pytest.mark.parametrize("populate", [True, False])
def test_a_large_slice_equals_zarr(tmp_path: Path, populate: bool) -> None:
    """The benchmark's shape: a one-second slice (30,000 x 64 int16, 3.8 MB) across four 1 MiB blosc
    chunks, two of them wanted in part; and the whole array (decoded on the decoding threads)."""
    values = (np.arange(40_000 * 64) % 30_011).astype("int16").reshape(40_000, 64)
    arr, reader = recording(tmp_path, values, 8192)
    saved = pages.POPULATE_MIN_BYTES
    pages.POPULATE_MIN_BYTES = saved if populate else 1 << 60
    try:
        for region in ((slice(1000, 31_000), slice(0, 64)), (slice(0, 40_000), slice(0, 64))):
            np.testing.assert_array_equal(reader.read(region), arr[region])
    finally:
        pages.POPULATE_MIN_BYTES = saved
