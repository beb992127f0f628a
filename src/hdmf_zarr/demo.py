"""The README's main job: write a realistic NWB file through NWBZarrIO, read it back, print a summary.

Layer: top (applications). Run ``python -m hdmf_zarr.demo [PATH]``; PATH may end in ``.zip``.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from pynwb import NWBFile, TimeSeries
from pynwb.behavior import Position
from pynwb.ecephys import ElectricalSeries
from pynwb.file import Subject

from hdmf_zarr.nwb import NWBZarrIO

RATE = 30_000.0
SECONDS = 10
CHANNELS = 32


def build_nwbfile(seed: int = 0) -> NWBFile:
    """Return an ecephys session: electrodes, a raw recording, units, trials and behaviour."""
    rng = np.random.default_rng(seed)
    nwb = NWBFile(
        session_description="hdmf_zarr demo session",
        identifier="hdmf-zarr-demo",
        session_start_time=datetime(2026, 1, 15, 9, 30, tzinfo=UTC),
        experimenter=["Doe, Jane"],
        lab="Demo Lab",
        institution="Demo Institute",
        subject=Subject(subject_id="mouse-01", species="Mus musculus", sex="F", age="P90D"),
    )
    device = nwb.create_device(name="probe", description="a 32-channel silicon probe")
    group = nwb.create_electrode_group("shank0", description="shank 0", location="CA1", device=device)
    for ch in range(CHANNELS):
        nwb.add_electrode(group=group, location="CA1", x=0.0, y=float(ch) * 20.0, z=0.0)
    region = nwb.create_electrode_table_region(list(range(CHANNELS)), "all channels")
    raw = (rng.standard_normal((int(RATE * SECONDS), CHANNELS)) * 50).astype(np.int16)
    nwb.add_acquisition(ElectricalSeries(name="raw", data=raw, electrodes=region, rate=RATE, conversion=1e-6))
    for unit in range(20):
        spikes = np.sort(rng.uniform(0, SECONDS, size=int(rng.integers(50, 300))))
        nwb.add_unit(spike_times=spikes, electrodes=[unit % CHANNELS], obs_intervals=[[0.0, float(SECONDS)]])
    nwb.add_trial_column("outcome", "what the animal did")
    for trial in range(10):
        nwb.add_trial(start_time=float(trial), stop_time=trial + 0.8, outcome="hit" if trial % 3 else "miss")
    behavior = nwb.create_processing_module("behavior", "position tracking")
    position = Position(name="position")
    position.create_spatial_series(
        name="xy",
        data=rng.uniform(0, 1, (SECONDS * 60, 2)),
        reference_frame="arena corner",
        timestamps=np.arange(SECONDS * 60) / 60.0,
    )
    behavior.add(position)
    speed = TimeSeries(
        name="speed",
        data=rng.uniform(0, 30, SECONDS * 60),
        unit="cm/s",
        timestamps=position.spatial_series["xy"],
    )  # timestamps linked, not copied
    behavior.add(speed)
    return nwb


def _disk_usage(path: Path) -> tuple[int, int]:
    if path.is_file():
        return 1, path.stat().st_size
    files = [p for p in path.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def summarise(nwb: NWBFile) -> list[str]:
    """Return a readable summary of an NWB file read back from Zarr."""
    raw = nwb.acquisition["raw"]
    one_second = raw.data[: int(RATE)]
    lines = [
        f"identifier: {nwb.identifier}   session start: {nwb.session_start_time.isoformat()}",
        f"subject: {nwb.subject.subject_id} ({nwb.subject.species})   lab: {nwb.lab}",
        f"electrodes: {len(nwb.electrodes)} rows, columns {list(nwb.electrodes.colnames)}",
        f"raw: {type(raw).__name__} {raw.data.shape} {raw.data.dtype} @ {raw.rate} Hz,"
        f" chunks {raw.data.chunks}",
        f"     first second: mean {np.mean(one_second):.2f}, std {np.std(one_second):.2f}",
        f"units: {len(nwb.units)} with {len(nwb.units['spike_times'].target)} spikes",
        f"trials: {len(nwb.trials)}; outcomes {sorted(set(nwb.trials['outcome'][:]))}",
    ]
    speed = nwb.processing["behavior"]["speed"]
    xy = nwb.processing["behavior"]["position"].spatial_series["xy"]
    linked = speed.fields["timestamps"] is xy  # the link resolves to the very same series
    lines.append(f"behavior: speed {speed.data.shape} with timestamps linked to position/xy: {linked}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "path", nargs="?", default="demo_output/demo.nwb.zarr", help="where to write (.zip ok)"
    )
    args = parser.parse_args(argv)
    path = Path(args.path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nwb = build_nwbfile()
    start = time.perf_counter()
    with NWBZarrIO(os.fspath(path), mode="w", force_overwrite=True) as io:
        io.write(nwb)
    written = time.perf_counter() - start
    files, size = _disk_usage(path)
    print(f"wrote {path} in {written:.2f} s: {files} files, {size / 2**20:.1f} MiB on disk")
    start = time.perf_counter()
    with NWBZarrIO(os.fspath(path), mode="r") as io:
        back = io.read()
        opened = time.perf_counter() - start
        print(f"opened and read() in {opened:.2f} s; summary:")
        for line in summarise(back):
            print("  " + line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
