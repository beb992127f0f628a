"""h5settings: an h5py dataset's chunking, fill value and filters as Zarr options (real HDF5 files)."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
import zarr.codecs.numcodecs as zarr_numcodecs
from hdmf.backends.hdf5 import HDF5IO
from hdmf.common import DynamicTable, VectorData, get_manager

from hdmf_zarr import ZarrDataIO, ZarrIO
from hdmf_zarr.errors import HdmfZarrWarning
from hdmf_zarr.h5settings import h5_codecs, h5_fill_value, is_h5py_dataset


@pytest.fixture
def h5file(tmp_path: Path) -> h5py.File:
    with h5py.File(tmp_path / "f.h5", "w") as f:
        yield f


def test_gzip_and_shuffle_become_zlib_and_shuffle_in_hdf5_order(h5file: h5py.File) -> None:
    dset = h5file.create_dataset(
        "d", data=np.arange(100, dtype="i4"), compression="gzip", compression_opts=2, shuffle=True
    )
    shuffle, zlib = h5_codecs(dset)
    assert isinstance(shuffle, zarr_numcodecs.Shuffle)
    assert shuffle.codec_config["elementsize"] == 4
    assert isinstance(zlib, zarr_numcodecs.Zlib)
    assert zlib.codec_config["level"] == 2
    assert ZarrDataIO.hdf5_to_zarr_filters(dset) == [shuffle, zlib]


@pytest.mark.parametrize("options", [{"compression": "lzf"}, {"scaleoffset": 10}])
def test_filters_without_zarr_equivalent_are_dropped_with_a_warning(h5file: h5py.File, options: dict) -> None:
    dset = h5file.create_dataset("d", data=np.arange(10, dtype="i4"), **options)
    with pytest.warns(HdmfZarrWarning, match="'/d'.*not carried over"):
        assert h5_codecs(dset) == ()


def test_fill_value_and_type_check(h5file: h5py.File) -> None:
    text = h5file.create_dataset("t", data=[b"a", b"b"], fillvalue=b"None")
    numbers = h5file.create_dataset("n", data=np.arange(3), fillvalue=7)
    assert (h5_fill_value(text), h5_fill_value(numbers)) == ("None", 7)
    assert is_h5py_dataset(numbers)
    assert not is_h5py_dataset(np.arange(3))
    assert ZarrDataIO.is_h5py_dataset(numbers)


def test_from_h5py_dataset_carries_chunks_fill_and_codecs(h5file: h5py.File) -> None:
    dset = h5file.create_dataset(
        "d",
        data=np.arange(1000).reshape(10, 100),
        compression="gzip",
        shuffle=True,
        fillvalue=100,
        chunks=(5, 10),
    )
    wrapped = ZarrDataIO.from_h5py_dataset(dset)
    assert (wrapped.chunks, wrapped.fillvalue) == ((5, 10), 100)
    assert [type(c) for c in wrapped.io_settings["compressors"]] == [
        zarr_numcodecs.Shuffle,
        zarr_numcodecs.Zlib,
    ]
    assert "compressors" not in ZarrDataIO.from_h5py_dataset(dset, compressors=True).io_settings


def test_hdf5_export_keeps_chunking_and_compression(tmp_path: Path) -> None:
    from hdmf.backends.hdf5 import H5DataIO

    h5, out = tmp_path / "f.h5", tmp_path / "f.zarr"
    column = VectorData(
        name="v", description="v", data=H5DataIO(np.arange(100), chunks=(10,), compression="gzip")
    )
    with HDF5IO(h5, mode="w", manager=get_manager()) as io:
        io.write(DynamicTable(name="root", description="t", columns=[column]))
    with HDF5IO(h5, mode="r", manager=get_manager()) as src, ZarrIO(out, mode="w") as dst:
        dst.export(src_io=src)
    with ZarrIO(out, mode="r", manager=get_manager()) as io:
        array = io.read()["v"].data
        assert array.chunks == (10,)
        assert [type(c) for c in array.compressors] == [zarr_numcodecs.Zlib]
        assert array[:].tolist() == list(range(100))
