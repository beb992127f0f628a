"""A bounded cache of decoded chunks, shared by the numeric arrays one IO reads.

Layer: read. Re-reading a region (scrolling through a recording, plotting the same second again, hdmf
indexing a ragged column row by row) then costs numpy copies instead of a trip through the store and the
codecs, as HDF5's chunk cache does for h5py. Plain selections (integers and step-1 slices on each
axis, and a list of row indices on the first axis, as a table region reads a column) go through the
cache when the chunks they touch fit in it; anything else, and a full read of a large array, goes
straight to zarr. A local read missing more than ADMIT_BYTES is decoded straight into its result and
only noted; its chunks are kept when they are missed again (ChunkCache), so a recording read once does
not fill the cache, and a region read again is a copy from its third read on. Writes through the IO
(rows appended in mode 'a') drop the array's entries; data changed by another process while a file
is open is not seen again until reopened.

``plan`` and ``assemble`` are pure (property-tested in tests/properties/test_chunk_cache.py).
"""

from __future__ import annotations

import itertools
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Default budget per IO: a few seconds of a 384-channel int16 recording at 30 kHz.
DEFAULT_CACHE_BYTES = 64 * 2**20
#: Misses of up to this many decoded bytes are kept at once; larger ones may wait for a second miss
#: (see ChunkCache). Table columns read row by row and small series stay below it.
ADMIT_BYTES = 1 << 20
#: The most chunks remembered as missed once (their keys only).
_MAX_SEEN = 4096

