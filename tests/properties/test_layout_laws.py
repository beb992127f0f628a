"""Laws of the conversion layout options (transfer/layout.py): parsing and chunk choice."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hdmf_zarr.dataio import default_chunks
from hdmf_zarr.errors import UnsupportedValueError
from hdmf_zarr.transfer.layout import (
    COMPRESSION_CHOICES,
    Compression,
    parse_chunks,
    parse_compression,
    zarr_chunks,
)

CODECS = [c for c in COMPRESSION_CHOICES if c not in ("auto", "keep", "none")]


@given(st.sampled_from(CODECS), st.one_of(st.none(), st.integers(0, 22)))
def test_compression_text_round_trips(name: str, level: int | None) -> None:
    text = name if level is None else f"{name}:{level}"
    assert parse_compression(text) == Compression(name, level)
    assert parse_compression(text.upper()) == Compression(name, level)


@given(st.text(max_size=12).filter(lambda t: t.strip().lower().partition(":")[0] not in COMPRESSION_CHOICES))
def test_unknown_compression_is_refused(text: str) -> None:
    with pytest.raises(UnsupportedValueError, match="Unknown compression"):
        parse_compression(text)


@given(st.integers(1, 1 << 40), st.sampled_from(["", "b", "k", "kib", "m", "mib", "g"]))
def test_chunk_sizes_parse_to_bytes(number: int, unit: str) -> None:
    scale = {"": 1, "b": 1, "k": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mib": 1 << 20, "g": 1 << 30}[unit]
    assert parse_chunks(f"{number}{unit}") == number * scale


@given(
    st.lists(st.integers(1, 5000), min_size=1, max_size=4),
    st.sampled_from([1, 2, 4, 8]),
    st.integers(1 << 10, 1 << 24),
)
def test_chunks_by_size_stay_within_the_target(shape: list[int], itemsize: int, target: int) -> None:
    chunks = zarr_chunks(tuple(shape), None, itemsize, target)
    assert len(chunks) == len(shape)
    assert all(1 <= c <= s for c, s in zip(chunks, shape, strict=True))
    if itemsize * math.prod(shape[1:]) <= target:  # whole rows fit: a chunk is whole rows, within target
        assert chunks[1:] == tuple(shape[1:])
        assert math.prod(chunks) * itemsize <= target
    else:  # a row alone is larger: one row per chunk, split along the other axes
        assert chunks[0] == 1


@given(st.lists(st.integers(1, 100), min_size=1, max_size=3))
def test_keep_returns_the_source_chunks_and_auto_the_default(source: list[int]) -> None:
    shape = tuple(s * 3 for s in source)
    assert zarr_chunks(shape, tuple(source), 4, "keep") == tuple(source)
    assert zarr_chunks(shape, tuple(source), 4, "auto") == default_chunks(shape, 4)
    assert zarr_chunks(shape, None, 4, "keep") == default_chunks(shape, 4)  # contiguous source
