"""Every dataset the reader returns answers zarr 2's storage questions (read/arrayinfo.py).

nwbinspector's compression checks and neuroconv's ``get_existing_backend_configuration`` ask each
dataset for ``.compressor`` (a numcodecs codec or None), ``.filters``, ``.chunks`` and the like. The
cases cover every kind of array ours returns: numbers, text, references and compounds, in files we write
(Zarr v3, and Zarr v2) and in hdmf-zarr 0.13's legacy v2 files (object arrays zarr 3 cannot open).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numcodecs
import numpy as np
import pytest
import zarr
from hdmf.build import DatasetBuilder, GroupBuilder
from hdmf.common import DynamicTable, VectorData, get_manager

from content.cases import build
from hdmf_zarr import ZarrDataIO, ZarrIO
from hdmf_zarr.legacy import LegacyObjectArray
from hdmf_zarr.read.lazy import ArrayView, NumericArray
from peers.caseio import open_io

GOLDEN = Path(__file__).parents[1] / "format"
ANSWERS = ("chunks", "shards", "compressors", "filters", "fill_value", "dtype", "shape", "compressor")


def _datasets(group: GroupBuilder) -> Iterator[DatasetBuilder]:
    yield from group.datasets.values()
    for sub in group.groups.values():
        yield from _datasets(sub)


def _kind(data: Any) -> str:
    raw = data.dataset if isinstance(data, ArrayView) else data
    backing = "legacy" if isinstance(raw, LegacyObjectArray) else f"v{raw.metadata.zarr_format}"
    return f"{type(data).__name__}/{backing}"


def _check(data: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # zarr's deprecated Array.compressor must not be what answers
        got = {name: getattr(data, name) for name in ANSWERS}
    assert got["shape"] == tuple(data.shape)
    assert isinstance(got["chunks"], tuple)
    assert len(got["chunks"]) == len(got["shape"])
    assert got["shards"] is None or len(got["shards"]) == len(got["shape"])
    assert isinstance(got["compressors"], tuple)
    assert isinstance(got["filters"], tuple)
    if got["compressors"]:
        assert isinstance(got["compressor"], numcodecs.abc.Codec)
    else:
        assert got["compressor"] is None


def _kinds_in(root: GroupBuilder) -> set[str]:
    kinds = set()
    for dset in _datasets(root):
        if isinstance(dset.data, ArrayView | NumericArray):
            _check(dset.data)
            kinds.add(_kind(dset.data))
    return kinds


@pytest.mark.parametrize("zarr_format", [3, 2])
def test_every_array_we_write_answers(tmp_path: Path, zarr_format: int) -> None:
    kinds: set[str] = set()
    for case in ("hdmf_common", "nwb_ecephys"):
        container, _ = build(case)
        path = tmp_path / f"{case}.zarr"
        with open_io(case, path, "w", zarr_format=zarr_format) as io:
            io.write(container)
        with open_io(case, path, "r") as io:
            kinds |= _kinds_in(io.read_builder())
    v = f"v{zarr_format}"
    objects = v if zarr_format == 3 else "legacy"  # v2 text, references, compounds are object arrays
    assert {f"NumericArray/{v}", f"TextArray/{objects}", f"BuilderReferenceArray/{objects}"} <= kinds
    assert f"BuilderCompoundArray/{objects}" in kinds


def test_every_legacy_v2_array_answers() -> None:
    """hdmf-zarr 0.13's object arrays (text, pickled references, compounds) are no zarr arrays."""
    kinds: set[str] = set()
    for case in ("hdmf_common", "nwb_ecephys"):
        with open_io(case, GOLDEN / "v2_peer013" / f"{case}.zarr", "r") as io:
            kinds |= _kinds_in(io.read_builder())
    assert {"NumericArray/v2", "TextArray/legacy", "BuilderReferenceArray/legacy"} <= kinds
    assert "BuilderCompoundArray/legacy" in kinds


