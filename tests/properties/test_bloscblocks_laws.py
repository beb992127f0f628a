"""read/bloscblocks: decoding only the blocks of a blosc frame that hold bytes [lo, hi) gives exactly
those bytes of the whole frame's decoding, for any codec, shuffle, type size, block size and block order
(blosc stores blocks out of order when it compresses on several threads) and for frames stored
uncompressed; a frame whose header or offsets do not describe disjoint blocks inside it is refused;
damaged block data fails in blosc as the whole frame would, never outside the frame."""

from __future__ import annotations

import functools
import random
import struct
from pathlib import Path

import numcodecs.blosc
import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from hdmf_zarr.read import bloscblocks
from support.recordings import recording

CNAMES = [b"lz4", b"zstd", b"blosclz", b"zlib"]


#: (type size, elements, values, codec, level, shuffle, threads): blosc picks blocks of 16-256 KiB for
#: these, so frames hold one to a dozen blocks, often with a shorter last block, stored out of order when
#: compressed on several threads, or the values as they are (level 0, or noise that does not compress).
CONFIGS = [
    (typesize, count, kind, cname, clevel, shuffle, threads)
    for typesize, count in [(1, 70_001), (2, 100_003), (4, 40_000), (8, 45_000), (2, 3)]
    for kind in ["noise", "ramp"]
    for cname, clevel in [(b"lz4", 1), (b"zstd", 1), (b"blosclz", 5), (b"zlib", 3), (b"lz4", 0)]
    for shuffle, threads in [(1, 1), (2, 4), (0, 2)]
]
random.Random(0).shuffle(CONFIGS)  # hypothesis favours the first ones: make them varied


