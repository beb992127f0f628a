"""A Dask cluster writes a local destination (a Zarr folder, or the staging folder a ``.zip`` is assembled
in) only when every worker sees that folder. A real worker that cannot see it runs in its own mount
namespace (``unshare``: a tmpfs over the destination's folder, as on another machine); it reads the source
(shared), and the write fails clearly before any data is sent, leaving nothing at the destination."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zarr
from pynwb import NWBHDF5IO, NWBFile, TimeSeries
from zarr.storage import LocalStore

import hdmf_zarr
from hdmf_zarr import NWBZarrIO, ZarrDataIO
from hdmf_zarr import _format as fmt
from hdmf_zarr.conversion import convert
from hdmf_zarr.errors import ParallelWriteError
from hdmf_zarr.parallel import ParallelOptions, SourceRef, region_tasks, run_tasks, target_for
from hdmf_zarr.workerpaths import WitnessedTarget, probe_reads, unseen, workers_see

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("dask.distributed")
pytestmark = pytest.mark.slow

SRC = str(Path(hdmf_zarr.__file__).parents[1])


def _nwbfile(data: Any = None) -> NWBFile:
    nwb = NWBFile("cluster paths", "paths-1", datetime(2024, 1, 1, tzinfo=UTC))
    if data is None:
        data = np.arange(400_000, dtype=np.int32).reshape(100_000, 4)
    nwb.add_acquisition(TimeSeries(name="ts", data=data, unit="V", rate=1.0))
    return nwb


@pytest.fixture
def hdf5_source(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    path = tmp_path / "src" / "session.nwb"
    with NWBHDF5IO(path, "w") as io:
        io.write(_nwbfile())
    return path


def _can_unshare() -> bool:
    if shutil.which("unshare") is None or sys.platform != "linux":
        return False
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True, check=False)
    return probe.returncode == 0


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    path = tmp_path / "out"
    path.mkdir()
    return path


def _start_worker(scheduler: str, blind_to: Path | None = None) -> subprocess.Popen[str]:
    """A worker process joining *scheduler*; with *blind_to*, it sees an empty tmpfs where that folder is
    (its own mount namespace, as on another machine)."""
    worker = [sys.executable, "-m", "distributed.cli.dask_worker", scheduler, "--nthreads", "1", "--no-nanny"]
    if blind_to is None:
        args = worker
    else:
        script = 'mount -t tmpfs none "$1" && shift && exec "$@"'
        args = ["unshare", "-rm", "sh", "-c", script, "sh", str(blind_to), *worker]
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _stop(worker: subprocess.Popen[str]) -> None:
    worker.terminate()
    worker.communicate(timeout=60)


@pytest.fixture
def client_with_blind_worker(out_dir: Path) -> Iterator[Any]:
    """A scheduler here and one worker process that sees an empty tmpfs where *out_dir* is."""
    if not _can_unshare():
        pytest.skip("needs unprivileged mount namespaces (unshare -rm) to run a worker blind to a folder")
    with (
        distributed.LocalCluster(n_workers=0, dashboard_address=None, host="127.0.0.1") as cluster,
        distributed.Client(cluster) as client,
    ):
        worker = _start_worker(cluster.scheduler_address, blind_to=out_dir)
        try:
            client.wait_for_workers(1, timeout=120)
            yield client
        finally:
            _stop(worker)


@pytest.mark.parametrize("name", ["out.nwb.zarr.zip", "out.nwb.zarr"])
def test_a_cluster_that_cannot_see_the_destination_folder_is_refused(
    hdf5_source: Path, out_dir: Path, client_with_blind_worker: Any, name: str
) -> None:
    with pytest.raises(
        ParallelWriteError, match=r"cannot see the folder.*nothing was sent to them"
    ) as raised:
        convert(hdf5_source, out_dir / name, client=client_with_blind_worker)
    worker = next(iter(client_with_blind_worker.scheduler_info()["workers"]))
    assert worker in str(raised.value)
    assert sorted(os.listdir(out_dir)) == []  # no file, no staging folder, no probe


def test_a_dask_array_on_a_cluster_that_cannot_see_the_destination_is_refused(
    out_dir: Path, client_with_blind_worker: Any
) -> None:
    source = da.arange(200_000, chunks=50_000, dtype="i4")
    nwb = _nwbfile(ZarrDataIO(source, chunks=(25_000,)))
    with (
        pytest.raises(ParallelWriteError, match="cannot see the folder"),
        NWBZarrIO(out_dir / "d.zarr", "w") as io,
    ):
        io.write(nwb)
    assert sorted(os.listdir(out_dir)) == []


def test_a_zip_written_by_a_cluster_that_shares_the_folder_is_complete(
    hdf5_source: Path, tmp_path: Path
) -> None:
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        convert(hdf5_source, tmp_path / "cluster.nwb.zarr.zip", client=client)
    with NWBZarrIO(tmp_path / "cluster.nwb.zarr.zip", "r") as io:
        np.testing.assert_array_equal(io.read().acquisition["ts"].data[:], _nwbfile().acquisition["ts"].data)
    with zipfile.ZipFile(tmp_path / "cluster.nwb.zarr.zip") as archive:
        assert not [n for n in archive.namelist() if fmt.WORKER_PROBE_PREFIX in n]
    assert sorted(os.listdir(tmp_path)) == ["cluster.nwb.zarr.zip", "src"]


def test_probe_reads_and_unseen(tmp_path: Path) -> None:
    seen, other = tmp_path / "seen", tmp_path / "other"
    seen.write_text("token-1")
    other.write_text("token-2")  # the same path on another machine holds another file
    assert probe_reads([(str(seen), "token-1"), (str(other), "token-1"), (str(tmp_path / "gone"), "t")]) == [
        True,
        False,
        False,
    ]
    roots = [Path("/a"), Path("/b")]
    assert unseen({"tcp://w1": [True, True], "tcp://w2": [True, False]}, roots) == {"tcp://w2": [Path("/b")]}


def _wait_for_workers(client: Any, count: int) -> None:
    deadline = time.monotonic() + 120
    while len(client.scheduler_info()["workers"]) != count:
        assert time.monotonic() < deadline, f"the scheduler never had {count} workers"
        time.sleep(0.1)


def test_a_worker_that_joins_after_the_check_and_cannot_see_the_folder_writes_nothing(
    hdf5_source: Path, out_dir: Path
) -> None:
    """The probe stays while the tasks run and each task checks it: a worker that joined the cluster after
    the check (here, the only one left) stops before it writes, for worker tasks and dask arrays alike."""
    if not _can_unshare():
        pytest.skip("needs unprivileged mount namespaces (unshare -rm) to run a worker blind to a folder")
    store = LocalStore(out_dir / "arr")
    array = zarr.create_array(store, shape=(100_000, 4), chunks=(10_000, 4), dtype="i4")
    target = target_for(store, array.async_array, "acquisition/ts/data")
    source = SourceRef("hdf5", str(hdf5_source), "/acquisition/ts/data")
    with (
        distributed.LocalCluster(n_workers=0, dashboard_address=None, host="127.0.0.1") as cluster,
        distributed.Client(cluster) as client,
    ):
        seeing = _start_worker(cluster.scheduler_address)
        try:
            client.wait_for_workers(1, timeout=120)
            with workers_see(client, [out_dir / "arr"]) as witnesses:  # the one worker sees the folder
                _stop(seeing)
                _wait_for_workers(client, 0)
                blind = _start_worker(cluster.scheduler_address, blind_to=out_dir)
                try:
                    _wait_for_workers(client, 1)
                    late = next(iter(client.scheduler_info()["workers"]))
                    witness = witnesses[out_dir / "arr"]
                    tasks = region_tasks(
                        source, dataclasses.replace(target, witness=witness), array.async_array
                    )
                    with pytest.raises(ParallelWriteError, match="joined the cluster after") as raised:
                        run_tasks(tasks, ParallelOptions(client=client))
                    assert late in str(raised.value)
                    assert str(out_dir / "arr") in str(raised.value)
                    ones = da.ones((100_000, 4), chunks=(10_000, 4), dtype="i4")
                    with pytest.raises(ParallelWriteError, match="joined the cluster after"):
                        da.store(ones, WitnessedTarget(array, witness), lock=False, compute=True)
                finally:
                    _stop(blind)
        finally:
            if seeing.poll() is None:
                _stop(seeing)
    assert sorted(os.listdir(out_dir / "arr")) == ["zarr.json"]  # no chunk, and the probe is gone
