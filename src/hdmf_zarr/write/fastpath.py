"""Encode small single-chunk numeric arrays directly, for one bulk put instead of one zarr write each.

Layer: write. Files with thousands of small series spend most of their write time in zarr's per-array
machinery. For the default codec chain (``bytes`` little-endian, then Blosc) and an array that is one
chunk, the stored chunk is simply the Blosc-compressed little-endian bytes; this module produces exactly
that, and anything else goes through zarr. ``tests`` read such chunks back with plain zarr.
"""

from __future__ import annotations

from typing import Any

import numcodecs
import numpy as np
from zarr.codecs import BloscCodec, BytesCodec
from zarr.core.metadata import ArrayV2Metadata, ArrayV3Metadata

from hdmf_zarr import paths

_SHUFFLE = {
    "noshuffle": numcodecs.Blosc.NOSHUFFLE,
    "shuffle": numcodecs.Blosc.SHUFFLE,
    "bitshuffle": numcodecs.Blosc.BITSHUFFLE,
}
#: Only arrays up to this size take the fast path; larger ones are better served by zarr's pipeline.
MAX_BYTES = 1 << 20


def blosc_for(meta: ArrayV3Metadata) -> numcodecs.Blosc | None:
    """The numcodecs Blosc that encodes a chunk of *meta* to its stored bytes, or None for other chains."""
    codecs = meta.codecs
    if len(codecs) != 2 or not isinstance(codecs[0], BytesCodec) or not isinstance(codecs[1], BloscCodec):
        return None
    endian = codecs[0].endian
    if endian is not None and getattr(endian, "value", endian) != "little":
        return None
    blosc = codecs[1]
    shuffle = getattr(blosc.shuffle, "value", blosc.shuffle)
    cname = getattr(blosc.cname, "value", blosc.cname)
    if shuffle not in _SHUFFLE or blosc.blocksize not in (0, None):
        return None
    return numcodecs.Blosc(cname=str(cname), clevel=int(blosc.clevel), shuffle=_SHUFFLE[shuffle], blocksize=0)


def encode_single_chunk(
    path: str, data: np.ndarray, meta: ArrayV2Metadata | ArrayV3Metadata
) -> tuple[str, Any] | None:
    """Return (store key, chunk bytes) for *data* written as the only chunk of *meta*, or None."""
    if not isinstance(meta, ArrayV3Metadata) or data.ndim == 0 or data.size == 0:
        return None
    if data.dtype.kind not in "biuf" or data.nbytes > MAX_BYTES:
        return None
    grid = getattr(meta.chunk_grid, "chunk_shape", None)
    if grid is None or tuple(grid) != tuple(data.shape):
        return None
    codec = blosc_for(meta)
    if codec is None:
        return None
    little = np.ascontiguousarray(data, dtype=data.dtype.newbyteorder("<"))
    key = paths.to_zarr_key(path) + "/" + meta.encode_chunk_key((0,) * data.ndim)
    return key, codec.encode(little)
