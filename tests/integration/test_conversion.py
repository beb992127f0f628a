"""HDF5 <-> Zarr and dialect conversion, through the library and the ``hdmf-zarr`` command."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from pynwb import NWBHDF5IO, NWBFile, TimeSeries
from pynwb.testing.mock.ecephys import mock_ElectricalSeries

import hdmf_zarr
from hdmf_zarr import NWBZarrIO
from hdmf_zarr.cli import main


def _nwbfile() -> NWBFile:
    nwb = NWBFile("conversion", "conv-1", datetime(2024, 1, 1, tzinfo=UTC))
    mock_ElectricalSeries(nwbfile=nwb)
    ts = TimeSeries(name="ts", data=np.arange(10.0), unit="m", rate=1.0)
    nwb.add_acquisition(ts)
    nwb.add_acquisition(TimeSeries(name="linked", data=ts, unit="m", timestamps=np.arange(10.0)))
    nwb.add_epoch(0.0, 1.0, ["a"], [ts])
    return nwb


@pytest.fixture
def hdf5_file(tmp_path: Path) -> Path:
    path = tmp_path / "src.nwb"
    with NWBHDF5IO(path, "w") as io:
        io.write(_nwbfile())
    return path


def _check(nwb: NWBFile) -> None:
    np.testing.assert_array_equal(nwb.acquisition["linked"].data[:], np.arange(10.0))
    assert nwb.acquisition["linked"].fields["data"] is nwb.acquisition["ts"]  # the link survived
    assert nwb.epochs[0, "timeseries"][0].timeseries.name == "ts"
    assert list(nwb.electrodes["location"][:]) == ["CA1"] * len(nwb.electrodes)


def test_hdf5_to_zarr_to_hdf5(tmp_path: Path, hdf5_file: Path) -> None:
    zarr_path = tmp_path / "out.nwb.zarr"
    hdmf_zarr.convert(hdf5_file, zarr_path)
    with NWBZarrIO(zarr_path, "r") as io:
        _check(io.read())
    back = tmp_path / "back.nwb"
    hdmf_zarr.convert(zarr_path, back, to_hdf5=True)
    with NWBHDF5IO(back, "r") as io:
        _check(io.read())


def test_convert_refuses_to_replace_without_force(tmp_path: Path, hdf5_file: Path) -> None:
    zarr_path = tmp_path / "out.nwb.zarr"
    hdmf_zarr.convert(hdf5_file, zarr_path)
    before = sorted(p.name for p in zarr_path.rglob("*"))
    with pytest.raises(FileExistsError, match="Nothing was deleted"):
        hdmf_zarr.convert(hdf5_file, zarr_path)
    assert sorted(p.name for p in zarr_path.rglob("*")) == before
    hdmf_zarr.convert(hdf5_file, zarr_path, force_overwrite=True)


def test_cli_convert_info_validate(
    tmp_path: Path, hdf5_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    zarr_path = tmp_path / "cli.nwb.zarr"
    assert main(["convert", str(hdf5_file), str(zarr_path)]) == 0
    assert main(["info", str(zarr_path)]) == 0
    out = capsys.readouterr().out
    assert "Zarr v3" in out
    assert "/acquisition/ts/data" in out
    assert main(["validate", str(zarr_path)]) == 0
    assert "0 validation error(s)" in capsys.readouterr().out
    assert main(["info", str(tmp_path / "missing.zarr")]) == 2
    assert "No Zarr store" in capsys.readouterr().err
