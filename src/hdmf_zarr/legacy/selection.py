"""Turn an index into per-axis integer positions and the chunks they touch.

Layer: conventions (legacy). Pure functions: orthogonal (outer) indexing as h5py and zarr's ``oindex``
do it, with numpy's rules for integers, slices, Ellipsis, integer lists and boolean masks. Only the
chunks that hold a selected element are named, so a sparse selection never reads the chunks between.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True, slots=True)
class Axis:
    """One axis of a selection: which chunks it touches and where each selected element lands."""

    chunk_ids: np.ndarray  # sorted chunk numbers along this axis
    starts: np.ndarray  # start of each touched chunk inside the compact block
    lengths: np.ndarray  # length of each touched chunk (edge chunks are shorter)
    positions: np.ndarray  # for each selected element, its position inside the compact block
    squeeze: bool  # an integer index removes this axis from the result


def _one_axis(part: Any, size: int) -> tuple[np.ndarray, bool]:
    if isinstance(part, slice):
        return np.arange(size)[part], False
    if isinstance(part, int | np.integer) and not isinstance(part, bool):
        value = int(part) + size if int(part) < 0 else int(part)
        if not 0 <= value < size:
            raise IndexError(f"index {int(part)} is out of bounds for an axis of size {size}")
        return np.asarray([value]), True
    arr = np.asarray(part)
    if arr.dtype == bool:
        if arr.shape != (size,):
            raise IndexError(f"a boolean index of shape {arr.shape} does not match an axis of size {size}")
        return np.flatnonzero(arr), False
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
        raise IndexError(
            f"only integers, slices, Ellipsis and 1-D integer or boolean lists are valid: {part!r}"
        )
    arr = arr.astype(np.int64)
    arr = np.where(arr < 0, arr + size, arr)
    if arr.size and (arr.min() < 0 or arr.max() >= size):
        raise IndexError(f"index {part!r} is out of bounds for an axis of size {size}")
    return arr, False


def normalise_key(key: Any, shape: tuple[int, ...]) -> list[tuple[np.ndarray, bool]]:
    """Per axis: the selected positions and whether an integer removed the axis."""
    parts = list(key) if isinstance(key, tuple) else [key]
    ellipses = [i for i, p in enumerate(parts) if p is Ellipsis]
    if len(ellipses) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if ellipses:
        i = ellipses[0]
        parts[i : i + 1] = [slice(None)] * (len(shape) - len(parts) + 1)
    if len(parts) > len(shape):
        raise IndexError(f"too many indices for an array of shape {shape}: {key!r}")
    parts += [slice(None)] * (len(shape) - len(parts))
    return [_one_axis(part, size) for part, size in zip(parts, shape, strict=True)]


def plan_axis(index: np.ndarray, squeeze: bool, *, chunk: int, size: int) -> Axis:
    """Map selected *index* positions of one axis onto the touched chunks, packed end to end."""
    ids, where = np.unique(index // chunk, return_inverse=True)
    lengths = np.minimum(chunk, size - ids * chunk)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    positions = starts[where.reshape(-1)] + index % chunk
    return Axis(ids, starts, lengths, positions, squeeze)


def touched(axes: list[Axis]) -> Iterator[tuple[tuple[int, ...], tuple[slice, ...]]]:
    """Each touched chunk's grid coordinates and the region of the compact block it fills."""
    per_axis = [
        [
            (int(i), slice(int(s), int(s + n)))
            for i, s, n in zip(a.chunk_ids, a.starts, a.lengths, strict=True)
        ]
        for a in axes
    ]
    for combo in itertools.product(*per_axis):
        yield tuple(c for c, _ in combo), tuple(r for _, r in combo)
