"""Lazy v2 object arrays: chunk layout, codecs, fill values, selections, and only the touched chunks read.

The stores here are laid out as zarr-python 2 writes them (full-size edge chunks, filters then
compressor, ``.zarray``/``.zattrs``/``.zmetadata``); the files hdmf-zarr 0.13 itself writes are read in
tests/integration/test_legacy_peer013.py.
"""

from __future__ import annotations

import base64
import json
import pickle
from pathlib import Path
from typing import Any

import numcodecs
import numpy as np
import pytest
import zarr
from zarr.storage import LocalStore

from hdmf_zarr import _format as fmt
from hdmf_zarr.errors import FormatError, UnsafePickleError
from hdmf_zarr.legacy import (
    LegacyObjectArray,
    LegacyReference,
    V2Kind,
    classify,
    is_scalar,
    load_index,
    open_v2_index,
    reference_record,
)
from hdmf_zarr.testing.stores import CountingStore

BLOSC = numcodecs.Blosc(cname="lz4", clevel=5, shuffle=numcodecs.Blosc.SHUFFLE)


def write_v2_array(
    root: Path,
    path: str,
    values: np.ndarray,
    *,
    chunks: tuple[int, ...],
    codec: numcodecs.abc.Codec,
    compressor: numcodecs.abc.Codec | None = BLOSC,
    separator: str | None = None,
    order: str = "C",
    fill: Any = 0,
    attrs: dict[str, Any] | None = None,
    skip: frozenset[tuple[int, ...]] = frozenset(),
    zdtype: Any = "|O",
) -> None:
    """Write *values* the way zarr-python 2 lays out an object array (no chunk for coords in *skip*)."""
    folder = root / path
    folder.mkdir(parents=True, exist_ok=True)
    for group in [root, *list(folder.parents)[: len(Path(path).parts) - 1]]:
        (group / ".zgroup").write_text(json.dumps({"zarr_format": 2}))
    grid = [range(-(-s // c)) for s, c in zip(values.shape, chunks, strict=True)]
    for coords in np.ndindex(*[len(g) for g in grid]) if values.shape else [()]:
        if coords in skip:
            continue
        block = np.empty(chunks, dtype=values.dtype, order="F" if order == "F" else "C")
        if values.dtype.kind == "O":
            block[...] = None
        region = tuple(slice(i * c, (i + 1) * c) for i, c in zip(coords, chunks, strict=True))
        part = values[region]
        block[tuple(slice(0, n) for n in part.shape)] = part
        encoded = codec.encode(block)
        if compressor is not None:
            encoded = compressor.encode(encoded)
        name = (separator or ".").join(map(str, coords)) or "0"
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(bytes(encoded))
    zarray = {
        "chunks": list(chunks),
        "compressor": None if compressor is None else compressor.get_config(),
        "dtype": zdtype,
        "fill_value": fill,
        "filters": [codec.get_config()],
        "order": order,
        "shape": list(values.shape),
        "zarr_format": 2,
    }
    if separator is not None:
        zarray["dimension_separator"] = separator
    (folder / ".zarray").write_text(json.dumps(zarray))
    (folder / ".zattrs").write_text(json.dumps(attrs or {}))


def consolidate(root: Path) -> None:
    (root / ".zgroup").write_text(json.dumps({"zarr_format": 2}))
    docs = {}
    for f in sorted(root.rglob(".z*")):
        if f.name in (".zgroup", ".zarray", ".zattrs"):
            docs[f.relative_to(root).as_posix()] = json.loads(f.read_text())
    (root / ".zmetadata").write_text(json.dumps({"metadata": docs, "zarr_consolidated_format": 1}))


def open_legacy(root: Path, path: str, *, counting: bool = False) -> LegacyObjectArray:
    store: Any = LocalStore(root, read_only=True)
    if counting:
        store = CountingStore(store)
    meta = load_index(store)[path]
    arr = LegacyObjectArray(store, path, meta)  # type: ignore[arg-type]
    return arr


def texts(shape: tuple[int, ...]) -> np.ndarray:
    out = np.empty(shape, dtype=object)
    for i, index in enumerate(np.ndindex(*shape)):
        out[index] = f"s{i}-é"
    return out


@pytest.mark.parametrize("separator", [None, ".", "/"])
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize(
    "compressor", [BLOSC, numcodecs.Zstd(level=1), numcodecs.Zlib(level=1), None], ids=lambda c: str(c)
)
def test_layouts_and_compressors(
    tmp_path: Path, separator: str | None, order: str, compressor: numcodecs.abc.Codec | None
) -> None:
    values = texts((5, 7))
    write_v2_array(
        tmp_path, "t", values, chunks=(2, 3), codec=numcodecs.VLenUTF8(), compressor=compressor,
        separator=separator, order=order,
    )  # fmt: skip
    consolidate(tmp_path)
    arr = open_legacy(tmp_path, "/t")
    assert arr.shape == (5, 7)
    assert arr.ndim == 2
    assert len(arr) == 5
    np.testing.assert_array_equal(arr[...], values)
    np.testing.assert_array_equal(arr[1:4, ::3], values[1:4, ::3])
    assert arr[4, 6] == values[4, 6]


@pytest.mark.parametrize(
    "key",
    [
        3,
        -1,
        slice(None),
        slice(2, 9, 3),
        slice(None, None, -2),
        [9, 0, 0, 4],
        np.array([1, 5]),
        (Ellipsis,),
        np.arange(10) % 3 == 0,
        [],
    ],
    ids=repr,
)
def test_selections_match_numpy(tmp_path: Path, key: Any) -> None:
    values = texts((10,))
    write_v2_array(tmp_path, "t", values, chunks=(4,), codec=numcodecs.VLenUTF8())
    consolidate(tmp_path)
    arr = open_legacy(tmp_path, "/t")
    expected = values[key]
    got = arr[key]
    if isinstance(expected, np.ndarray):
        assert isinstance(got, np.ndarray)
        assert got.dtype == object
        np.testing.assert_array_equal(got, expected)
    else:
        assert got == expected


def test_two_dimensional_lists_index_each_axis(tmp_path: Path) -> None:
    """Orthogonal indexing, as h5py and zarr's oindex: lists select along each axis independently."""
    values = texts((6, 5))
    write_v2_array(tmp_path, "t", values, chunks=(4, 2), codec=numcodecs.VLenUTF8())
    consolidate(tmp_path)
    arr = open_legacy(tmp_path, "/t")
    np.testing.assert_array_equal(arr[[5, 0], [4, 1, 1]], values[np.ix_([5, 0], [4, 1, 1])])
    np.testing.assert_array_equal(arr[2, [0, 3]], values[2, [0, 3]])


@pytest.mark.parametrize(
    "key", [10, -11, [0, 10], (0, 0), np.ones(3, dtype=bool), (..., ...), "a", [0.5]], ids=repr
)
def test_bad_selections_raise_index_error(tmp_path: Path, key: Any) -> None:
    write_v2_array(tmp_path, "t", texts((10,)), chunks=(4,), codec=numcodecs.VLenUTF8())
    consolidate(tmp_path)
    with pytest.raises(IndexError):
        open_legacy(tmp_path, "/t")[key]


def test_only_touched_chunks_are_fetched(tmp_path: Path) -> None:
    values = texts((100,))
    write_v2_array(tmp_path, "t", values, chunks=(10,), codec=numcodecs.VLenUTF8())
    consolidate(tmp_path)
    arr = open_legacy(tmp_path, "/t", counting=True)
    log = arr._store.log  # type: ignore[attr-defined]
    log.clear()
    assert arr[[3, 95, 5]].tolist() == [values[3], values[95], values[5]]
    assert sorted(log.gets) == ["t/0", "t/9"]  # not the eight chunks in between
    log.clear()
    assert arr[42] == values[42]
    assert log.gets == ["t/4"]
    log.clear()
    assert arr[[]].shape == (0,)
    assert log.gets == []


def test_opening_reads_only_the_consolidated_document(tmp_path: Path) -> None:
    write_v2_array(tmp_path, "a/t", texts((10,)), chunks=(4,), codec=numcodecs.VLenUTF8())
    consolidate(tmp_path)
    store = CountingStore(LocalStore(tmp_path, read_only=True))
    index = open_v2_index(store)  # type: ignore[arg-type]
    node = index.node("/a/t")
    node.array(store)  # type: ignore[arg-type]
    assert store.log.gets == [fmt.V2_CONSOLIDATED_KEY]
    assert store.log.lists == []
    assert index.children("/") == ["/a"]
    assert index.children("/a") == ["/a/t"]


@pytest.mark.parametrize(
    ("codec", "values", "missing"),
    [
        (numcodecs.VLenUTF8(), ["a", "b", "c"], ""),
        (numcodecs.VLenBytes(), [b"a", b"b", b"c"], b""),
        (numcodecs.JSON(), [{"path": "/x"}, {"path": "/y"}, {"path": "/z"}], None),
    ],
    ids=["vlen-utf8", "vlen-bytes", "json2"],
)
def test_missing_chunks_read_as_the_fill_value(
    tmp_path: Path, codec: numcodecs.abc.Codec, values: list[Any], missing: Any
) -> None:
    """zarr 2 stored fill value 0 for object arrays; zarr 3 would read "0" (or refuse vlen-bytes)."""
    arr_values = np.empty(3, dtype=object)
    arr_values[:] = values
    write_v2_array(tmp_path, "t", arr_values, chunks=(2,), codec=codec, skip=frozenset({(1,)}))
    consolidate(tmp_path)
    arr = open_legacy(tmp_path, "/t")
    assert arr[:].tolist() == [*values[:2], missing]


def test_text_fill_value_other_than_zero_is_kept(tmp_path: Path) -> None:
    write_v2_array(tmp_path, "t", texts((4,)), chunks=(2,), codec=numcodecs.VLenUTF8(), fill="n/a",
                   skip=frozenset({(0,)}))  # fmt: skip
    consolidate(tmp_path)
    assert open_legacy(tmp_path, "/t")[:2].tolist() == ["n/a", "n/a"]


def test_vlen_bytes_with_fill_zero_is_what_zarr3_cannot_open(tmp_path: Path) -> None:
    """Why this reader exists: zarr 3.4 refuses the whole consolidated group; we read it."""
    write_v2_array(
        tmp_path, "b", np.array([b"x", b"y"], dtype=object), chunks=(2,), codec=numcodecs.VLenBytes()
    )
    consolidate(tmp_path)
    with pytest.raises(TypeError):
        zarr.open_group(tmp_path, mode="r", zarr_format=2, use_consolidated=True)
    assert open_legacy(tmp_path, "/b")[:].tolist() == [b"x", b"y"]


def _compound_rows() -> np.ndarray:
    rows = np.empty(5, dtype=[("idx_start", "<i4"), ("count", "<i4"), ("timeseries", "O")])
    rows["idx_start"] = np.arange(5)
    rows["count"] = np.arange(5) * 2
    rows["timeseries"] = [LegacyReference(source=".", path=f"/acquisition/ts{i}") for i in range(5)]
    return rows


COMPOUND_ATTRS = {
    fmt.V2_DTYPE_ATTR: [
        {"name": "idx_start", "dtype": "int32"},
        {"name": "count", "dtype": "int32"},
        {"name": "timeseries", "dtype": "object"},
    ]
}
COMPOUND_ZDTYPE = [["idx_start", "<i4"], ["count", "<i4"], ["timeseries", "|O"]]


@pytest.mark.parametrize("codec", [numcodecs.Pickle(protocol=5), numcodecs.JSON()], ids=["pickle", "json2"])
def test_compound_with_references(tmp_path: Path, codec: numcodecs.abc.Codec) -> None:
    rows = _compound_rows()
    plain = rows.copy()
    plain["timeseries"] = [dict(r) for r in rows["timeseries"]]  # JSON cannot encode our dict subclass
    fill = base64.b64encode(codec.encode(0)).decode()  # as zarr 2 encodes a structured fill value
    write_v2_array(tmp_path, "c", plain, chunks=(2,), codec=codec, fill=fill, attrs=COMPOUND_ATTRS,
                   zdtype=COMPOUND_ZDTYPE, skip=frozenset({(2,)}))  # fmt: skip
    consolidate(tmp_path)
    arr = open_legacy(tmp_path, "/c")
    assert classify(arr.meta) is V2Kind.COMPOUND
    assert arr.dtype.names == ("idx_start", "count", "timeseries")
    got = arr[:]
    assert got["count"].tolist() == [0, 2, 4, 6, 0]  # the last chunk is missing: fill
    assert [reference_record(r, where="/c") for r in got["timeseries"][:4]] == [
        fmt.ReferenceRecord(".", f"/acquisition/ts{i}") for i in range(4)
    ]
    assert got["timeseries"][4] is None
    assert arr[1]["timeseries"]["path"] == "/acquisition/ts1"


@pytest.mark.parametrize("codec", [numcodecs.Pickle(protocol=5), numcodecs.JSON()], ids=["pickle", "json2"])
def test_object_rows_read_as_a_structured_array(tmp_path: Path, codec: numcodecs.abc.Codec) -> None:
    """0.13 stored compounds of text without references as |O arrays of rows (tuples, records, lists)."""
    rows = np.empty(3, dtype=object)
    rows[:] = [("x", 1, "y"), ("zz", 2, "w"), ("", 3, "v")]
    attrs = {fmt.V2_DTYPE_ATTR: [{"name": "a", "dtype": "str_"}, {"name": "b", "dtype": "int32"},
                                 {"name": "c", "dtype": "str_"}]}  # fmt: skip
    write_v2_array(tmp_path, "r", rows, chunks=(2,), codec=codec, attrs=attrs)
    consolidate(tmp_path)
    arr = open_legacy(tmp_path, "/r")
    assert classify(arr.meta) is V2Kind.COMPOUND
    assert arr.dtype == np.dtype([("a", "O"), ("b", "<i4"), ("c", "O")])
    assert arr[:].tolist() == [("x", 1, "y"), ("zz", 2, "w"), ("", 3, "v")]


def test_numpy_records_as_rows(tmp_path: Path) -> None:
    records = np.array([("x", 1), ("yy", 2)], dtype=[("a", "U4"), ("b", "<i4")])
    rows = np.empty(2, dtype=object)
    rows[:] = [records[0], records[1]]  # np.void elements, as 0.13 wrote numpy compound input
    attrs = {fmt.V2_DTYPE_ATTR: [{"name": "a", "dtype": "str_"}, {"name": "b", "dtype": "int32"}]}
    write_v2_array(tmp_path, "r", rows, chunks=(2,), codec=numcodecs.Pickle(protocol=5), attrs=attrs)
    consolidate(tmp_path)
    assert open_legacy(tmp_path, "/r")[:].tolist() == [("x", 1), ("yy", 2)]


def test_classify_and_scalars(tmp_path: Path) -> None:
    one = np.array(["v"], dtype=object)
    write_v2_array(tmp_path, "text", texts((3,)), chunks=(3,), codec=numcodecs.VLenUTF8(),
                   attrs={fmt.V2_DTYPE_ATTR: "str"})  # fmt: skip
    write_v2_array(tmp_path, "scalar", one, chunks=(1,), codec=numcodecs.VLenUTF8(),
                   attrs={fmt.V2_DTYPE_ATTR: fmt.DTYPE_SCALAR_V2})  # fmt: skip
    date = np.array([b"2020"], dtype=object)
    write_v2_array(tmp_path, "date", date, chunks=(1,), codec=numcodecs.VLenBytes(),
                   attrs={fmt.V2_DTYPE_ATTR: fmt.DTYPE_SCALAR_V2})  # fmt: skip
    spec = np.array(['{"groups": []}'], dtype=object)
    write_v2_array(tmp_path, "spec", spec, chunks=(1,), codec=numcodecs.JSON(),
                   attrs={fmt.V2_DTYPE_ATTR: fmt.DTYPE_SCALAR_V2})  # fmt: skip
    refs = np.empty(1, dtype=object)
    refs[0] = {"source": ".", "path": "/text"}
    write_v2_array(tmp_path, "refs", refs, chunks=(1,), codec=numcodecs.JSON(),
                   attrs={fmt.V2_DTYPE_ATTR: fmt.DTYPE_OBJECT})  # fmt: skip
    zarr.create_array(tmp_path / "numbers", shape=(3,), dtype="<i4", zarr_format=2, fill_value=0)
    consolidate(tmp_path)
    store = LocalStore(tmp_path, read_only=True)
    index = open_v2_index(store)
    kinds = {p: index.node(p).kind for p in index.children("/")}
    assert kinds == {
        "/date": V2Kind.BYTES,
        "/numbers": V2Kind.ARRAY,
        "/refs": V2Kind.REFERENCE,
        "/scalar": V2Kind.TEXT,
        "/spec": V2Kind.JSON,
        "/text": V2Kind.TEXT,
    }
    assert index.node("/").kind is V2Kind.GROUP
    assert [p for p in sorted(kinds) if index.node(p).scalar] == ["/date", "/scalar", "/spec"]
    assert not is_scalar(index.nodes["/text"])
    assert index.node("/spec").array(store)[0] == '{"groups": []}'
    assert isinstance(index.node("/numbers").array(store), zarr.Array)
    assert index.node("/refs").array(store)[0] == {"source": ".", "path": "/text"}
    with pytest.raises(FormatError, match="/nothing"):
        index.node("/nothing")


def test_unknown_codecs_are_refused_on_read(tmp_path: Path) -> None:
    write_v2_array(tmp_path, "t", texts((3,)), chunks=(3,), codec=numcodecs.VLenUTF8())
    zarray = json.loads((tmp_path / "t" / ".zarray").read_text())
    zarray["filters"] = [{"id": "some-plugin-codec"}]
    (tmp_path / "t" / ".zarray").write_text(json.dumps(zarray))
    consolidate(tmp_path)
    arr = open_legacy(tmp_path, "/t")  # opening is metadata only and succeeds
    with pytest.raises(FormatError, match=r"'/t'.*some-plugin-codec"):
        arr[0]


def test_index_falls_back_to_listing_without_zmetadata(tmp_path: Path) -> None:
    write_v2_array(tmp_path, "g/t", texts((3,)), chunks=(3,), codec=numcodecs.VLenUTF8())
    (tmp_path / ".zgroup").write_text(json.dumps({"zarr_format": 2}))
    (tmp_path / "g" / ".zgroup").write_text(json.dumps({"zarr_format": 2}))
    index = open_v2_index(LocalStore(tmp_path, read_only=True))
    assert index.children("/g") == ["/g/t"]
    assert index.node("/g/t").kind is V2Kind.TEXT


def test_pickled_fill_payload_of_an_object_array_is_a_literal(tmp_path: Path) -> None:
    """zarr 2 base64-pickles only structured fills; a |O fill is JSON and is never unpickled."""
    payload = base64.b64encode(pickle.dumps(("a", 1))).decode()
    refs = np.empty(2, dtype=object)
    refs[:] = [{"path": "/a"}, {"path": "/b"}]
    write_v2_array(tmp_path, "r", refs, chunks=(1,), codec=numcodecs.Pickle(), fill=payload,
                   skip=frozenset({(1,)}), attrs={fmt.V2_DTYPE_ATTR: "object"})  # fmt: skip
    consolidate(tmp_path)
    assert open_legacy(tmp_path, "/r")[1] == payload


def test_a_planted_structured_fill_is_refused(tmp_path: Path) -> None:
    evil = base64.b64encode(b"cos\nsystem\n(S'echo pwned'\ntR.").decode()
    write_v2_array(tmp_path, "c", _compound_rows(), chunks=(5,), codec=numcodecs.Pickle(), fill=evil,
                   attrs=COMPOUND_ATTRS, zdtype=COMPOUND_ZDTYPE, skip=frozenset({(0,)}))  # fmt: skip
    consolidate(tmp_path)
    with pytest.raises(UnsafePickleError, match=r"os\.system.*'/c'"):
        open_legacy(tmp_path, "/c")[0]
