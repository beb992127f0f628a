"""read/cache: any plain selection (and any list of rows on the first axis) read through the chunk cache
equals numpy indexing, whatever was read before it and however small the cache; selections the cache
does not handle are left to zarr."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from hdmf_zarr.read.cache import ChunkCache, plan


@st.composite
def arrays_and_chunks(draw: st.DrawFn) -> tuple[np.ndarray, tuple[int, ...]]:
    ndim = draw(st.integers(1, 3))
    shape = tuple(draw(st.lists(st.integers(1, 9), min_size=ndim, max_size=ndim)))
    chunks = tuple(draw(st.integers(1, n + 2)) for n in shape)
    return np.arange(int(np.prod(shape)), dtype="i4").reshape(shape), chunks


@st.composite
def plain_selections(draw: st.DrawFn, shape: tuple[int, ...]) -> object:
    if draw(st.integers(0, 5)) == 0:  # the whole array, as ``data[:]`` and ``data[...]`` ask for it
        return draw(st.sampled_from([Ellipsis, slice(None), slice(None, None, None), slice(None, None, 1)]))
    items: list[object] = []
    for axis, n in enumerate(shape):
        if axis == 0 and draw(st.integers(0, 3)) == 0:  # a table region: row indices, any order
            items.append(draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=6)))
        elif draw(st.booleans()):
            items.append(draw(st.integers(-n, n - 1)))
        else:
            start = draw(st.none() | st.integers(-n - 2, n + 2))
            stop = draw(st.none() | st.integers(-n - 2, n + 2))
            items.append(slice(start, stop))
    cut = draw(st.integers(0, len(items)))  # trailing axes may be left out, or replaced by ...
    if draw(st.booleans()) and cut < len(items):
        return (*items[:cut], Ellipsis)
    return tuple(items[:cut]) if cut != 1 else items[0]


@settings(max_examples=300, deadline=None)
@given(
    data=st.data(),
    case=arrays_and_chunks(),
    budget=st.sampled_from([4, 64, 4096]),
    admit=st.sampled_from([None, 0, 8]),
)
def test_reads_through_the_cache_equal_numpy(
    data: st.DataObject, case: tuple[np.ndarray, tuple[int, ...]], budget: int, admit: int | None
) -> None:
    """*admit*: None keeps every miss at once; else misses of more than *admit* bytes are kept on
    their second miss (the first one is read by the caller: here, numpy)."""
    arr, chunks = case
    cache = ChunkCache(max_bytes=budget, admit_bytes=admit or 0)
    fetched: list[tuple[slice, ...]] = []

    def fetch(region: tuple[slice, ...]) -> np.ndarray:
        fetched.append(region)
        return arr[region].copy()

    for _ in range(3):  # later reads may be served (partly) from what earlier ones cached
        selection = data.draw(plain_selections(arr.shape))
        box = plan(selection, arr.shape)
        assert box is not None
        got = cache.read("a", box, chunks, arr.shape, arr.dtype, fetch, admit_later=admit is not None)
        if got is None:  # larger than half the budget, or a first large miss: the caller reads it
            assert int(np.prod(box.shape)) > 0
            continue
        np.testing.assert_array_equal(got, arr[selection])
        got[...] = -1  # the caller owns its result: the cache keeps its own copy
    again = cache.read("a", plan((), arr.shape), chunks, arr.shape, arr.dtype, fetch)  # type: ignore[arg-type]
    if again is not None:
        np.testing.assert_array_equal(again, arr)


@given(
    st.sampled_from(
        [
            slice(0, 4, 2),
            ([0, 1], [0, 1]),
            (slice(None), [0, 1]),
            [],
            np.array([True, False, True]),
            [True, False],
            (Ellipsis, Ellipsis),
            np.array([[0, 1]]),
        ]
    )
)
def test_fancy_selections_are_left_to_zarr(selection: object) -> None:
    assert plan(selection, (3, 3)) is None


def test_a_warm_read_does_not_fetch_and_a_write_forgets() -> None:
    arr = np.arange(100.0).reshape(20, 5)
    cache = ChunkCache(max_bytes=10_000)
    calls: list[object] = []

    def fetch(region: tuple[slice, ...]) -> np.ndarray:
        calls.append(region)
        return arr[region].copy()

    box = plan(slice(3, 12), arr.shape)
    assert box is not None
    cache.read("x", box, (4, 5), arr.shape, arr.dtype, fetch)
    assert calls == [(slice(0, 12), slice(0, 5))]  # whole chunks 0..2, in one read
    cache.read("x", box, (4, 5), arr.shape, arr.dtype, fetch)
    assert len(calls) == 1
    cache.forget("x")
    cache.read("x", box, (4, 5), arr.shape, arr.dtype, fetch)
    assert len(calls) == 2


def test_a_large_first_miss_is_kept_only_when_missed_again() -> None:
    """With admit_later, a read missing more than admit_bytes is left to the caller once (nothing is
    fetched or kept), fetched and kept on the second miss, and served from the cache after that; a
    small miss is kept at once, and a write forgets what was noted."""
    arr = np.arange(400.0).reshape(40, 10)
    cache = ChunkCache(max_bytes=100_000, admit_bytes=500)  # one chunk (4 x 10 float64) is 320 bytes
    calls: list[object] = []

    def fetch(region: tuple[slice, ...]) -> np.ndarray:
        calls.append(region)
        return arr[region].copy()

    def read(selection: object) -> np.ndarray | None:
        box = plan(selection, arr.shape)
        assert box is not None
        return cache.read("x", box, (4, 10), arr.shape, arr.dtype, fetch, admit_later=True)

    assert read(slice(2, 10)) is None  # three chunks missed for the first time
    assert calls == []
    np.testing.assert_array_equal(read(slice(2, 10)), arr[2:10])
    assert calls == [(slice(0, 12), slice(0, 10))]
    np.testing.assert_array_equal(read(slice(3, 9)), arr[3:9])
    assert len(calls) == 1
    np.testing.assert_array_equal(read(slice(13, 15)), arr[13:15])  # one chunk: kept at once
    assert len(calls) == 2
    assert read(slice(20, 30)) is None
    cache.forget("x")
    assert read(slice(20, 30)) is None  # what was noted went with the write
    assert cache.read("x", plan(slice(20, 30), arr.shape), (4, 10), arr.shape, arr.dtype, fetch) is not None
