"""An intracellular ephys file with the whole icephys metadata table hierarchy (recordings, simultaneous,
sequential, repetitions, experimental conditions) and every PatchClampSeries type, built deterministically."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime

import numpy as np
from pynwb import NWBFile
from pynwb.icephys import (
    CurrentClampSeries,
    CurrentClampStimulusSeries,
    IZeroClampSeries,
    VoltageClampSeries,
    VoltageClampStimulusSeries,
)

START = datetime(2024, 4, 2, 10, 0, tzinfo=UTC)


def icephys_nwbfile() -> NWBFile:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return _build()


def _build() -> NWBFile:
    nwb = NWBFile(
        session_description="icephys tables",
        identifier="icephys-1",
        session_start_time=START,
        file_create_date=[START],
    )
    device = nwb.create_device(name="amplifier", description="a patch amplifier")
    electrodes = [
        nwb.create_icephys_electrode(
            name=f"cell{i}", description=f"electrode {i}", device=device, filtering="1 kHz", location="CA1"
        )
        for i in range(2)
    ]
    rng = np.random.default_rng(7)
    recordings = []
    clamps = [  # (stimulus type, prefix, response type, prefix, the response's own fields)
        (
            CurrentClampStimulusSeries,
            "ccss",
            CurrentClampSeries,
            "ccs",
            {"bias_current": 1e-12, "bridge_balance": 70e6, "capacitance_compensation": 1e-12},
        ),
        (
            VoltageClampStimulusSeries,
            "vcss",
            VoltageClampSeries,
            "vcs",
            {
                "capacitance_fast": 1e-12,
                "capacitance_slow": 2e-12,
                "resistance_comp_bandwidth": 1.0,
                "resistance_comp_correction": 2.0,
                "resistance_comp_prediction": 3.0,
                "whole_cell_capacitance_comp": 4.0,
                "whole_cell_series_resistance_comp": 5.0,
            },
        ),
    ]
    for sweep in range(4):
        electrode = electrodes[sweep % 2]
        stimulus_type, stimulus_prefix, response_type, response_prefix, extra = clamps[sweep % 2]
        common = {"rate": 10000.0, "electrode": electrode, "gain": 0.02, "sweep_number": np.uint32(sweep)}
        stimulus = stimulus_type(name=f"{stimulus_prefix}_{sweep}", data=rng.normal(size=20), **common)
        response = response_type(
            name=f"{response_prefix}_{sweep}", data=rng.normal(size=20), **common, **extra
        )
        recordings.append(
            nwb.add_intracellular_recording(
                electrode=electrode,
                stimulus=stimulus,
                response=response,
                id=10 + sweep,
                stimulus_start_index=0,
                stimulus_index_count=20,
                response_start_index=2,
                response_index_count=18,
            )
        )
    izero = IZeroClampSeries(
        name="izero", data=rng.normal(size=10), rate=10000.0, electrode=electrodes[0], gain=0.02
    )
    recordings.append(nwb.add_intracellular_recording(electrode=electrodes[0], response=izero, id=20))
    nwb.intracellular_recordings.add_column(name="quality", description="per recording", data=[1.0] * 5)

    for rows in ([0, 1], [2, 3], [4]):
        nwb.add_icephys_simultaneous_recording(recordings=rows)
    nwb.add_icephys_sequential_recording(simultaneous_recordings=[0, 1], stimulus_type="square")
    nwb.add_icephys_sequential_recording(simultaneous_recordings=[2], stimulus_type="none")
    repetition = nwb.add_icephys_repetition(sequential_recordings=[0, 1])
    nwb.add_icephys_experimental_condition(repetitions=[repetition])
    nwb.icephys_experimental_conditions.add_column(
        name="tag", description="a condition label", data=["control"]
    )
    return nwb
