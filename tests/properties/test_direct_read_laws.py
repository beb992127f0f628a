"""read/direct: a region read without zarr's event loop returns exactly what zarr returns (values, dtype,
shape), for any shape, chunking, serializer, compressor and filter zarr offers synchronously, with
chunks missing (fill value) and edge chunks; through NumericArray, any plain selection does too, with
and without the IO's chunk cache. Arrays zarr must read (sharding, remote-like stores) get no reader."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import zarr
from hypothesis import given, settings
from hypothesis import strategies as st
from zarr.codecs import (
    BloscCodec,
    BytesCodec,
    Crc32cCodec,
    GzipCodec,
    ShardingCodec,
    TransposeCodec,
    ZstdCodec,
)
from zarr.storage import LocalStore, MemoryStore

from hdmf_zarr.read import chunkfiles, direct, pages
from hdmf_zarr.read.cache import ChunkCache
from hdmf_zarr.read.direct import DirectReader
from hdmf_zarr.read.lazy import NumericArray

DTYPES = ["int8", "uint16", "int32", "int64", "float32", "float64", "bool", "<i2", ">f8", "str"]


@st.composite
def layouts(draw: st.DrawFn) -> dict[str, Any]:
    ndim = draw(st.integers(1, 3))
    shape = tuple(draw(st.lists(st.integers(1, 9), min_size=ndim, max_size=ndim)))
    chunks = tuple(draw(st.integers(1, n + 2)) for n in shape)
    dtype = draw(st.sampled_from(DTYPES))
    compressors = draw(
        st.sampled_from(
            [
                [],
                [BloscCodec(cname="lz4", shuffle="shuffle")],
                [BloscCodec(cname="zstd", shuffle="bitshuffle", clevel=3)],
                [ZstdCodec(level=1)],
                [ZstdCodec(level=3, checksum=True)],
                [GzipCodec(level=1)],
                [ZstdCodec(level=1), Crc32cCodec()],
            ]
        )
    )
    layout: dict[str, Any] = {"shape": shape, "chunks": chunks, "dtype": dtype, "compressors": compressors}
    if dtype != "str":
        layout["serializer"] = BytesCodec(endian=draw(st.sampled_from(["little", "big"])))
        if ndim > 1 and draw(st.booleans()):
            layout["filters"] = [TransposeCodec(order=tuple(reversed(range(ndim))))]
        layout["fill_value"] = draw(st.sampled_from([0, 1, 7]))
    return layout


def _values(shape: tuple[int, ...], dtype: str) -> np.ndarray:
    n = int(np.prod(shape))
    if dtype == "str":
        return np.array([f"v{i}" * (i % 3) for i in range(n)], dtype=object).reshape(shape)
    if dtype == "bool":
        return (np.arange(n) % 3 == 0).reshape(shape)
    return (np.arange(n) * 3 - 5).astype(dtype).reshape(shape)


@st.composite
def regions(draw: st.DrawFn, shape: tuple[int, ...]) -> tuple[slice, ...]:
    out = []
    for n in shape:
        a = draw(st.integers(0, n))
        b = draw(st.integers(a, n))
        out.append(slice(a, b))
    return tuple(out)


@st.composite
def plain_selections(draw: st.DrawFn, shape: tuple[int, ...]) -> object:
    if draw(st.integers(0, 5)) == 0:  # the whole array, as ``data[:]`` and ``data[...]`` ask for it
        return draw(st.sampled_from([Ellipsis, slice(None), slice(None, None, None), slice(None, None, 1)]))
    items: list[object] = []
    for axis, n in enumerate(shape):
        kind = draw(st.integers(0, 3))
        if axis == 0 and kind == 0:
            items.append(draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=5)))
        elif kind == 1:
            items.append(draw(st.integers(-n, n - 1)))
        else:
            items.append(
                slice(
                    draw(st.none() | st.integers(-n - 2, n + 2)), draw(st.none() | st.integers(-n - 2, n + 2))
                )
            )
    cut = draw(st.integers(0, len(items)))
    if draw(st.booleans()) and cut < len(items):
        return (*items[:cut], Ellipsis)
    return tuple(items[:cut]) if cut != 1 else items[0]


def _create(store: Any, layout: dict[str, Any], written: tuple[slice, ...]) -> zarr.Array:
    arr = zarr.create_array(store, name="x", **layout)
    values = _values(layout["shape"], layout["dtype"])
    arr[written] = values[written]  # chunks outside *written* stay missing: read as the fill value
    return arr


def _with_store(kind: str, body: Any) -> None:
    if kind == "memory":
        body(MemoryStore())
        return
    with tempfile.TemporaryDirectory() as tmp:
        body(LocalStore(tmp))


@contextlib.contextmanager
def _patched(module: Any, name: str, value: Any) -> Iterator[None]:
    """*module*.*name* set to *value* for the duration."""
    saved = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, saved)


@contextlib.contextmanager
def _reuse_from(min_bytes: int) -> Iterator[None]:
    """Read chunk files above *min_bytes* into the thread's reused buffer (read/chunkfiles.py); the
    arrays drawn here are small, so 0 exercises that path, and then reads of several chunks are
    decoded on the decoding threads too (read/direct.py: PARALLEL_BYTES)."""
    saved = chunkfiles.REUSE_MIN_BYTES, direct.PARALLEL_BYTES
    chunkfiles.REUSE_MIN_BYTES = min_bytes
    direct.PARALLEL_BYTES = 0 if min_bytes == 0 else direct.PARALLEL_BYTES
    try:
        yield
    finally:
        chunkfiles.REUSE_MIN_BYTES, direct.PARALLEL_BYTES = saved


@settings(max_examples=200, deadline=None)
@given(
    data=st.data(),
    layout=layouts(),
    kind=st.sampled_from(["memory", "local"]),
    reuse_from=st.sampled_from([0, chunkfiles.REUSE_MIN_BYTES]),
    populate_from=st.sampled_from([0, pages.POPULATE_MIN_BYTES]),
)
def test_direct_region_reads_equal_zarr(
    data: st.DataObject, layout: dict[str, Any], kind: str, reuse_from: int, populate_from: int
) -> None:
    """*populate_from* 0: every result's pages are faulted in at once (read/pages.py), so that the small
    arrays drawn here take that path too."""
    written = data.draw(regions(layout["shape"]))

    @_reuse_from(reuse_from)
    @_patched(pages, "POPULATE_MIN_BYTES", populate_from)
    def body(store: Any) -> None:
        arr = _create(store, layout, written)
        reader = DirectReader.of(arr)
        assert reader is not None
        for _ in range(3):
            region = data.draw(regions(layout["shape"]))
            got = reader.read(region)
            expected = arr[region]
            assert got.dtype == expected.dtype
            np.testing.assert_array_equal(got, expected)
        assert reader.read(tuple(slice(0, n) for n in layout["shape"])).flags.writeable

    _with_store(kind, body)


@settings(max_examples=200, deadline=None)
@given(
    data=st.data(),
    layout=layouts(),
    kind=st.sampled_from(["memory", "local"]),
    budget=st.sampled_from([0, 256, 1 << 20]),
    admit=st.sampled_from([0, 1 << 20]),
    reuse_from=st.sampled_from([0, chunkfiles.REUSE_MIN_BYTES]),
)
def test_numeric_array_selections_equal_zarr(
    data: st.DataObject, layout: dict[str, Any], kind: str, budget: int, admit: int, reuse_from: int
) -> None:
    """*admit* 0: every miss is read directly once and cached when missed again (read/cache.py)."""
    written = data.draw(regions(layout["shape"]))

    @_reuse_from(reuse_from)
    def body(store: Any) -> None:
        plain = _create(store, layout, written)
        ours = NumericArray(plain._async_array)
        ours.attach(None, ChunkCache(budget, admit_bytes=admit) if budget else None)
        selection: object = None
        for _ in range(4):  # a selection may repeat: a second miss is cached, a third read hits
            if selection is None or not data.draw(st.booleans()):
                selection = data.draw(plain_selections(layout["shape"]))
            got = ours[selection]
            try:
                expected = plain[selection]
            except IndexError:  # a list of rows: zarr's basic indexing refuses it, hdmf's table regions
                expected = plain[...][selection]  # use it (read/cache.py), so compare with numpy's
            expected = expected[()] if isinstance(expected, np.ndarray) and expected.ndim == 0 else expected
            assert type(got) is type(expected) or np.ndim(got) == np.ndim(expected) == 0
            assert np.asarray(got).dtype == np.asarray(expected).dtype
            np.testing.assert_array_equal(got, expected)
            if isinstance(got, np.ndarray) and got.size:
                got[...] = got.flat[0]  # the caller owns its result: nothing cached changes
        np.testing.assert_array_equal(ours[...], plain[...])

    _with_store(kind, body)


def test_no_direct_reader_for_sharded_arrays_or_other_stores(tmp_path: Any) -> None:
    sharded = zarr.create_array(
        LocalStore(tmp_path / "a"), shape=(8,), chunks=(2,), shards=(4,), dtype="i4", fill_value=0
    )
    assert any(isinstance(c, ShardingCodec) for c in sharded.metadata.codecs)
    assert DirectReader.of(sharded) is None
    from zarr.storage import ZipStore

    with ZipStore(tmp_path / "b.zip", mode="w") as zs:
        zipped = zarr.create_array(zs, shape=(4,), chunks=(2,), dtype="i4", fill_value=0)
        assert DirectReader.of(zipped) is None


def test_resized_array_gets_a_new_reader(tmp_path: Any) -> None:
    plain = zarr.create_array(LocalStore(tmp_path), shape=(4,), chunks=(3,), dtype="i4", fill_value=0)
    plain[:] = [1, 2, 3, 4]
    ours = NumericArray(plain._async_array)
    ours.attach(None, ChunkCache(1 << 20))
    np.testing.assert_array_equal(ours[:], [1, 2, 3, 4])
    ours.resize((6,))
    ours[4:] = [5, 6]
    np.testing.assert_array_equal(ours[:], [1, 2, 3, 4, 5, 6])


@pytest.mark.parametrize(
    ("first", "second"), [(0.0, -0.0), (1.0, 1.5), (float("nan"), 0.0), (float("inf"), float("-inf"))]
)
def test_arrays_that_differ_in_fill_value_alone_read_their_own(
    tmp_path: Any, first: float, second: float
) -> None:
    """Arrays of one codec layout share the resolved codecs, but a missing chunk reads as each array's
    own fill value (0.0 and -0.0 differ in their bits; NaN is one fill value)."""
    store = LocalStore(tmp_path)
    for name, fill in (("a", first), ("b", second), ("c", first)):
        plain = zarr.create_array(store, name=name, shape=(6,), chunks=(3,), dtype="f8", fill_value=fill)
        plain[:3] = [1.0, 2.0, 3.0]
        ours = NumericArray(plain._async_array)
        ours.attach(None, ChunkCache(1 << 20))
        got = ours[:]
        np.testing.assert_array_equal(got, plain[:])
        assert np.signbit(got[3:]).tolist() == np.signbit(plain[3:]).tolist()


def test_a_folder_where_a_chunk_would_be_reads_as_missing(tmp_path: Any) -> None:
    """zarr's LocalStore reads a folder in a chunk's place as a missing chunk; so does the direct path."""
    plain = zarr.create_array(
        LocalStore(tmp_path), name="x", shape=(4,), chunks=(2,), dtype="i4", fill_value=7
    )
    plain[:2] = [1, 2]
    (tmp_path / "x" / "c" / "1").mkdir(parents=True)
    reader = DirectReader.of(plain)
    assert reader is not None
    np.testing.assert_array_equal(reader.read((slice(0, 4),)), plain[:])
    np.testing.assert_array_equal(reader.read((slice(0, 4),)), [1, 2, 7, 7])


def test_reused_buffers_are_per_thread_and_released(tmp_path: Any, request: Any) -> None:
    """A thread's reused buffers (read/chunkfiles.py) are its own, and release() empties every thread's;
    reads after a release are still right."""
    import gc
    import threading

    plain = zarr.create_array(
        LocalStore(tmp_path), name="x", shape=(4000,), chunks=(1000,), dtype="f8", fill_value=0
    )
    plain[:] = np.arange(4000.0)
    reader = DirectReader.of(plain)
    assert reader is not None
    seen: dict[str, Any] = {}

    def read_in(name: str) -> None:
        # Reused buffers for these small chunks, decoded on the calling thread (not the decode threads).
        with _reuse_from(0), _patched(direct, "PARALLEL_BYTES", 1 << 40):
            seen[name] = reader.read((slice(500, 3500),))
            seen[name + " buffers"] = chunkfiles._THREAD.buffers

    # Any IO's close() releases every thread's buffers: an unclosed IO of an earlier test, finalised
    # by the garbage collector in the middle of this test, would empty them before the asserts.
    gc.collect()
    gc.disable()
    request.addfinalizer(gc.enable)
    for name in ("a", "b"):
        thread = threading.Thread(target=read_in, args=(name,))
        thread.start()
        thread.join()
    read_in("main")
    for name in ("a", "b", "main"):
        np.testing.assert_array_equal(seen[name], np.arange(500.0, 3500.0))
    assert len({id(seen[n + " buffers"]) for n in ("a", "b", "main")}) == 3
    assert len(seen["main buffers"].raw) > 0
    chunkfiles.release()
    assert len(seen["main buffers"].raw) == 0
    assert seen["main buffers"].decoded.nbytes == 0
    read_in("main")
    np.testing.assert_array_equal(seen["main"], np.arange(500.0, 3500.0))
