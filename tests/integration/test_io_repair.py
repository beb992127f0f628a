"""Repair of an interrupted write: what no completed write recorded is dropped, recorded nodes restored.

The interrupted write is simulated with zarr itself on a file of ours: a dataset grown and its new
chunks written, attributes changed, a new group added, and the writer's mark left behind.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import zarr
from hdmf.build import GroupBuilder

from hdmf_zarr import ZarrDataIO, ZarrIO
from hdmf_zarr import _format as fmt
from hdmf_zarr.errors import InterruptedWriteError, InterruptedWriteWarning, ModeError
from hdmf_zarr.lifecycle import new_mark
from hdmf_zarr.testing.builders import dataset


def _file(path: Path, zarr_format: int) -> None:
    root = GroupBuilder("root")
    dataset(root, "d", ZarrDataIO(np.arange(4.0), chunks=(2,)), attributes={"unit": "m"})
    with ZarrIO(path, mode="w", zarr_format=zarr_format) as io:  # type: ignore[arg-type]
        io.write_builder(root, cache_spec=False)


def _interrupt(path: Path, zarr_format: int) -> None:
    """What a killed append leaves: a grown dataset with new chunks, changed attributes, a new node."""
    group = zarr.open_group(path, mode="r+", zarr_format=zarr_format, use_consolidated=False)  # type: ignore[arg-type]
    arr = group["d"]
    assert isinstance(arr, zarr.Array)
    arr.resize((8,))
    arr[4:] = np.full(4, 99.0)
    arr.attrs["unit"] = "changed"
    group.create_group("half_written").create_array("x", data=np.arange(3))
    (path / fmt.WRITE_MARK_KEY).write_text(json.dumps(new_mark("a").to_json()))


def _chunk_keys(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path / "d")) for p in (path / "d").rglob("*") if p.is_file())


@pytest.mark.parametrize("zarr_format", [3, 2])
def test_repair_restores_the_last_completed_write(tmp_path: Path, zarr_format: int) -> None:
    path = tmp_path / "f.zarr"
    _file(path, zarr_format)
    chunks_before = _chunk_keys(path)
    _interrupt(path, zarr_format)
    assert len(_chunk_keys(path)) > len(chunks_before)
    with pytest.raises(InterruptedWriteError, match="interrupted write"):
        ZarrIO(path, mode="r+")
    with ZarrIO(path, mode="r+", repair=True):
        pass
    assert not (path / "half_written").exists()
    assert not (path / fmt.WRITE_MARK_KEY).exists()
    assert _chunk_keys(path) == chunks_before
    for consolidated in (True, False):
        with ZarrIO(path, mode="r", consolidated=consolidated) as io:
            root = io.read_builder()
            assert sorted(root.groups) == []
            d = root.datasets["d"]
            assert d.attributes["unit"] == "m"
            np.testing.assert_array_equal(d.data[:], np.arange(4.0))
    # A grown dataset later reads its new rows, never the interrupted write's values.
    arr = zarr.open_array(path / "d", mode="r+", zarr_format=zarr_format)  # type: ignore[arg-type]
    arr.resize((8,))
    np.testing.assert_array_equal(arr[4:], np.zeros(4))


def test_readers_are_warned_and_read_the_last_completed_write(tmp_path: Path) -> None:
    path = tmp_path / "f.zarr"
    _file(path, 3)
    _interrupt(path, 3)
    with pytest.warns(InterruptedWriteWarning, match="was interrupted"):
        io = ZarrIO(path, mode="r")
    with io:
        root = io.read_builder()
        assert sorted(root.groups) == []
        np.testing.assert_array_equal(root.datasets["d"].data[:], np.arange(4.0))


def test_repair_is_for_writers_in_place(tmp_path: Path) -> None:
    with pytest.raises(ModeError, match="repair=True"):
        ZarrIO(tmp_path / "f.zarr", mode="w", repair=True)
