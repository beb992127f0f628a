"""hdmf-zarr 0.14's public surface on ours: module paths, ZarrIO's single-node methods, private names.

Real stores on disk. Each private name's test names the client that reads it.
"""

from __future__ import annotations

import importlib
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zarr
from hdmf.build import DatasetBuilder, GroupBuilder, LinkBuilder, ReferenceBuilder
from zarr.storage import LocalStore

from hdmf_zarr import ZarrDataIO, ZarrIO
from hdmf_zarr import _format as fmt
from hdmf_zarr.compat.names import PeerNameError
from hdmf_zarr.compat.zarrio import peer_builder_path

PEER_NAMES = {
    "hdmf_zarr.backend": [
        "ZarrIO",
        "ROOT_NAME",
        "SUPPORTED_ZARR_STORES",
        "SPEC_LOC_ATTR",
        "DEFAULT_SPEC_LOC_DIR",
    ],
    "hdmf_zarr.utils": ["ZarrDataIO", "ZarrReference", "get_store_path", "HDMFZarrArray"],
    "hdmf_zarr.zarr_utils": ["ContainerZarrReferenceDataset", "BuilderZarrTableDataset", "ZarrDataset"],
    "hdmf_zarr.backend_zarrv2": [
        "ZarrV2IO",
        "is_zarr_v2_file",
        "IncompleteConversionError",
        "UnsafePickleCodecError",
    ],
    "hdmf_zarr.nwb_zarrv2": ["NWBZarrV2IO"],
    "hdmf_zarr.nwb": ["NWBZarrIO"],
}


@pytest.mark.parametrize(("module", "names"), PEER_NAMES.items())
def test_peer_module_paths_export_their_names(module: str, names: list[str]) -> None:
    mod = importlib.import_module(module)
    for name in names:
        assert getattr(mod, name) is not None


def test_peer_names_that_mean_nothing_here_say_what_to_use() -> None:
    from hdmf_zarr import utils

    with pytest.raises(PeerNameError, match=r"ZarrIODataChunkIteratorQueue.*ZarrIO\.write"):
        _ = utils.ZarrIODataChunkIteratorQueue
    with pytest.raises(ImportError, match="ZarrSpecReader"):
        from hdmf_zarr.utils import ZarrSpecReader  # noqa: F401
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        _ = utils.nonsense


def test_backend_constants_are_the_conventions() -> None:
    from hdmf_zarr.backend import ROOT_NAME, SPEC_LOC_ATTR, SUPPORTED_ZARR_STORES

    assert (ROOT_NAME, SPEC_LOC_ATTR) == ("root", fmt.SPECLOC_ATTR)
    assert isinstance(LocalStore("."), SUPPORTED_ZARR_STORES)


def test_get_store_path_is_the_resolved_folder(tmp_path: Path) -> None:
    from hdmf_zarr.utils import get_store_path

    assert get_store_path(LocalStore(tmp_path / "f.zarr")) == str((tmp_path / "f.zarr").resolve())


def test_zarr_reference_resolves_through_the_io(tmp_path: Path) -> None:
    from hdmf_zarr.utils import ZarrReference

    path = tmp_path / "f.zarr"
    with ZarrIO(path, mode="w") as io:
        io.write_dataset(io.file, DatasetBuilder("x", np.arange(3)))
    ref = ZarrReference(source=".", path="/x")
    assert (ref.source, ref.path, dict(ref)) == (".", "/x", {"source": ".", "path": "/x"})
    with ZarrIO(path, mode="r") as io:
        name, node = io.resolve_ref(ref)
        assert name == "x"
        assert isinstance(node, zarr.Array)
        assert node[:].tolist() == [0, 1, 2]


def test_write_dataset_writes_one_array_and_keeps_the_file_consolidated(tmp_path: Path) -> None:
    path = tmp_path / "f.zarr"
    builder = DatasetBuilder("x", ZarrDataIO(np.arange(30).reshape(5, 6), chunks=(1, 6)))
    with ZarrIO(path, mode="w") as io:
        assert not io.get_written(builder)
        assert not io.get_builder_exists_on_disk(builder)
        array = io.write_dataset(io.file, builder)
        assert array is not None
        assert array.chunks == (1, 6)
        assert io.get_written(builder)
        assert io.get_written(builder, check_on_disk=True)
        assert io.file["x"][:].tolist() == np.arange(30).reshape(5, 6).tolist()
    root = zarr.open_consolidated(path, mode="r")
    assert list(root.metadata.consolidated_metadata.metadata) == ["x"]
    with ZarrIO(path, mode="r") as io:
        assert io.read_builder().datasets["x"].data[:].tolist() == np.arange(30).reshape(5, 6).tolist()


