"""Access modes: r, r+, a, w, w-, x; overwrite protection; open/close life cycle."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hdmf.build import GroupBuilder
from hdmf.data_utils import DataChunkIterator
from zarr.storage import LocalStore, MemoryStore

from hdmf_zarr import ZarrIO
from hdmf_zarr.errors import (
    HdmfZarrError,
    IOClosedError,
    ModeError,
    StoreExistsError,
    StoreNotFoundError,
)
from hdmf_zarr.store import StoreLike
from hdmf_zarr.testing.builders import dataset


def _tree(name: str = "first", value: float = 1.0) -> GroupBuilder:
    root = GroupBuilder("root", attributes={"tag": name})
    dataset(root, name, np.full(4, value))
    return root


def _write(store: StoreLike, builder: GroupBuilder, mode: str = "w", **kwargs: object) -> None:
    with ZarrIO(store, mode=mode, **kwargs) as io:  # type: ignore[arg-type]
        io.write_builder(builder, cache_spec=False)


def _read_names(store: StoreLike) -> list[str]:
    with ZarrIO(store, mode="r") as io:
        return sorted(io.read_builder().datasets)


def _snapshot(store: StoreLike) -> dict[str, bytes]:
    """Every key of the store and its bytes (to prove that nothing changed)."""
    if isinstance(store, MemoryStore):
        return {k: v.to_bytes() for k, v in store._store_dict.items()}
    root = Path(store.root) if isinstance(store, LocalStore) else Path(store)  # type: ignore[arg-type]
    if root.is_file():  # a zip store
        return {root.name: root.read_bytes()}
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("mode", ["r", "r+"])
def test_reading_modes_need_an_existing_store(tmp_path: Path, mode: str) -> None:
    missing = tmp_path / "missing.zarr"
    with pytest.raises(StoreNotFoundError, match=r"missing\.zarr"):
        ZarrIO(missing, mode=mode)
    assert not missing.exists()


def test_unknown_mode_names_the_valid_ones(store: StoreLike) -> None:
    with pytest.raises(ModeError, match=r"'rw'.*r\+"):
        ZarrIO(store, mode="rw")


@pytest.mark.parametrize("mode", ["w", "w-", "x", "a"])
def test_creating_modes_create(store: StoreLike, mode: str) -> None:
    _write(store, _tree(), mode=mode)
    assert _read_names(store) == ["first"]


def _siblings(store: StoreLike) -> list[str]:
    """The names beside a store on disk (staging folders must not remain there)."""
    if isinstance(store, MemoryStore):
        return []
    where = Path(store.root) if isinstance(store, LocalStore) else Path(store)  # type: ignore[arg-type]
    return sorted(p.name for p in where.parent.iterdir())


def test_w_replaces_an_existing_file(store: StoreLike) -> None:
    """As h5py and NWBHDF5IO do (neuroconv's run_conversion(overwrite=True) relies on it)."""
    _write(store, _tree("first"))
    beside = _siblings(store)
    _write(store, _tree("second"))
    assert _read_names(store) == ["second"]
    assert _siblings(store) == beside


def test_w_keeps_the_old_file_until_close(store: StoreLike) -> None:
    _write(store, _tree("first"))
    before = _snapshot(store)
    with ZarrIO(store, mode="w") as io:
        io.write_builder(_tree("second"), cache_spec=False)
        assert _snapshot(store) == before  # written aside: readers still see the old file
    assert _read_names(store) == ["second"]


def test_w_keeps_the_old_file_when_the_write_fails(store: StoreLike) -> None:
    _write(store, _tree("first"))
    before, beside = _snapshot(store), _siblings(store)
    bad = _tree("second")

    def rows() -> Iterator[np.ndarray]:
        yield np.zeros(3)
        raise OSError("the acquisition system went away")

    dataset(bad, "streamed", DataChunkIterator(rows(), buffer_size=1))
    with pytest.raises(OSError, match="went away"), ZarrIO(store, mode="w") as io:
        io.write_builder(bad, cache_spec=False)
    assert _snapshot(store) == before
    assert _siblings(store) == beside
    assert _read_names(store) == ["first"]


def test_w_keeps_the_old_file_when_the_block_raises(store: StoreLike) -> None:
    _write(store, _tree("first"))
    before = _snapshot(store)

    def write_then_fail() -> None:
        with ZarrIO(store, mode="w") as io:
            io.write_builder(_tree("second"), cache_spec=False)
            raise RuntimeError("user code failed after the write")

    with pytest.raises(RuntimeError, match="user code"):
        write_then_fail()
    assert _snapshot(store) == before


def test_w_refuses_a_folder_of_other_files(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "holiday.jpg").write_bytes(b"jpeg")
    with pytest.raises(StoreExistsError, match="Nothing was deleted"):
        ZarrIO(folder, mode="w")
    assert (folder / "holiday.jpg").read_bytes() == b"jpeg"
    _write(folder, _tree("first"), force_overwrite=True)
    assert _read_names(folder) == ["first"]
    assert not (folder / "holiday.jpg").exists()


@pytest.mark.parametrize("mode", ["w-", "x"])
def test_exclusive_modes_never_replace(store: StoreLike, mode: str) -> None:
    _write(store, _tree())
    before = _snapshot(store)
    with pytest.raises(StoreExistsError):
        ZarrIO(store, mode=mode)
    assert _snapshot(store) == before


def test_force_overwrite_replaces(store: StoreLike) -> None:
    _write(store, _tree("first"))
    _write(store, _tree("second"), force_overwrite=True)
    assert _read_names(store) == ["second"]


@pytest.mark.parametrize("mode", ["r+", "a"])
def test_append_modes_add_to_an_existing_file(store: StoreLike, mode: str) -> None:
    _write(store, _tree("first"))
    with ZarrIO(store, mode=mode) as io:
        root = io.read_builder()
        dataset(root, "second", np.arange(3))
        root.set_attribute("tag", "changed")
        io.write_builder(root, cache_spec=False)
    with ZarrIO(store, mode="r") as io:
        back = io.read_builder()
        assert sorted(back.datasets) == ["first", "second"]
        assert back.attributes["tag"] == "changed"
        np.testing.assert_array_equal(back.datasets["first"].data[:], np.ones(4))


def test_read_mode_refuses_writes(store: StoreLike) -> None:
    _write(store, _tree())
    before = _snapshot(store)
    with ZarrIO(store, mode="r") as io, pytest.raises(ModeError, match="mode 'r'"):
        io.write_builder(_tree("other"), cache_spec=False)
    assert _snapshot(store) == before


def test_life_cycle(store: StoreLike) -> None:
    _write(store, _tree())
    io = ZarrIO(store, mode="r")
    assert io.is_open()
    assert io.read_builder().datasets["first"].name == "first"
    io.close()
    assert not io.is_open()
    with pytest.raises(IOClosedError, match="closed"):
        io.read_builder()
    io.close()  # closing twice is harmless
    with ZarrIO(store, mode="r") as other:
        assert other.is_open()
    assert not other.is_open()


def test_an_unwritten_new_file_closes_as_an_empty_store(store: StoreLike) -> None:
    with ZarrIO(store, mode="w"):
        pass
    assert ZarrIO.can_read(store)
    with ZarrIO(store, mode="r") as io:
        root = io.read_builder()
        assert not root.groups
        assert not root.datasets


def test_errors_share_one_base_and_builtin_leaves(tmp_path: Path) -> None:
    with pytest.raises(HdmfZarrError):
        ZarrIO(tmp_path / "none.zarr", mode="r")
    with pytest.raises(FileNotFoundError):
        ZarrIO(tmp_path / "none.zarr", mode="r")
    with pytest.raises(ValueError):
        ZarrIO(tmp_path / "x.zarr", mode="bogus")
