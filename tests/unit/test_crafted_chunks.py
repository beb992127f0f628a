"""Chunk files damaged or crafted against the direct read path (read/direct.py) and the bounded zarr
pipeline (pipeline.py): a clear error, as zarr gives, never values from other memory or a crash.

- A frame that decodes to fewer bytes than its chunk holds: zarr refuses it (its values cannot be
  shaped as the chunk); decoding it straight into the result left the rest of the chunk's part as it
  was (uninitialised memory, or the values of a chunk read before through the thread's reused array).
- A blosc frame whose header claims more stored bytes than the chunk file holds: c-blosc reads as many
  as the header says (numcodecs does not give it the buffer's length), past the end of the chunk's
  buffer. Decoded in a child process, so that a crash fails the test instead of ending the session.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numcodecs
import numpy as np
import pytest
import zarr
from hypothesis import given, settings
from hypothesis import strategies as st
from zarr.codecs import BloscCodec, GzipCodec, ZstdCodec
from zarr.storage import LocalStore

from hdmf_zarr.read import chunkfiles, direct
from hdmf_zarr.read.direct import DirectReader
from support.child import run_child

#: (zarr codec, numcodecs encoder giving the same frames) for each compressor the direct path decodes.
CODECS: dict[str, tuple[Any, Any]] = {
    "blosc": (
        BloscCodec(cname="lz4", shuffle="shuffle"),
        lambda b: numcodecs.blosc.compress(b, b"lz4", 5, 1),
    ),
    "zstd": (ZstdCodec(level=1), numcodecs.Zstd(level=1).encode),
    "gzip": (GzipCodec(level=1), numcodecs.GZip(level=1).encode),
}
ROWS, COLS, CHUNK_ROWS = 40, 1000, 10  # chunks of 10 x 1000 int32: 40,000 bytes


def _recording(folder: Path, codec: Any) -> zarr.Array:
    arr = zarr.create_array(
        LocalStore(folder),
        name="x",
        shape=(ROWS, COLS),
        chunks=(CHUNK_ROWS, COLS),
        dtype="int32",
        compressors=[codec],
        fill_value=0,
    )
    arr[:] = np.arange(ROWS * COLS, dtype="int32").reshape(ROWS, COLS) + 1  # no value is 0
    return arr


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(sorted(CODECS)),
    held=st.integers(1, CHUNK_ROWS * COLS - 1),
    rows=st.tuples(st.integers(0, ROWS - 1), st.integers(1, ROWS)).map(sorted).filter(lambda r: r[0] < r[1]),
    reuse=st.booleans(),
    parallel=st.booleans(),
)
def test_a_frame_holding_fewer_values_than_its_chunk_is_refused_as_zarr_refuses_it(
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    held: int,
    rows: tuple[int, int],
    reuse: bool,
    parallel: bool,
) -> None:
    codec, encode = CODECS[name]
    arr = _recording(tmp_path_factory.mktemp("short"), codec)
    reader = DirectReader.of(arr)
    assert reader is not None
    region = (slice(*rows), slice(0, COLS))
    saved = chunkfiles.REUSE_MIN_BYTES, direct.PARALLEL_BYTES
    chunkfiles.REUSE_MIN_BYTES = 0 if reuse else saved[0]
    direct.PARALLEL_BYTES = 0 if parallel else 1 << 40
    try:
        reader.read((slice(0, ROWS), slice(0, COLS)))  # the thread's reused arrays hold other values
        chunk = Path(arr.store.root) / "x" / "c" / "1" / "0"  # type: ignore[attr-defined]
        chunk.write_bytes(bytes(encode(np.full(held, -5, dtype="int32"))))
        with pytest.raises(ValueError):
            arr[1 * CHUNK_ROWS : 2 * CHUNK_ROWS]
        if rows[0] < 2 * CHUNK_ROWS and rows[1] > CHUNK_ROWS:  # the region holds part of chunk 1
            with pytest.raises(ValueError):
                reader.read(region)
        else:
            np.testing.assert_array_equal(reader.read(region), arr[region])
        with pytest.raises(ValueError):
            reader.chunk((1, 0))
    finally:
        chunkfiles.REUSE_MIN_BYTES, direct.PARALLEL_BYTES = saved


#: In a child: a blosc chunk whose header claims 2 GB stored (its last block 2 GB on), then the reads.
_BEYOND = """
import struct, sys
from pathlib import Path
import numpy as np, zarr
from zarr.codecs import BloscCodec
from zarr.core.array import AsyncArray
from zarr.storage import LocalStore, MemoryStore, StorePath
from hdmf_zarr.read import chunkfiles
from hdmf_zarr.read.direct import DirectReader
from hdmf_zarr.pipeline import BoundedCodecPipeline, array_construction