def _table_file(path: Path, **options: Any) -> None:
    table = DynamicTable(
        name="t",
        description="d",
        columns=[
            VectorData(name="x", description="x", data=ZarrDataIO(np.arange(100, dtype="f8"), **options)),
            VectorData(name="label", description="l", data=[f"r{i}" for i in range(100)]),
        ],
    )
    with ZarrIO(path, mode="w", manager=get_manager()) as io:
        io.write(table)


def _column(io: ZarrIO, name: str) -> Any:
    return io.read_builder().datasets[name].data


def test_compressor_is_the_compressor_as_numcodecs(tmp_path: Path) -> None:
    _table_file(tmp_path / "t.zarr", compressors=zarr.codecs.BloscCodec(cname="zstd", clevel=3), chunks=(10,))
    with ZarrIO(tmp_path / "t.zarr", mode="r", manager=get_manager()) as io:
        x = _column(io, "x")
        assert x.compressor == numcodecs.Blosc(cname="zstd", clevel=3, shuffle=numcodecs.Blosc.SHUFFLE)
        assert x.chunks == (10,)
        assert x.shards is None
        assert x.fill_value == 0
        label = _column(io, "label")
        assert isinstance(label, ArrayView)
        assert label.compressor is not None
        assert label.chunks == label.dataset.chunks


def test_compressor_of_several_is_the_last_as_zarr_2_stored_them(tmp_path: Path) -> None:
    """zarr 2 code wrote filters=[Shuffle], compressor=GZip; zarr 3 stores (shuffle, gzip) compressors."""
    shuffle, gzip = numcodecs.Shuffle(elementsize=8), numcodecs.GZip(level=4)
    _table_file(tmp_path / "t.zarr", compressor=gzip, filters=[shuffle], chunks=(10,))
    with ZarrIO(tmp_path / "t.zarr", mode="r", manager=get_manager()) as io:
        x = _column(io, "x")
        assert len(x.compressors) == 2
        assert x.compressor == gzip
        assert np.array_equal(x[:], np.arange(100, dtype="f8"))


def test_compressor_is_none_without_compression(tmp_path: Path) -> None:
    _table_file(tmp_path / "t.zarr", compressors=[])
    with ZarrIO(tmp_path / "t.zarr", mode="r", manager=get_manager()) as io:
        x = _column(io, "x")
        assert x.compressors == ()
        assert x.compressor is None


def test_sharded_array_reports_its_shards(tmp_path: Path) -> None:
    _table_file(tmp_path / "t.zarr", chunks=(10,), shards=(50,))
    with ZarrIO(tmp_path / "t.zarr", mode="r", manager=get_manager()) as io:
        x = _column(io, "x")
        assert (x.chunks, x.shards) == ((10,), (50,))


def test_compressor_without_numcodecs_equivalent_is_returned_as_stored(tmp_path: Path) -> None:
    _table_file(tmp_path / "t.zarr", compressors=zarr.codecs.Crc32cCodec())
    with ZarrIO(tmp_path / "t.zarr", mode="r", manager=get_manager()) as io:
        assert isinstance(_column(io, "x").compressor, zarr.codecs.Crc32cCodec)


def test_legacy_object_array_reports_its_stored_codecs() -> None:
    with open_io("hdmf_common", GOLDEN / "v2_peer013" / "hdmf_common.zarr", "r") as io:
        views = [
            d.data
            for d in _datasets(io.read_builder())
            if isinstance(d.data, ArrayView) and isinstance(d.data.dataset, LegacyObjectArray)
        ]
        assert views
        for view in views:
            meta = view.dataset.meta
            assert [f.get_config() for f in view.filters] == [dict(f) for f in meta.filters]
            stored = numcodecs.get_codec(dict(meta.compressor)) if meta.compressor else None
            assert view.compressor == stored
            assert view.fill_value == meta.fill_value
            raw = view.dataset  # returned as is for object arrays of no other kind: answers the same
            _check(raw)
            assert (raw.compressor, raw.filters, raw.shards) == (view.compressor, view.filters, None)
