"""nwbinspector on a Zarr file and on its HDF5 twin: the same messages, and no check crashes.

Usage: inspect_twins.py ZARR_FILE HDF5_FILE OUT_DIR. Runs ``inspect_nwbfile`` on both paths, then the
two compression checks directly with no size floor on every container of both files, and on a small
uncompressed pair written here (so "is not compressed" must be said of both). Prints one JSON document.
"""

import json
import sys
from pathlib import Path

import numpy as np
from nwbinspector import inspect_nwbfile
from nwbinspector.checks import check_large_dataset_compression, check_small_dataset_compression
from pynwb import NWBHDF5IO, TimeSeries
from pynwb.testing.mock.file import mock_NWBFile

from hdmf_zarr import NWBZarrIO, ZarrDataIO

#: The compression checks with no size floor, so that they look at every dataset of a small file.
FLOORS = (
    (check_small_dataset_compression, {"mb_lower_bound": 0.0}),
    (check_large_dataset_compression, {"gb_lower_bound": 0.0}),
)


def messages(path):
    out = [
        {
            "check": m.check_function_name,
            "importance": m.importance.name,
            "severity": m.severity.name,
            "object_type": m.object_type,
            "object_name": m.object_name,
            "location": m.location,
            "message": m.message,
        }
        for m in inspect_nwbfile(nwbfile_path=str(path))
    ]
    return sorted(out, key=json.dumps)


def compression(path, io_class):
    found = []
    with io_class(str(path), mode="r") as io:
        nwbfile = io.read()
        for obj in nwbfile.all_children():
            for check, floor in FLOORS:
                result = check(obj, **floor)
                if result is not None:
                    found.append([check.__name__, obj.name, result.message])
    return sorted(found)


def uncompressed_pair(out):
    data = np.arange(1000, dtype="f8").reshape(500, 2)
    paths = {}
    for name, io_class, wrapped in (
        ("plain.nwb.zarr", NWBZarrIO, ZarrDataIO(data, compressors=[])),
        ("plain.nwb", NWBHDF5IO, data),
    ):
        nwbfile = mock_NWBFile()
        nwbfile.add_acquisition(TimeSeries(name="raw", data=wrapped, unit="V", rate=10.0))
        with io_class(str(out / name), mode="w") as io:
            io.write(nwbfile)
        paths[name] = (out / name, io_class)
    return paths


def main(zarr_file, hdf5_file, out):
    pair = uncompressed_pair(out)
    facts = {
        "zarr": messages(zarr_file),
        "hdf5": messages(hdf5_file),
        "compression_zarr": compression(zarr_file, NWBZarrIO),
        "compression_hdf5": compression(hdf5_file, NWBHDF5IO),
        "uncompressed_zarr": compression(*pair["plain.nwb.zarr"]),
        "uncompressed_hdf5": compression(*pair["plain.nwb"]),
    }
    print(json.dumps(facts))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
