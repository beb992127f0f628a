"""neuroconv writes through ours: mock recording + sorting, run_conversion(backend="zarr", overwrite=True)
twice onto one path, an HDF5 twin, and a write configured with get_default_backend_configuration +
configure_backend with number_of_jobs=2 (and the same with 1 job, to compare).

Usage: neuroconv_write.py OUT_DIR. Prints one JSON document of facts; tests/interop/test_clients.py
asserts on them. Also leaves OUT_DIR/expected.npz: the traces and spike trains that were written.
"""

import json
import sys
from pathlib import Path

import numpy as np
import zarr
from neuroconv import ConverterPipe
from neuroconv.tools.nwb_helpers import configure_backend, get_default_backend_configuration
from neuroconv.tools.testing.mock_interfaces import MockRecordingInterface, MockSortingInterface

from hdmf_zarr import NWBZarrIO

DURATION = 0.5
#: Timestamps in the file: neuroconv configures ElectricalSeries/timestamps with compressors
#: ["shuffle", "gzip"] and passes them to ZarrDataIO as zarr 2 took them: filters=[Shuffle], compressor=GZip.
OPTIONS = {"recording": {"always_write_timestamps": True}}


def converter():
    recording = MockRecordingInterface(num_channels=4, durations=(DURATION,), seed=0)
    sorting = MockSortingInterface(num_units=3, durations=(DURATION,), seed=0)
    return ConverterPipe(data_interfaces={"recording": recording, "sorting": sorting})


def metadata(conv, description):
    md = conv.get_metadata()
    md["NWBFile"]["session_description"] = description
    return md


def array_at(root, location):
    """The array neuroconv's location names: its path ends with the location ("<table>/<column>/data"
    is the column's own array; electrodes live under general/extracellular_ephys)."""
    wanted = (location, location.rsplit("/", 1)[0])
    (found,) = [
        arr
        for path, arr in root.members(max_depth=None)
        if isinstance(arr, zarr.Array) and any(path == w or path.endswith("/" + w) for w in wanted)
    ]
    return found


def configured_write(conv, path, jobs):
    nwbfile = conv.create_nwbfile(metadata=metadata(conv, f"{jobs} jobs"), conversion_options=OPTIONS)
    config = get_default_backend_configuration(nwbfile=nwbfile, backend="zarr")
    config.number_of_jobs = jobs
    configure_backend(nwbfile=nwbfile, backend_configuration=config)
    with NWBZarrIO(str(path), mode="w") as io:
        # neuroconv's recording iterator cannot be pickled: forked workers inherit it instead.
        io.write(nwbfile, number_of_jobs=jobs, multiprocessing_context="fork" if jobs > 1 else None)
    root = zarr.open_group(str(path), mode="r")
    return {
        location: {
            "chunk_shape": list(dataset.chunk_shape),
            "compressors": [str(c) for c in (dataset.compressors or [])],
            "stored_chunks": list(array_at(root, location).chunks),
            "stored_compressors": [c.to_dict()["name"] for c in array_at(root, location).compressors],
        }
        for location, dataset in config.dataset_configurations.items()
    }


def stored(path):
    with NWBZarrIO(str(path), mode="r") as io:
        nwbfile = io.read()
        series = nwbfile.acquisition["ElectricalSeries"]
        return {
            "session_description": nwbfile.session_description,
            "data": np.asarray(series.data[:]).tolist(),
            "units": len(nwbfile.units),
        }


def main(out):
    conv = converter()
    path = out / "converted.nwb.zarr"
    first_md, second_md = metadata(conv, "first"), metadata(conv, "second")
    conv.run_conversion(
        nwbfile_path=str(path), metadata=first_md, backend="zarr", overwrite=True, conversion_options=OPTIONS
    )
    first = stored(path)
    conv.run_conversion(
        nwbfile_path=str(path), metadata=second_md, backend="zarr", overwrite=True, conversion_options=OPTIONS
    )
    second = stored(path)
    conv.run_conversion(
        nwbfile_path=str(out / "twin.nwb"),
        metadata=metadata(conv, "second"),
        backend="hdf5",
        overwrite=True,
        conversion_options=OPTIONS,
    )
    recording = conv.data_interface_objects["recording"].recording_extractor
    sorting = conv.data_interface_objects["sorting"].sorting_extractor
    np.savez(
        out / "expected.npz",
        traces=recording.get_traces(),
        sampling_frequency=recording.get_sampling_frequency(),
        times=recording.get_times(),
        **{f"unit_{u}": sorting.get_unit_spike_train(u, return_times=True) for u in sorting.get_unit_ids()},
    )
    config = {jobs: configured_write(conv, out / f"jobs{jobs}.nwb.zarr", jobs) for jobs in (1, 2)}
    facts = {
        "first": first["session_description"],
        "second": second["session_description"],
        "same_data_both_runs": first["data"] == second["data"],
        "units": second["units"],
        "config_jobs2": config[2],
        "jobs2_equals_jobs1": stored(out / "jobs1.nwb.zarr")["data"]
        == stored(out / "jobs2.nwb.zarr")["data"],
        "leftovers": sorted(p.name for p in out.iterdir()),
    }
    print(json.dumps(facts))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
