"""Storage settings of a stored dataset, as zarr 2 and h5py code asks for them.

Layer: read. Pure: reads array metadata only, never chunks.

Clients written against zarr 2 ask every dataset the reader returns for ``.compressor`` (one numcodecs
codec, or None): nwbinspector's compression checks and neuroconv's
``get_existing_backend_configuration`` among them. zarr 3 answers ``.compressor`` for v2 arrays only
(with a deprecation warning) and raises for v3 arrays; the text, reference and compound views are no zarr
arrays, and they wrap either zarr arrays or legacy v2 object arrays (which answer for themselves,
see legacy/v2.py). The functions here answer ``.chunks``, ``.shards``,
``.compressors``, ``.filters``, ``.fill_value`` and ``.compressor`` for each of them
(see read/lazy.py, which exposes them as properties).
"""

from __future__ import annotations

from typing import Any

from hdmf_zarr.dataio import as_numcodecs
from hdmf_zarr.errors import UnsupportedValueError


def chunks(raw: Any) -> tuple[int, ...]:
    """The shape of one chunk (of one inner chunk when the array is sharded)."""
    return tuple(raw.chunks)


def shards(raw: Any) -> tuple[int, ...] | None:
    """The shape of one shard, or None when the array is not sharded (always for v2 arrays)."""
    found: tuple[int, ...] | None = raw.shards
    return found


def compressors(raw: Any) -> tuple[Any, ...]:
    """The bytes-to-bytes codecs (zarr 3 codecs for v3 arrays, numcodecs codecs for v2 arrays)."""
    return tuple(raw.compressors)


def filters(raw: Any) -> tuple[Any, ...]:
    """The array-to-array codecs (for legacy object arrays, the object codec too, as zarr 2 said)."""
    return tuple(raw.filters)


def fill_value(raw: Any) -> Any:
    """The value of elements never written."""
    return raw.fill_value


def compressor(raw: Any) -> Any:
    """zarr 2's ``Array.compressor``: the compressor as a numcodecs codec, or None without compression.

    With one compressor (every array written without explicit codecs) that is the one. With several,
    e.g. ``(shuffle, gzip)``, zarr 2 stored the leading ones as filters and the last as its single
    compressor, so the last is returned. A zarr 3 codec that numcodecs has no equivalent of
    (e.g. ``crc32c``) is returned as stored.
    """
    found = compressors(raw)
    if not found:
        return None
    try:
        return as_numcodecs(found[-1])
    except UnsupportedValueError:
        return found[-1]
