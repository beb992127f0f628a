"""Soft and external links, object references (lazy), and stores that move together."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import zarr
from hdmf.build import Builder, GroupBuilder, LinkBuilder, ReferenceBuilder

from hdmf_zarr import ZarrDataIO, ZarrIO
from hdmf_zarr import _format as fmt
from hdmf_zarr.errors import UnresolvedReferenceError
from hdmf_zarr.read.builders import Reader
from hdmf_zarr.store import StoreLike
from hdmf_zarr.testing import assert_builders_equal
from hdmf_zarr.testing.builders import dataset, group, link, reference_tree


def _write(store: StoreLike, builder: GroupBuilder, mode: str = "w") -> None:
    with ZarrIO(store, mode=mode) as io:
        io.write_builder(builder, cache_spec=False)


@pytest.fixture
def resolver_calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Count, by target path, every reference or link the reader resolves (the real resolver runs)."""
    calls: Counter[str] = Counter()
    original = Reader.builder_at

    def counting(self: Reader, path: str) -> Builder:
        calls[path] += 1
        return original(self, path)

    monkeypatch.setattr(Reader, "builder_at", counting)
    return calls


def test_soft_links_and_references_round_trip(store: StoreLike) -> None:
    tree = reference_tree()
    _write(store, tree)
    with ZarrIO(store, mode="r") as io:
        back = io.read_builder()
        assert_builders_equal(tree, back)
        holder = back.groups["holder"]
        # links resolve to the very builders of the targets, not copies
        assert holder.links["link_to_group"].builder is back.groups["targets"]
        assert holder.links["link_to_data"].builder is back.groups["targets"].datasets["values"]
        assert back.attributes["ref_to_group"] is back.groups["targets"]
        assert holder.datasets["ref_scalar"].data.builder is back.groups["targets"].groups["nested"]


def test_link_records_are_stored_on_the_parent(store: StoreLike) -> None:
    _write(store, reference_tree())
    with ZarrIO(store, mode="r") as io:
        records = {r["name"]: r for r in io.file["holder"].attrs[fmt.LINKS_ATTR]}
        assert records["link_to_data"] == {"name": "link_to_data", "source": ".", "path": "/targets/values"}
        ref = io.file["holder"].attrs["ref"]
        assert ref == {fmt.REFERENCE_KEY: {"source": ".", "path": "/targets/nested"}}


def test_reference_datasets_resolve_only_indexed_elements(
    store: StoreLike, resolver_calls: Counter[str]
) -> None:
    root = GroupBuilder("root")
    targets = [group(root, f"t{i:03d}") for i in range(50)]
    dataset(root, "refs", [ReferenceBuilder(t) for t in targets], dtype="object")
    rows = [(i, ReferenceBuilder(t)) for i, t in enumerate(targets)]
    dataset(root, "table", rows, dtype=[{"name": "i", "dtype": "int32"}, {"name": "t", "dtype": "object"}])
    _write(store, root)
    with ZarrIO(store, mode="r") as io:
        back = io.read_builder()
        target_paths = {f"/t{i:03d}" for i in range(50)}
        assert not target_paths & set(resolver_calls)  # reading the tree resolved none of them
        refs = back.datasets["refs"].data
        assert refs[7] is back.groups["t007"]
        assert {p for p in target_paths if resolver_calls[p]} == {"/t007"}
        row = back.datasets["table"].data[12]
        assert row["t"] is back.groups["t012"]
        assert {p for p in target_paths if resolver_calls[p]} == {"/t007", "/t012"}
        assert [b.name for b in refs[3:6]] == ["t003", "t004", "t005"]
        assert sum(resolver_calls[p] for p in target_paths) == 5


def test_references_to_empty_and_nested_targets(store: StoreLike) -> None:
    root = GroupBuilder("root")
    empty = dataset(root, "empty", np.zeros(0))
    deep = group(group(group(root, "a"), "b"), "c")
    dataset(root, "refs", [ReferenceBuilder(empty), ReferenceBuilder(deep)], dtype="object")
    root.set_attribute("refs_attr_target", ReferenceBuilder(deep))
    _write(store, root)
    with ZarrIO(store, mode="r") as io:
        back = io.read_builder()
        assert back.datasets["refs"].data[0] is back.datasets["empty"]
        assert back.datasets["refs"].data[1] is back.groups["a"].groups["b"].groups["c"]


