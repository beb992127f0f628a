"""Damaged chunks and node documents end in a CorruptDataError that names the node and the file.

Files are written by us, then damaged on disk as a failing disk or a careless tool would: garbage,
empty and truncated chunks, a root document that is not JSON, a node document with a bad field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hdmf.build import DatasetBuilder, GroupBuilder

from hdmf_zarr import ZarrDataIO
from hdmf_zarr.errors import CorruptDataError
from hdmf_zarr.io import ZarrIO


def _write(path: Path, zarr_format: int) -> None:
    root = GroupBuilder("root")
    grp = GroupBuilder("grp")
    root.set_group(grp)
    grp.set_dataset(DatasetBuilder("data", ZarrDataIO(np.arange(1000.0), chunks=(100,))))
    grp.set_dataset(DatasetBuilder("text", ["a", "b", "c"]))
    with ZarrIO(path, mode="w", zarr_format=zarr_format) as io:
        io.write_builder(root, cache_spec=False)


def _chunk(path: Path, name: str, zarr_format: int) -> Path:
    return path / "grp" / name / ("c.0" if zarr_format == 3 else "0")


DAMAGE: dict[str, Callable[[Path], object]] = {
    "garbage": lambda chunk: chunk.write_bytes(b"garbage!" * 5),
    "empty": lambda chunk: chunk.write_bytes(b""),
    "truncated": lambda chunk: chunk.write_bytes(chunk.read_bytes()[:10]),
}


@pytest.mark.parametrize("zarr_format", [3, 2])
@pytest.mark.parametrize("damage", sorted(DAMAGE))
@pytest.mark.parametrize("name", ["data", "text"])
def test_a_damaged_chunk_names_dataset_and_file(
    tmp_path: Path, zarr_format: int, damage: str, name: str
) -> None:
    path = tmp_path / "damaged.zarr"
    _write(path, zarr_format)
    DAMAGE[damage](_chunk(path, name, zarr_format))
    with ZarrIO(path, mode="r") as io:
        dataset = io.read_builder()["grp"][name]
        with pytest.raises(CorruptDataError, match=rf"'/grp/{name}'.* of '{re.escape(str(path))}'"):
            dataset.data[:]
        with pytest.raises(ValueError, match="damaged"):  # a FormatError is a ValueError for callers
            dataset.data[0:2]


def test_selections_out_of_bounds_stay_index_errors(tmp_path: Path) -> None:
    path = tmp_path / "bounds.zarr"
    _write(path, 3)
    with ZarrIO(path, mode="r") as io:
        data = io.read_builder()["grp"]["data"].data
        with pytest.raises(IndexError):
            data[5000]


@pytest.mark.parametrize("zarr_format", [3, 2])
def test_a_root_document_that_is_not_json_names_the_file(tmp_path: Path, zarr_format: int) -> None:
    path = tmp_path / "root.zarr"
    _write(path, zarr_format)
    (path / ("zarr.json" if zarr_format == 3 else ".zmetadata")).write_text("{not json")
    with pytest.raises(CorruptDataError, match=rf"document.* of '{re.escape(str(path))}'"):
        ZarrIO(path, mode="r").read_builder()


@pytest.mark.parametrize("zarr_format", [3, 2])
def test_a_node_document_that_is_not_json_is_named_when_listing(tmp_path: Path, zarr_format: int) -> None:
    path = tmp_path / "node.zarr"
    _write(path, zarr_format)
    document = "grp/data/" + ("zarr.json" if zarr_format == 3 else ".zarray")
    (path / document).write_text("{not json")
    with ZarrIO(path, mode="r", consolidated=False) as io, pytest.raises(CorruptDataError, match=document):
        io.read_builder()


def test_a_node_document_with_a_bad_field_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "field.zarr"
    _write(path, 3)
    doc_path = path / "grp" / "data" / "zarr.json"
    doc = json.loads(doc_path.read_text())
    doc["shape"] = "x"
    doc_path.write_text(json.dumps(doc))
    with (
        ZarrIO(path, mode="r", consolidated=False) as io,
        pytest.raises(CorruptDataError, match=rf"node document of '{re.escape(str(path))}'"),
    ):
        io.read_builder()
