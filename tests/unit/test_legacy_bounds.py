"""Decode bombs in legacy object chunks are refused before memory is allocated."""

from __future__ import annotations

import bz2
import json
import lzma
import pickle
import struct
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import numcodecs
import numpy as np
import pytest
from numpy._core import multiarray

from hdmf_zarr.errors import DecodeLimitError, FormatError, UnsafePickleError
from hdmf_zarr.legacy import bounded, chunks
from hdmf_zarr.legacy.unpickle import safe_loads
from hdmf_zarr.legacy.v2 import legacy_meta

BOUND = 32 * 2**20  # far below every bomb below, far above any honest decode here


def meta(codec: str, *, chunks_: list[int], compressor: dict[str, Any] | None = None) -> Any:
    zarray = {
        "shape": chunks_,
        "chunks": chunks_,
        "dtype": "|O",
        "fill_value": 0,
        "order": "C",
        "filters": [{"id": codec}],
        "compressor": compressor,
        "zarr_format": 2,
    }
    return legacy_meta(zarray, {})


@pytest.fixture
def peak() -> Iterator[Callable[[], int]]:
    tracemalloc.start()
    try:
        yield lambda: tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_json2_chunk_claiming_a_huge_shape(peak: Callable[[], int]) -> None:
    bomb = b'["a","|O",[300000000]]'
    with pytest.raises(DecodeLimitError, match=r"'/t/c' claims the shape \[300000000\]"):
        chunks.decode_chunk(bomb, meta("json2", chunks_=[1]), where="/t/c")
    assert peak() < BOUND


def test_json2_honest_chunk_still_decodes() -> None:
    good = numcodecs.JSON().encode(np.array(["a", "b"], dtype=object))
    assert chunks.decode_chunk(good, meta("json2", chunks_=[2]), where="/t/c").tolist() == ["a", "b"]


class _Claim:
    """Pickles like numpy's arrays do, with a shape the data does not back."""

    def __init__(self, shape: tuple[int, ...], dtype: str, raw: Any) -> None:
        self.state = (1, shape, np.dtype(dtype), False, raw)

    def __reduce__(self) -> Any:
        return multiarray._reconstruct, (np.ndarray, (0,), b"b"), self.state


@pytest.mark.parametrize(
    ("shape", "dtype", "raw"),
    [
        ((50_000_000,), "O", [None]),  # numpy itself would allocate, then crash the interpreter
        ((2**40,), "i8", b"\0" * 8),
        ((3,), "i8", b"\0" * 8),
        ((2,), "O", [1, 2, 3]),
    ],
)
@pytest.mark.parametrize("protocol", [2, 5])
def test_pickled_array_claiming_a_shape_its_data_lacks(
    shape: tuple[int, ...], dtype: str, raw: Any, protocol: int, peak: Callable[[], int]
) -> None:
    payload = pickle.dumps(_Claim(shape, dtype, raw), protocol=protocol)
    with pytest.raises(UnsafePickleError, match=r"'/refs'"):
        safe_loads(payload, where="/refs")
    assert peak() < BOUND


def test_reconstruct_with_a_large_initial_shape_is_refused(peak: Callable[[], int]) -> None:
    class Big:
        def __reduce__(self) -> Any:
            return multiarray._reconstruct, (np.ndarray, (10**9,), b"b")

    with pytest.raises(UnsafePickleError, match="_reconstruct"):
        safe_loads(pickle.dumps(Big(), protocol=2), where="/refs")
    assert peak() < BOUND


@pytest.mark.parametrize("protocol", range(6))
def test_honest_pickles_still_load(protocol: int) -> None:
    arr = np.array([{"source": ".", "path": "/a"}, None], dtype=object)
    out = safe_loads(pickle.dumps(arr, protocol=protocol), where="/refs")
    assert type(out) is np.ndarray
    assert out.tolist() == arr.tolist()
    nums = safe_loads(pickle.dumps(np.arange(4), protocol=protocol), where="/x")
    assert type(nums) is np.ndarray
    assert nums.tolist() == [0, 1, 2, 3]


