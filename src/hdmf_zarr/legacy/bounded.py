"""Decompress legacy chunks within a byte budget, and check element counts before decoding them.

Layer: conventions (legacy). Pure functions over bytes. A compressor bomb (a small chunk that inflates
to gigabytes) or a header that claims billions of elements is refused before the memory is
allocated: stdlib decompressors are asked for at most the budget, and codecs that carry the decoded
size in a header (blosc, lz4, zstd, the vlen codecs) have it checked first.
"""

from __future__ import annotations

import bz2
import lzma
import struct
import zlib
from collections.abc import Mapping
from typing import Any, Final

import numcodecs

from hdmf_zarr import codecsize
from hdmf_zarr.codecsize import declared_size
from hdmf_zarr.errors import CorruptDataError, DecodeLimitError, FormatError

#: The most bytes one legacy object chunk may decompress to, whatever its element count; below it,
#: BYTES_PER_ITEM per element or MIN_CHUNK_BYTES in all, whichever is more (codecsize.py).
MAX_CHUNK_BYTES: Final = codecsize.MAX_VARIABLE_CHUNK_BYTES
BYTES_PER_ITEM: Final = codecsize.BYTES_PER_ITEM
MIN_CHUNK_BYTES: Final = codecsize.MIN_VARIABLE_CHUNK_BYTES
#: The most elements one legacy object chunk may hold (a chunk shape above it is refused).
MAX_CHUNK_ITEMS: Final = 2**24
#: What codecs raise on damaged input (numcodecs, zlib, bz2, lzma, struct); callers name the chunk.
DECODE_ERRORS: Final = (
    ValueError,
    TypeError,
    RuntimeError,
    IndexError,
    KeyError,
    OverflowError,
    EOFError,
    OSError,
    zlib.error,
    lzma.LZMAError,
    struct.error,
)


def byte_limit(items: int) -> int:
    """The most bytes a chunk of *items* elements may decompress to."""
    return codecsize.variable_size_limit(items)


def _too_large(size: int | str, limit: int, *, where: str) -> DecodeLimitError:
    return DecodeLimitError(
        f"A chunk of {where!r} would decompress to {size} bytes, over the {limit} bytes a legacy chunk of "
        f"its size may hold (hdmf_zarr.legacy.bounded: {BYTES_PER_ITEM} per element, at least "
        f"{MIN_CHUNK_BYTES}, at most {MAX_CHUNK_BYTES}); the file is damaged or was crafted. Decompression "
        "stopped at the limit."
    )


def _stream(decoder: Any, data: bytes, limit: int, *, where: str) -> bytes:
    out = bytes(decoder.decompress(data, limit + 1))
    if len(out) > limit:
        raise _too_large(f"more than {limit}", limit, where=where)
    return out


def decompress(spec: Mapping[str, Any], data: bytes, *, where: str, limit: int = MAX_CHUNK_BYTES) -> bytes:
    """Decode *data* with the compressor *spec*, refusing output beyond *limit* bytes."""
    codec_id = str(spec.get("id"))
    limit = min(limit, MAX_CHUNK_BYTES)
    if codec_id == "zlib":
        return _stream(zlib.decompressobj(), data, limit, where=where)
    if codec_id == "gzip":
        return _stream(zlib.decompressobj(wbits=31), data, limit, where=where)
    if codec_id == "bz2":
        return _stream(bz2.BZ2Decompressor(), data, limit, where=where)
    if codec_id == "lzma":
        form = int(spec.get("format", lzma.FORMAT_AUTO))
        filters = spec.get("filters") if form == lzma.FORMAT_RAW else None
        return _stream(lzma.LZMADecompressor(format=form, filters=filters), data, limit, where=where)
    if codec_id == "blosc" and (problem := codecsize.blosc_frame_problem(data[:16], len(data))) is not None:
        raise CorruptDataError(f"A blosc chunk of {where!r} {problem}; the file is damaged or was crafted.")
    declared = declared_size(codec_id, data)
    if declared is None and codec_id == "zstd":
        raise FormatError(
            f"A zstd chunk of {where!r} does not declare its decoded size (numcodecs always writes it); "
            "the file is damaged or was crafted."
        )
    if declared is not None and not 0 <= declared <= limit:
        raise _too_large(declared, limit, where=where)
    return bytes(numcodecs.get_codec(dict(spec)).decode(data))


def check_chunk_items(chunks: tuple[int, ...], *, where: str) -> int:
    """The element count of one chunk of shape *chunks*, refused above :data:`MAX_CHUNK_ITEMS`."""
    count = 1
    for n in chunks:
        if not isinstance(n, int) or n < 1:
            raise FormatError(
                f"Dataset {where!r} declares the chunk shape {list(chunks)}; sizes must be >= 1."
            )
        count *= n
    if count > MAX_CHUNK_ITEMS:
        raise DecodeLimitError(
            f"Dataset {where!r} declares chunks of {count} elements ({list(chunks)}), over the "
            f"{MAX_CHUNK_ITEMS} a legacy object chunk may hold (hdmf_zarr.legacy.bounded.MAX_CHUNK_ITEMS). "
            "Nothing was allocated."
        )
    return count


def check_vlen_count(data: bytes, expected: int, *, where: str) -> None:
    """Refuse a vlen-utf8/bytes/array chunk whose header claims another element count than its chunk."""
    if len(data) < 4:
        raise FormatError(f"A chunk of {where!r} is {len(data)} bytes long, too short for a vlen header.")
    count = struct.unpack_from("<I", data)[0]
    if count != expected:
        raise DecodeLimitError(
            f"A chunk of {where!r} claims {count} elements; its chunk shape holds {expected}. The file is "
            "damaged or was crafted; nothing was allocated."
        )
