"""Numeric chunks whose compressed frame claims more bytes than the chunk holds are refused first."""

from __future__ import annotations

import struct
from pathlib import Path

import numcodecs
import numpy as np
import pytest
import zarr
from zarr.codecs import BloscCodec, ZstdCodec
from zarr.core.array import AsyncArray
from zarr.storage import StorePath

from hdmf_zarr.codecsize import declared_size, zstd_content_size
from hdmf_zarr.confine import ConfinedLocalStore
from hdmf_zarr.errors import DecodeLimitError
from hdmf_zarr.pipeline import BoundedCodecPipeline, array_construction


def _claiming(size: int) -> bytes:
    honest = numcodecs.Zstd(level=1).encode(b"\0" * 32)
    body = honest[6:]  # magic (4), descriptor (1), 1-byte content size
    return struct.pack("<I", 0xFD2FB528) + bytes([0b1110_0000]) + struct.pack("<Q", size) + body


def test_declared_sizes_are_read_from_headers() -> None:
    assert zstd_content_size(numcodecs.Zstd().encode(b"x" * 1000)) == 1000
    assert zstd_content_size(_claiming(2**40)) == 2**40
    assert declared_size("blosc", numcodecs.Blosc().encode(np.zeros(100, "u1"))) == 100
    assert declared_size("lz4", numcodecs.LZ4().encode(b"y" * 77)) == 77
    assert declared_size("gzip", b"whatever") is None
    assert zstd_content_size(b"not zstd") is None


@pytest.mark.parametrize("codec", [ZstdCodec(level=1), BloscCodec()], ids=["zstd", "blosc"])
def test_a_frame_claiming_more_than_its_chunk_is_refused_before_decoding(
    tmp_path: Path, codec: object
) -> None:
    store = ConfinedLocalStore(tmp_path / "a.zarr")
    arr = zarr.create_array(store, shape=(4,), chunks=(4,), dtype="i8", compressors=codec)  # type: ignore[arg-type]
    arr[:] = np.arange(4)
    with array_construction(store, arr.metadata):
        reopened = zarr.Array(AsyncArray(metadata=arr.metadata, store_path=StorePath(store, "")))
    assert isinstance(reopened.async_array.codec_pipeline, BoundedCodecPipeline) == isinstance(
        codec, ZstdCodec
    )
    assert reopened[:].tolist() == [0, 1, 2, 3]
    if isinstance(codec, ZstdCodec):
        (tmp_path / "a.zarr" / "c" / "0").write_bytes(_claiming(2**40))
        with pytest.raises(DecodeLimitError, match="declares 1099511627776 decoded bytes"):
            reopened[:]


def test_the_bounded_pipeline_serves_other_stores(tmp_path: Path) -> None:
    store = zarr.storage.MemoryStore()
    arr = zarr.create_array(store, shape=(4,), chunks=(4,), dtype="i8", compressors=BloscCodec())
    arr[:] = 7
    with array_construction(store, arr.metadata):
        reopened = zarr.Array(AsyncArray(metadata=arr.metadata, store_path=StorePath(store, "")))
    assert isinstance(reopened.async_array.codec_pipeline, BoundedCodecPipeline)
    raw = bytearray(numcodecs.Blosc().encode(np.full(4, 7, "i8").tobytes()))
    raw[4:8] = struct.pack("<I", 2**31)
    zarr.core.sync.sync(
        store.set("c/0", zarr.core.buffer.default_buffer_prototype().buffer.from_bytes(bytes(raw)))
    )
    with pytest.raises(DecodeLimitError, match="blosc chunk declares"):
        reopened[:]


@pytest.mark.parametrize("outer", [ZstdCodec(level=1), BloscCodec()], ids=["zstd", "blosc"])
@pytest.mark.parametrize("where", ["memory", "folder"])
def test_a_checksum_inside_the_frame_counts_in_what_it_may_hold(
    tmp_path: Path, outer: object, where: str
) -> None:
    """crc32c then a compressor: the frame holds the chunk and the checksum's 4 bytes. Honest chunks
    read (through the bounded pipeline and the direct path); a frame claiming far more is still refused."""
    from zarr.codecs import Crc32cCodec
    from zarr.storage import MemoryStore

    from hdmf_zarr.read.direct import DirectReader

    store = MemoryStore() if where == "memory" else ConfinedLocalStore(tmp_path / "c.zarr")
    arr = zarr.create_array(
        store,
        shape=(100,),
        chunks=(100,),
        dtype="i4",
        compressors=[Crc32cCodec(), outer],  # type: ignore[list-item]
    )
    arr[:] = np.arange(100)
    with array_construction(store, arr.metadata, accelerate=False):
        bounded = zarr.Array(AsyncArray(metadata=arr.metadata, store_path=StorePath(store, "")))
    assert isinstance(bounded.async_array.codec_pipeline, BoundedCodecPipeline)
    assert bounded[:].tolist() == list(range(100))
    direct = DirectReader.of(arr)
    assert direct is not None
    assert direct.read((slice(0, 100),)).tolist() == list(range(100))
    if isinstance(outer, ZstdCodec):
        zarr.core.sync.sync(store.set("c/0", zarr.core.buffer.cpu.Buffer.from_bytes(_claiming(2**30))))
        with pytest.raises(DecodeLimitError, match=r"inside its Crc32cCodec\) may hold at most 404"):
            bounded[:]
        with pytest.raises(DecodeLimitError, match="may hold at most 404"):
            direct.read((slice(0, 100),))