@functools.cache
def _frame(config: tuple[int, int, str, bytes, int, int, int]) -> tuple[bytes, bytes]:
    """(decoded bytes, blosc frame) of one of CONFIGS."""
    typesize, count, kind, cname, clevel, shuffle, threads = config
    rng = np.random.default_rng(count)
    if kind == "noise":  # a recording's noise: the low bytes do not compress, the high ones do
        values = (rng.standard_normal(count) * 50).astype(f"i{typesize}").view(np.uint8)
    else:
        values = (np.arange(count * typesize) // 7 % 251).astype(np.uint8)
    saved = numcodecs.blosc.get_nthreads()
    numcodecs.blosc.set_nthreads(threads)
    try:  # the type size through a numpy dtype: blosc takes it from the buffer's item size
        frame = numcodecs.blosc.compress(values.view(f"u{typesize}"), cname, clevel, shuffle, 0)
    finally:
        numcodecs.blosc.set_nthreads(saved)
    return values.tobytes(), bytes(frame)


def _reordered(frame: bytes, order: list[int]) -> bytes:
    """*frame* with its blocks stored in *order* (as blosc stores them when threads finish out of turn)."""
    nbytes, blocksize, cbytes = struct.unpack_from("<iii", frame, 4)
    count = -(-nbytes // blocksize)
    starts = struct.unpack_from(f"<{count}i", frame, 16)
    ends = dict(zip(sorted(starts), [*sorted(starts)[1:], cbytes], strict=True))
    body, table = bytearray(), [0] * count
    for block in order:
        table[block] = 16 + 4 * count + len(body)
        body += frame[starts[block] : ends[starts[block]]]
    return frame[:16] + struct.pack(f"<{count}i", *table) + bytes(body)


@st.composite
def frames(draw: st.DrawFn) -> tuple[bytes, bytes]:
    decoded, frame = _frame(draw(st.sampled_from(CONFIGS)))
    layout = bloscblocks.parse(frame)
    assert layout is not None
    if not layout.memcpyed and draw(st.booleans()):
        frame = _reordered(frame, draw(st.permutations(range(len(layout.starts)))))
        assert numcodecs.blosc.decompress(frame) == decoded  # still a frame blosc reads whole
    return decoded, frame


@settings(max_examples=150, deadline=None)
@given(sample=frames(), data=st.data())
def test_decoding_a_range_equals_decoding_the_frame(sample: tuple[bytes, bytes], data: st.DataObject) -> None:
    decoded, frame = sample
    layout = bloscblocks.parse(frame)
    assert layout is not None
    assert layout.nbytes == len(decoded)
    lo = data.draw(st.integers(0, len(decoded) - 1))
    hi = data.draw(st.integers(lo + 1, len(decoded)))
    buffer = memoryview(bytearray(frame))  # the caller's own copy: decode_range writes in it
    dest = bytearray(hi - lo)
    scratch = bytearray(layout.blocksize)
    done = bloscblocks.decode_range(
        buffer, layout, (lo, hi), memoryview(dest), memoryview(scratch), numcodecs.blosc.decompress
    )
    blocks = 0 if layout.memcpyed else len(layout.starts)
    ordered = layout.starts == tuple(sorted(layout.starts))
    event(f"blocks: {'uncompressed' if not blocks else min(blocks, 3)}; in order: {ordered}; done: {done}")
    if done:
        assert bytes(dest) == decoded[lo:hi]
    else:  # the short last block alone: refused before anything was changed
        assert layout.nbytes % layout.blocksize
        assert hi > layout.nbytes - layout.nbytes % layout.blocksize
        assert bytes(buffer) == frame


def _with_header(frame: bytes, **fields: int) -> bytes:
    names = ["version", "versionlz", "flags", "typesize", "nbytes", "blocksize", "cbytes"]
    values = dict(zip(names, struct.unpack_from("<BBBBiii", frame), strict=True))
    values.update(fields)
    return struct.pack("<BBBBiii", *(values[n] for n in names)) + frame[16:]


def _sample() -> tuple[bytes, bytes, int]:
    """(decoded bytes, frame, number of blocks): three blocks of 32 KiB, the last one shorter."""
    data = (np.arange(40_000, dtype=np.uint16) % 300).tobytes()
    frame = bytes(numcodecs.blosc.compress(np.frombuffer(data, np.uint16), b"zstd", 1, 1, 0))
    nbytes, blocksize = struct.unpack_from("<ii", frame, 4)
    assert -(-nbytes // blocksize) == 3
    return data, frame, 3


@pytest.mark.parametrize("threads", [1, 4])
@pytest.mark.parametrize(
    "span", [(576 * 128, 8192 * 128), (0, 6000 * 128), (1, 2), (262_144, 524_288), (100, 1_048_576)]
)
def test_a_recording_chunk_decodes_in_part(threads: int, span: tuple[int, int]) -> None:
    """The benchmark's chunk (8192 x 64 int16 noise, lz4 + shuffle: four 256 KiB blocks, stored out of
    order when compressed on several threads) and the byte ranges of a one-second slice's edge chunks."""
    values = (np.random.default_rng(0).standard_normal((8192, 64)) * 50).astype(np.int16)
    saved = numcodecs.blosc.get_nthreads()
    numcodecs.blosc.set_nthreads(threads)
    try:
        frame = bytes(numcodecs.blosc.compress(values, b"lz4", 5, 1, 0))
    finally:
        numcodecs.blosc.set_nthreads(saved)
    layout = bloscblocks.parse(frame)
    assert layout is not None
    assert layout.nbytes // layout.blocksize == 4
    lo, hi = span
    dest, scratch = bytearray(hi - lo), bytearray(layout.blocksize)
    done = bloscblocks.decode_range(
        memoryview(bytearray(frame)),
        layout,
        span,
        memoryview(dest),
        memoryview(scratch),
        numcodecs.blosc.decompress,
    )
    assert done
    assert bytes(dest) == values.tobytes()[lo:hi]


@pytest.mark.parametrize(
    "change",
    [
        {"version": 3},
        {"flags": 0x21 | 0x08},  # delta: every block refers to the first
        {"typesize": 0},
        {"nbytes": 0},
        {"blocksize": 0},
        {"cbytes": 10},
        {"cbytes": 10**9},
        {"nbytes": 10**8},  # a start table longer than the frame
    ],
)
def test_frames_that_do_not_describe_their_blocks_are_refused(change: dict[str, int]) -> None:
    _, frame, _ = _sample()
    assert bloscblocks.parse(frame) is not None
    assert bloscblocks.parse(_with_header(frame, **change)) is None


@pytest.mark.parametrize("which", ["before the table", "past the end", "twice"])
def test_block_offsets_outside_the_frame_or_shared_are_refused(which: str) -> None:
    _, frame, count = _sample()
    starts = list(struct.unpack_from(f"<{count}i", frame, 16))
    if which == "before the table":
        starts[2] = 20
    elif which == "past the end":
        starts[2] = len(frame)
    else:
        starts[2] = starts[1]
    bad = frame[:16] + struct.pack(f"<{count}i", *starts) + frame[16 + 4 * count :]
    assert bloscblocks.parse(bad) is None
    assert bloscblocks.parse(frame[:15]) is None


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_damaged_block_data_fails_or_decodes_within_the_frame(data: st.DataObject) -> None:
    """Bytes of the blocks changed at random: blosc either raises or decodes something; the process
    survives (blosc reads only inside the smaller frame it is given, as inside the whole one)."""
    decoded, frame, count = _sample()
    damaged = bytearray(frame)
    for _ in range(data.draw(st.integers(1, 20))):
        damaged[data.draw(st.integers(16 + 4 * count, len(frame) - 1))] = data.draw(st.integers(0, 255))
    layout = bloscblocks.parse(bytes(damaged))
    assert layout is not None  # header and offsets untouched
    lo = data.draw(st.integers(0, len(decoded) - 1))
    hi = data.draw(st.integers(lo + 1, len(decoded)))
    dest, scratch = bytearray(hi - lo), bytearray(layout.blocksize)
    try:
        bloscblocks.decode_range(
            memoryview(damaged),
            layout,
            (lo, hi),
            memoryview(dest),
            memoryview(scratch),
            numcodecs.blosc.decompress,
        )
    except RuntimeError:
        pass  # numcodecs: "error during blosc decompression"


@pytest.mark.parametrize(
    "rows", [(8000, 8100), (8000, 9000), (100, 8191), (8191, 16_382), (16_300, 20_000), (3, 19_999)]
)
def test_row_ranges_of_blosc_chunks_with_a_short_last_block_equal_zarr(
    tmp_path: Path, rows: tuple[int, int]
) -> None:
    """Chunks of 8191 rows: four blosc blocks, the last one shorter, which blosc cannot decode alone
    (read/bloscblocks.py refuses it, and the chunk is decoded whole)."""
    values = (np.random.default_rng(1).standard_normal((20_000, 64)) * 50).astype("int16")
    arr, reader = recording(tmp_path, values, 8191)
    region = (slice(*rows), slice(0, 64))
    np.testing.assert_array_equal(reader.read(region), arr[region])
