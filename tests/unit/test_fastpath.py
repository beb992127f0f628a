"""Chunks encoded by the writer's fast path are read back by plain zarr exactly."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import zarr
from zarr.storage import MemoryStore

from hdmf_zarr.dataio import default_compressors
from hdmf_zarr.write.fastpath import encode_single_chunk


@pytest.mark.parametrize("dtype", ["int8", "int16", "uint32", "int64", "float32", "float64", "bool"])
@pytest.mark.parametrize("shape", [(1,), (100,), (7, 3), (2, 3, 4)])
@pytest.mark.parametrize("separator", ["/", "."])
def test_fast_chunk_reads_back_with_zarr(dtype: str, shape: tuple[int, ...], separator: str) -> None:
    data = (np.arange(int(np.prod(shape))).reshape(shape) % 5).astype(dtype)
    store = MemoryStore()
    arr = zarr.create_array(
        store,
        name="a",
        shape=shape,
        chunks=shape,
        dtype=dtype,
        compressors=default_compressors(),
        chunk_key_encoding={"name": "default", "separator": separator},
    )
    encoded = encode_single_chunk("/a", data, arr.metadata)
    assert encoded is not None
    key, payload = encoded
    assert key == "a/c" + "".join(separator + "0" for _ in shape)
    from zarr.core.buffer import default_buffer_prototype
    from zarr.core.sync import sync

    sync(store.set(key, default_buffer_prototype().buffer.from_bytes(payload)))
    np.testing.assert_array_equal(zarr.open_array(store, path="a", mode="r")[...], data)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"compressors": [zarr.codecs.ZstdCodec()]},  # another codec chain: zarr must write it
        {"chunks": (5,)},  # more than one chunk
    ],
)
def test_fast_path_declines_what_it_does_not_handle(kwargs: dict[str, Any]) -> None:
    options = {"chunks": (10,), "compressors": default_compressors(), **kwargs}
    arr = zarr.create_array(MemoryStore(), name="a", shape=(10,), dtype="f8", **options)
    assert encode_single_chunk("/a", np.arange(10.0), arr.metadata) is None