def _bounded_array(store: object, codecs: list[object], dtype: str = "i4") -> tuple[zarr.Array, zarr.Array]:
    """An array of 100,000 values written by zarr, and the same array opened with the bounded pipeline."""
    arr = zarr.create_array(store, shape=(100_000,), chunks=(100_000,), dtype=dtype, compressors=codecs)  # type: ignore[arg-type]
    arr[:] = np.arange(100_000) % 1000
    with array_construction(store, arr.metadata, accelerate=False):  # type: ignore[arg-type]
        bounded = zarr.Array(AsyncArray(metadata=arr.metadata, store_path=StorePath(store, "")))  # type: ignore[arg-type]
    assert isinstance(bounded.async_array.codec_pipeline, BoundedCodecPipeline)
    return arr, bounded


def _put(store: object, data: bytes) -> None:
    zarr.core.sync.sync(store.set("c/0", zarr.core.buffer.cpu.Buffer.from_bytes(data)))  # type: ignore[attr-defined]


@pytest.mark.parametrize("checksum_inside", [False, True])
def test_a_gzip_bomb_stops_at_what_its_chunk_may_hold(checksum_inside: bool) -> None:
    """zarr's gzip codec inflates a frame whole before zarr compares it with the chunk: a 200 KB chunk
    would become 200 MB. Bounded, inflating stops past the chunk's bytes (and honest chunks read,
    also gzip streams of several members, as gzip writes when appending)."""
    import tracemalloc
    import zlib

    from zarr.codecs import Crc32cCodec, GzipCodec
    from zarr.storage import MemoryStore

    store = MemoryStore()
    codecs: list[object] = [Crc32cCodec(), GzipCodec(level=1)] if checksum_inside else [GzipCodec(level=1)]
    arr, bounded = _bounded_array(store, codecs)
    expected = (np.arange(100_000) % 1000).tolist()
    assert bounded[:].tolist() == expected
    if not checksum_inside:  # two gzip members, the second after zero padding
        raw = np.asarray(arr[:]).tobytes()
        members = [zlib.compressobj(1, zlib.DEFLATED, 31) for _ in range(2)]
        halves = [
            m.compress(part) + m.flush() for m, part in zip(members, (raw[:1000], raw[1000:]), strict=True)
        ]
        _put(store, halves[0] + b"\0" * 8 + halves[1])
        assert bounded[:].tolist() == expected
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    _put(store, packer.compress(bytes(200 << 20)) + packer.flush())
    tracemalloc.start()
    try:
        with pytest.raises(DecodeLimitError, match="inflates to more than"):
            bounded[:]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 << 20


def test_a_zstd_frame_without_a_declared_size_decodes_into_its_chunk_only() -> None:
    """numcodecs writes the decoded size; a frame without it is decoded into exactly the chunk's bytes:
    an honest one reads, a bomb (RLE blocks of 128 KiB, 256 MiB in all) stops there."""
    import struct

    from zarr.storage import MemoryStore

    store = MemoryStore()
    _, bounded = _bounded_array(store, [ZstdCodec(level=1)], dtype="u1")

    def rle(count: int, value: int = 7, size: int = 131072) -> bytes:  # a frame of RLE blocks, no size
        blocks = [
            struct.pack("<I", (1 << 1) | (size << 3) | (i == count - 1))[:3] + bytes([value])
            for i in range(count)
        ]
        return struct.pack("<I", 0xFD2FB528) + bytes([0x00, 0x38]) + b"".join(blocks)

    _put(store, rle(1, size=100_000))
    assert declared_size("zstd", rle(1, size=100_000)) is None
    assert bounded[:].tolist() == [7] * 100_000
    _put(store, rle(2048))
    with pytest.raises(
        DecodeLimitError, match="declares no decoded size does not decode to the 100000 bytes"
    ):
        bounded[:]
