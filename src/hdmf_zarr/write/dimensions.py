"""Dimension names of the arrays of one group, consistent as xarray needs them (Zarr v3 ``dimension_names``).

Layer: write. Pure: works on the planned arrays, writes nothing.

xarray opens a group as one Dataset, in which a dimension name has one size. The spec's dimension labels
are not that: hdmf-common labels every column ``dim0``, so a table whose ragged column holds more
elements than the table has rows names two sizes ``dim0``. The rule, per group:

- an array keeps the spec's label of an axis when that label has one size across the group's arrays
  (and appears once in the array);
- every other axis gets a name unique to the array: ``<array>_<label>`` for a conflicting label,
  ``<array>_<label>_<i>`` for a label the array repeats, ``<array>_dim<i>`` where the spec declares none;
- scalars have no dimensions.

The ``_ARRAY_DIMENSIONS`` attribute keeps the spec's labels as hdmf-zarr writes them (docs/format.md).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from hdmf_zarr import paths


class _Array(Protocol):
    """What naming needs of one planned array: its path, shape and the spec's labels (or None)."""

    path: str
    shape: tuple[int, ...]
    dimension_names: tuple[str, ...] | None


_Stored = tuple[tuple[str, ...] | None, tuple[int, ...]]


def _labels(dims: Sequence[str] | None, shape: Sequence[int]) -> tuple[str, ...] | None:
    if not dims or len(dims) != len(shape):
        return None
    return tuple(str(d) for d in dims)


def conflicting_labels(arrays: Iterable[tuple[Sequence[str] | None, Sequence[int]]]) -> set[str]:
    """The labels that name more than one size among the (labels, shape) pairs of one group."""
    sizes: dict[str, set[int]] = defaultdict(set)
    for dims, shape in arrays:
        labels = _labels(dims, shape)
        for label, size in zip(labels or (), shape, strict=False):
            sizes[label].add(int(size))
    return {label for label, found in sizes.items() if len(found) > 1}


def names_for(
    name: str, dims: Sequence[str] | None, shape: Sequence[int], conflicting: set[str]
) -> tuple[str, ...]:
    """The dimension names of array *name*: spec labels where consistent, else names unique to it."""
    labels = _labels(dims, shape)
    if labels is None:
        return tuple(f"{name}_dim{i}" for i in range(len(shape)))
    repeated = {label for label, n in Counter(labels).items() if n > 1}
    return tuple(
        f"{name}_{label}_{i}" if label in repeated else (f"{name}_{label}" if label in conflicting else label)
        for i, label in enumerate(labels)
    )


def _stored_names(stored: Mapping[str, Any], planned: set[str]) -> dict[str, list[_Stored]]:
    """Per group, the (dimension_names, shape) of arrays already in the file (v3 arrays that have them)."""
    out: dict[str, list[_Stored]] = defaultdict(list)
    for path, meta in stored.items():
        names = getattr(meta, "dimension_names", None)
        if path in planned or not names or getattr(meta, "shape", None) is None:
            continue
        out[paths.parent(path)].append((tuple(str(n) for n in names), tuple(meta.shape)))
    return out


def assign(arrays: Sequence[_Array], stored: Mapping[str, Any] | None = None) -> None:
    """Set ``dimension_names`` of each planned array, group by group (spec labels in, xarray names out).

    *stored* (node path -> metadata of what the file already holds, when appending) takes part as it
    is: a new array keeps a label only when the arrays already in its group use that name with the
    same size (or not at all).
    """
    groups: dict[str, list[_Array]] = defaultdict(list)
    for arr in arrays:
        groups[paths.parent(arr.path)].append(arr)
    fixed = _stored_names(stored or {}, {a.path for a in arrays})
    for group, members in groups.items():
        pairs: list[_Stored] = [*fixed.get(group, []), *((a.dimension_names, a.shape) for a in members)]
        conflicting = conflicting_labels(pairs)
        for arr in members:
            if arr.shape:
                arr.dimension_names = names_for(
                    paths.basename(arr.path), arr.dimension_names, arr.shape, conflicting
                )
