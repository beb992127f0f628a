"""Write the object arrays of the Zarr v2 dialect that hdmf-zarr 0.13 reads, which zarr-python 3 cannot.

Layer: conventions (legacy). References are written with numcodecs' JSON codec (0.13 reads it without
pickle). Compounds whose fields hold references or text have no other encoding 0.13 can read, so
their chunks are pickled, from plain values only (tuples, str, numbers and dicts); that is what 0.13
itself writes. Nothing here reads pickles.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from typing import Any, Final

import numcodecs
import numpy as np

from hdmf_zarr import paths
from hdmf_zarr.legacy.v2 import LegacyArrayMeta, legacy_meta

#: The compressor hdmf-zarr 0.13 used by default, and ours for the v2 dialect.
V2_COMPRESSOR: Final = numcodecs.Blosc(cname="lz4", clevel=5, shuffle=numcodecs.Blosc.SHUFFLE)
JSON_CODEC: Final = numcodecs.JSON()
PICKLE_CODEC: Final = numcodecs.Pickle(protocol=5)


def object_array_meta(
    shape: Sequence[int],
    chunks: Sequence[int],
    *,
    dtype: str | list[list[str]],
    codec: numcodecs.abc.Codec,
    attributes: dict[str, Any],
) -> LegacyArrayMeta:
    """Describe a v2 object array (``dtype`` "|O" or a structured list with "|O" fields)."""
    zarray = {
        "chunks": [max(1, int(c)) for c in chunks],
        "compressor": V2_COMPRESSOR.get_config(),
        "dtype": dtype,
        "fill_value": None,
        "filters": [codec.get_config()],
        "order": "C",
        "shape": [int(s) for s in shape],
        "zarr_format": 2,
    }
    return legacy_meta(zarray, attributes)


def _chunk_grid(shape: Sequence[int], chunks: Sequence[int]) -> Iterator[tuple[int, ...]]:
    return itertools.product(
        *(range(math.ceil(s / c)) if s else range(0) for s, c in zip(shape, chunks, strict=True))
    )


def encode_chunks(path: str, meta: LegacyArrayMeta, values: np.ndarray) -> list[tuple[str, bytes]]:
    """Return ``(store key, bytes)`` for every chunk of *values* (edge chunks padded to full size)."""
    codec = numcodecs.get_codec(dict(meta.filters[0]))
    prefix = paths.to_zarr_key(path)
    out: list[tuple[str, bytes]] = []
    for coords in _chunk_grid(meta.shape, meta.chunks):
        region = tuple(
            slice(i * c, min((i + 1) * c, s)) for i, c, s in zip(coords, meta.chunks, meta.shape, strict=True)
        )
        block = np.empty(meta.chunks, dtype=values.dtype)
        if values.dtype.kind == "O":
            block[...] = None
        part = values[region]
        block[tuple(slice(0, n) for n in part.shape)] = part
        encoded = V2_COMPRESSOR.encode(codec.encode(block))
        name = ".".join(str(c) for c in coords) or "0"
        out.append((f"{prefix}/{name}" if prefix else name, bytes(encoded)))
    return out
