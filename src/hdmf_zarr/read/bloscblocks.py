"""Decode only the blosc blocks that hold a wanted byte range of a chunk, straight into the result.

Layer: read. Used by read/direct.py for a chunk wanted in part whose wanted values are one run of bytes
(a range of rows of a chunk that spans the whole of every other axis, as a time slice of a recording
is). A blosc (1.x format) frame is a 16-byte header (format version 2, codec version, flags, type size,
decoded bytes, block size, frame bytes), then, unless the frame is stored uncompressed, one 32-bit start
offset per block, then the blocks, each decoded on its own (except with blosc's delta filter, where every
block refers to the first: such frames are not split). ``decode_range`` writes, in the caller's own copy
of the frame, a header and start table for a run of wanted blocks right before the first one's data (over
bytes of blocks already decoded or not wanted, so blocks are taken in the order they are stored), and
hands that smaller frame to blosc, with the part of the result the blocks fill as its output. A block
wanted in part is decoded into *scratch* and its wanted bytes copied. Blosc checks every block as it
does for the whole frame; ``parse`` refuses (None) any frame whose offsets do not describe disjoint
blocks inside it, and the caller then decodes the whole chunk as before.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hdmf_zarr.codecsize import BLOSC_HEADER_BYTES as HEADER_BYTES

FORMAT_VERSION = 2  # blosc 1.x frames
_MEMCPYED = 0x02  # the frame holds the decoded bytes as they are, after the header
_DELTA = 0x08  # blosc's delta filter: blocks depend on the first one
_HEADER = struct.Struct("<BBBBiii")


@dataclass(frozen=True, slots=True)
class Frame:
    """The layout of one blosc frame: block starts in block order, and where each block's data ends."""

    nbytes: int
    blocksize: int
    starts: tuple[int, ...]  # empty for a frame stored uncompressed
    ends: tuple[int, ...]

    @property
    def memcpyed(self) -> bool:
        return not self.starts

    def block_bytes(self, block: int) -> int:
        return min(self.blocksize, self.nbytes - block * self.blocksize)


def parse(frame: Any) -> Frame | None:
    """The layout of *frame* (a bytes-like blosc frame), or None if its blocks cannot be decoded apart."""
    view = memoryview(frame).cast("B")
    if len(view) < HEADER_BYTES:
        return None
    version, _, flags, typesize, nbytes, blocksize, cbytes = _HEADER.unpack_from(view)
    if version != FORMAT_VERSION or flags & _DELTA or typesize < 1 or nbytes < 1 or blocksize < 1:
        return None
    if not HEADER_BYTES <= cbytes <= len(view):
        return None
    if flags & _MEMCPYED:
        return Frame(nbytes, blocksize, (), ()) if cbytes >= HEADER_BYTES + nbytes else None
    count = -(-nbytes // blocksize)
    table_end = HEADER_BYTES + 4 * count
    if table_end > cbytes:
        return None
    starts = struct.unpack_from(f"<{count}i", view, HEADER_BYTES)
    ordered = sorted(starts)
    if ordered[0] < table_end or ordered[-1] >= cbytes or len(set(ordered)) != count:
        return None
    following = dict(zip(ordered, [*ordered[1:], cbytes], strict=True))
    return Frame(nbytes, blocksize, starts, tuple(following[s] for s in starts))


def decode_range(
    buffer: memoryview,
    frame: Frame,
    span: tuple[int, int],
    dest: memoryview,
    scratch: memoryview,
    decompress: Callable[[Any, Any], Any],
) -> bool:
    """Decode bytes *span* = [lo, hi) of the chunk in *buffer* (its writable copy, which this changes)
    into *dest* (hi - lo bytes); *scratch* (at least one block) holds a block wanted in part. False
    (nothing changed) if the blocks cannot be taken apart: the short last block alone is no frame blosc
    accepts (its block size would exceed its bytes)."""
    lo, hi = span
    if frame.memcpyed:
        dest[:] = buffer[HEADER_BYTES + lo : HEADER_BYTES + hi]
        return True
    bs = frame.blocksize
    runs = [
        (first, last, sum(map(frame.block_bytes, range(first, last + 1))))
        for first, last in _runs(frame, lo, hi)
    ]
    if any(nbytes < bs for _, _, nbytes in runs):
        return False
    head = bytes(buffer[:4])  # version, codec version, flags, type size: the same in every smaller frame
    for first, last, nbytes in runs:
        start = first * bs
        at = frame.starts[first] - HEADER_BYTES - 4 * (last - first + 1)
        end = frame.ends[last]
        _HEADER.pack_into(buffer, at, *head, nbytes, bs, end - at)
        table = [frame.starts[b] - at for b in range(first, last + 1)]
        struct.pack_into(f"<{len(table)}i", buffer, at + HEADER_BYTES, *table)
        whole = lo <= start and start + nbytes <= hi
        if whole:
            decompress(buffer[at:end], dest[start - lo : start + nbytes - lo])
        else:  # one block wanted in part
            decompress(buffer[at:end], scratch[:nbytes])
            a, b = max(lo, start), min(hi, start + nbytes)
            dest[a - lo : b - lo] = scratch[a - start : b - start]
    return True


def _runs(frame: Frame, lo: int, hi: int) -> list[tuple[int, int]]:
    """The wanted blocks as runs (first, last) to decode together, in the order their data is stored: a
    run is blocks wanted whole that follow each other both in the chunk and in the frame; a block wanted
    in part is a run of its own."""
    bs = frame.blocksize
    first, last = lo // bs, (hi - 1) // bs
    runs: list[tuple[int, int]] = []
    for block in range(first, last + 1):
        whole = lo <= block * bs and block * bs + frame.block_bytes(block) <= hi
        if runs and whole and _joins(frame, runs[-1], block, lo, hi):
            runs[-1] = (runs[-1][0], block)
        else:
            runs.append((block, block))
    return sorted(runs, key=lambda run: frame.starts[run[0]])


def _joins(frame: Frame, run: tuple[int, int], block: int, lo: int, hi: int) -> bool:
    """Whether *block* (wanted whole) extends *run*: the run is wanted whole and ends where it starts."""
    first, last = run
    bs = frame.blocksize
    return lo <= first * bs and last + 1 == block and frame.ends[last] == frame.starts[block]