def test_get_written_on_disk_asks_the_store(tmp_path: Path) -> None:
    path = tmp_path / "f.zarr"
    builder = DatasetBuilder("x", 10)
    with ZarrIO(path, mode="w") as io:
        io.write_dataset(io.file, builder)
        disk_path = Path(io.get_builder_disk_path(builder))  # in the file being written (maybe aside)
        assert disk_path.name == "x"
        assert (disk_path / "zarr.json").exists()
        shutil.rmtree(disk_path)
        assert io.get_written(builder)
        assert not io.get_written(builder, check_on_disk=True)


def test_peer_builder_path_of_detached_and_rooted_builders() -> None:
    root = GroupBuilder("root")
    group = GroupBuilder("g")
    root.set_group(group)
    inner = DatasetBuilder("d", 1)
    group.set_dataset(inner)
    assert peer_builder_path(inner) == "/g/d"
    assert peer_builder_path(DatasetBuilder("alone", 1)) == "/alone"
    assert peer_builder_path(GroupBuilder("detached")) == "/detached"
    assert peer_builder_path(root) == "/"


def test_write_group_and_write_link(tmp_path: Path) -> None:
    path = tmp_path / "f.zarr"
    root = GroupBuilder("root")
    group = GroupBuilder("g", attributes={"a": 1})
    root.set_group(group)
    data = DatasetBuilder("d", np.arange(4))
    group.set_dataset(data)
    link = LinkBuilder(data, "alias", parent=root)
    with ZarrIO(path, mode="w") as io:
        written = io.write_group(io.file, group)
        assert written.attrs["a"] == 1
        assert io.get_written(data)
        io.write_link(io.file, link)
    with ZarrIO(path, mode="r") as io:
        back = io.read_builder()
        assert back.links["alias"].builder is back.groups["g"].datasets["d"]


def test_a_zarr_array_of_the_same_file_is_linked_unless_copied(tmp_path: Path) -> None:
    path = tmp_path / "f.zarr"
    with ZarrIO(path, mode="w") as io:
        io.write_dataset(io.file, DatasetBuilder("x", np.arange(5)))
        io.write_dataset(io.file, DatasetBuilder("alias", io.file["x"]))
        io.write_dataset(io.file, DatasetBuilder("copy", ZarrDataIO(io.file["x"], link_data=False)))
        io.write_dataset(io.file, DatasetBuilder("copy2", io.file["x"]), link_data=False)
    root = zarr.open_group(path, mode="r")
    assert root.attrs[fmt.LINKS_ATTR] == [{"name": "alias", "source": ".", "path": "/x"}]
    assert sorted(root.array_keys()) == ["copy", "copy2", "x"]


def test_write_attributes_encodes_values_and_references(tmp_path: Path) -> None:
    path = tmp_path / "f.zarr"
    target = DatasetBuilder("target", np.arange(3))
    attrs = {
        "n": np.int32(5),
        "text": np.array(b"bytes"),
        "names": {"b", "a"},
        "grid": np.arange(4.0).reshape(2, 2),
        "ref": ReferenceBuilder(target),
        "nan": float("nan"),
    }
    with ZarrIO(path, mode="w") as io:
        io.write_dataset(io.file, target)
        group = io.file
        io.write_attributes(group, attrs)
        assert group.attrs["names"] == ("a", "b")  # the object written to holds what was stored
        assert io.file.attrs["ref"] == {fmt.REFERENCE_KEY: {"source": ".", "path": "/target"}}
        io.write_attributes(io.file["target"], {"unit": "m"})
    with ZarrIO(path, mode="r") as io:
        back = io.read_builder()
        assert back.attributes["n"] == 5
        assert back.attributes["text"] == "bytes"
        assert list(back.attributes["names"]) == ["a", "b"]
        assert np.isnan(back.attributes["nan"])
        assert back.attributes["ref"] is back.datasets["target"]
        assert back.datasets["target"].attributes["unit"] == "m"


def test_write_attributes_refuses_what_json_cannot_hold(tmp_path: Path) -> None:
    with ZarrIO(tmp_path / "f.zarr", mode="w") as io, pytest.raises(TypeError, match="@bad"):
        io.write_attributes(io.file, {"bad": [np.int32, np.float64]})


def test_single_node_writes_need_a_writable_io(tmp_path: Path) -> None:
    path = tmp_path / "f.zarr"
    with ZarrIO(path, mode="w") as io:
        io.write_dataset(io.file, DatasetBuilder("x", 1))
    with ZarrIO(path, mode="r") as io, pytest.raises(ValueError, match="mode 'r'"):
        io.write_dataset(io.file, DatasetBuilder("y", 1))


