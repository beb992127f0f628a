"""A custom namespace (written with hdmf's NamespaceBuilder) with a type per dtype, shape and link kind.

Containers of generated classes are written with ZarrIO, read back and compared with hdmf's
assertContainerEqual; the namespace is cached in the file and loaded from it by a fresh type map.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from hdmf.build import BuildManager, TypeMap
from hdmf.common import get_type_map
from hdmf.container import Container
from hdmf.spec import (
    AttributeSpec,
    DatasetSpec,
    DtypeSpec,
    GroupSpec,
    LinkSpec,
    NamespaceBuilder,
    NamespaceCatalog,
    RefSpec,
)
from hdmf.testing import TestCase

from hdmf_zarr import ZarrIO
from hdmf_zarr.store import StoreLike

NAMESPACE = "zarr-test-ns"
NUMERIC = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32", "float64"]


def _datasets() -> list[DatasetSpec]:
    specs = [DatasetSpec(doc=f"{t} vector", name=f"{t}_vector", dtype=t, shape=(None,)) for t in NUMERIC]
    specs += [
        DatasetSpec(doc="bool matrix", name="bool_matrix", dtype="bool", shape=(None, None)),
        DatasetSpec(doc="float cube", name="float_cube", dtype="float64", shape=(None, None, None)),
        DatasetSpec(doc="int scalar", name="int_scalar", dtype="int32"),
        DatasetSpec(doc="text vector", name="text_vector", dtype="text", shape=(None,)),
        DatasetSpec(doc="text scalar", name="text_scalar", dtype="text"),
        DatasetSpec(doc="ascii vector", name="ascii_vector", dtype="ascii", shape=(None,)),
        DatasetSpec(doc="a date", name="date_scalar", dtype="isodatetime"),
        DatasetSpec(doc="dates", name="date_vector", dtype="isodatetime", shape=(None,)),
        DatasetSpec(doc="empty floats", name="empty_vector", dtype="float64", shape=(None,)),
        DatasetSpec(
            doc="labelled", name="labelled", dtype="float32", shape=(None, None), dims=("time", "channel")
        ),
        DatasetSpec(doc="references", name="refs", data_type_inc="LeafRefs", quantity="?"),
        DatasetSpec(doc="compound rows", name="rows", data_type_inc="LeafRows", quantity="?"),
    ]
    return specs


def _attributes() -> list[AttributeSpec]:
    return [
        AttributeSpec("a_int", "int attribute", "int32"),
        AttributeSpec("a_float", "float attribute", "float64"),
        AttributeSpec("a_text", "text attribute", "text"),
        AttributeSpec("a_bool", "bool attribute", "bool"),
        AttributeSpec("a_array", "array attribute", "float64", shape=(None,)),
        AttributeSpec("a_text_array", "text array attribute", "text", shape=(None,)),
        AttributeSpec("a_date", "date attribute", "isodatetime", required=False),
        AttributeSpec("a_ref", "reference attribute", RefSpec("Leaf", "object"), required=False),
    ]


def _write_namespace(directory: Path, version: str = "0.1.0") -> Path:
    leaf = GroupSpec(
        doc="a leaf",
        data_type_def="Leaf",
        datasets=[DatasetSpec(doc="leaf data", name="data", dtype="int64", shape=(None,))],
        attributes=[AttributeSpec("label", "a label", "text")],
    )
    holder = GroupSpec(
        doc="holds everything",
        data_type_def="Holder",
        datasets=_datasets(),
        attributes=_attributes(),
        groups=[GroupSpec(doc="leaves", data_type_inc="Leaf", quantity="*")],
        links=[
            LinkSpec(doc="link to a leaf", target_type="Leaf", name="leaf_link", quantity="?"),
        ],
    )
    refs = DatasetSpec(
        doc="references to leaves",
        data_type_def="LeafRefs",
        data_type_inc="Data",
        dtype=RefSpec("Leaf", "object"),
        shape=(None,),
    )
    rows = DatasetSpec(
        doc="compound rows with a reference field",
        data_type_def="LeafRows",
        data_type_inc="Data",
        dtype=[
            DtypeSpec("idx", "index", "int32"),
            DtypeSpec("label", "label", "text"),
            DtypeSpec("leaf", "a leaf", RefSpec("Leaf", "object")),
        ],
        shape=(None,),
    )
    root = GroupSpec(
        doc="root",
        data_type_def="Root",
        groups=[GroupSpec(doc="holders", data_type_inc="Holder", quantity="*")],
    )
    ns = NamespaceBuilder(doc="test namespace", name=NAMESPACE, version=version, author="t", contact="t@x")
    ns.include_type("Container", namespace="hdmf-common")
    ns.include_type("Data", namespace="hdmf-common")
    for spec in (leaf, refs, rows, holder, root):
        ns.add_spec(f"{NAMESPACE}.types.yaml", spec)
    ns.export(f"{NAMESPACE}.namespace.yaml", outdir=str(directory))
    return directory / f"{NAMESPACE}.namespace.yaml"


def _type_map(namespace_path: Path) -> TypeMap:
    type_map = get_type_map()
    type_map.load_namespaces(str(namespace_path))
    return type_map


@pytest.fixture(scope="module")
def namespace_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write_namespace(tmp_path_factory.mktemp("spec"))


def _root(type_map: TypeMap) -> Container:
    Leaf = type_map.get_dt_container_cls("Leaf", NAMESPACE)
    Holder = type_map.get_dt_container_cls("Holder", NAMESPACE)
    Root = type_map.get_dt_container_cls("Root", NAMESPACE)
    LeafRefs = type_map.get_dt_container_cls("LeafRefs", NAMESPACE)
    LeafRows = type_map.get_dt_container_cls("LeafRows", NAMESPACE)
    leaves = [Leaf(name=f"leaf{i}", data=np.arange(i + 2), label=f"leaf {i}") for i in range(2)]
    when = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
    kwargs = {f"{t}_vector": np.arange(5).astype(t) for t in NUMERIC}
    holder = Holder(
        name="holder",
        leafs=leaves,
        leaf_link=leaves[1],
        bool_matrix=np.array([[True, False], [False, True]]),
        float_cube=np.arange(24.0).reshape(2, 3, 4),
        int_scalar=42,
        text_vector=["a", "bé", "日本"],
        text_scalar="scalar ✓",
        ascii_vector=[b"x", b"yy"],
        date_scalar=when,
        date_vector=[when, when + dt.timedelta(hours=1)],
        empty_vector=np.zeros(0),
        labelled=np.ones((3, 2), dtype=np.float32),
        refs=LeafRefs(name="refs", data=[leaves[0], leaves[1], leaves[0]]),
        rows=LeafRows(
            name="rows",
            data=np.array(
                [(0, "first", leaves[1]), (1, "second", leaves[0])],
                dtype=[("idx", "int32"), ("label", object), ("leaf", object)],
            ),
        ),
        a_int=7,
        a_float=float("nan"),
        a_text="attribute ✓",
        a_bool=True,
        a_array=np.array([0.5, 1.5]),
        a_text_array=["u", "v"],
        a_date=when,
        a_ref=leaves[0],
        **kwargs,
    )
    return Root(name="root", holders=[holder])


def test_custom_types_round_trip(store: StoreLike, namespace_path: Path) -> None:
    type_map = _type_map(namespace_path)
    written = _root(type_map)
    with ZarrIO(store, mode="w", manager=BuildManager(type_map)) as io:
        io.write(written)
    with ZarrIO(store, mode="r", manager=BuildManager(type_map)) as io:
        read = io.read()
        TestCase().assertContainerEqual(written, read, ignore_hdmf_attrs=True)
        holder = read.holders["holder"]
        assert holder.leaf_link is holder.leafs["leaf1"]  # a soft link, not a copy
        assert holder.a_ref is holder.leafs["leaf0"]
        assert [leaf.name for leaf in holder.refs.data[:]] == ["leaf0", "leaf1", "leaf0"]
        assert holder.rows.data[1][2] is holder.leafs["leaf0"]
        assert holder.int_scalar == 42
        assert holder.date_scalar == "2024-05-06T07:08:09+00:00" or holder.date_scalar == dt.datetime(
            2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC
        )


def test_a_fresh_type_map_reads_the_types_from_the_cache(store: StoreLike, namespace_path: Path) -> None:
    type_map = _type_map(namespace_path)
    with ZarrIO(store, mode="w", manager=BuildManager(type_map)) as io:
        io.write(_root(type_map))
    fresh = get_type_map()  # knows hdmf-common only: the custom namespace comes from the file's cache
    loaded = ZarrIO.load_namespaces(fresh, path=store)
    assert NAMESPACE in loaded
    with ZarrIO(store, mode="r", manager=BuildManager(fresh)) as io:
        read = io.read()
        holder = read.holders["holder"]
        assert type(holder).__name__ == "Holder"
        assert holder.leaf_link is holder.leafs["leaf1"]
        np.testing.assert_array_equal(holder.int64_vector[:], np.arange(5))


def test_dimension_labels_are_stored(store: StoreLike, namespace_path: Path, tmp_path: Path) -> None:
    import zarr

    from hdmf_zarr import _format as fmt

    type_map = _type_map(namespace_path)
    with ZarrIO(store, mode="w", manager=BuildManager(type_map)) as io:
        io.write(_root(type_map))
    with ZarrIO(store, mode="r", manager=BuildManager(type_map)) as io:
        arr = io.file["holder/labelled"]
        assert isinstance(arr, zarr.Array)
        assert arr.attrs[fmt.DIMENSIONS_ATTR] == ["time", "channel"]  # the xarray convention, as the peer
        assert arr.metadata.dimension_names == ("time", "channel")  # and the v3 field


def test_catalog_accepts_cached_namespace(store: StoreLike, namespace_path: Path) -> None:
    type_map = _type_map(namespace_path)
    with ZarrIO(store, mode="w", manager=BuildManager(type_map)) as io:
        io.write(_root(type_map))
    catalog = NamespaceCatalog()
    # As with HDF5IO, a selection must include the namespaces the selected ones depend on.
    loaded = ZarrIO.load_namespaces(catalog, path=store, namespaces=[NAMESPACE, "hdmf-common"])
    assert set(loaded) == {NAMESPACE, "hdmf-common"}
    assert "hdmf-experimental" not in catalog.namespaces
    assert catalog.get_namespace(NAMESPACE).version == "0.1.0"
