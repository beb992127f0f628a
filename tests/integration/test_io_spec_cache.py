"""Spec cache: written under /specifications once per namespace version; the newest version is loaded."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import zarr
from hdmf.build import GroupBuilder
from hdmf.common import get_manager
from hdmf.spec import GroupSpec, NamespaceBuilder, NamespaceCatalog

from hdmf_zarr import ZarrIO
from hdmf_zarr import _format as fmt
from hdmf_zarr.spec_cache import spec_documents
from hdmf_zarr.store import StoreLike
from hdmf_zarr.testing.builders import dataset

pytestmark = pytest.mark.filterwarnings("ignore:Consolidated metadata is currently not part")
NS = "versioned-ns"


def _documents(directory: Path, version: str, types: list[str]) -> dict[str, str]:
    ns = NamespaceBuilder(doc="versions", name=NS, version=version, author="a", contact="a@b")
    for name in types:
        ns.add_spec(f"{NS}.types.yaml", GroupSpec(doc=f"type {name}", data_type_def=name))
    ns.export(f"{NS}.namespace.yaml", outdir=str(directory))
    catalog = NamespaceCatalog()
    catalog.load_namespaces(str(directory / f"{NS}.namespace.yaml"))
    return spec_documents(catalog)[(NS, version)]


def _cache_by_hand(store: StoreLike, version: str, docs: dict[str, str]) -> None:
    if isinstance(store, Path) and store.suffix == ".zip":
        pytest.skip("a zip store cannot be edited in place by hand")
    root = zarr.open_group(store, mode="r+", use_consolidated=False)
    group = root.require_group(f"{fmt.SPEC_GROUP}/{NS}/{version}")
    for name, text in docs.items():
        arr = group.create_array(name, shape=(), dtype=str)
        arr[()] = text
    root.attrs[fmt.SPECLOC_ATTR] = fmt.SPEC_GROUP


def test_the_newest_version_is_loaded_by_version_order(disk_store: StoreLike, tmp_path: Path) -> None:
    if str(disk_store).endswith(".zip"):
        pytest.skip("adds cached versions in place with plain zarr; a zip archive is only rewritten whole")
    with ZarrIO(disk_store, mode="w") as io:
        io.write_builder(GroupBuilder("root"), cache_spec=False)
    new_dir, old_dir = tmp_path / "new", tmp_path / "old"
    new_dir.mkdir()
    old_dir.mkdir()
    # 2.11.0 is written first and lists before 2.9.0 by name: neither order may decide
    _cache_by_hand(disk_store, "2.11.0", _documents(new_dir, "2.11.0", ["OldType", "NewType"]))
    _cache_by_hand(disk_store, "2.9.0", _documents(old_dir, "2.9.0", ["OldType"]))
    zarr.consolidate_metadata(disk_store)
    catalog = NamespaceCatalog()
    loaded = ZarrIO.load_namespaces(catalog, path=disk_store)
    assert NS in loaded
    namespace = catalog.get_namespace(NS)
    assert namespace.version == "2.11.0"
    assert "NewType" in catalog.get_namespace(NS).get_registered_types()


def test_spec_cache_written_once_per_version(store: StoreLike) -> None:
    root = GroupBuilder("root")
    dataset(root, "x", np.arange(3))
    with ZarrIO(store, mode="w", manager=get_manager()) as io:
        io.write_builder(root)
    with ZarrIO(store, mode="a", manager=get_manager()) as io:
        again = io.read_builder()
        dataset(again, "y", np.arange(2))
        io.write_builder(again)  # cache_spec=True again: the versions already cached are kept as they are
    with ZarrIO(store, mode="r") as io:
        spec = io._file[fmt.SPEC_GROUP]
        assert isinstance(spec, zarr.Group)
        assert {"hdmf-common", "hdmf-experimental"} <= set(spec.group_keys())
        common = spec["hdmf-common"]
        assert isinstance(common, zarr.Group)
        assert len(list(common.group_keys())) == 1
        assert io._file.attrs[fmt.SPECLOC_ATTR] == fmt.SPEC_GROUP
        root_builder = io.read_builder()
        assert fmt.SPEC_GROUP not in root_builder.groups  # the cache is not part of the data
        assert sorted(root_builder.datasets) == ["x", "y"]


def test_cache_spec_false_writes_no_cache(store: StoreLike) -> None:
    with ZarrIO(store, mode="w", manager=get_manager()) as io:
        io.write_builder(GroupBuilder("root"), cache_spec=False)
    with ZarrIO(store, mode="r") as io:
        assert fmt.SPEC_GROUP not in io._file
        assert fmt.SPECLOC_ATTR not in io._file.attrs
    assert ZarrIO.load_namespaces(NamespaceCatalog(), path=store) == {}


def test_each_document_is_stored_once_compressed(tmp_path: Path) -> None:
    """The text is one zstd chunk; neither the node document nor the consolidated block repeats it."""
    path = tmp_path / "once.zarr"
    root = GroupBuilder("root")
    dataset(root, "x", np.arange(3))
    with ZarrIO(path, mode="w") as io:
        io.write_builder(root)
    docs = spec_documents(get_manager().namespace_catalog)
    consolidated = json.loads((path / "zarr.json").read_text())["consolidated_metadata"]["metadata"]
    for (ns, version), texts in docs.items():
        for name, text in texts.items():
            key = f"{fmt.SPEC_GROUP}/{ns}/{version}/{name}"
            assert (path / key / "c").is_file()
            assert json.loads((path / key / "zarr.json").read_text())["fill_value"] == ""
            assert consolidated[key]["fill_value"] == ""
            assert zarr.open_array(path / key, mode="r")[()] == text
    with ZarrIO(path, mode="r") as io:
        assert io.read_builder()["x"].data[:].tolist() == [0, 1, 2]
