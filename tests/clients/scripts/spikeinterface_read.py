"""spikeinterface reads a Zarr NWB file written by neuroconv through ours: the traces and the spike trains
equal what was written (OUT_DIR/expected.npz from neuroconv_write.py).

Usage: spikeinterface_read.py ZARR_FILE EXPECTED_NPZ. Prints one JSON document of facts.
"""

import json
import sys

import numpy as np
from spikeinterface.extractors import read_nwb_recording, read_nwb_sorting


def main(path, expected_npz):
    expected = np.load(expected_npz)
    recording = read_nwb_recording(path)
    sorting = read_nwb_sorting(path, electrical_series_path="acquisition/ElectricalSeries")
    units = sorted(k for k in expected.files if k.startswith("unit_"))
    trains = {f"unit_{u}": sorting.get_unit_spike_train(u, return_times=True) for u in sorting.get_unit_ids()}
    facts = {
        "traces_equal": bool(np.array_equal(recording.get_traces(), expected["traces"])),
        # neuroconv computes the written timestamps in its own float arithmetic (differences ~1e-15 s)
        "times_equal": bool(np.allclose(recording.get_times(), expected["times"], rtol=0, atol=1e-9)),
        "sampling_frequency": [recording.get_sampling_frequency(), float(expected["sampling_frequency"])],
        "units": [sorted(trains), units],
        "trains_equal": all(np.allclose(trains[u], expected[u]) for u in units if u in trains),
    }
    print(json.dumps(facts))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
