"""Dimension names are consistent within a group (write/dimensions.py): the law xarray relies on."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from hdmf_zarr.write import dimensions


@dataclass
class Planned:
    path: str
    shape: tuple[int, ...]
    dimension_names: tuple[str, ...] | None


LABELS = st.sampled_from(["dim0", "dim1", "num_rows", "num_times"])


@st.composite
def arrays(draw: st.DrawFn) -> Planned:
    group = draw(st.sampled_from(["/a", "/b"]))
    name = draw(st.sampled_from(["x", "y", "z", "w"]))
    shape = tuple(draw(st.lists(st.integers(1, 4), max_size=3)))
    dims = draw(st.none() | st.lists(LABELS, min_size=len(shape), max_size=len(shape)).map(tuple))
    return Planned(f"{group}/{name}", shape, dims)


def _unique_paths(items: list[Planned]) -> list[Planned]:
    return list({a.path: a for a in items}.values())


@given(st.lists(arrays(), max_size=8).map(_unique_paths))
def test_one_size_per_name_within_a_group(planned: list[Planned]) -> None:
    before = {a.path: a.dimension_names for a in planned}
    conflicting = {
        g: dimensions.conflicting_labels(
            (a.dimension_names, a.shape) for a in planned if a.path.startswith(g + "/")
        )
        for g in ("/a", "/b")
    }
    dimensions.assign(planned)
    for group in ("/a", "/b"):
        sizes: dict[str, set[int]] = {}
        for a in (a for a in planned if a.path.startswith(group + "/")):
            if not a.shape:
                continue
            assert a.dimension_names is not None
            assert len(a.dimension_names) == len(a.shape)
            assert len(set(a.dimension_names)) == len(a.shape)  # xarray wants distinct names per variable
            for name, size in zip(a.dimension_names, a.shape, strict=True):
                sizes.setdefault(name, set()).add(size)
            spec = before[a.path]
            if spec is not None and len(set(spec)) == len(spec):
                for label, got in zip(spec, a.dimension_names, strict=True):
                    # a spec label is kept exactly when it names one size in the group
                    assert (got == label) == (label not in conflicting[group])
        assert all(len(s) == 1 for s in sizes.values()), sizes


def test_a_table_with_a_ragged_column() -> None:
    """units: hdmf-common labels every column dim0; the ragged spike_times holds more elements than rows."""
    planned = [
        Planned("/units/id", (3,), ("num_rows",)),
        Planned("/units/unit_name", (3,), ("dim0",)),
        Planned("/units/spike_times", (40,), ("dim0",)),
        Planned("/units/spike_times_index", (3,), ("num_rows",)),
        Planned("/units/waveform_mean", (3, 82, 4), None),
        Planned("/units/description", (), None),
    ]
    dimensions.assign(planned)
    assert [a.dimension_names for a in planned] == [
        ("num_rows",),
        ("unit_name_dim0",),
        ("spike_times_dim0",),
        ("num_rows",),
        ("waveform_mean_dim0", "waveform_mean_dim1", "waveform_mean_dim2"),
        None,
    ]


@given(st.lists(arrays(), max_size=8).map(_unique_paths), st.lists(arrays(), max_size=6).map(_unique_paths))
def test_arrays_added_later_agree_with_the_stored_ones(first: list[Planned], later: list[Planned]) -> None:
    """Append: names of arrays already written never change; new ones are chosen against them."""
    later = [a for a in later if a.path not in {b.path for b in first}]
    dimensions.assign(first)
    stored_names = {a.path: a.dimension_names for a in first}
    dimensions.assign(later, stored={a.path: a for a in first})
    assert {a.path: a.dimension_names for a in first} == stored_names
    for group in ("/a", "/b"):
        sizes: dict[str, set[int]] = {}
        for a in (a for a in [*first, *later] if a.path.startswith(group + "/") and a.shape):
            assert a.dimension_names is not None
            for name, size in zip(a.dimension_names, a.shape, strict=True):
                sizes.setdefault(name, set()).add(size)
        assert all(len(s) == 1 for s in sizes.values()), sizes