how, reuse = sys.argv[2], sys.argv[3] == "reuse"
chunkfiles.REUSE_MIN_BYTES = 0 if reuse else chunkfiles.REUSE_MIN_BYTES
values = (np.random.default_rng(0).standard_normal((4, 100_000)) * 50).astype("int16")
store = LocalStore(sys.argv[1]) if how != "bounded" else MemoryStore()
arr = zarr.create_array(store, name="x", shape=values.shape, chunks=(1, 100_000), dtype="int16",
                        compressors=[BloscCodec(cname="lz4", shuffle="shuffle")], fill_value=0)
arr[:] = values
key = "x/c/1/0"
proto = zarr.core.buffer.default_buffer_prototype()
frame = bytearray(zarr.core.sync.sync(store.get(key, prototype=proto)).to_bytes())
nbytes, blocksize = struct.unpack_from("<ii", frame, 4)
count = -(-nbytes // blocksize)
starts = list(struct.unpack_from(f"<{count}i", frame, 16))
starts[-1] = 0x7FF00000
struct.pack_into(f"<{count}i", frame, 16, *starts)
struct.pack_into("<i", frame, 12, 0x7FF00000 + 1000)
zarr.core.sync.sync(store.set(key, proto.buffer.from_bytes(bytes(frame))))
try:
    if how == "bounded":
        with array_construction(store, arr.metadata):
            bounded = zarr.Array(AsyncArray(metadata=arr.metadata, store_path=StorePath(store, "x")))
        assert isinstance(bounded.async_array.codec_pipeline, BoundedCodecPipeline)
        bounded[1:2]
    else:
        reader = DirectReader.of(arr)
        if how == "read":
            reader.read((slice(1, 2), slice(0, 100_000)))
        elif how == "part":
            reader.read((slice(0, 2), slice(5, 100)))
        else:
            reader.chunk((1, 0))
except ValueError as exc:
    print(type(exc).__name__, exc)
"""


@pytest.mark.parametrize("reuse", ["reuse", "new"])
@pytest.mark.parametrize("how", ["read", "part", "chunk", "bounded"])
def test_a_blosc_frame_claiming_more_bytes_than_its_file_holds_is_refused(
    tmp_path: Path, how: str, reuse: str
) -> None:
    out = run_child(_BEYOND, str(tmp_path), how, reuse)
    assert out.startswith("DecodeLimitError"), out
    assert "declares 2146436072 stored bytes" in out


def test_a_blosc_frame_shorter_than_its_header_is_refused(tmp_path: Path) -> None:
    arr = _recording(tmp_path, CODECS["blosc"][0])
    (tmp_path / "x" / "c" / "1" / "0").write_bytes(b"\x02\x01\x21")
    reader = DirectReader.of(arr)
    assert reader is not None
    from hdmf_zarr.errors import CorruptDataError

    with pytest.raises(CorruptDataError, match="3 bytes"):
        reader.read((slice(0, ROWS), slice(0, COLS)))


@pytest.mark.parametrize("rows", [(10, 20), (12, 18), (5, 25)], ids=["whole", "part", "across"])
def test_a_gzip_chunk_inflating_past_its_chunk_stops_there(tmp_path: Path, rows: tuple[int, int]) -> None:
    """Decoded into the result, a gzip chunk is read up to the chunk's bytes and one more: a chunk that
    inflates to 200 MB is refused without holding it."""
    import tracemalloc

    arr = _recording(tmp_path, CODECS["gzip"][0])
    bomb = numcodecs.GZip(level=9).encode(np.zeros(200 << 20, dtype=np.uint8))
    (tmp_path / "x" / "c" / "1" / "0").write_bytes(bytes(bomb))
    reader = DirectReader.of(arr)
    assert reader is not None
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="more bytes than"):
            reader.read((slice(*rows), slice(0, COLS)))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 << 20


#: In a child: a small array's only chunk replaced by a 256 MB bomb (zstd RLE blocks without a declared
#: size, or gzip), read as an IO reads a small array (DirectReader.chunk) and in part; prints the
#: error and how much the peak resident memory grew (MB).
_BOMB = """
import resource, struct, sys, zlib
import numpy as np, zarr
from zarr.codecs import GzipCodec, ZstdCodec
from zarr.storage import LocalStore
from hdmf_zarr.read.direct import DirectReader

codec, how = sys.argv[2], sys.argv[3]
arr = zarr.create_array(LocalStore(sys.argv[1]), name="x", shape=(1000,), chunks=(1000,), dtype="int32",
                        compressors=[ZstdCodec(level=1) if codec == "zstd" else GzipCodec(level=1)])
arr[:] = np.arange(1000, dtype="int32")
if codec == "zstd":  # magic, no declared size, a 128 KiB window, then 2048 RLE blocks of 128 KiB
    blocks = [struct.pack("<I", (1 << 1) | (131072 << 3) | (i == 2047))[:3] + b"\\0" for i in range(2048)]
    bomb = struct.pack("<I", 0xFD2FB528) + bytes([0x00, 0x38]) + b"".join(blocks)
else:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(1 << 20)
    bomb = b"".join(packer.compress(zeros) for _ in range(256)) + packer.flush()
with open(sys.argv[1] + "/x/c/0", "wb") as f:
    f.write(bomb)
reader = DirectReader.of(arr)
assert reader is not None and reader.small
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    reader.chunk((0,)) if how == "chunk" else reader.read((slice(10, 20),))
    print("no error")
except ValueError as exc:
    print(type(exc).__name__, exc)
except RuntimeError as exc:
    print(type(exc).__name__, exc)
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
"""


@pytest.mark.parametrize("how", ["chunk", "part"])
@pytest.mark.parametrize("codec", ["zstd", "gzip"])
def test_a_bomb_without_a_declared_size_stops_at_its_chunk(tmp_path: Path, codec: str, how: str) -> None:
    """zstd frames need not declare their size, gzip ones never do: decoded into a chunk-sized array,
    they stop there, instead of inflating in full first."""
    out = run_child(_BOMB, str(tmp_path), codec, how)
    error, grown = out.splitlines()
    assert error.startswith(("RuntimeError", "DecodeLimitError")), error
    assert int(grown) < 64, out


#: In a child: a sharded blosc array whose first inner chunk claims 2 GB stored, read through the
#: bounded pipeline (a memory store, or a folder with zarrs turned off) or through zarrs.
_SHARD = """
import struct, sys
import numpy as np, zarr
from zarr.codecs import BloscCodec
from zarr.core.array import AsyncArray
from zarr.storage import LocalStore, MemoryStore, StorePath
from hdmf_zarr.pipeline import array_construction

values = (np.random.default_rng(0).standard_normal((4, 100_000)) * 50).astype("int16")
store = LocalStore(sys.argv[1]) if sys.argv[2] == "folder" else MemoryStore()
arr = zarr.create_array(store, name="x", shape=values.shape, chunks=(1, 100_000), shards=(2, 100_000),
                        dtype="int16", compressors=[BloscCodec(cname="lz4", shuffle="shuffle")], fill_value=0)
arr[:] = values
proto = zarr.core.buffer.default_buffer_prototype()
shard = bytearray(zarr.core.sync.sync(store.get("x/c/0/0", prototype=proto)).to_bytes())
nbytes, blocksize = struct.unpack_from("<ii", shard, 4)  # the first inner chunk opens the shard
count = -(-nbytes // blocksize)
starts = list(struct.unpack_from(f"<{count}i", shard, 16))
starts[-1] = 0x7FF00000
struct.pack_into(f"<{count}i", shard, 16, *starts)
struct.pack_into("<i", shard, 12, 0x7FF00000 + 1000)
zarr.core.sync.sync(store.set("x/c/0/0", proto.buffer.from_bytes(bytes(shard))))
with array_construction(store, arr.metadata):
    opened = zarr.Array(AsyncArray(metadata=arr.metadata, store_path=StorePath(store, "x")))
print(type(opened.async_array.codec_pipeline).__name__)
try:
    opened[0:1]
    print("no error")
except (ValueError, RuntimeError) as exc:
    print(type(exc).__name__, exc)
"""


@pytest.mark.parametrize(
    ("where", "pipeline", "expected"),
    [
        ("memory", "zarr", "BoundedCodecPipeline DecodeLimitError"),
        ("folder", "zarr", "BoundedCodecPipeline DecodeLimitError"),
        ("folder", "default", "ZarrsCodecPipeline RuntimeError"),
    ],
)
def test_a_crafted_blosc_chunk_inside_a_shard_is_refused(
    tmp_path: Path, where: str, pipeline: str, expected: str
) -> None:
    """zarr decodes a shard's inner chunks with the globally configured pipeline, which checks no frame:
    before BoundedShardingCodec, c-blosc read 2 GB past the chunk and the interpreter crashed."""
    if pipeline == "default":
        pytest.importorskip("zarrs")
    out = run_child(
        _SHARD, str(tmp_path), where, env={"HDMF_ZARR_CODEC_PIPELINE": "zarr" if pipeline == "zarr" else ""}
    )
    assert " ".join(line.split()[0] for line in out.splitlines()) == expected, out
    if "DecodeLimitError" in expected:
        assert "declares 2146436072 stored bytes" in out
