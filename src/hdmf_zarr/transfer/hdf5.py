"""Write a builder tree read by ZarrIO into a new HDF5 file, as stored (no rebuild through the schema).

Layer: applications. ``HDF5IO.export`` rebuilds every container through the installed schema, which
adds defaults the source lacks (``Subject.age__reference``) and fails on what the schema no longer
builds (a linked ``DeviceModel``). Writing the builders the reader produced copies the file as stored;
large arrays go through :class:`BlockIterator`, so memory stays bounded by one block.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any, Final

import numpy as np
from hdmf.build import GroupBuilder
from hdmf.data_utils import AbstractDataChunkIterator, DataChunk

from hdmf_zarr import paths, progress
from hdmf_zarr.transfer.layout import Layout, hdf5_options, is_numeric_array, iter_datasets

#: Bytes read from the source per block when copying a large array (bounded memory).
BLOCK_BYTES: Final = 64 << 20


class BlockIterator(AbstractDataChunkIterator):
    """Read an array-like in blocks of whole chunks along the first axis (reports bytes to progress)."""

    def __init__(
        self, array: Any, chunks: tuple[int, ...], *, where: str = "", block_bytes: int | None = None
    ) -> None:
        self._array = array
        self._where = where
        self._shape = tuple(int(s) for s in array.shape)
        self._dtype = np.dtype(array.dtype)
        self._chunks = chunks
        row_bytes = max(1, math.prod(self._shape[1:]) * self._dtype.itemsize)
        rows = max(1, (BLOCK_BYTES if block_bytes is None else block_bytes) // row_bytes)
        self._rows = max(chunks[0], rows // chunks[0] * chunks[0])
        self._start = 0

    def __iter__(self) -> BlockIterator:
        return self

    def __next__(self) -> DataChunk:
        if self._start >= self._shape[0]:
            raise StopIteration
        stop = min(self._shape[0], self._start + self._rows)
        progress.at(self._where)
        selection = (slice(self._start, stop), *(slice(0, n) for n in self._shape[1:]))
        block = np.asarray(self._array[selection])
        self._start = stop
        progress.advance(nbytes=block.nbytes)
        return DataChunk(data=block, selection=selection)

    def recommended_chunk_shape(self) -> tuple[int, ...]:
        return self._chunks

    def recommended_data_shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def dtype(self) -> np.dtype[Any]:
        return self._dtype

    @property
    def maxshape(self) -> tuple[int, ...]:
        return self._shape


def apply_hdf5_layout(root: GroupBuilder, layout: Layout) -> None:
    """Wrap the stored numeric arrays of *root* in ``H5DataIO`` over a :class:`BlockIterator`."""
    from hdmf.backends.hdf5 import H5DataIO

    for builder in iter_datasets(root):
        data = builder.data
        if not is_numeric_array(data) or 0 in data.shape:
            continue
        where = paths.builder_path(builder)
        options = hdf5_options(data, layout, where=where)
        iterator = BlockIterator(data, options["chunks"], where=where)
        builder["data"] = H5DataIO(iterator, **options)


def write_hdf5(
    builder: GroupBuilder,
    target: str | os.PathLike[str],
    *,
    manager: Any,
    source: str,
    specs: Mapping[tuple[str, str], Mapping[str, str]],
) -> None:
    """Write *builder* (read from the file at *source*) into a new HDF5 file at *target*."""
    from hdmf.backends.hdf5 import HDF5IO

    from hdmf_zarr.transfer.specs import write_hdf5_documents

    with HDF5IO(os.fspath(target), mode="w", manager=manager) as dst:
        # export_source: links whose target was read from *source* stay inside the new file.
        dst.write_builder(builder, link_data=False, export_source=source)
        write_hdf5_documents(dst._file, specs)
