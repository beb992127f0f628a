"""Dask arrays are written by dask's scheduler, here a real LocalCluster with worker processes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("dask.distributed")

from pynwb import NWBFile, TimeSeries  # noqa: E402

from hdmf_zarr import NWBZarrIO, ZarrDataIO  # noqa: E402


@pytest.mark.slow
def test_dask_array_written_by_local_cluster(tmp_path: Path) -> None:
    source = da.random.default_rng(7).standard_normal((120_000, 8), chunks=(25_000, 8)).astype("f4")
    expected = source.compute()
    nwb = NWBFile("dask write", "dask-1", datetime(2024, 1, 1, tzinfo=UTC))
    nwb.add_acquisition(TimeSeries(name="x", data=ZarrDataIO(source, chunks=(10_000, 8)), unit="u", rate=1.0))
    path = tmp_path / "dask.nwb.zarr"
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        with NWBZarrIO(path, mode="w") as io:
            io.write(nwb)
        # Every worker process took part: the chunks were not all written by this process.
        assert len(client.scheduler_info()["workers"]) == 2
    with NWBZarrIO(path, mode="r") as io:
        data = io.read().acquisition["x"].data
        assert data.chunks == (10_000, 8)
        np.testing.assert_array_equal(data[:], expected)
