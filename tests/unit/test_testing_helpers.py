"""hdmf_zarr.testing: the comparison catches every kind of difference; CountingStore logs real requests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import zarr
from hdmf.build import GroupBuilder, ReferenceBuilder
from zarr.storage import LocalStore, MemoryStore

from hdmf_zarr.testing import (
    SAMPLE_TREES,
    assert_builders_equal,
    counting,
    is_chunk_key,
    make_store_like,
    normalise,
)
from hdmf_zarr.testing.builders import dataset, group, link


def _pair() -> tuple[GroupBuilder, GroupBuilder]:
    return SAMPLE_TREES["references"](), SAMPLE_TREES["references"]()


def _change_value(tree: GroupBuilder) -> None:
    tree.groups["targets"].datasets["values"]["data"] = np.arange(5.0) + 1


def _change_dtype(tree: GroupBuilder) -> None:
    tree.groups["targets"].datasets["values"]["data"] = np.arange(5, dtype=np.float32)


def _change_attribute(tree: GroupBuilder) -> None:
    tree.groups["targets"].attributes["kind"] = "other"


def _add_attribute(tree: GroupBuilder) -> None:
    tree.groups["holder"].set_attribute("extra", 1)


def _retarget_link(tree: GroupBuilder) -> None:
    tree.groups["holder"].links.pop("link_to_group")
    link(tree.groups["holder"], "link_to_group", tree.groups["targets"].groups["nested"])


def _retarget_reference(tree: GroupBuilder) -> None:
    tree.groups["holder"].attributes["ref"] = ReferenceBuilder(tree.groups["targets"])


def _add_group(tree: GroupBuilder) -> None:
    group(tree, "surplus")


def _change_compound_cell(tree: GroupBuilder) -> None:
    rows = tree.groups["holder"].datasets["compound_plain"]
    rows["data"] = [(1, 0.5), (2, 1.5), (3, 9.5)]


MUTATIONS: dict[str, Callable[[GroupBuilder], None]] = {
    "value": _change_value,
    "dtype": _change_dtype,
    "attribute": _change_attribute,
    "added_attribute": _add_attribute,
    "link_target": _retarget_link,
    "reference_target": _retarget_reference,
    "added_group": _add_group,
    "compound_cell": _change_compound_cell,
}


def test_equal_trees_compare_equal() -> None:
    for make in SAMPLE_TREES.values():
        assert_builders_equal(make(), make())


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_every_difference_is_caught(mutation: str) -> None:
    expected, actual = _pair()
    MUTATIONS[mutation](actual)
    with pytest.raises(AssertionError):
        assert_builders_equal(expected, actual)


def test_normalise_is_nan_aware_and_text_agnostic() -> None:
    assert normalise([float("nan"), b"x", np.str_("y")]) == normalise([np.nan, "x", "y"])
    assert normalise(np.array([1, 2])) == [1, 2]
    root = GroupBuilder("root")
    target = dataset(group(root, "g"), "d", [1])
    assert normalise(ReferenceBuilder(target)) == ("reference", "/g/d")


@pytest.mark.parametrize("kind", ["str", "path", "local", "memory"])
def test_store_kinds(kind: str, tmp_path: Path) -> None:
    store = make_store_like(kind, tmp_path)
    expected = {"str": str, "path": Path, "local": LocalStore, "memory": MemoryStore}[kind]
    assert isinstance(store, expected)


def test_counting_store_logs_real_requests() -> None:
    store = counting()
    arr = zarr.create_array(store, name="a", shape=(4,), chunks=(2,), dtype="i4")
    arr[:] = [1, 2, 3, 4]
    assert "a/zarr.json" in store.log.sets
    assert {"a/c/0", "a/c/1"} <= set(store.log.sets)
    store.log.clear()
    read_only = store.with_read_only(True)
    assert zarr.open_array(read_only, path="a", mode="r", zarr_format=3)[3] == 4
    assert store.log.gets == ["a/zarr.json", "a/c/1"]  # the read-only copy shares the log
    assert [k for k in store.log.gets if is_chunk_key(k)] == ["a/c/1"]