# -- external links: two stores side by side ---------------------------------------------------------


def _source_store(path: Path) -> None:
    root = GroupBuilder("root")
    g = group(root, "shared", attributes={"origin": "source store"})
    dataset(g, "data", np.arange(10.0))
    _write(path, root)


def test_external_link_to_a_builder_of_another_store(tmp_path: Path) -> None:
    src, dst = tmp_path / "src.zarr", tmp_path / "dst.zarr"
    _source_store(src)
    with ZarrIO(src, mode="r") as src_io:
        shared = src_io.read_builder().groups["shared"]
        root = GroupBuilder("root")
        link(root, "ext_group", shared)
        link(root, "ext_data", shared.datasets["data"])
        _write(dst, root)
    with ZarrIO(dst, mode="r") as io:
        records = {r["name"]: r for r in io.file.attrs[fmt.LINKS_ATTR]}
        assert records["ext_group"] == {"name": "ext_group", "source": "../src.zarr", "path": "/shared"}
        back = io.read_builder()
        target = back.links["ext_group"].builder
        assert target.attributes["origin"] == "source store"
        assert target.source == str(src.resolve())
        np.testing.assert_array_equal(back.links["ext_data"].builder.data[:], np.arange(10.0))


def test_link_data_with_a_zarr_array_writes_a_link(tmp_path: Path) -> None:
    src, dst = tmp_path / "src.zarr", tmp_path / "dst.zarr"
    _source_store(src)
    array = zarr.open_group(src, mode="r")["shared/data"]
    root = GroupBuilder("root")
    dataset(root, "linked", ZarrDataIO(array, link_data=True))
    dataset(root, "copied", ZarrDataIO(array, link_data=False))
    _write(dst, root)
    with ZarrIO(dst, mode="r") as io:
        assert "linked" not in io.file  # no copy was made
        assert [r["name"] for r in io.file.attrs[fmt.LINKS_ATTR]] == ["linked"]
        assert "copied" in io.file
        back = io.read_builder()
        np.testing.assert_array_equal(back.links["linked"].builder.data[:], np.arange(10.0))
        np.testing.assert_array_equal(back.datasets["copied"].data[:], np.arange(10.0))


def test_a_link_into_a_store_that_is_not_a_group_raises(tmp_path: Path) -> None:
    src, dst = tmp_path / "src.zarr", tmp_path / "dst.zarr"
    _source_store(src)
    array = zarr.open_array(src / "shared" / "data", mode="r")  # a store rooted at the array itself
    root = GroupBuilder("root")
    dataset(root, "linked", ZarrDataIO(array, link_data=True))
    _write(dst, root)
    with ZarrIO(dst, mode="r") as io, pytest.raises(UnresolvedReferenceError, match="linked"):
        io.read_builder()


def test_stores_moved_together_keep_their_links(tmp_path: Path) -> None:
    before = tmp_path / "before"
    before.mkdir()
    _source_store(before / "src.zarr")
    with ZarrIO(before / "src.zarr", mode="r") as src_io:
        root = GroupBuilder("root")
        link(root, "ext", src_io.read_builder().groups["shared"])
        _write(before / "dst.zarr", root)
    after = tmp_path / "after"
    shutil.move(before, after)
    with ZarrIO(after / "dst.zarr", mode="r") as io:
        assert io.read_builder().links["ext"].builder.attributes["origin"] == "source store"


def test_soft_link_in_the_same_store_is_not_external(store: StoreLike) -> None:
    root = GroupBuilder("root")
    data = dataset(group(root, "a"), "x", np.arange(3))
    root.set_link(LinkBuilder(data, "alias"))
    _write(store, root)
    with ZarrIO(store, mode="r") as io:
        (record,) = io.file.attrs[fmt.LINKS_ATTR]
        assert record["source"] == fmt.SAME_STORE_SOURCE
        back = io.read_builder()
        assert back.links["alias"].builder is back.groups["a"].datasets["x"]