def test_vlen_header_claiming_more_elements(peak: Callable[[], int]) -> None:
    bomb = struct.pack("<I", 2**31 - 1) + b"\0" * 8
    with pytest.raises(DecodeLimitError, match="claims 2147483647 elements"):
        chunks.decode_chunk(bomb, meta("vlen-utf8", chunks_=[2]), where="/t/txt")
    assert peak() < BOUND


LIMIT = 2**20  # the limit of a small chunk is lowered, so that bombs stay cheap to build
ZEROS = b"\0" * (16 * LIMIT)


@pytest.mark.parametrize(
    ("spec", "payload"),
    [
        ({"id": "zlib", "level": 9}, zlib.compress(ZEROS, 9)),
        ({"id": "bz2", "level": 9}, bz2.compress(ZEROS, 9)),
        ({"id": "lzma"}, lzma.compress(ZEROS)),
        ({"id": "blosc"}, numcodecs.Blosc().encode(np.frombuffer(ZEROS, dtype="u1"))),
        ({"id": "zstd"}, numcodecs.Zstd().encode(ZEROS)),
        ({"id": "lz4"}, numcodecs.LZ4().encode(ZEROS)),
    ],
    ids=lambda v: v["id"] if isinstance(v, dict) else "",
)
def test_compressor_bombs(spec: dict[str, Any], payload: bytes, peak: Callable[[], int]) -> None:
    with pytest.raises(DecodeLimitError, match="over the"):
        bounded.decompress(spec, payload, where="/t/txt", limit=LIMIT)
    assert peak() < 4 * LIMIT + 16 * 2**20  # lzma keeps its 8 MiB dictionary
    honest = {"zlib": zlib.compress, "bz2": bz2.compress, "lzma": lzma.compress}.get(spec["id"])
    if honest is not None:
        assert bounded.decompress(spec, honest(b"abc" * 10), where="/t/txt") == b"abc" * 10


def test_garbage_and_truncated_chunks_name_the_dataset() -> None:
    good = numcodecs.Zlib().encode(numcodecs.VLenUTF8().encode(np.array(["a", "b"], dtype=object)))
    m = meta("vlen-utf8", chunks_=[2], compressor={"id": "zlib", "level": 1})
    assert chunks.decode_chunk(good, m, where="/t").tolist() == ["a", "b"]
    for bad in (good[: len(good) // 2], b"garbage!", b""):
        with pytest.raises(FormatError, match="'/t'"):
            chunks.decode_chunk(bad, m, where="/t")


def test_declared_chunk_shape_is_bounded() -> None:
    with pytest.raises(DecodeLimitError, match="declares chunks of"):
        chunks.decode_chunk(json.dumps(["a", "|O", [1]]).encode(), meta("json2", chunks_=[2**40]), where="/t")


def test_byte_limit_scales_with_the_chunk() -> None:
    assert bounded.byte_limit(4) == bounded.MIN_CHUNK_BYTES
    assert bounded.byte_limit(10**4) == bounded.BYTES_PER_ITEM * 10**4
    assert bounded.byte_limit(10**7) == bounded.MAX_CHUNK_BYTES


def test_a_blosc_frame_claiming_more_bytes_than_the_chunk_holds_is_refused() -> None:
    """c-blosc reads as many bytes as the frame's header says: a truncated frame is refused before."""
    frame = numcodecs.Blosc(cname="lz4").encode(np.arange(2000, dtype="i4"))
    assert bounded.decompress({"id": "blosc"}, frame, where="/t/txt") == np.arange(2000, dtype="i4").tobytes()
    for cut in (len(frame) // 2, 10):
        with pytest.raises(FormatError, match=f"'/t/txt'.* holds {cut}"):
            bounded.decompress({"id": "blosc"}, frame[:cut], where="/t/txt")
