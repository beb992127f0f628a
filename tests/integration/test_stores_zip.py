"""A file as a single zip: written in one pass and published atomically, readable by plain zarr and pynwb."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pynwb
import pytest
import zarr
from pynwb import TimeSeries

from content.cases import assert_equal, build
from hdmf_zarr import NWBZarrIO, ZarrDataIO


def test_zip_write_read_and_plain_zarr(tmp_path: Path) -> None:
    path = tmp_path / "session.nwb.zip"
    with NWBZarrIO(path, mode="w") as io:
        io.write(build("nwb_ecephys")[0])
    assert path.is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left behind
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    assert names.count("zarr.json") == 1  # one root document: no rewritten entries
    group = zarr.open_group(zarr.storage.ZipStore(path, mode="r"), mode="r")
    assert group.attrs["neurodata_type"] == "NWBFile"
    expected, _ = build("nwb_ecephys", expected=True)
    with NWBZarrIO(path, mode="r") as io:
        assert_equal(expected, io.read())
    assert pynwb.read_nwb(path).identifier == "interop-ecephys"


def test_zip_append_is_atomic_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "session.nwb.zip"
    with NWBZarrIO(path, mode="w") as io:
        io.write(build("nwb_ecephys")[0])
    with NWBZarrIO(path, mode="a") as io:
        nwb = io.read()
        nwb.add_acquisition(TimeSeries(name="added", data=np.arange(3.0), unit="u", rate=1.0))
        io.write(nwb)
    with NWBZarrIO(path, mode="r") as io:
        np.testing.assert_array_equal(io.read().acquisition["added"].data[:], np.arange(3.0))


def test_failed_write_leaves_the_existing_zip_untouched(tmp_path: Path) -> None:
    path = tmp_path / "session.nwb.zip"
    with NWBZarrIO(path, mode="w") as io:
        io.write(build("nwb_ecephys")[0])
    before = path.read_bytes()
    nwb = build("nwb_ecephys")[0]
    nwb.add_acquisition(TimeSeries(name="bad", data=np.array([object()], dtype=object), unit="u", rate=1.0))
    with pytest.raises(Exception), NWBZarrIO(path, mode="w", force_overwrite=True) as io:  # noqa: B017
        io.write(nwb)
    assert path.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_external_link_from_a_folder_into_a_zip(tmp_path: Path) -> None:
    zipped = tmp_path / "source.nwb.zip"
    with NWBZarrIO(zipped, mode="w") as io:
        io.write(build("nwb_ecephys")[0])
    with NWBZarrIO(zipped, mode="r") as src:
        data = src.read().acquisition["ts"].data
        nwb = build("nwb_ecephys")[0]
        nwb.add_acquisition(
            TimeSeries(name="linked_in_zip", data=ZarrDataIO(data, link_data=True), unit="m", rate=1.0)
        )
        with NWBZarrIO(tmp_path / "folder.nwb.zarr", mode="w") as io:
            io.write(nwb)
    with NWBZarrIO(tmp_path / "folder.nwb.zarr", mode="r") as io:
        np.testing.assert_array_equal(
            io.read().acquisition["linked_in_zip"].data[:], np.linspace(0.0, 1.0, 20)
        )
