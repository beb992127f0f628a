"""ZarrDataIO options reach the stored arrays; DataChunkIterators are written and grown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numcodecs
import numpy as np
import pytest
import zarr
import zarr.codecs
from hdmf.build import GroupBuilder
from hdmf.data_utils import DataChunkIterator

from hdmf_zarr import ZarrDataIO, ZarrIO
from hdmf_zarr.store import StoreLike
from hdmf_zarr.testing.builders import dataset


def _write_one(store: StoreLike, data: Any, **io_options: Any) -> None:
    root = GroupBuilder("root")
    dataset(root, "x", data)
    with ZarrIO(store, mode="w", **io_options) as io:
        io.write_builder(root, cache_spec=False)


def _read_array(store: StoreLike) -> tuple[zarr.Array, np.ndarray]:
    with ZarrIO(store, mode="r") as io:
        arr = io.file["x"]
        assert isinstance(arr, zarr.Array)
        data = io.read_builder().datasets["x"].data
        return arr, np.asarray(data[...] if data.shape else data[()])


def _configs(arr: zarr.Array, which: str) -> list[dict[str, Any]]:
    return [c.to_dict() for c in getattr(arr, which)]


def test_chunks_compressors_filters_fill(store: StoreLike) -> None:
    data = np.arange(20, dtype=np.int32)
    _write_one(
        store,
        ZarrDataIO(
            data,
            chunks=(4,),
            compressors=[numcodecs.Zstd(level=3)],
            filters=[numcodecs.Delta(dtype="<i4")],
            fillvalue=-1,
        ),
    )
    arr, back = _read_array(store)
    np.testing.assert_array_equal(back, data)
    assert arr.chunks == (4,)
    assert _configs(arr, "compressors") == [zarr.codecs.ZstdCodec(level=3).to_dict()]
    assert _configs(arr, "filters")[0]["name"] == "numcodecs.delta"
    assert arr.fill_value == -1


def test_zarr3_codecs_and_no_compression(store: StoreLike) -> None:
    _write_one(store, ZarrDataIO(np.ones((6, 6)), compressors=[], chunks=(3, 6)))
    arr, back = _read_array(store)
    assert arr.compressors == ()
    assert arr.chunks == (3, 6)
    np.testing.assert_array_equal(back, np.ones((6, 6)))


def test_old_compressor_spelling(store: StoreLike) -> None:
    _write_one(store, ZarrDataIO(np.arange(10.0), compressor=numcodecs.GZip(level=1)))
    arr, back = _read_array(store)
    assert _configs(arr, "compressors") == [zarr.codecs.GzipCodec(level=1).to_dict()]
    np.testing.assert_array_equal(back, np.arange(10.0))


def test_shards(store: StoreLike) -> None:
    data = np.arange(64, dtype=np.int16).reshape(16, 4)
    _write_one(store, ZarrDataIO(data, chunks=(2, 4), shards=(8, 4)))
    arr, back = _read_array(store)
    assert arr.shards == (8, 4)
    assert arr.chunks == (2, 4)
    np.testing.assert_array_equal(back, data)


def test_default_chunks_and_compressor(store: StoreLike) -> None:
    data = np.zeros((300, 64), dtype=np.int16)
    _write_one(store, data)
    arr, _ = _read_array(store)
    assert arr.chunks[1] == 64
    assert _configs(arr, "compressors")[0]["name"] == "blosc"


def test_get_io_params_rebuild_writes_the_same_array(tmp_path: Path) -> None:
    old = ZarrDataIO(np.arange(30), chunks=(7,), compressors=[numcodecs.Blosc(cname="zstd")], fillvalue=3)
    _write_one(tmp_path / "a.zarr", old)
    _write_one(tmp_path / "b.zarr", ZarrDataIO(np.arange(30), **old.get_io_params()))
    a, _ = _read_array(tmp_path / "a.zarr")
    b, back = _read_array(tmp_path / "b.zarr")
    assert a.metadata.to_dict() == b.metadata.to_dict()
    np.testing.assert_array_equal(back, np.arange(30))


def test_v2_arrays_store_numcodecs(tmp_path: Path) -> None:
    path = tmp_path / "v2.zarr"
    _write_one(path, ZarrDataIO(np.arange(10), compressors=[numcodecs.Zstd(level=2)]), zarr_format=2)
    group = zarr.open_group(path, mode="r")
    arr = group["x"]
    assert isinstance(arr, zarr.Array)
    assert arr.metadata.zarr_format == 2
    assert arr.metadata.compressor == numcodecs.Zstd(level=2)
    np.testing.assert_array_equal(arr[:], np.arange(10))


def test_v2_default_compressor_is_numcodecs_blosc(tmp_path: Path) -> None:
    path = tmp_path / "v2.zarr"
    _write_one(path, np.arange(100, dtype=np.int16), zarr_format=2)
    arr = zarr.open_group(path, mode="r")["x"]
    assert isinstance(arr, zarr.Array)
    assert isinstance(arr.metadata.compressor, numcodecs.Blosc)
    np.testing.assert_array_equal(arr[:], np.arange(100, dtype=np.int16))


# -- iterators ---------------------------------------------------------------------------------------


def test_iterator_of_known_length(store: StoreLike) -> None:
    data = np.arange(100, dtype=np.float32)
    _write_one(store, DataChunkIterator(data=data, buffer_size=7))
    arr, back = _read_array(store)
    np.testing.assert_array_equal(back, data)
    assert arr.dtype == np.float32


def test_iterator_of_unknown_length_grows(store: StoreLike) -> None:
    rows = (np.full(3, i, dtype=np.int64) for i in range(25))
    _write_one(store, DataChunkIterator(data=rows, buffer_size=4))
    arr, back = _read_array(store)
    assert arr.shape == (25, 3)
    np.testing.assert_array_equal(back[:, 0], np.arange(25))


def test_iterator_of_scalars_of_unknown_length(store: StoreLike) -> None:
    _write_one(store, DataChunkIterator(data=iter([float(i) for i in range(37)]), buffer_size=5))
    _, back = _read_array(store)
    np.testing.assert_array_equal(back, np.arange(37.0))


def test_iterator_with_maxshape(store: StoreLike) -> None:
    _write_one(store, DataChunkIterator(data=np.arange(10), maxshape=(None,), buffer_size=3))
    arr, back = _read_array(store)
    assert arr.shape == (10,)
    np.testing.assert_array_equal(back, np.arange(10))


def test_iterator_wrapped_in_zarr_dataio_keeps_options(store: StoreLike) -> None:
    it = DataChunkIterator(data=np.arange(40, dtype=np.int32), buffer_size=10)
    _write_one(store, ZarrDataIO(it, chunks=(8,), compressors=[numcodecs.Zstd(level=1)]))
    arr, back = _read_array(store)
    assert arr.chunks == (8,)
    assert _configs(arr, "compressors") == [zarr.codecs.ZstdCodec(level=1).to_dict()]
    np.testing.assert_array_equal(back, np.arange(40))


def test_iterator_of_text(store: StoreLike) -> None:
    words = ["alpha", "beta", "gamma", "δέλτα"]
    _write_one(store, DataChunkIterator(data=iter(words), buffer_size=3, dtype=np.dtype("O")))
    _, back = _read_array(store)
    assert list(back) == words


def test_empty_iterator(store: StoreLike) -> None:
    _write_one(store, DataChunkIterator(data=iter([]), maxshape=(None, 2), dtype=np.dtype("float64")))
    arr, back = _read_array(store)
    assert back.shape == (0, 2)
    assert arr.dtype == np.float64


@pytest.mark.parametrize("fill", [0.0, float("nan"), float("inf")])
def test_float_fill_values(store: StoreLike, fill: float) -> None:
    _write_one(store, ZarrDataIO(np.array([1.0, 2.0]), fillvalue=fill))
    arr, back = _read_array(store)
    np.testing.assert_array_equal(back, [1.0, 2.0])
    assert np.asarray(arr.fill_value).item() == fill or (np.isnan(fill) and np.isnan(arr.fill_value))
