"""Zarr v3 ``dimension_names`` are consistent within each group, so xarray can open every group
(write/dimensions.py); the ``_ARRAY_DIMENSIONS`` attribute keeps the spec's labels, as the peer writes.
tests/interop/test_clients.py opens the groups with the real xarray."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import zarr
from pynwb.testing.mock.file import mock_NWBFile

from hdmf_zarr import NWBZarrIO
from hdmf_zarr import _format as fmt


def _arrays(group: zarr.Group) -> dict[str, zarr.Array]:
    return dict(group.arrays())


def _check_consistent(group: zarr.Group) -> None:
    sizes: dict[str, set[int]] = {}
    for name, arr in _arrays(group).items():
        dims = arr.metadata.dimension_names
        if arr.shape:
            assert dims is not None, f"{group.path}/{name} has no dimension_names"
            assert len(dims) == len(arr.shape)
            for dim, size in zip(dims, arr.shape, strict=True):
                sizes.setdefault(dim, set()).add(size)
    conflicts = {d: s for d, s in sizes.items() if len(s) > 1}
    assert not conflicts, f"{group.path}: {conflicts}"
    for _, sub in group.groups():
        _check_consistent(sub)


def test_units_with_more_spikes_than_units(tmp_path: Path) -> None:
    nwbfile = mock_NWBFile()
    nwbfile.add_unit_column(name="quality", description="sorter's label")  # hdmf-common: dims [dim0]
    nwbfile.add_unit(spike_times=np.arange(5) / 10.0, quality="good")
    nwbfile.add_unit(spike_times=np.arange(7) / 10.0, quality="mua")
    path = tmp_path / "units.nwb.zarr"
    with NWBZarrIO(path, mode="w") as io:
        io.write(nwbfile)
    root = zarr.open_group(path, mode="r")
    _check_consistent(root)
    units = _arrays(root["units"])  # type: ignore[arg-type]
    assert units["spike_times"].shape == (12,)
    assert units["spike_times"].metadata.dimension_names == ("spike_times_dim0",)
    assert units["spike_times"].attrs[fmt.DIMENSIONS_ATTR] == ["dim0"]  # the spec's label, as written before
    assert units["quality"].metadata.dimension_names == ("quality_dim0",)
    assert units["id"].metadata.dimension_names == ("num_rows",)
    with NWBZarrIO(path, mode="r") as io:
        read = io.read()
        assert [list(s) for s in read.units["spike_times"][:]] == [
            list(np.arange(5) / 10.0),
            list(np.arange(7) / 10.0),
        ]


def test_a_column_added_in_append_mode_is_named_against_the_stored_ones(tmp_path: Path) -> None:
    """The stored ``quality`` column keeps ``dim0`` (3 rows); a ragged column added later names its
    elements otherwise, since ``dim0`` already has a size in the group."""
    nwbfile = mock_NWBFile()
    nwbfile.add_trial_column(name="quality", description="q")
    for i in range(3):
        nwbfile.add_trial(start_time=float(i), stop_time=i + 0.5, quality=f"q{i}")
    path = tmp_path / "append.nwb.zarr"
    with NWBZarrIO(path, mode="w") as io:
        io.write(nwbfile)
    with NWBZarrIO(path, mode="a") as io:
        read = io.read()
        read.trials.add_column(name="tags2", description="ragged", data=list("abcde"), index=[2, 3, 5])
        io.write(read)
    root = zarr.open_group(path, mode="r")
    _check_consistent(root)
    trials_group = _arrays(root["intervals/trials"])  # type: ignore[arg-type]
    assert trials_group["quality"].metadata.dimension_names == ("dim0",)
    assert trials_group["tags2"].metadata.dimension_names == ("tags2_dim0",)
