"""Blosc frames encoded into a reused buffer are the very bytes numcodecs' ``Blosc.encode`` returns."""

from __future__ import annotations

import threading

import numcodecs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from hdmf_zarr.write.bloscinto import into_buffer, release

DTYPES = st.sampled_from(["int8", "int16", "uint16", "int32", "int64", "float32", "float64", "bool"])
CODECS = st.builds(
    numcodecs.Blosc,
    cname=st.sampled_from(["lz4", "lz4hc", "zstd", "zlib", "blosclz"]),
    clevel=st.integers(0, 9),
    shuffle=st.sampled_from([numcodecs.Blosc.NOSHUFFLE, numcodecs.Blosc.SHUFFLE, numcodecs.Blosc.BITSHUFFLE]),
)


@settings(max_examples=60, deadline=None)
@given(
    data=DTYPES.flatmap(lambda d: hnp.arrays(d, hnp.array_shapes(min_dims=1, max_dims=3, max_side=70))),
    codec=CODECS,
)
def test_bytes_equal_numcodecs(data: np.ndarray, codec: numcodecs.Blosc) -> None:
    encoder = into_buffer(codec)
    assert encoder is not None  # the numcodecs build this project pins exports c-blosc
    chunk = np.ascontiguousarray(data)
    assert bytes(encoder.encode(chunk)) == codec.encode(chunk)
    decoded = np.frombuffer(codec.decode(bytes(encoder.encode(chunk))), dtype=chunk.dtype)
    np.testing.assert_array_equal(decoded.reshape(chunk.shape), chunk)


def test_buffer_is_reused_and_grows() -> None:
    codec = numcodecs.Blosc(cname="lz4", clevel=5, shuffle=numcodecs.Blosc.SHUFFLE)
    encoder = into_buffer(codec)
    assert encoder is not None
    small, large = np.arange(100, dtype="i2"), np.arange(100_000, dtype="i2")
    first = encoder.encode(small)
    second = encoder.encode(small)
    assert first.obj is second.obj  # one buffer per thread, reused
    assert bytes(encoder.encode(large)) == codec.encode(large)  # a larger chunk gets a larger buffer
    release()


def test_threads_have_their_own_buffer() -> None:
    codec = numcodecs.Blosc(cname="zstd", clevel=3, shuffle=numcodecs.Blosc.SHUFFLE)
    encoder = into_buffer(codec)
    assert encoder is not None
    chunks = [np.full(50_000, i, dtype="i4") + np.arange(50_000, dtype="i4") for i in range(8)]
    out: dict[int, bytes] = {}

    def work(i: int) -> None:
        for _ in range(5):
            out[i] = bytes(encoder.encode(chunks[i]))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert out == {i: codec.encode(chunks[i]) for i in range(8)}


def test_refuses_what_it_cannot_encode() -> None:
    assert into_buffer(numcodecs.Blosc(shuffle=numcodecs.Blosc.AUTOSHUFFLE)) is None
    encoder = into_buffer(numcodecs.Blosc())
    assert encoder is not None
    with pytest.raises(ValueError, match="C-contiguous"):
        encoder.encode(np.zeros((4, 4), dtype="i2")[:, ::2])


def test_trim_freed_returns_pages_where_glibc_is() -> None:
    import platform

    from hdmf_zarr.write.bloscinto import _malloc_trim, trim_freed

    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert _malloc_trim() is not None
    trim_freed()  # a no-op elsewhere; never an error
