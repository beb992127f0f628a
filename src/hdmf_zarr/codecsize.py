"""The decoded size a compressed frame declares in its header (blosc, lz4, zstd), read before decoding.

Layer: store back-ends (bottom, beside ``confine``). Pure functions over the first bytes of a frame;
callers compare the declared size with what the chunk's shape and dtype allow before any codec
allocates it (docs/format.md#store-keys).
"""

from __future__ import annotations

import struct
import zlib
from typing import Any, Final

_ZSTD_MAGIC: Final = 0xFD2FB528
#: The most bytes a chunk of variable-size elements (text, bytes, objects) may decode to...
MAX_VARIABLE_CHUNK_BYTES: Final = 256 * 2**20
#: ...below that, this many bytes per element...
BYTES_PER_ITEM: Final = 4096
#: ...or this many in all, whichever is more (a cached spec document is one long element).
MIN_VARIABLE_CHUNK_BYTES: Final = 16 * 2**20


def variable_size_limit(items: int) -> int:
    """The most bytes a chunk of *items* variable-size elements may decode to."""
    return min(MAX_VARIABLE_CHUNK_BYTES, max(MIN_VARIABLE_CHUNK_BYTES, BYTES_PER_ITEM * items))


def zstd_content_size(data: bytes) -> int | None:
    """The decoded size a zstd frame declares (None when it is not a zstd frame or does not say)."""
    if len(data) < 5 or struct.unpack_from("<I", data)[0] != _ZSTD_MAGIC:
        return None
    fhd = data[4]
    single, fcs_flag, dict_flag = (fhd >> 5) & 1, fhd >> 6, fhd & 3
    offset = 5 + (0 if single else 1) + (0, 1, 2, 4)[dict_flag]
    size = (1 if single else 0, 2, 4, 8)[fcs_flag]
    if size == 0 or len(data) < offset + size:
        return None
    value = int.from_bytes(data[offset : offset + size], "little")
    return value + 256 if size == 2 else value


def declared_size(codec_id: str, data: bytes) -> int | None:
    """The decoded size the header of a *codec_id* frame declares, when that codec has one."""
    if codec_id == "blosc":  # header: version, versionlz, flags, typesize, then nbytes as uint32
        return int(struct.unpack_from("<I", data, 4)[0]) if len(data) >= 16 else None
    if codec_id == "lz4":  # numcodecs' LZ4 prefixes the decoded size
        return int(struct.unpack_from("<i", data)[0]) if len(data) >= 4 else None
    if codec_id == "zstd":
        return zstd_content_size(data)
    return None


#: Bytes of a blosc (1.x) frame's header; its last field is the frame's own length (``cbytes``).
BLOSC_HEADER_BYTES: Final = 16


def blosc_frame_problem(head: bytes, stored: int) -> str | None:
    """What is wrong with a blosc frame of *stored* bytes whose first bytes are *head*, or None.

    c-blosc reads as many bytes as the header's ``cbytes`` says (numcodecs does not pass it the
    buffer's length), so a frame claiming more than it holds would be read past its end.
    """
    if stored < BLOSC_HEADER_BYTES or len(head) < BLOSC_HEADER_BYTES:
        return f"holds {stored} bytes, fewer than the {BLOSC_HEADER_BYTES} of a blosc header"
    cbytes = int(struct.unpack_from("<I", head, 12)[0])
    if cbytes > stored:
        return f"declares {cbytes} stored bytes but holds {stored}"
    return None


def inflate_gzip(data: Any, limit: int) -> bytes | None:
    """The bytes of the gzip stream *data* (one member or several, as gzip reads them), or None as soon
    as they would exceed *limit* (nothing more is inflated). A damaged stream raises ``zlib.error`` or
    ``EOFError``."""
    out = bytearray()
    rest = memoryview(data).cast("B")
    while len(rest):
        member = zlib.decompressobj(wbits=31)
        out += member.decompress(rest, limit + 1 - len(out))
        if len(out) > limit or member.unconsumed_tail:
            return None
        if not member.eof:
            raise EOFError("a gzip chunk ends before its stream does: it is truncated")
        rest = memoryview(member.unused_data.lstrip(b"\0"))  # gzip also skips zero padding between members
    return bytes(out)
