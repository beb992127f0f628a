"""Arrays written chunk by chunk by write/rowchunks.py hold exactly what zarr itself writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zarr
from hypothesis import given, settings
from hypothesis import strategies as st
from zarr.core.sync import sync
from zarr.storage import LocalStore, MemoryStore

from hdmf_zarr.dataio import default_compressors
from hdmf_zarr.write.rowchunks import RowChunkWriter, row_chunk_rows


def _write_both(root: Path, data: np.ndarray, chunks: tuple[int, ...], **options: Any) -> tuple[Any, Any]:
    """Write *data* with zarr (array "zarr") and with RowChunkWriter (array "ours"); return both arrays."""
    store = LocalStore(root)
    kwargs = {
        "shape": data.shape,
        "chunks": chunks,
        "dtype": data.dtype,
        "compressors": default_compressors(),
    }
    expected = zarr.create_array(store, name="zarr", **kwargs, **options)
    expected[...] = data
    ours = zarr.create_array(store, name="ours", **kwargs, **options)
    rows = row_chunk_rows(store, ours.metadata, data)
    assert rows == chunks[0]

    async def write() -> None:
        async with RowChunkWriter(store, in_flight=2) as writer:
            await writer.write("/ours", ours.metadata, data, rows)

    sync(write())
    return expected, ours


def _chunk_files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and p.name != "zarr.json"}


@settings(max_examples=25, deadline=None)
@given(
    dtype=st.sampled_from(["int8", "int16", "uint32", "int64", "float32", "float64", ">i4"]),
    rows=st.integers(1, 60),
    width=st.sampled_from([(), (3,), (2, 2)]),
    chunk_rows=st.integers(1, 17),
    zeros_from=st.integers(0, 60),
    separator=st.sampled_from(["/", "."]),
)
def test_row_chunks_equal_zarr(
    tmp_path_factory: pytest.TempPathFactory,
    dtype: str,
    rows: int,
    width: tuple[int, ...],
    chunk_rows: int,
    zeros_from: int,
    separator: str,
) -> None:
    data = (np.arange(rows * int(np.prod(width)), dtype="int64").reshape((rows, *width)) % 7 + 1).astype(
        dtype
    )
    data[zeros_from:] = 0  # all-zero chunks at the end: zarr stores none of them, nor do we
    root = tmp_path_factory.mktemp("rows")
    encoding = {"name": "default", "separator": separator}  # zarr's default, and the one we write
    expected, ours = _write_both(root, data, (chunk_rows, *width), chunk_key_encoding=encoding)
    np.testing.assert_array_equal(ours[...], data)
    assert ours[...].dtype == expected[...].dtype
    assert {k.replace("zarr/", "", 1) for k in _chunk_files(root / "zarr")} == _chunk_files(root / "ours")


def test_nan_fill_and_padding(tmp_path: Path) -> None:
    data = np.full((10, 4), np.nan)
    data[7, 1] = 1.5
    _, ours = _write_both(tmp_path, data, (4, 4), fill_value=np.nan)
    np.testing.assert_array_equal(ours[...], data)
    assert _chunk_files(tmp_path / "ours") == {"c/1/0"}  # chunks 0 and 2 hold only the fill value
    assert _chunk_files(tmp_path / "zarr") == {"c/1/0"}


def test_empty_chunks_stored_when_zarr_is_told_to(tmp_path: Path) -> None:
    data = np.zeros((9,), dtype="int16")
    with zarr.config.set({"array.write_empty_chunks": True}):
        _write_both(tmp_path, data, (4,))
    assert _chunk_files(tmp_path / "ours") == {"c/0", "c/1", "c/2"}


@pytest.mark.parametrize(
    ("where", "options", "data"),
    [
        ("memory", {"chunks": (5, 2)}, np.zeros((10, 2))),  # not a local folder
        ("local", {"chunks": (5, 1)}, np.zeros((10, 2))),  # chunks cut the second axis
        ("local", {"chunks": (5, 2), "compressors": [zarr.codecs.ZstdCodec()]}, np.zeros((10, 2))),
        (
            "local",
            {"chunks": (5, 2), "filters": [zarr.codecs.TransposeCodec(order=(1, 0))]},
            np.zeros((10, 2)),
        ),
        ("local", {"chunks": (5,)}, np.array(["a"] * 10, dtype=object)),  # text
    ],
)
def test_declines_what_it_does_not_write(
    tmp_path: Path, where: str, options: dict[str, Any], data: np.ndarray
) -> None:
    store = MemoryStore() if where == "memory" else LocalStore(tmp_path)
    dtype = str if data.dtype == object else data.dtype
    kwargs = {"compressors": default_compressors(), **options}
    arr = zarr.create_array(store, name="a", shape=data.shape, dtype=dtype, **kwargs)
    assert row_chunk_rows(store, arr.metadata, data) is None
