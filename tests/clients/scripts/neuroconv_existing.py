"""neuroconv on a Zarr file that exists: read back in mode "r" and "a", get_default_backend_configuration
and get_existing_backend_configuration; append_on_disk_nwbfile; repack_nwbfile zarr->hdf5 and zarr->zarr.

Usage: neuroconv_existing.py ZARR_FILE OUT_DIR. ZARR_FILE is copied first (it is appended to). Prints one
JSON document of facts (each step's outcome or its error) for tests/interop/test_clients.py.
"""

import json
import shutil
import sys
import traceback
from pathlib import Path

import numpy as np
from neuroconv.tools.nwb_helpers import (
    get_default_backend_configuration,
    get_existing_backend_configuration,
    repack_nwbfile,
)
from neuroconv.tools.testing.mock_interfaces import MockTimeSeriesInterface
from pynwb import NWBHDF5IO

from hdmf_zarr import NWBZarrIO


def step(facts, name, fn):
    try:
        facts[name] = fn()
    except Exception as exc:  # a failing step is a fact to report, not the end of the run
        facts[name] = {"error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()[-3000:]}


def configurations(path, mode):
    with NWBZarrIO(str(path), mode=mode) as io:
        nwbfile = io.read()
        default = get_default_backend_configuration(nwbfile=nwbfile, backend="zarr")
        existing = get_existing_backend_configuration(nwbfile=nwbfile)
        series = nwbfile.acquisition["ElectricalSeries"].data
        return {
            "default": sorted(default.dataset_configurations),
            "existing": {
                loc: {"chunk_shape": list(c.chunk_shape), "compressors": list(map(str, c.compressors or []))}
                for loc, c in existing.dataset_configurations.items()
            },
            "stored_series_chunks": list(series.chunks),
        }


def append(path):
    series = MockTimeSeriesInterface(num_channels=2, sampling_frequency=10.0, duration=1.0, seed=1)
    metadata = series.get_metadata()
    metadata["TimeSeries"]["TimeSeries"]["name"] = "Appended"
    expected = np.random.default_rng(1).standard_normal(size=(10, 2)).astype("float32")  # as the mock does
    series.run_conversion(
        nwbfile_path=str(path), metadata=metadata, append_on_disk_nwbfile=True, backend="zarr"
    )
    with NWBZarrIO(str(path), mode="r") as io:
        nwbfile = io.read()
        return {
            "acquisition": sorted(nwbfile.acquisition),
            "appended_equal": bool(np.array_equal(nwbfile.acquisition["Appended"].data[:], expected)),
            "units": len(nwbfile.units),
        }


def traces(nwbfile):
    return np.asarray(nwbfile.acquisition["ElectricalSeries"].data[:])


def spike_times(nwbfile):
    return [[float(t) for t in unit] for unit in nwbfile.units["spike_times"][:]]


def repack(path, out, backend):
    target = out / ("repacked.nwb" if backend == "hdf5" else "repacked.nwb.zarr")
    repack_nwbfile(nwbfile_path=path, export_nwbfile_path=target, export_backend=backend)
    io_class = NWBHDF5IO if backend == "hdf5" else NWBZarrIO
    with NWBZarrIO(str(path), mode="r") as src, io_class(str(target), mode="r") as dst:
        a, b = src.read(), dst.read()
        return {
            "series_equal": bool(np.array_equal(traces(a), traces(b))),
            "spike_times_equal": spike_times(a) == spike_times(b),
            "acquisition": sorted(b.acquisition),
        }


def main(source, out):
    path = out / "existing.nwb.zarr"
    shutil.copytree(source, path)
    facts = {}
    for mode in ("r", "a"):
        step(facts, f"configurations_{mode}", lambda mode=mode: configurations(path, mode))
    step(facts, "append", lambda: append(path))
    step(facts, "repack_hdf5", lambda: repack(path, out, "hdf5"))
    step(facts, "repack_zarr", lambda: repack(path, out, "zarr"))
    print(json.dumps(facts))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
