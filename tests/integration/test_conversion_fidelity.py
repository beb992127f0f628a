"""Conversion keeps what the source holds: its namespaces, its objects as stored, its layout."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import h5py
import numpy as np
import pynwb
import pytest
import zarr
from pynwb import NWBFile, TimeSeries
from pynwb.device import Device, DeviceModel

import hdmf_zarr
from hdmf_zarr import NWBZarrIO
from hdmf_zarr.cli import main
from hdmf_zarr.read.lazy import CastArray
from hdmf_zarr.testing.builders import assert_builders_equal
from hdmf_zarr.transfer.specs import hdf5_documents, zarr_documents

BACK_COMPAT = Path(__file__).parents[1] / "data" / "pynwb_back_compat"
OLD_FILES = sorted(BACK_COMPAT.glob("*.nwb"))


def _cached(path: Path) -> dict[tuple[str, str], dict[str, object]]:
    """The specification cache of an HDF5 or Zarr file, documents parsed from JSON."""
    if h5py.is_hdf5(path):
        with h5py.File(path, "r") as h5:
            docs = hdf5_documents(h5)
    else:
        with NWBZarrIO(path, "r") as io:  # opens v2 files whose object arrays plain zarr refuses
            docs = zarr_documents(io.file)
    return {key: {name: json.loads(text) for name, text in group.items()} for key, group in docs.items()}


def _validate(path: Path) -> list[str]:
    """Validation against the namespaces cached in the file (pynwb's default)."""
    return sorted(str(e) for e in pynwb.validate(path=str(path)))


@pytest.mark.parametrize("source", OLD_FILES, ids=lambda p: p.stem)
def test_old_pynwb_files_keep_their_namespaces_both_ways(
    tmp_path: Path, source: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    as_zarr = tmp_path / f"{source.stem}.nwb.zarr"
    hdmf_zarr.convert(source, as_zarr)
    assert _cached(as_zarr) == _cached(source)  # every namespace and version, nothing installed added
    assert _validate(as_zarr) == _validate(source)
    back = tmp_path / f"{source.stem}.nwb"
    hdmf_zarr.convert(as_zarr, back, to_hdf5=True)
    assert _cached(back) == _cached(source)
    assert _validate(back) == _validate(source)
    with NWBZarrIO(as_zarr, "r") as io:
        assert io.file.attrs["nwb_version"] == h5py.File(source, "r").attrs["nwb_version"]
    assert main(["info", str(as_zarr)]) == 0
    listed = ", ".join(f"{ns} {v}" for ns, v in sorted(_cached(source))) or "none"
    assert f"cached namespaces: {listed}\n" in capsys.readouterr().out


def test_zarr_to_hdf5_adds_no_schema_defaults(tmp_path: Path) -> None:
    source = BACK_COMPAT / "2.2.0_subject_no_age__reference.nwb"
    as_zarr, back = tmp_path / "s.nwb.zarr", tmp_path / "s.nwb"
    hdmf_zarr.convert(source, as_zarr)
    hdmf_zarr.convert(as_zarr, back, to_hdf5=True)
    with h5py.File(source, "r") as before, h5py.File(back, "r") as after:
        assert "reference" not in before["general/subject/age"].attrs
        assert dict(after["general/subject/age"].attrs) == {}


def test_upgrade_rebuilds_with_the_installed_schema(tmp_path: Path) -> None:
    source = BACK_COMPAT / "1.1.2_nwbfile.nwb"
    out = tmp_path / "up.nwb.zarr"
    hdmf_zarr.convert(source, out, upgrade=True)
    installed = pynwb.get_manager().namespace_catalog.get_namespace("core").version
    assert ("core", str(installed)) in _cached(out)


def _rich_file(path: Path) -> None:
    """A file with what the HDF5 rebuild used to trip on: a linked DeviceModel, index columns."""
    nwb = NWBFile("rich", "rich-1", datetime(2024, 1, 1, tzinfo=UTC), experimenter=["A"])
    model = DeviceModel(name="m1", manufacturer="acme", model_number="X")
    nwb.add_device_model(model)
    nwb.add_device(Device(name="probe", model=model))
    for i in range(3):
        nwb.add_unit(spike_times=np.arange(i + 2, dtype=float))
    data = np.arange(4000, dtype=np.int32).reshape(1000, 4)
    nwb.add_acquisition(TimeSeries(name="ts", data=data, unit="m", rate=1.0))
    with NWBZarrIO(path, "w") as io:
        io.write(nwb)


def test_zarr_hdf5_zarr_round_trip_is_equal(tmp_path: Path) -> None:
    first, middle, last = tmp_path / "a.nwb.zarr", tmp_path / "b.nwb", tmp_path / "c.nwb.zarr"
    _rich_file(first)
    hdmf_zarr.convert(first, middle, to_hdf5=True)
    hdmf_zarr.convert(middle, last)
    with NWBZarrIO(first, "r") as a, NWBZarrIO(last, "r") as c:
        assert_builders_equal(a.read_builder(), c.read_builder())
        assert c.read().devices["probe"].model.name == "m1"
    with h5py.File(middle, "r") as h5:
        assert h5["acquisition/ts/data"].chunks == zarr.open_array(first / "acquisition/ts/data").chunks
    assert _cached(first) == _cached(middle) == _cached(last)


def test_upgrade_to_hdf5_casts_lazy_arrays(tmp_path: Path) -> None:
    first = tmp_path / "a.nwb.zarr"
    _rich_file(first)
    hdmf_zarr.convert(first, tmp_path / "up.nwb", to_hdf5=True, upgrade=True)
    with pynwb.NWBHDF5IO(tmp_path / "up.nwb", "r") as io:
        nwb = io.read()
        assert list(nwb.units["spike_times"][2]) == [0.0, 1.0, 2.0, 3.0]
        assert nwb.devices["probe"].model.name == "m1"


def test_numeric_array_astype_is_a_lazy_cast(tmp_path: Path) -> None:
    first = tmp_path / "a.nwb.zarr"
    _rich_file(first)
    with NWBZarrIO(first, "r") as io:
        data = io.read().acquisition["ts"].data
        cast = data.astype("float32")
        assert isinstance(cast, CastArray)
        assert cast.dtype == np.float32
        assert cast.shape == data.shape
        np.testing.assert_array_equal(cast[10:12], data[10:12].astype("float32"))
        assert isinstance(cast[3, 1], np.float32)


GOLDEN = sorted((Path(__file__).parents[1] / "format").glob("*/*.zarr"))


@pytest.mark.parametrize("source", GOLDEN, ids=lambda p: f"{p.parent.name}-{p.stem}")
def test_peer_written_files_go_to_hdf5_and_back_equal(tmp_path: Path, source: Path) -> None:
    """Files of hdmf-zarr 0.13 (Zarr v2, pickled references) and 0.14 convert to HDF5 and back."""
    as_hdf5, back = tmp_path / "g.nwb", tmp_path / "g.nwb.zarr"
    hdmf_zarr.convert(source, as_hdf5, to_hdf5=True)
    hdmf_zarr.convert(as_hdf5, back)
    with NWBZarrIO(source, "r") as a, NWBZarrIO(back, "r") as b:
        assert_builders_equal(a.read_builder(), b.read_builder())
    assert _cached(as_hdf5) == _cached(source) == _cached(back)
