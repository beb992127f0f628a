"""read/pages: ``empty`` is an uninitialised C-contiguous array of the asked shape and dtype, starting on a
huge-page boundary exactly when it gets whole huge pages; ``buffer`` is at least as long as asked; results
never share memory; and region reads that land on such memory return exactly what zarr returns."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import zarr
from hypothesis import given, settings
from hypothesis import strategies as st
from zarr.codecs import BloscCodec
from zarr.storage import LocalStore

from hdmf_zarr.read import pages
from hdmf_zarr.read.direct import DirectReader

DTYPES = ["int8", "uint16", "<i2", ">i4", "float32", ">f8", "bool", "complex64", "U3", "O"]


@contextlib.contextmanager
def _huge_pages(size: int) -> Iterator[None]:
    """Pretend the system's huge pages are *size* bytes (0: none), so small arrays take every path."""
    saved = pages.huge_page_bytes
    pages.huge_page_bytes = lambda: size  # type: ignore[assignment]
    try:
        yield
    finally:
        pages.huge_page_bytes = saved  # type: ignore[assignment]


@settings(max_examples=300, deadline=None)
@given(
    shape=st.lists(st.integers(0, 40), min_size=0, max_size=3).map(tuple),
    dtype=st.sampled_from(DTYPES),
    huge=st.sampled_from([0, 64, 512, 4096]),
)
def test_empty_has_the_shape_dtype_and_layout_asked_for(
    shape: tuple[int, ...], dtype: str, huge: int
) -> None:
    kind = np.dtype(dtype)
    with _huge_pages(huge):
        first = pages.empty(shape, kind)
        second = pages.empty(shape, kind)
    assert first.shape == shape
    assert first.dtype == kind
    assert first.flags.c_contiguous
    assert first.flags.writeable
    nbytes = first.nbytes
    whole = -(-nbytes // huge) * huge if huge else 0
    small_slack = whole - nbytes <= nbytes * pages.MAX_SLACK
    aligned = bool(huge) and nbytes >= huge and kind.kind in "biufc" and small_slack
    if aligned:
        assert first.ctypes.data % huge == 0
        assert first.base is not None
        assert first.base.nbytes == whole + huge  # the block it lies in
    else:
        assert first.base is None  # a plain np.empty
    assert not np.shares_memory(first, second)
    if first.size and kind.kind != "O":
        values = (np.arange(first.size) % 7).astype(kind).reshape(shape)
        first[...] = values
        second[...] = 0
        np.testing.assert_array_equal(first, values)


@settings(max_examples=200, deadline=None)
@given(nbytes=st.integers(0, 20_000), huge=st.sampled_from([0, 64, 512, 4096]))
def test_buffer_holds_at_least_what_is_asked(nbytes: int, huge: int) -> None:
    with _huge_pages(huge):
        got = pages.buffer(nbytes)
    assert got.dtype == np.uint8
    assert got.ndim == 1
    assert got.flags.writeable
    if huge and nbytes >= huge * pages.BUFFER_MIN_FRACTION:
        assert len(got) == -(-nbytes // huge) * huge
        assert got.ctypes.data % huge == 0
    else:
        assert len(got) == nbytes
    got[:] = 5
    assert (got == 5).all()


def test_huge_page_size_is_none_or_a_power_of_two() -> None:
    size = pages.huge_page_bytes()
    assert size == 0 or (size & (size - 1) == 0 and size <= 4 << 20)


@pytest.mark.parametrize("huge", ["system", 0, 4096])
def test_a_large_slice_equals_zarr(tmp_path: Path, huge: str | int) -> None:
    """The benchmark's shape: a one-second slice (30,000 x 64 int16, 3.8 MB) across four 1 MiB blosc
    chunks, two of them wanted in part."""
    arr = zarr.create_array(
        LocalStore(tmp_path),
        name="x",
        shape=(40_000, 64),
        chunks=(8192, 64),
        dtype="int16",
        compressors=[BloscCodec(cname="lz4", shuffle="shuffle")],
        fill_value=0,
    )
    arr[:] = (np.arange(40_000 * 64) % 30_011).astype("int16").reshape(40_000, 64)
    reader = DirectReader.of(arr)
    assert reader is not None
    size = pages.huge_page_bytes() if huge == "system" else int(huge)
    with _huge_pages(size):
        for region in ((slice(1000, 31_000), slice(0, 64)), (slice(0, 40_000), slice(0, 64))):
            got = reader.read(region)
            np.testing.assert_array_equal(got, arr[region])
            whole = -(-got.nbytes // size) * size if size else 0
            if size and whole - got.nbytes <= got.nbytes * pages.MAX_SLACK:  # 3.8 MB: yes; 5.1 MB: no
                assert got.ctypes.data % size == 0
