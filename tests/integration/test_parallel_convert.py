"""Conversions whose arrays are copied by worker processes (``--jobs``) or a Dask cluster (``--scheduler``).

The workers re-open the source (HDF5 through h5py, or Zarr) and write their regions straight into the
destination: a folder they share, or S3 (moto on 127.0.0.1). Each result equals a serial conversion.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from pynwb import NWBHDF5IO, NWBFile, TimeSeries
from pynwb.testing.mock.ecephys import mock_ElectricalSeries

from hdmf_zarr import NWBZarrIO, progress
from hdmf_zarr.cli import main
from hdmf_zarr.conversion import convert
from hdmf_zarr.errors import ParallelWriteError
from support.iterators import RecordingIterator, reader_pids
from support.servers import S3Server

distributed = pytest.importorskip("dask.distributed")
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("s3")]  # one cluster and one S3 server per worker

ROWS = 240_000


@pytest.fixture(scope="module")
def hdf5_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("src") / "session.nwb"
    nwb = NWBFile("parallel conversion", "conv-1", datetime(2024, 1, 1, tzinfo=UTC))
    rng = np.random.default_rng(11)
    data = rng.integers(-3000, 3000, (ROWS, 8)).astype("int16")
    mock_ElectricalSeries(name="es", data=data, nwbfile=nwb)
    nwb.add_acquisition(TimeSeries(name="ts", data=rng.standard_normal(50_000), unit="u", rate=10.0))
    with NWBHDF5IO(path, mode="w") as io:
        io.write(nwb)
    return path


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


def _arrays(path: Any, **kwargs: Any) -> dict[str, np.ndarray]:
    with NWBZarrIO(path, mode="r", **kwargs) as io:
        nwb = io.read()
        return {
            "es": np.asarray(nwb.acquisition["es"].data[:]),
            "ts": np.asarray(nwb.acquisition["ts"].data[:]),
            "ts_chunks": np.asarray(nwb.acquisition["ts"].data.chunks),
        }


def _assert_same(left: dict[str, np.ndarray], right: dict[str, np.ndarray]) -> None:
    assert left.keys() == right.keys()
    for key in left:
        np.testing.assert_array_equal(left[key], right[key])


def _chunk_files(folder: Path) -> dict[str, bytes]:
    base = folder / "acquisition"
    return {p.relative_to(base).as_posix(): p.read_bytes() for p in base.rglob("c/*") if p.is_file()}


def test_dask_cluster_writes_a_folder_equal_to_the_serial_conversion(
    tmp_path: Path, hdf5_file: Path, client: Any
) -> None:
    convert(hdf5_file, tmp_path / "serial.nwb.zarr")
    with distributed.get_task_stream(client) as stream:
        convert(hdf5_file, tmp_path / "cluster.nwb.zarr", client=client)
    copies = [t for t in stream.data if t["key"].startswith("_run_one")]
    assert len({t["worker"] for t in copies}) == 2  # both worker processes copied regions
    with h5py.File(hdf5_file, "r") as f:
        expected = f["acquisition/es/data"][:]
    cluster = _arrays(tmp_path / "cluster.nwb.zarr")
    np.testing.assert_array_equal(cluster["es"], expected)
    _assert_same(cluster, _arrays(tmp_path / "serial.nwb.zarr"))
    assert _chunk_files(tmp_path / "cluster.nwb.zarr") == _chunk_files(tmp_path / "serial.nwb.zarr")


def test_dask_cluster_writes_to_s3(s3: S3Server, tmp_path: Path, hdf5_file: Path, client: Any) -> None:
    url = f"s3://{s3.bucket}/cluster/session.nwb.zarr"
    options = s3.storage_options()
    convert(hdf5_file, url, client=client, storage_options=options)
    convert(hdf5_file, tmp_path / "serial.nwb.zarr")
    _assert_same(_arrays(url, storage_options=options), _arrays(tmp_path / "serial.nwb.zarr"))


def test_zarr_source_on_the_cluster(tmp_path: Path, hdf5_file: Path, client: Any) -> None:
    convert(hdf5_file, tmp_path / "v3.nwb.zarr")
    convert(tmp_path / "v3.nwb.zarr", tmp_path / "v2.nwb.zarr", zarr_format=2, client=client)
    _assert_same(_arrays(tmp_path / "v2.nwb.zarr"), _arrays(tmp_path / "v3.nwb.zarr"))


def test_cli_jobs_and_scheduler(tmp_path: Path, hdf5_file: Path, client: Any) -> None:
    convert(hdf5_file, tmp_path / "serial.nwb.zarr")
    assert main(["convert", str(hdf5_file), str(tmp_path / "jobs.nwb.zarr"), "--jobs", "2"]) == 0
    address = client.scheduler.address
    assert main(["convert", str(hdf5_file), str(tmp_path / "sched.nwb.zarr"), "--scheduler", address]) == 0
    serial = _chunk_files(tmp_path / "serial.nwb.zarr")
    assert _chunk_files(tmp_path / "jobs.nwb.zarr") == serial
    assert _chunk_files(tmp_path / "sched.nwb.zarr") == serial


def test_cli_errors_are_one_line(tmp_path: Path, hdf5_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["convert", str(hdf5_file), str(tmp_path / "x.nwb"), "--to-hdf5", "--jobs", "2"]) == 2
    assert "an HDF5 file is written by one process" in capsys.readouterr().err
    assert main(["convert", str(hdf5_file), str(tmp_path / "y.nwb.zarr"), "--jobs", "0"]) == 2
    assert "number_of_jobs must be an integer >= 1" in capsys.readouterr().err
    with pytest.raises(ParallelWriteError, match="HDF5"):
        convert(hdf5_file, tmp_path / "z.nwb", to_hdf5=True, number_of_jobs=2)


def test_iterator_write_on_the_cluster(tmp_path: Path, client: Any) -> None:
    data = np.random.default_rng(5).integers(-99, 99, (80_000, 8)).astype("int16")
    np.save(tmp_path / "src.npy", data)
    log = tmp_path / "log"
    log.mkdir()
    it = RecordingIterator(
        str(tmp_path / "src.npy"), str(log), buffer_shape=(10_000, 8), chunk_shape=(5_000, 8)
    )
    nwb = NWBFile("cluster iterator", "cluster-it", datetime(2024, 1, 1, tzinfo=UTC))
    nwb.add_acquisition(TimeSeries(name="x", data=it, unit="u", rate=1.0))
    tally = progress.Tally()
    with progress.activate(tally), NWBZarrIO(tmp_path / "it.nwb.zarr", mode="w") as io:
        io.write(nwb, client=client)
    assert tally.nbytes == data.nbytes  # each task's bytes, counted as it finished on the cluster
    workers = set(client.run(os.getpid).values())
    assert reader_pids(log)
    assert reader_pids(log) <= workers  # every buffer was read and written on the cluster
    with NWBZarrIO(tmp_path / "it.nwb.zarr", mode="r") as io:
        np.testing.assert_array_equal(io.read().acquisition["x"].data[:], data)


def test_progress_counts_the_bytes_the_workers_copy(tmp_path: Path, hdf5_file: Path) -> None:
    counted = []
    for jobs in (1, 2):
        tally = progress.Tally()
        with progress.activate(tally):
            convert(hdf5_file, tmp_path / f"p{jobs}.nwb.zarr", number_of_jobs=jobs)
        counted.append(tally.nbytes)
    assert counted[0] == counted[1] >= ROWS * 8 * 2  # the int16 ElectricalSeries at least
