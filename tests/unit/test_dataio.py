"""dataio: default chunking, codec translation (numcodecs -> zarr 3, zarr 3 -> v2) and ZarrDataIO options."""

from __future__ import annotations

import math

import numcodecs
import numpy as np
import pytest
import zarr.codecs
import zarr.codecs.numcodecs as zarr_numcodecs

from hdmf_zarr.dataio import (
    DEFAULT_CHUNK_BYTES,
    ZarrDataIO,
    as_v2_codecs,
    as_v2_options,
    as_zarr_codecs,
    default_chunks,
    default_compressors,
)
from hdmf_zarr.errors import HdmfZarrWarning, InvalidOptionError, UnsupportedValueError


def test_default_chunks_for_ephys_keep_every_channel_in_a_chunk() -> None:
    chunks = default_chunks((3_000_000, 64), np.dtype("int16").itemsize)
    assert chunks[1] == 64  # all 64 channels of a time slice live in one chunk
    assert 1 < chunks[0] < 3_000_000  # time-major: the time axis is split
    assert math.prod(chunks) * 2 <= DEFAULT_CHUNK_BYTES
    assert math.prod(chunks) * 2 > DEFAULT_CHUNK_BYTES // 2  # and chunks are not needlessly small


@pytest.mark.parametrize(
    ("shape", "itemsize", "expected"),
    [
        ((), 8, ()),
        ((10,), 8, (10,)),
        ((0,), 8, (1,)),
        ((0, 3), 4, (1, 3)),
        ((5, 0), 4, (5, 1)),
    ],
)
def test_default_chunks_small_shapes(
    shape: tuple[int, ...], itemsize: int, expected: tuple[int, ...]
) -> None:
    assert default_chunks(shape, itemsize) == expected


def test_default_chunks_split_rows_larger_than_the_target() -> None:
    chunks = default_chunks((10, 4096, 4096), 8)  # one row is 128 MiB
    assert chunks[0] == 1
    assert math.prod(chunks) * 8 <= DEFAULT_CHUNK_BYTES
    assert all(c >= 1 for c in chunks)


def test_default_compressor_is_blosc_lz4_shuffle() -> None:
    (codec,) = default_compressors()
    assert isinstance(codec, zarr.codecs.BloscCodec)
    assert codec.to_dict()["configuration"]["cname"] == "lz4"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (
            numcodecs.Blosc(cname="zstd", clevel=3, shuffle=numcodecs.Blosc.BITSHUFFLE),
            zarr.codecs.BloscCodec(cname="zstd", clevel=3, shuffle="bitshuffle"),
        ),
        (numcodecs.Zstd(level=7), zarr.codecs.ZstdCodec(level=7)),
        (numcodecs.GZip(level=2), zarr.codecs.GzipCodec(level=2)),
        ({"id": "gzip", "level": 4}, zarr.codecs.GzipCodec(level=4)),
        (zarr.codecs.ZstdCodec(level=1), zarr.codecs.ZstdCodec(level=1)),
    ],
)
def test_numcodecs_translate_to_zarr3_codecs(given: object, expected: object) -> None:
    (codec,) = as_zarr_codecs(given, option="compressors") or ()
    assert codec.to_dict() == expected.to_dict()  # type: ignore[attr-defined]


def test_numcodecs_without_a_zarr3_codec_are_wrapped() -> None:
    (codec,) = as_zarr_codecs([numcodecs.Delta(dtype="<i4")], option="filters") or ()
    assert isinstance(codec, zarr_numcodecs.Delta)


def test_as_zarr_codecs_none_and_empty() -> None:
    assert as_zarr_codecs(None, option="compressors") is None
    assert as_zarr_codecs([], option="compressors") == ()


def test_a_non_codec_is_refused_by_option_name() -> None:
    with pytest.raises(UnsupportedValueError, match="compressors="):
        as_zarr_codecs(["lz4"], option="compressors")


def test_zarr3_codecs_translate_to_v2_numcodecs() -> None:
    codecs = as_v2_codecs(
        (
            zarr.codecs.BloscCodec(cname="lz4", clevel=5, shuffle="shuffle"),
            zarr.codecs.ZstdCodec(level=2),
            zarr.codecs.GzipCodec(level=1),
            zarr_numcodecs.Delta(dtype="<i4"),
        )
    )
    assert codecs == (
        numcodecs.Blosc(cname="lz4", clevel=5, shuffle=numcodecs.Blosc.SHUFFLE),
        numcodecs.Zstd(level=2),
        numcodecs.GZip(level=1),
        numcodecs.Delta(dtype="<i4"),
    )
    assert as_v2_codecs("auto") == "auto"
    assert as_v2_codecs(None) is None


def test_old_compressor_spelling_is_translated() -> None:
    io = ZarrDataIO(np.arange(3), compressor=numcodecs.Zstd(level=3))
    assert [c.to_dict() for c in io.io_settings["compressors"]] == [zarr.codecs.ZstdCodec(level=3).to_dict()]
    assert ZarrDataIO(np.arange(3), compressor=False).io_settings["compressors"] == ()


def test_compressor_and_compressors_together_are_refused() -> None:
    with pytest.raises(UnsupportedValueError, match="not both"):
        ZarrDataIO(np.arange(3), compressor=numcodecs.Zstd(), compressors=[numcodecs.Zstd()])