ChunkKey = tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Plan:
    """A selection resolved against an array: per-axis [start, stop), the axes to drop, and the rows
    to take from the box when the first axis is selected by a list of indices (a table region)."""

    starts: tuple[int, ...]
    stops: tuple[int, ...]
    dropped: tuple[int, ...]  # axes selected by an integer
    take: tuple[int, ...] | None = None  # first-axis rows, relative to starts[0]

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(b - a for a, b in zip(self.starts, self.stops, strict=True))

    def chunk_aligned(self, chunks: tuple[int, ...], shape: tuple[int, ...]) -> tuple[slice, ...]:
        """The region of whole chunks the box touches (clipped at the array's edge)."""
        return tuple(
            slice(a // c * c, min(-(-b // c) * c, n)) if b > a else slice(a, a)
            for a, b, c, n in zip(self.starts, self.stops, chunks, shape, strict=True)
        )

    def chunk_keys(self, chunks: tuple[int, ...]) -> Iterator[ChunkKey]:
        ranges = [
            range(a // c, (b - 1) // c + 1) if b > a else range(0)
            for a, b, c in zip(self.starts, self.stops, chunks, strict=True)
        ]
        return itertools.product(*ranges)

    def finish(self, box_values: np.ndarray) -> np.ndarray:
        """The values of the box turned into the selection's result: listed rows taken, integer-selected
        axes (length 1) dropped."""
        out = box_values
        if self.take is not None:
            out = out[list(self.take)]
        if self.dropped:
            out = out.reshape(tuple(n for axis, n in enumerate(out.shape) if axis not in self.dropped))
        return out


def plan(selection: Any, shape: tuple[int, ...]) -> Plan | None:
    """Resolve *selection* to a box, or None if it is not a plain selection (then zarr reads it)."""
    if not shape:
        return None
    if _whole(selection):  # ``data[:]``, ``data[...]``: the commonest read, without the general walk
        return Plan((0,) * len(shape), tuple(shape), ())
    items = _per_axis(selection if isinstance(selection, tuple) else (selection,), len(shape))
    if items is None:
        return None
    take = _rows(items[0], shape[0])
    if take is not None:
        items = (slice(min(take), max(take) + 1), *items[1:])
    starts, stops, dropped = [], [], []
    for axis, (item, size) in enumerate(zip(items, shape, strict=True)):
        span = _span(item, size)
        if span is None:
            return None
        starts.append(span[0])
        stops.append(span[1])
        if span[2]:
            dropped.append(axis)
    if take is not None:
        return Plan(tuple(starts), tuple(stops), tuple(dropped), tuple(t - starts[0] for t in take))
    return Plan(tuple(starts), tuple(stops), tuple(dropped))


def _per_axis(items: tuple[Any, ...], ndim: int) -> tuple[Any, ...] | None:
    """One item per axis: an Ellipsis expanded and missing trailing axes taken whole (None: too many)."""
    ellipses = [i for i, s in enumerate(items) if s is Ellipsis]
    if len(ellipses) > 1:
        return None
    if ellipses:
        at = ellipses[0]
        fill = ndim - (len(items) - 1)
        items = (*items[:at], *([slice(None)] * fill), *items[at + 1 :])
    if len(items) > ndim:
        return None
    return (*items, *([slice(None)] * (ndim - len(items))))


def _whole(selection: Any) -> bool:
    """Whether *selection* is ``...`` or ``:``, the whole array."""
    if selection is Ellipsis:
        return True
    return selection.__class__ is slice and selection == _ALL


_ALL = slice(None)


def _span(item: Any, size: int) -> tuple[int, int, bool] | None:
    """One axis of a plain selection: (start, stop, selected by an integer), or None if not plain."""
    if isinstance(item, slice):
        start, stop, step = item.indices(size)
        return (start, max(start, stop), False) if step == 1 else None
    if isinstance(item, int | np.integer) and not isinstance(item, bool | np.bool_):
        index = int(item)
        if not -size <= index < size:
            return None  # out of range: zarr raises its own IndexError
        return index % size, index % size + 1, True
    return None


def _rows(item: Any, size: int) -> list[int] | None:
    """A non-empty list (or 1-D integer array) of in-range row indices, normalised; else None."""
    if isinstance(item, np.ndarray):
        if item.ndim != 1 or item.dtype.kind not in "iu":
            return None
        values = item.tolist()
    elif isinstance(item, list) and all(
        isinstance(v, int | np.integer) and not isinstance(v, bool | np.bool_) for v in item
    ):
        values = [int(v) for v in item]
    else:
        return None
    if not values or not all(-size <= v < size for v in values):
        return None
    return [v % size for v in values]


def chunk_box(key: ChunkKey, chunks: tuple[int, ...], shape: tuple[int, ...]) -> tuple[slice, ...]:
    """The region of the array that chunk *key* holds (clipped at the array's edge)."""
    return tuple(slice(k * c, min((k + 1) * c, n)) for k, c, n in zip(key, chunks, shape, strict=True))


def assemble(
    box: Plan, chunks: tuple[int, ...], shape: tuple[int, ...], dtype: Any, blocks: dict[ChunkKey, np.ndarray]
) -> np.ndarray:
    """Copy the part of every chunk the box covers into one array; drop integer-selected axes."""
    out = np.empty(box.shape, dtype=dtype)
    for key in box.chunk_keys(chunks):
        region = chunk_box(key, chunks, shape)
        src, dst = [], []
        for r, a, b in zip(region, box.starts, box.stops, strict=True):
            lo, hi = max(r.start, a), min(r.stop, b)
            src.append(slice(lo - r.start, hi - r.start))
            dst.append(slice(lo - a, hi - a))
        out[tuple(dst)] = blocks[key][tuple(src)]
    return box.finish(out)


class ChunkCache:
    """Decoded chunks by (array key, chunk coordinates), least recently used dropped first.

    A read that misses chunks of more than ``admit_bytes`` (decoded) in all may be asked to skip the
    cache the first time (``read(..., admit_later=True)``, for local arrays): its chunks are only noted,
    and kept when a later read misses them again. A recording read once, block by block, is then
    decoded straight into each result, without filling the cache (and the memory it needs) with chunks
    nobody reads again; a region read repeatedly is served from the cache from its third read on.
    """

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES, admit_bytes: int = ADMIT_BYTES) -> None:
        self.max_bytes = max_bytes
        self.admit_bytes = admit_bytes
        self._blocks: OrderedDict[tuple[str, ChunkKey], np.ndarray] = OrderedDict()
        self._bytes = 0
        self._seen: OrderedDict[tuple[str, ChunkKey], None] = OrderedDict()  # missed once, not kept
        self._lock = threading.Lock()

    def read(
        self,
        array_key: str,
        box: Plan,
        chunks: tuple[int, ...],
        shape: tuple[int, ...],
        dtype: Any,
        fetch: Callable[[tuple[slice, ...]], np.ndarray],
        *,
        admit_later: bool = False,
    ) -> np.ndarray | None:
        """Serve *box* from cached chunks, fetching the missing ones in one read; None if it cannot fit,
        or (*admit_later*) if the chunks it misses are large and missed for the first time: the caller
        then reads *box* itself."""
        itemsize = _ITEM_ESTIMATE if np.dtype(dtype).kind in "OT" else np.dtype(dtype).itemsize
        if _count(box.chunk_aligned(chunks, shape)) * itemsize > self.max_bytes // 2:
            return None  # larger than the cache can usefully hold: read directly, do not evict everything
        keys = list(box.chunk_keys(chunks))
        blocks: dict[ChunkKey, np.ndarray] = {}
        with self._lock:
            for key in keys:
                block = self._blocks.get((array_key, key))
                if block is not None:
                    self._blocks.move_to_end((array_key, key))
                    blocks[key] = block
        missing = {k for k in keys if k not in blocks}
        if missing and admit_later and self._first_miss(array_key, missing, math.prod(chunks) * itemsize):
            return None
        if missing:
            lo = [min(k[axis] for k in missing) for axis in range(len(shape))]
            hi = [max(k[axis] for k in missing) for axis in range(len(shape))]
            first, last = chunk_box(tuple(lo), chunks, shape), chunk_box(tuple(hi), chunks, shape)
            region = tuple(slice(a.start, b.stop) for a, b in zip(first, last, strict=True))
            data = np.asarray(fetch(region))
            for key in itertools.product(*(range(a, b + 1) for a, b in zip(lo, hi, strict=True))):
                sub = chunk_box(key, chunks, shape)
                part = data[
                    tuple(
                        slice(s.start - r.start, s.stop - r.start) for s, r in zip(sub, region, strict=True)
                    )
                ]
                self._put(array_key, key, part)
                if key in missing:
                    blocks[key] = part
        return assemble(box, chunks, shape, dtype, blocks)

    def _first_miss(self, array_key: str, missing: set[ChunkKey], chunk_bytes: int) -> bool:
        """Whether the *missing* chunks exceed admit_bytes and some were not missed before (then all
        are noted as missed)."""
        if len(missing) * chunk_bytes <= self.admit_bytes:
            return False
        with self._lock:
            if all((array_key, k) in self._seen for k in missing):
                for k in missing:
                    del self._seen[(array_key, k)]
                return False
            for k in missing:
                self._seen[(array_key, k)] = None
                self._seen.move_to_end((array_key, k))
            while len(self._seen) > _MAX_SEEN:
                self._seen.popitem(last=False)
        return True

    def peek(self, array_key: str, key: ChunkKey) -> np.ndarray | None:
        """One cached chunk (not a copy: the caller copies what it hands out), or None."""
        with self._lock:
            block = self._blocks.get((array_key, key))
            if block is not None:
                self._blocks.move_to_end((array_key, key))
            return block

    def put(self, array_key: str, key: ChunkKey, block: np.ndarray) -> None:
        """Hold one decoded chunk (the least recently used ones go when the budget is exceeded)."""
        self._put(array_key, key, block)

    def _put(self, array_key: str, key: ChunkKey, block: np.ndarray) -> None:
        with self._lock:
            old = self._blocks.pop((array_key, key), None)
            if old is not None:
                self._bytes -= _nbytes(old)
            self._blocks[(array_key, key)] = block
            self._bytes += _nbytes(block)
            while self._bytes > self.max_bytes and self._blocks:
                _, dropped = self._blocks.popitem(last=False)
                self._bytes -= _nbytes(dropped)

    def forget(self, array_key: str) -> None:
        """Drop every chunk of one array (it was written to)."""
        with self._lock:
            for cached in [k for k in self._blocks if k[0] == array_key]:
                self._bytes -= _nbytes(self._blocks.pop(cached))
            for seen in [k for k in self._seen if k[0] == array_key]:
                del self._seen[seen]

    def clear(self) -> None:
        with self._lock:
            self._blocks.clear()
            self._seen.clear()
            self._bytes = 0


#: Bytes counted per element of a text or object array (a str object and its pointer; texts in NWB
#: tables are short): the budget stays a bound on memory without measuring every string.
_ITEM_ESTIMATE = 64


def _nbytes(block: np.ndarray) -> int:
    return block.size * _ITEM_ESTIMATE if block.dtype.kind in "OT" else block.nbytes


def _count(region: tuple[slice, ...]) -> int:
    return math.prod(s.stop - s.start for s in region)
