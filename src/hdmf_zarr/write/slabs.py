"""Write a large in-memory array in slabs of whole write units, a bounded number at a time.

Layer: write. zarr encodes every chunk of one ``setitem`` call before the call ends, each holding its
raw slice, a filtered copy and its output: memory grows with the array. Cutting the array into slabs
of whole write units (shards, else chunks) along the first axis, with at most ``SLABS_IN_FLIGHT``
slabs being encoded and stored at once, bounds that memory by a few slabs while still giving the codec
pipeline several chunks to encode in parallel and the store several objects to put concurrently.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

import numpy as np
from zarr.core.array import AsyncArray

#: Bytes of the array in one slab (rounded to whole write units; at least one unit).
SLAB_BYTES: Final = 8 << 20
#: Slabs encoded and stored concurrently.
SLABS_IN_FLIGHT: Final = 2


def slab_rows(shape: tuple[int, ...], itemsize: int, unit_rows: int) -> int:
    """Rows per slab: a multiple of *unit_rows* holding about ``SLAB_BYTES`` (at least one unit)."""
    row_bytes = max(1, int(np.prod(shape[1:], dtype=np.int64)) * itemsize)
    return unit_rows * max(1, SLAB_BYTES // (row_bytes * unit_rows))


async def write_slabs(array: AsyncArray[Any], data: np.ndarray) -> None:
    """Write *data* (the whole of *array*) slab by slab, ``SLABS_IN_FLIGHT`` at a time."""
    if data.ndim == 0 or data.nbytes <= SLAB_BYTES:
        await array.setitem(Ellipsis if data.ndim else (), data)
        return
    unit = getattr(array, "shards", None) or array.chunks
    rows = slab_rows(data.shape, data.dtype.itemsize, int(unit[0]))
    if rows >= data.shape[0]:
        await array.setitem(Ellipsis, data)
        return
    gate = asyncio.Semaphore(SLABS_IN_FLIGHT)

    async def one(start: int) -> None:
        async with gate:
            await array.setitem(slice(start, start + rows), data[start : start + rows])

    await asyncio.gather(*(one(start) for start in range(0, data.shape[0], rows)))
