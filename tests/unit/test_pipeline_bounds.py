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
