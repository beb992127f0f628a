"""Odd names on real stores: every name HDF5 round-trips, ours round-trips (docs/format.md#names).

Node names that are not safe object names are stored escaped and decoded on read, in both dialects;
names HDF5 refuses are refused before anything is written; attribute names the convention reserves are
stored escaped. Plain names are stored exactly as before, and hdmf-zarr 0.14 reads them.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
import zarr
from hdmf.build import GroupBuilder, ReferenceBuilder
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hdmf_zarr import _format as fmt
from hdmf_zarr.errors import CaseCollisionWarning, InvalidNameError, UnsupportedValueError
from hdmf_zarr.io import ZarrIO
from hdmf_zarr.store import StoreLike
from hdmf_zarr.testing import assert_builders_equal
from hdmf_zarr.testing.builders import dataset, group, link
from support.servers import S3Server

#: Names that are not safe object names (or look like our escapes), every one accepted by HDF5.
ODD_NAMES = [
    "..",
    "...",
    "a\\b",
    "\\",
    "zarr.json",
    ".zarray",
    ".zattrs",
    ".zgroup",
    ".ZMetadata",  # reserved in any letter case (one variant each: siblings differing in case warn)
    "!..",
    "!!21..",
    "!5C",
    "x" * 300,
    "é" * 200,
]
#: Names stored as they are, today as before (some look unusual).
PLAIN_NAMES = [
    "data",
    "with space",
    "ünïcødé",
    "50%",
    "%2E",
    "!foo",
    "a!b",
    "__dunder",
    "x" * 248,
    ".hidden",
]  # 248 + "-scalar" = 255 bytes
#: Every attribute name the convention reserves, plus one that looks escaped.
RESERVED_ATTR_NAMES = [*sorted(fmt.RESERVED_ATTR_NAMES), "!x", "!_LINKS"]


def _odd_tree(names: list[str]) -> GroupBuilder:
    """A group and a dataset per name (and one nested below), links and references to them."""
    root = GroupBuilder("root", attributes={"top": 1})
    holder = group(root, "links")
    for i, name in enumerate(names):
        grp = group(root, name, attributes={"index": i})
        arr = dataset(grp, name, np.arange(i + 1), attributes={"name": name})
        dataset(grp, f"{name}-scalar", i)
        inner = group(grp, "inner")
        dataset(inner, name, "text")
        link(holder, f"{i}-{name}", arr)
    first = root.groups[names[0]]
    root.set_attribute("ref", ReferenceBuilder(first.datasets[names[0]]))
    dataset(root, "refs", [ReferenceBuilder(root.groups[n]) for n in names])
    return root


def _write_read(store: StoreLike, builder: GroupBuilder, **options: Any) -> GroupBuilder:
    with ZarrIO(store, mode="w", **options) as io:
        io.write_builder(builder, cache_spec=False)
    with ZarrIO(store, mode="r") as io:
        back = io.read_builder()
        assert_builders_equal(builder, back)
        # The lazy reference dataset resolves to the escaped nodes under their own names.
        assert [b.name for b in back.datasets["refs"].data[:]] == [n for n in builder.groups if n != "links"]
        return back


@pytest.mark.parametrize("zarr_format", [3, 2])
def test_odd_names_round_trip_on_every_store(store: StoreLike, zarr_format: int) -> None:
    _write_read(store, _odd_tree(ODD_NAMES), zarr_format=zarr_format)


@pytest.mark.xdist_group("s3")
@pytest.mark.parametrize("backend", ["obstore", "fsspec"])
def test_odd_names_round_trip_on_s3(s3: S3Server, backend: str) -> None:
    url = f"s3://{s3.bucket}/names-{backend}/odd.zarr"
    options = s3.storage_options(backend=backend)
    builder = _odd_tree(ODD_NAMES)
    with ZarrIO(url, mode="w", storage_options=options) as io:
        io.write_builder(builder, cache_spec=False)
    with ZarrIO(url, mode="r", storage_options=options) as io:
        assert_builders_equal(builder, io.read_builder())
    with ZarrIO(url, mode="r", storage_options=options, consolidated=False) as io:
        assert_builders_equal(builder, io.read_builder())


def test_escaped_keys_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "odd.zarr"
    _write_read(path, _odd_tree(ODD_NAMES))
    stored = {p.name for p in path.iterdir() if p.is_dir()}
    assert {
        "!..",
        "!...",
        "!a!5Cb",
        "!!5C",
        "!zarr.json",
        "!.ZMetadata",
        "!.zarray",
        "!!21..",
        "!!21!2121..",
    } <= stored
    long_keys = [k for k in stored if fmt.SHORTENED_KEY_MARK in k]
    assert len(long_keys) == 2
    assert all(len(k.encode()) <= fmt.MAX_KEY_BYTES for k in long_keys)
    for key in long_keys:  # the full name is kept on the node, hidden from builders
        doc = json.loads((path / key / "zarr.json").read_text())
        assert doc["attributes"][fmt.NAME_ATTR] in ("x" * 300, "é" * 200)


def test_plain_names_are_stored_as_they_are(tmp_path: Path) -> None:
    path = tmp_path / "plain.zarr"
    back = _write_read(path, _odd_tree(PLAIN_NAMES))
    assert sorted(back.groups) == sorted([*PLAIN_NAMES, "links"])
    assert {p.name for p in path.iterdir() if p.is_dir()} == {*PLAIN_NAMES, "links", "refs"}
    text = "".join(p.read_text() for p in path.rglob("zarr.json"))
    assert fmt.NAME_ATTR not in text
    assert '"!' not in text.replace('"!foo', "").replace('"!a!b', "")  # no escaped key or attribute name


@pytest.mark.parametrize("zarr_format", [3, 2])
@pytest.mark.parametrize("bad", ["", ".", "a/b", "/", "nul\x00"])
@pytest.mark.parametrize("kind", ["group", "dataset", "link"])
def test_names_hdf5_refuses_are_refused_before_writing(
    tmp_path: Path, bad: str, kind: str, zarr_format: int
) -> None:
    path = tmp_path / "bad.zarr"
    root = GroupBuilder("root")
    target = dataset(group(root, "ok"), "data", [1, 2])
    parent = group(root, "parent")
    if kind == "group":
        group(parent, bad)
    elif kind == "dataset":
        dataset(parent, bad, [1])
    else:
        link(parent, bad, target)
    with (
        pytest.raises(
            InvalidNameError, match=rf"the {kind} {re.escape(repr(bad))} under '/parent' of '.*bad.zarr'"
        ),
        ZarrIO(path, mode="w", zarr_format=zarr_format) as io,
    ):
        io.write_builder(root, cache_spec=False)
    assert list(tmp_path.iterdir()) == []  # nothing was written, not even beside the target


def test_a_refused_name_leaves_an_existing_file_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "keep.zarr"
    root = GroupBuilder("root")
    dataset(root, "kept", [1, 2, 3])
    with ZarrIO(path, mode="w") as io:
        io.write_builder(root, cache_spec=False)
    before = {p: p.read_bytes() for p in path.rglob("*") if p.is_file()}
    with ZarrIO(path, mode="a") as io:
        root = io.read_builder()
        dataset(root, "..", [4])  # stored escaped
        group(root, "bad").set_group(GroupBuilder("a/b"))
        with pytest.raises(InvalidNameError, match="'a/b' under '/bad'"):
            io.write_builder(root, cache_spec=False)
    assert {p: p.read_bytes() for p in path.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize("zarr_format", [3, 2])
def test_append_below_and_beside_escaped_nodes(tmp_path: Path, zarr_format: int) -> None:
    path = tmp_path / "append.zarr"
    with ZarrIO(path, mode="w", zarr_format=zarr_format) as io:
        io.write_builder(_odd_tree(ODD_NAMES[:4]), cache_spec=False)
    with ZarrIO(path, mode="a") as io:
        root = io.read_builder()
        dataset(root.groups[".."], "added", [7.0])
        dataset(root.groups["x" * 300] if "x" * 300 in root.groups else group(root, "x" * 300), "y", [1])
        root.set_attribute("ref2", ReferenceBuilder(root.groups["a\\b"]))
        io.write_builder(root, cache_spec=False)
    with ZarrIO(path, mode="r") as io:
        back = io.read_builder()
        np.testing.assert_array_equal(back.groups[".."].datasets["added"].data[:], [7.0])
        assert back.groups["x" * 300].datasets["y"].data[:].tolist() == [1]
        assert back.attributes["ref2"].name == "a\\b"
        assert sorted(back.groups[".."].datasets) == ["..", "..-scalar", "added"]


def test_foreign_names_that_look_escaped_read_as_they_are(tmp_path: Path) -> None:
    """A node another tool named "!foo" keeps its name, and writing beside it keeps its key."""
    path = tmp_path / "foreign.zarr"
    with ZarrIO(path, mode="w") as io:
        io.write_builder(GroupBuilder("root"), cache_spec=False)
    zarr.open_group(path, mode="r+", use_consolidated=False).create_group("!foo")
    with ZarrIO(path, mode="a") as io:
        root = io.read_builder()
        assert sorted(root.groups) == ["!foo"]
        dataset(root.groups["!foo"], "d", [1])
        io.write_builder(root, cache_spec=False)
    assert (path / "!foo" / "d" / "zarr.json").is_file()


@pytest.mark.parametrize("zarr_format", [3, 2])
def test_reserved_attribute_names_are_escaped_and_read_back(store: StoreLike, zarr_format: int) -> None:
    root = GroupBuilder("root", attributes={name: f"root {name}" for name in RESERVED_ATTR_NAMES})
    grp = group(root, "grp", attributes={name: [1, 2] for name in RESERVED_ATTR_NAMES})
    dataset(grp, "data", np.arange(3), attributes=dict.fromkeys(RESERVED_ATTR_NAMES, 2.5))
    dataset(grp, "scalar", 1, attributes=dict.fromkeys(RESERVED_ATTR_NAMES, True))
    link(root, "lnk", grp.datasets["data"])
    back = _attr_round_trip(store, root, zarr_format)
    assert back.groups["grp"].attributes[fmt.LINKS_ATTR] == [1, 2]
    assert back.links["lnk"].builder.name == "data"


def _attr_round_trip(store: StoreLike, root: GroupBuilder, zarr_format: int) -> GroupBuilder:
    with ZarrIO(store, mode="w", zarr_format=zarr_format) as io:
        io.write_builder(root, cache_spec=False)
    with ZarrIO(store, mode="r") as io:
        back = io.read_builder()
        assert_builders_equal(root, back)
        return back


# -- any name HDF5 round-trips, ours round-trips ----------------------------------------------------

_TRICKY = st.sampled_from([*list(".!\\/5C21zarjson%_ "), "é", "😀", "\x00", "\x01"])
_names = st.one_of(
    st.sampled_from([*ODD_NAMES, *PLAIN_NAMES, ".", "", "a/b", *sorted(fmt.RESERVED_ATTR_NAMES)]),
    st.text(_TRICKY, max_size=10),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=16),
    st.text(_TRICKY, min_size=200, max_size=300),
)


def _hdf5_round_trips(name: str) -> tuple[bool, bool]:
    """Whether HDF5 stores *name* as a node name, and as an attribute name, and gives it back."""
    node = attr = False
    with h5py.File(tempfile.mktemp(suffix=".h5"), "w", driver="core", backing_store=False) as f:
        try:
            grp = f.create_group(name)
            grp.create_dataset(name, data=1)
            node = list(f) == [name] and list(grp) == [name]
        except (ValueError, TypeError, KeyError):
            node = False
        try:
            f.attrs[name] = 1
            attr = list(f.attrs) == [name]
        except (ValueError, TypeError, KeyError, RuntimeError):
            attr = False
    return node, attr


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=_names, zarr_format=st.sampled_from([3, 2]))
def test_any_name_hdf5_round_trips_round_trips_here(name: str, zarr_format: int) -> None:
    node, attr = _hdf5_round_trips(name)
    root = GroupBuilder("root")
    if attr:  # HDMF builders share one namespace for attributes and children: keep them apart
        group(root, "attributes").set_attribute(name, "value")
    if node:
        dataset(group(group(root, "nodes"), name), name, np.arange(2))
    with tempfile.TemporaryDirectory() as folder:
        _attr_round_trip(Path(folder) / "f.zarr", root, zarr_format)


@pytest.mark.parametrize(
    "value",
    [
        {fmt.REFERENCE_KEY: {"source": ".", "path": "/grp"}},
        {fmt.REFERENCE_KEY: 5},
        {fmt.V2_REFERENCE_VALUE_KEY: {"path": "/grp"}, fmt.V2_DTYPE_ATTR: fmt.DTYPE_OBJECT},
    ],
)
def test_mapping_values_that_read_as_references_are_refused(tmp_path: Path, value: dict[str, Any]) -> None:
    path = tmp_path / "mapping.zarr"
    root = GroupBuilder("root")
    group(root, "grp", attributes={"meta": value})
    with (
        pytest.raises(
            UnsupportedValueError, match=r"'/grp@meta' holds the mapping .* reads back as a stored"
        ),
        ZarrIO(path, mode="w") as io,
    ):
        io.write_builder(root, cache_spec=False)
    assert list(tmp_path.iterdir()) == []


def test_other_mapping_values_round_trip(tmp_path: Path) -> None:
    root = GroupBuilder("root")
    group(root, "grp", attributes={"meta": {fmt.REFERENCE_KEY: 1, "other": 2}, "plain": {"a": [1, 2]}})
    _attr_round_trip(tmp_path / "mapping.zarr", root, 3)


def test_siblings_that_differ_only_in_case_are_written_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "case.zarr"
    root = GroupBuilder("root")
    dataset(root, "Data", [1])
    group(root, "data")
    group(root, "zarr.JSON")  # escaped keys count too: "!zarr.JSON" and "!ZARR.json"
    group(root, "ZARR.json")
    with (
        pytest.warns(CaseCollisionWarning) as record,
        ZarrIO(path, mode="w") as io,
    ):
        io.write_builder(root, cache_spec=False)
    messages = sorted(str(w.message) for w in record)
    assert len(messages) == 2
    assert "holds 'data' and 'Data', which differ only in letter case" in messages[0]
    assert "holds 'zarr.JSON' and 'ZARR.json'" in messages[1]
    with ZarrIO(path, mode="a") as io:  # appending beside them warns no more: both are stored
        back = io.read_builder()
        assert sorted(back.groups) == ["ZARR.json", "data", "zarr.JSON"]
        dataset(back, "more", [2])
        io.write_builder(back, cache_spec=False)


def test_nwb_objects_with_odd_names_round_trip_and_validate(tmp_path: Path) -> None:
    import datetime as dt

    import pynwb
    from pynwb import NWBFile, TimeSeries

    from hdmf_zarr import NWBZarrIO

    names = ["..", "zarr.json", "a\\b", "x" * 300, "!..", "plain"]
    nwb = NWBFile(
        session_description="odd names",
        identifier="names",
        session_start_time=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )
    for i, name in enumerate(names):
        nwb.add_acquisition(TimeSeries(name=name, data=np.arange(3.0) + i, unit="u", rate=1.0))
    path = tmp_path / "names.nwb.zarr"
    with NWBZarrIO(path, mode="w") as io:
        io.write(nwb)
    with NWBZarrIO(path, mode="r") as io:
        back = io.read()
        assert sorted(back.acquisition) == sorted(names)
        for i, name in enumerate(names):
            np.testing.assert_array_equal(back.acquisition[name].data[:], np.arange(3.0) + i)
    assert pynwb.validate(path=str(path)) == []
