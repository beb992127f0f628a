"""The ZarrIO surface: can_read, _file, namespaces, get_builder/get_container, resolve_ref, HTML, export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import zarr
from hdmf.build import GroupBuilder
from hdmf.common import DynamicTable, SimpleMultiContainer, VectorData, get_manager
from hdmf.spec import NamespaceCatalog
from hdmf.testing import TestCase

from hdmf_zarr import ZarrIO
from hdmf_zarr import _format as fmt
from hdmf_zarr.errors import ModeError, UnresolvedReferenceError
from hdmf_zarr.store import StoreLike

# The region target is a sibling of the table, not an ancestor: hdmf says so, and it is intended here.
pytestmark = pytest.mark.filterwarnings("ignore:The linked table for DynamicTableRegion")


def _container() -> SimpleMultiContainer:
    target = DynamicTable(
        name="target", description="t", columns=[VectorData(name="x", description="x", data=[1.5, 2.5])]
    )
    table = DynamicTable(name="table", description="d")
    table.add_column("v", "values")
    table.add_column("region", "a region", table=target)
    for i in range(3):
        table.add_row(v=i * 10, region=i % 2)
    return SimpleMultiContainer(name="root", containers=[table, target])


@pytest.fixture
def written(store: StoreLike) -> StoreLike:
    with ZarrIO(store, mode="w", manager=get_manager()) as io:
        io.write(_container())
    return store


def test_can_read(written: StoreLike, tmp_path: Path) -> None:
    assert ZarrIO.can_read(written)
    assert not ZarrIO.can_read(tmp_path / "missing.zarr")
    (tmp_path / "empty_folder").mkdir()
    assert not ZarrIO.can_read(tmp_path / "empty_folder")
    (tmp_path / "file.txt").write_text("not zarr")
    assert not ZarrIO.can_read(tmp_path / "file.txt")


def test_file_is_the_root_group(written: StoreLike) -> None:
    with ZarrIO(written, mode="r") as io:
        assert isinstance(io._file, zarr.Group)
        assert io._file.path == ""
        assert "table" in io._file
        assert io.file is io._file or io.file.path == io._file.path


def test_load_namespaces_by_path_and_by_group(written: StoreLike) -> None:
    by_path = ZarrIO.load_namespaces(NamespaceCatalog(), path=written)
    assert "hdmf-common" in by_path
    with ZarrIO(written, mode="r") as io:
        by_file = ZarrIO.load_namespaces(NamespaceCatalog(), file=io._file)
        by_io = io.load_namespaces_io(NamespaceCatalog())
    assert by_path.keys() == by_file.keys()
    assert "hdmf-common" in by_io


def test_get_builder_and_container(written: StoreLike) -> None:
    with ZarrIO(written, mode="r", manager=get_manager()) as io:
        root = io.read()
        node = io._file["table/v"]
        builder = io.get_builder(node)
        assert builder.name == "v"
        assert io.get_builder("/table/v") is builder
        assert io.get_container(node) is root["table"]["v"]
        assert io.get_container(io._file["table"]) is root["table"]


def test_get_builder_of_a_missing_path_raises(written: StoreLike) -> None:
    with ZarrIO(written, mode="r") as io, pytest.raises(UnresolvedReferenceError, match="/nope"):
        io.get_builder("/nope")


def test_resolve_ref_in_both_dialects(written: StoreLike) -> None:
    with ZarrIO(written, mode="r") as io:
        name, node = io.resolve_ref({fmt.REFERENCE_KEY: {"source": ".", "path": "/target/x"}})
        assert name == "x"
        assert isinstance(node, zarr.Array)
        np.testing.assert_array_equal(node[:], [1.5, 2.5])
        name, node = io.resolve_ref({"source": ".", "path": "/table", "object_id": None})
        assert (name, node.path) == ("table", "table")
        with pytest.raises(UnresolvedReferenceError, match="/gone"):
            io.resolve_ref({"source": ".", "path": "/gone"})


def test_generate_dataset_html(written: StoreLike) -> None:
    with ZarrIO(written, mode="r") as io:
        html = io.generate_dataset_html(io._file["table/v"])
    assert "Chunk shape" in html
    assert "(3,)" in html


def test_export_zarr_to_zarr(written: StoreLike, tmp_path: Path) -> None:
    out = tmp_path / "exported.zarr"
    with ZarrIO(written, mode="r", manager=get_manager()) as src, ZarrIO(out, mode="w") as dst:
        dst.export(src_io=src)
    with (
        ZarrIO(written, mode="r", manager=get_manager()) as a,
        ZarrIO(out, mode="r", manager=get_manager()) as b,
    ):
        TestCase().assertContainerEqual(a.read(), b.read(), ignore_hdmf_attrs=True)
        assert fmt.SPECLOC_ATTR in b._file.attrs


def test_export_of_a_modified_container(written: StoreLike, tmp_path: Path) -> None:
    out = tmp_path / "modified.zarr"
    with ZarrIO(written, mode="r", manager=get_manager()) as src:
        root = src.read()
        root.add_container(DynamicTable(name="added", description="new in the export"))
        with ZarrIO(out, mode="w") as dst:
            dst.export(src_io=src, container=root)
    with ZarrIO(out, mode="r", manager=get_manager()) as io:
        back = io.read()
        assert sorted(back.containers) == ["added", "table", "target"]
        assert list(back["table"]["v"][:]) == [0, 10, 20]


def test_export_needs_a_new_file(written: StoreLike, tmp_path: Path) -> None:
    with ZarrIO(tmp_path / "new.zarr", mode="w") as dst:
        dst.write_builder(GroupBuilder("root"), cache_spec=False)
    with (
        ZarrIO(written, mode="r") as src,
        ZarrIO(tmp_path / "new.zarr", mode="a") as dst,
        pytest.raises(ModeError, match="mode 'w'"),
    ):
        dst.export(src_io=src)


def test_an_unknown_write_option_is_refused_not_dropped(tmp_path: Path) -> None:
    """A misspelt option (number_of_job=) must not be silently ignored."""
    with ZarrIO(tmp_path / "opts.zarr", mode="w") as io:
        with pytest.raises(TypeError, match=r"unknown write options \['number_of_job'\]"):
            io.write_builder(GroupBuilder("root"), cache_spec=False, number_of_job=2)
        io.write_builder(GroupBuilder("root"), cache_spec=False)  # the IO is still usable
