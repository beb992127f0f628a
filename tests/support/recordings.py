"""A local recording array (int16 rows of 64 channels, Blosc LZ4 + byte shuffle: the default chain of a
written ElectricalSeries) and its direct reader, for read fast-path tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import zarr
from zarr.codecs import BloscCodec
from zarr.storage import LocalStore

from hdmf_zarr.read.direct import DirectReader


def recording(folder: Path, values: np.ndarray, chunk_rows: int) -> tuple[zarr.Array, DirectReader]:
    """*values* (rows x 64 int16) stored under *folder* as array "x" in chunks of *chunk_rows* rows."""
    arr = zarr.create_array(
        LocalStore(folder),
        name="x",
        shape=values.shape,
        chunks=(chunk_rows, values.shape[1]),
        dtype="int16",
        compressors=[BloscCodec(cname="lz4", shuffle="shuffle")],
        fill_value=0,
    )
    arr[:] = values
    reader = DirectReader.of(arr)
    assert reader is not None
    return arr, reader
