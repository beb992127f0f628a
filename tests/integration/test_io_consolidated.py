"""Consolidated metadata: written once per public write, and complete after appends in r+ and a."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import zarr
from hdmf.build import GroupBuilder
from hdmf.common import DynamicTable, SimpleMultiContainer, VectorData, get_manager
from zarr.core.group import GroupMetadata
from zarr.storage import MemoryStore

from hdmf_zarr import ZarrIO
from hdmf_zarr import _format as fmt
from hdmf_zarr.testing import CountingStore, counting
from hdmf_zarr.testing.builders import dataset, group


def _container() -> SimpleMultiContainer:
    table = DynamicTable(name="table", description="d")
    table.add_column("v", "values", index=True)
    for i in range(3):
        table.add_row(v=list(range(i)))
    return SimpleMultiContainer(
        name="root", containers=[table, VectorData(name="loose", description="x", data=[1, 2])]
    )


def _root_document_writes(store: CountingStore, zarr_format: int) -> int:
    key = fmt.V3_METADATA_KEY if zarr_format == 3 else fmt.V2_CONSOLIDATED_KEY
    return store.log.set_counts()[key]


def _listing(store: Any) -> dict[str, dict[str, Any]]:
    """Every node found by walking the store (no consolidated metadata), with its attributes."""
    root = zarr.open_group(store, mode="r", use_consolidated=False)
    return {path: dict(node.attrs) for path, node in root.members(max_depth=None)}


def _consolidated(store: Any) -> dict[str, dict[str, Any]]:
    root = zarr.open_group(store, mode="r", use_consolidated=True)
    meta = root.metadata.consolidated_metadata
    assert meta is not None
    return {path: dict(node.attributes) for path, node in meta.flattened_metadata.items()}


@pytest.mark.parametrize("zarr_format", [3, 2])
def test_one_root_document_write_per_write(zarr_format: int) -> None:
    store = counting()
    with ZarrIO(store, mode="w", manager=get_manager(), zarr_format=zarr_format) as io:  # type: ignore[arg-type]
        io.write(_container())
    assert _root_document_writes(store, zarr_format) == 1


def test_write_builder_in_r_plus_consolidates_once_and_completely() -> None:
    store = counting()
    with ZarrIO(store, mode="w", manager=get_manager()) as io:
        io.write(_container())
    store.log.clear()
    with ZarrIO(store, mode="r+") as io:
        root = io.read_builder()
        dataset(group(root, "added"), "values", np.arange(5))
        io.write_builder(root, cache_spec=False)
    assert _root_document_writes(store, 3) == 1
    assert _consolidated(store) == _listing(store)
    assert "added/values" in _consolidated(store)


@pytest.mark.parametrize("mode", ["r+", "a"])
def test_appends_keep_consolidated_metadata_true(mode: str) -> None:
    store = MemoryStore()
    with ZarrIO(store, mode="w", manager=get_manager()) as io:
        io.write(_container())
    for step in range(2):
        with ZarrIO(store, mode=mode) as io:
            root = io.read_builder()
            dataset(root, f"step{step}", np.full(3, step))
            root.groups["table"].set_attribute("note", f"after step {step}")
            io.write_builder(root, cache_spec=False)
        consolidated, listed = _consolidated(store), _listing(store)
        assert consolidated == listed
        assert consolidated["table"]["note"] == f"after step {step}"
    with ZarrIO(store, mode="r", manager=get_manager()) as io:
        root = io.read_builder()
        assert sorted(root.datasets) == ["loose", "step0", "step1"]
        # the spec cache stays the spec cache: .specloc survived appends that did not cache specs
        assert io._file.attrs[fmt.SPECLOC_ATTR] == fmt.SPEC_GROUP
        assert fmt.SPEC_GROUP not in root.groups


def test_sub_groups_carry_their_consolidated_block() -> None:
    store = MemoryStore()
    root = GroupBuilder("root")
    dataset(group(group(root, "a"), "b"), "x", np.arange(2))
    with ZarrIO(store, mode="w") as io:
        io.write_builder(root, cache_spec=False)
    meta = zarr.open_group(store, mode="r").metadata.consolidated_metadata
    assert meta is not None
    assert set(meta.flattened_metadata) == {"a", "a/b", "a/b/x"}
    assert isinstance(meta.flattened_metadata["a/b"], GroupMetadata)


def test_a_stale_block_does_not_hide_nodes_from_writers() -> None:
    """A node that another tool added without re-consolidating is still seen (and not overwritten)."""
    store = MemoryStore()
    with ZarrIO(store, mode="w") as io:
        io.write_builder(GroupBuilder("root"), cache_spec=False)
    foreign = zarr.open_group(store, mode="r+", use_consolidated=False)
    foreign.create_array("foreign", shape=(2,), dtype="i4")[:] = [7, 8]
    with ZarrIO(store, mode="a") as io:
        root = io.read_builder()
        assert "foreign" in root.datasets
        dataset(root, "ours", np.arange(2))
        io.write_builder(root, cache_spec=False)
    assert {"foreign", "ours"} <= set(_consolidated(store))
    np.testing.assert_array_equal(zarr.open_array(store, path="foreign", mode="r")[:], [7, 8])