def test_neuroconv_reads_the_private_mode(tmp_path: Path) -> None:
    """neuroconv (get_default_backend_configuration, append_on_disk_nwbfile) reads io._ZarrIO__mode."""
    path = tmp_path / "f.zarr"
    with ZarrIO(path, mode="w") as io:
        assert io._ZarrIO__mode == "w"
    with ZarrIO(path, mode="a") as io:
        assert io._ZarrIO__mode == "a"
        with pytest.raises(AttributeError):
            io._ZarrIO__mode = "r"  # type: ignore[misc]


def test_nwbinspector_reads_the_private_file(tmp_path: Path) -> None:
    """nwbinspector's testing helper reads io._ZarrIO__file (the open root group)."""
    path = tmp_path / "f.zarr"
    with ZarrIO(path, mode="w") as io:
        io.write_dataset(io.file, DatasetBuilder("x", 1))
    io = ZarrIO(path, mode="r")
    assert isinstance(io._ZarrIO__file, zarr.Group)
    assert "x" in io._ZarrIO__file
    io.close()
    assert io._ZarrIO__file is None


def test_peer_read_mode_r_minus_reads_without_consolidated_metadata(tmp_path: Path) -> None:
    path = tmp_path / "f.zarr"
    with ZarrIO(path, mode="w") as io:
        io.write_dataset(io.file, DatasetBuilder("x", 1))
    (path / "late").mkdir()
    zarr.create_array(LocalStore(path / "late"), shape=(2,), dtype="i4")  # not in consolidated metadata
    with ZarrIO(path, mode="r-") as io:
        assert io.mode == "r"
        assert "late" in io.read_builder().datasets
    with pytest.raises(ValueError, match="r-"):
        ZarrIO(path, mode="r-", consolidated=True)


def test_is_remote_only_for_object_stores(tmp_path: Path) -> None:
    with ZarrIO(tmp_path / "f.zarr", mode="w") as io:
        assert not io.is_remote()


def test_zarrdataio_accepts_the_peers_compressor_booleans(tmp_path: Path) -> None:
    assert ZarrDataIO(np.arange(3), compressors=True).io_settings == {}
    assert ZarrDataIO(np.arange(3), compressors=False).io_settings == {"compressors": None}
    with ZarrIO(tmp_path / "f.zarr", mode="w") as io:
        off = io.write_dataset(io.file, DatasetBuilder("off", ZarrDataIO(np.arange(3.0), compressors=False)))
        assert off is not None
        assert off.compressors == ()


@pytest.mark.filterwarnings("ignore:Automatic shard shape inference is experimental")
def test_zarrdataio_auto_shards(tmp_path: Path) -> None:
    data = np.arange(1000, dtype="i4").reshape(100, 10)
    with ZarrIO(tmp_path / "f.zarr", mode="w") as io:
        array = io.write_dataset(
            io.file, DatasetBuilder("s", ZarrDataIO(data, chunks=(10, 5), shards="auto"))
        )
        assert array is not None
        assert array.shards is not None
        assert array.chunks == (10, 5)
        assert array[:].tolist() == data.tolist()


def _table_file(path: Path, io_class: Any = ZarrIO) -> None:
    from hdmf.common import DynamicTable, get_manager

    table = DynamicTable(name="root", description="t")
    table.add_column("a", "column a")
    for v in (1, 2, 3):
        table.add_row(a=v)
    with io_class(path, mode="w", manager=get_manager()) as io:
        io.write(table)


@pytest.mark.filterwarnings("ignore::hdmf_zarr.errors.HdmfZarrWarning")  # a reader may say listing costs
def test_consolidate_metadata_false_writes_no_consolidated_block_and_reads_back(tmp_path: Path) -> None:
    from hdmf.common import DynamicTable, get_manager

    path, out = tmp_path / "f.zarr", tmp_path / "exported.zarr"
    table = DynamicTable(name="root", description="t")
    with ZarrIO(path, mode="w", manager=get_manager()) as io:
        io.write(table, consolidate_metadata=False)
    assert zarr.open_group(path, mode="r", use_consolidated=False).metadata.consolidated_metadata is None
    with ZarrIO(path, mode="r", manager=get_manager()) as src:
        assert src.read().description == "t"
        with ZarrIO(out, mode="w") as dst:
            dst.export(src_io=src, consolidate_metadata=False)
    assert zarr.open_group(out, mode="r", use_consolidated=False).metadata.consolidated_metadata is None
    with ZarrIO(out, mode="r", manager=get_manager()) as io:
        assert io.read().description == "t"
        assert fmt.SPECLOC_ATTR in io.file.attrs


