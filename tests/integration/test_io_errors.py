"""Bad input raises an hdmf_zarr error that names the store or node; a failed write harms nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import zarr
from hdmf.build import GroupBuilder, LinkBuilder, ReferenceBuilder

from hdmf_zarr import ZarrIO
from hdmf_zarr.errors import (
    StoreError,
    StoreNotFoundError,
    UnresolvedReferenceError,
    UnsupportedValueError,
)
from hdmf_zarr.store import StoreLike
from hdmf_zarr.testing import assert_builders_equal
from hdmf_zarr.testing.builders import dataset, group, link

# _delete_node re-consolidates with zarr, which warns that v3 consolidated metadata is not in the spec.
pytestmark = pytest.mark.filterwarnings("ignore:Consolidated metadata is currently not part")


def _write(store: StoreLike, builder: GroupBuilder, mode: str = "w") -> None:
    with ZarrIO(store, mode=mode) as io:
        io.write_builder(builder, cache_spec=False)


def _delete_node(store: StoreLike, path: str) -> None:
    """Remove a node by hand (as another tool might) and re-consolidate."""
    if isinstance(store, Path) and store.suffix == ".zip":
        pytest.skip("a zip store cannot be edited in place by another tool")
    if str(store).endswith(".zip"):
        pytest.skip("edits stored documents in place with plain zarr; a zip archive is only rewritten whole")
    root = zarr.open_group(store, mode="r+", use_consolidated=False)
    del root[path]
    zarr.consolidate_metadata(store if not isinstance(store, Path | str) else str(store))


@pytest.mark.parametrize("bad", [123, object(), 4.5])
def test_a_wrong_store_type_is_refused(bad: object) -> None:
    with pytest.raises(StoreError, match=type(bad).__name__):
        ZarrIO(bad, mode="r")  # type: ignore[arg-type]


def test_a_folder_that_is_not_a_store(tmp_path: Path) -> None:
    folder = tmp_path / "plain_folder"
    folder.mkdir()
    (folder / "notes.txt").write_text("hello")
    with pytest.raises(StoreNotFoundError, match="plain_folder"):
        ZarrIO(folder, mode="r")


def test_a_file_that_is_not_a_store(tmp_path: Path) -> None:
    path = tmp_path / "file.nwb"
    path.write_bytes(b"\x89HDF\r\n\x1a\n")
    with pytest.raises(StoreError, match=r"file\.nwb"):
        ZarrIO(path, mode="r")


def test_a_dangling_link_names_the_link_and_its_target(store: StoreLike) -> None:
    root = GroupBuilder("root")
    target = dataset(group(root, "a"), "x", np.arange(3))
    link(group(root, "holder"), "alias", target)
    _write(store, root)
    _delete_node(store, "a/x")
    with ZarrIO(store, mode="r") as io, pytest.raises(UnresolvedReferenceError) as info:
        io.read_builder()
    assert "/holder/alias" in str(info.value)
    assert "/a/x" in str(info.value)


def test_a_dangling_reference_attribute_names_the_attribute(store: StoreLike) -> None:
    root = GroupBuilder("root")
    target = group(root, "target")
    group(root, "holder", attributes={"points_to": ReferenceBuilder(target)})
    _write(store, root)
    _delete_node(store, "target")
    with ZarrIO(store, mode="r") as io, pytest.raises(UnresolvedReferenceError) as info:
        io.read_builder()
    assert "points_to" in str(info.value)
    assert "/holder" in str(info.value)


def test_an_external_link_to_a_missing_store_names_it(tmp_path: Path) -> None:
    other = tmp_path / "other.zarr"
    src_root = GroupBuilder("root")
    dataset(src_root, "x", np.arange(2))
    _write(other, src_root)
    with ZarrIO(other, mode="r") as src:
        root = GroupBuilder("root")
        root.set_link(LinkBuilder(src.read_builder().datasets["x"], "ext"))
        _write(tmp_path / "main.zarr", root)
    shutil.rmtree(other)
    with ZarrIO(tmp_path / "main.zarr", mode="r") as io, pytest.raises(UnresolvedReferenceError) as info:
        io.read_builder()
    assert "other.zarr" in str(info.value)


@pytest.mark.parametrize("bad", [object(), {1, object()}, [1, object()]])
def test_an_unstorable_attribute_names_its_node(store: StoreLike, bad: object) -> None:
    root = GroupBuilder("root")
    group(root, "grp", attributes={"attr": bad})
    with ZarrIO(store, mode="w") as io, pytest.raises(UnsupportedValueError, match="/grp@attr"):
        io.write_builder(root, cache_spec=False)


def test_a_failed_append_leaves_the_stored_file_intact(store: StoreLike) -> None:
    original = GroupBuilder("root", attributes={"version": 1})
    dataset(group(original, "kept"), "data", np.arange(5.0))
    _write(store, original)
    with ZarrIO(store, mode="a") as io:
        root = io.read_builder()
        dataset(root, "new_data", np.arange(3))
        group(root, "bad", attributes={"attr": object()})
        with pytest.raises(UnsupportedValueError, match="/bad@attr"):
            io.write_builder(root, cache_spec=False)
    with ZarrIO(store, mode="r") as io:
        back = io.read_builder()
        assert_builders_equal(original, back)


def test_a_failed_write_to_a_new_store_leaves_no_file_that_looks_complete(store: StoreLike) -> None:
    root = GroupBuilder("root")
    dataset(root, "fine", np.arange(3))
    group(root, "bad", attributes={"attr": object()})
    with ZarrIO(store, mode="w") as io, pytest.raises(UnsupportedValueError):
        io.write_builder(root, cache_spec=False)
    assert not ZarrIO.can_read(store)


def test_writing_over_an_existing_node_is_refused(store: StoreLike) -> None:
    first = GroupBuilder("root")
    dataset(first, "x", np.arange(3))
    _write(store, first)
    clash = GroupBuilder("root")
    dataset(clash, "x", np.arange(4))
    with ZarrIO(store, mode="a") as io, pytest.raises(FileExistsError, match="/x"):
        io.write_builder(clash, cache_spec=False)
    with ZarrIO(store, mode="r") as io:
        np.testing.assert_array_equal(io.read_builder().datasets["x"].data[:], np.arange(3))