def test_io_settings_hold_only_the_options_given() -> None:
    assert ZarrDataIO(np.arange(3)).io_settings == {}
    io = ZarrDataIO(np.arange(8), chunks=(4,), fillvalue=-1, shards=(8,), filters=[numcodecs.Delta("<i8")])
    settings = io.io_settings
    assert settings["chunks"] == (4,)
    assert settings["fill_value"] == -1
    assert settings["shards"] == (8,)
    assert isinstance(settings["filters"][0], zarr_numcodecs.Delta)
    assert set(settings) == {"chunks", "fill_value", "shards", "filters"}


def test_get_io_params_rebuilds_an_equal_wrapper() -> None:
    old = ZarrDataIO(
        np.arange(10),
        chunks=(5,),
        fillvalue=0,
        compressors=[numcodecs.Blosc(cname="zstd")],
        filters=[numcodecs.Delta(dtype="<i8")],
        shards=(10,),
        link_data=False,
    )
    new = ZarrDataIO(np.arange(10), **old.get_io_params())
    assert repr(new.io_settings) == repr(old.io_settings)
    assert new.link_data == old.link_data
    assert new.get_io_params().keys() == old.get_io_params().keys()


def test_unknown_legacy_options_warn() -> None:
    with pytest.warns(HdmfZarrWarning, match="object_codec"):
        ZarrDataIO(np.arange(3), object_codec=numcodecs.JSON())


def test_link_data_flag() -> None:
    assert ZarrDataIO(np.arange(3), link_data=True).link_data is True
    assert ZarrDataIO(np.arange(3)).link_data is False


# -- zarr 2 style filters (any codec) placed in zarr 3's slots ----------------------------------------


def test_bytes_filters_move_in_front_of_the_compressors() -> None:
    """neuroconv (zarr 2 style) passes shuffle as a filter before its compressor."""

    dio = ZarrDataIO(
        np.arange(10.0),
        compressor=numcodecs.GZip(level=4),
        filters=[numcodecs.Delta(dtype="f8"), numcodecs.Shuffle(elementsize=8)],
    )
    settings = dio.io_settings
    assert [type(c).__name__ for c in settings["filters"]] == ["Delta"]
    assert [type(c).__name__ for c in settings["compressors"]] == ["Shuffle", "GzipCodec"]
    assert isinstance(settings["compressors"][1], zarr.codecs.GzipCodec)


def test_bytes_filter_without_compressors_keeps_the_default_compression() -> None:
    settings = ZarrDataIO(np.arange(10.0), filters=[numcodecs.Shuffle(elementsize=8)]).io_settings
    assert "filters" not in settings or settings["filters"] == ()
    assert settings["compressors"][1:] == default_compressors()


def test_bytes_filter_before_an_array_filter_is_refused() -> None:
    with pytest.raises(UnsupportedValueError, match="bytes-to-bytes codec comes before"):
        ZarrDataIO(np.arange(10.0), filters=[numcodecs.Shuffle(elementsize=8), numcodecs.Delta(dtype="f8")])


def test_v2_arrays_store_extra_compressors_as_filters() -> None:
    settings = ZarrDataIO(
        np.arange(10.0), compressors=[numcodecs.Shuffle(elementsize=8), numcodecs.GZip(level=4)]
    ).io_settings
    v2 = as_v2_options(settings)
    assert v2["filters"] == (numcodecs.Shuffle(elementsize=8),)
    assert v2["compressors"] == (numcodecs.GZip(level=4),)


@pytest.mark.parametrize(
    "chunks", [0, 3, -1, (0,), (2.5,), (-1,), (4.0,), [[2, 2]], ("4",), "auto", (True,), np.array([0])]
)
def test_unusable_chunk_shapes_are_refused(chunks: object) -> None:
    with pytest.raises(InvalidOptionError, match=r"ZarrDataIO\(chunks=.*one positive integer per axis"):
        ZarrDataIO(np.arange(8), chunks=chunks)
    if chunks == "auto":
        return  # shards="auto" is the peer's spelling of zarr's automatic sharding
    with pytest.raises(ValueError, match=r"not a chunk shape|must be a shape"):  # also a ValueError
        ZarrDataIO(np.arange(8), shards=chunks)


def test_chunk_shape_must_give_one_size_per_axis() -> None:
    with pytest.raises(InvalidOptionError, match=r"2 sizes for data with 1 axes \(shape \(8,\)\)"):
        ZarrDataIO(np.arange(8), chunks=(2, 2))
    with pytest.raises(InvalidOptionError, match="must be a shape"):
        ZarrDataIO(np.arange(8), chunks=(2,), shards=True)


@pytest.mark.parametrize(
    ("chunks", "stored"),
    [
        (None, None),
        (True, True),
        (False, False),
        ((4,), (4,)),
        ([4], (4,)),
        (np.array([4]), (4,)),
        ((np.int64(4),), (4,)),
    ],
)
def test_usable_chunk_shapes_are_kept(chunks: object, stored: object) -> None:
    io = ZarrDataIO(np.arange(8), chunks=chunks)
    assert io.get_io_params()["chunks"] == stored
