"""The v3 arrays we write name their chunks ``c.<i>.<j>`` (docs/format.md#store-keys): files of the array's
own folder, read by plain zarr and by hdmf-zarr 0.14 (tests/interop); arrays of older files keep theirs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import zarr
from hdmf.build import DatasetBuilder, GroupBuilder

from hdmf_zarr import ZarrDataIO
from hdmf_zarr import _format as fmt
from hdmf_zarr.io import ZarrIO


def _write(path: Path) -> None:
    root = GroupBuilder("root")
    root.set_dataset(DatasetBuilder("small", np.arange(10.0)))  # one chunk: the fast path
    root.set_dataset(DatasetBuilder("rows", ZarrDataIO(np.arange(60).reshape(20, 3), chunks=(8, 3))))
    root.set_dataset(DatasetBuilder("grid", ZarrDataIO(np.arange(36).reshape(6, 6), chunks=(4, 4))))
    with ZarrIO(path, mode="w") as io:
        io.write_builder(root, cache_spec=False)


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


def test_chunks_are_files_of_the_array_folder(tmp_path: Path) -> None:
    path = tmp_path / "f.zarr"
    _write(path)
    assert _files(path / "small") == {"zarr.json", "c.0"}
    assert _files(path / "rows") == {"zarr.json", "c.0.0", "c.1.0", "c.2.0"}
    assert _files(path / "grid") == {"zarr.json", "c.0.0", "c.0.1", "c.1.0", "c.1.1"}
    for name in ("small", "rows", "grid"):
        doc = json.loads((path / name / fmt.V3_METADATA_KEY).read_text())
        assert doc["chunk_key_encoding"] == {"name": "default", "configuration": {"separator": "."}}
    group = zarr.open_group(path, mode="r")  # plain zarr follows the declared encoding
    np.testing.assert_array_equal(group["grid"][...], np.arange(36).reshape(6, 6))
    np.testing.assert_array_equal(group["rows"][...], np.arange(60).reshape(20, 3))


def test_an_array_appended_to_keeps_the_encoding_it_was_made_with(tmp_path: Path) -> None:
    path = tmp_path / "old.zarr"
    _write(path)
    old = zarr.open_group(path, mode="r+").create_array("slashed", shape=(4,), chunks=(2,), dtype="int64")
    old[...] = [1, 2, 3, 4]  # zarr's own default: c/0, c/1
    with ZarrIO(path, mode="a") as io:
        root = io.read_builder()
        root.datasets["slashed"].data.extend([5, 6])
        io.write_builder(root, cache_spec=False)
    with ZarrIO(path, mode="r") as io:
        np.testing.assert_array_equal(io.read_builder().datasets["slashed"].data[:], [1, 2, 3, 4, 5, 6])
    assert _files(path / "slashed") == {"zarr.json", "c", "c/0", "c/1", "c/2"}