def test_export_links_a_second_use_of_source_data_and_copies_the_rest(tmp_path: Path) -> None:
    from hdmf.common import get_manager

    path, out = tmp_path / "f.zarr", tmp_path / "exported.zarr"
    _table_file(path)
    with ZarrIO(path, mode="r", manager=get_manager()) as src:
        table = src.read()
        table.add_column("again", "the same data", data=table["a"].data)
        with ZarrIO(out, mode="w") as dst:
            dst.export(src_io=src, container=table)
    root = zarr.open_group(out, mode="r")
    assert root.attrs[fmt.LINKS_ATTR] == [{"name": "again", "source": ".", "path": "/a"}]
    assert "a" in root.array_keys()  # the source's own data is copied, not linked to the source file
    shutil.rmtree(path)
    with ZarrIO(out, mode="r", manager=get_manager()) as io:
        back = io.read_builder()
        assert back.links["again"].builder is back.datasets["a"]
        assert back.datasets["a"].data[:].tolist() == [1, 2, 3]


def test_export_caches_the_source_namespaces(tmp_path: Path) -> None:
    from hdmf.common import get_manager

    path, out = tmp_path / "f.zarr", tmp_path / "exported.zarr"
    _table_file(path)
    with ZarrIO(path, mode="r", manager=get_manager()) as src, ZarrIO(out, mode="w") as dst:
        dst.export(src_io=src)
    assert sorted(zarr.open_group(out / fmt.SPEC_GROUP, mode="r").group_keys()) == [
        "hdmf-common",
        "hdmf-experimental",
    ]


def test_export_refuses_what_hdf5io_and_the_peer_refuse(tmp_path: Path) -> None:
    from hdmf.backends.errors import UnsupportedOperation
    from hdmf.backends.hdf5 import HDF5IO
    from hdmf.common import get_manager

    path = tmp_path / "f.zarr"
    _table_file(path)
    with (
        ZarrIO(path, mode="r", manager=get_manager()) as src,
        ZarrIO(tmp_path / "a.zarr", mode="a") as dst,
        pytest.raises(UnsupportedOperation, match="mode 'w'"),
    ):
        dst.export(src_io=src)
    h5 = tmp_path / "f.h5"
    _table_file(h5, HDF5IO)
    with (
        HDF5IO(h5, mode="r", manager=get_manager()) as h5src,
        ZarrIO(tmp_path / "b.zarr", mode="w") as dst,
        pytest.raises(UnsupportedOperation, match="link_data"),
    ):
        dst.export(src_io=h5src, write_args={"link_data": True})


def test_resolve_ref_to_the_root_names_it_root(tmp_path: Path) -> None:
    path = tmp_path / "f.zarr"
    with ZarrIO(path, mode="w") as io:
        io.write_dataset(io.file, DatasetBuilder("x", 1))
    with ZarrIO(path, mode="r") as io:
        for ref in ({"source": ".", "path": None}, {"source": ".", "path": "/"}):
            name, node = io.resolve_ref(ref)
            assert name == "root"
            assert node is io.file


def test_non_utf8_text_names_the_dataset(tmp_path: Path) -> None:
    from hdmf_zarr.errors import TextEncodingError

    root = GroupBuilder("root", datasets={"d": DatasetBuilder("d", [b"\xff\xfe"], dtype="ascii")})
    with (
        ZarrIO(tmp_path / "f.zarr", mode="w") as io,
        pytest.raises(TextEncodingError, match=r"'/d'.*not UTF-8"),
    ):
        io.write_builder(root)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"shards": "automatic"}, "must be a shape or 'auto'"),
        ({"chunks": (10, 3), "shards": (50, 10)}, "whole number of chunks"),
    ],
)
def test_zarrdataio_refuses_shards_that_cannot_work(options: dict[str, Any], message: str) -> None:
    from hdmf_zarr.errors import InvalidOptionError

    with pytest.raises(InvalidOptionError, match=message):
        ZarrDataIO(np.zeros((100, 10)), **options)


def test_read_nwb_reads_s3_urls_anonymously_unless_told_otherwise(tmp_path: Path) -> None:
    from hdmf_zarr.nwb import read_nwb_storage_options

    assert read_nwb_storage_options("s3://dandiarchive/x.nwb.zarr", None) == {"anon": True}
    assert read_nwb_storage_options("s3://b/x.zarr", {"key": "k"}) == {"key": "k"}
    assert read_nwb_storage_options(str(tmp_path / "x.zarr"), None) is None


def test_abspath_and_parent_path(tmp_path: Path) -> None:
    path = tmp_path / "f.zarr"
    with ZarrIO(path, mode="w") as io:
        group = io.write_group(io.file, GroupBuilder("g", datasets={"d": DatasetBuilder("d", 1)}))
        assert io.abspath == str(path.resolve())
        assert ZarrIO.get_zarr_parent_path(group["d"]) == "/g"
        assert ZarrIO.get_zarr_parent_path(group) == "/"
