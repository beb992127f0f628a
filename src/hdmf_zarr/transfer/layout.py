"""Chunking and compression of converted datasets: keep the source's, or what the user asks for.

Layer: applications. Pure decisions (``parse_*``, ``*_codecs``, ``*_chunks``) are separate from the
two walkers that wrap a builder tree's array data in the destination's DataIO.

Defaults (docs/format.md#conversion-layout, README "Dialects, conversion and the command line"):

- chunks ``keep``: a dataset keeps its source chunk shape; a contiguous HDF5 dataset gets this
  package's default chunking (``dataio.default_chunks``).
- compression ``auto``: a compressed source dataset (gzip, lzf, szip or any HDF5 filter; any Zarr
  compressor) is stored with this package's default codec (Blosc/LZ4 with byte shuffle, several times
  faster than gzip both ways at a similar ratio on electrophysiology data); an uncompressed one stays
  uncompressed. ``keep`` keeps gzip as gzip at its level (and a Zarr codec as itself); ``none``,
  ``gzip[:level]``, ``zstd[:level]``, ``blosc-lz4[:level]``, ``blosc-zstd[:level]`` apply to every
  numeric dataset.
- Zarr -> HDF5 keeps the chunk shape and writes gzip (HDF5's portable codec) where the source is
  compressed, ``gzip[:level]``/``none`` as asked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import zarr.codecs
from hdmf.build import DatasetBuilder, GroupBuilder
from zarr.abc.codec import Codec as ZarrCodec

from hdmf_zarr.dataio import ZarrDataIO, default_chunks, default_compressors
from hdmf_zarr.errors import UnsupportedValueError

COMPRESSION_CHOICES: Final = ("auto", "keep", "none", "gzip", "zstd", "blosc-lz4", "blosc-zstd")
CHUNK_CHOICES: Final = ("keep", "auto")
#: gzip level when a compressed Zarr dataset is written to HDF5 (h5py's own default).
HDF5_GZIP_LEVEL: Final = 4

_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmg]i?b?|b)?$", re.IGNORECASE)
_UNITS: Final = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


@dataclass(frozen=True, slots=True)
class Compression:
    """A parsed ``--compression`` value: a codec name (or auto/keep/none) and an optional level."""

    name: str = "auto"
    level: int | None = None


@dataclass(frozen=True, slots=True)
class Layout:
    """How converted datasets are chunked and compressed. ``chunks``: keep, auto, or a byte target."""

    chunks: str | int = "keep"
    compression: Compression = Compression()


def parse_compression(text: str) -> Compression:
    """``auto``, ``keep``, ``none``, or a codec name with an optional ``:level`` (``gzip:6``)."""
    name, _, level = text.strip().lower().partition(":")
    if name not in COMPRESSION_CHOICES or (level and not level.isdigit()):
        raise UnsupportedValueError(
            f"Unknown compression {text!r}: use one of {', '.join(COMPRESSION_CHOICES)}, "
            "a codec optionally with ':level' (e.g. gzip:6)."
        )
    if level and name in ("auto", "keep", "none"):
        raise UnsupportedValueError(f"Compression {name!r} takes no level (got {text!r}).")
    return Compression(name, int(level) if level else None)


def parse_chunks(text: str) -> str | int:
    """``keep``, ``auto``, or a target chunk size in bytes (``4MiB``, ``512k``, ``1048576``)."""
    value = text.strip().lower()
    if value in CHUNK_CHOICES:
        return value
    match = _SIZE.match(value)
    if match is None or float(match.group(1)) <= 0:
        raise UnsupportedValueError(
            f"Unknown chunking {text!r}: use keep, auto, or a chunk size such as 4MiB or 1048576."
        )
    unit = (match.group(2) or "").lower()[:1]
    return max(1, int(float(match.group(1)) * _UNITS[unit]))


def _named_codec(compression: Compression) -> tuple[ZarrCodec, ...]:
    level = compression.level
    match compression.name:
        case "none":
            return ()
        case "gzip":
            return (zarr.codecs.GzipCodec(level=5 if level is None else level),)
        case "zstd":
            return (zarr.codecs.ZstdCodec(level=3 if level is None else level),)
        case "blosc-lz4" | "blosc-zstd":
            cname: Any = compression.name.partition("-")[2]
            return (
                zarr.codecs.BloscCodec(cname=cname, clevel=5 if level is None else level, shuffle="shuffle"),
            )
    raise UnsupportedValueError(f"No codec for compression {compression.name!r}.")


def codecs_for_hdf5(dataset: Any, compression: Compression) -> tuple[ZarrCodec, ...]:
    """The Zarr codecs for an h5py dataset under *compression* (see the module docstring)."""
    compressed = dataset.compression is not None or bool(getattr(dataset, "_filters", None))
    if compression.name == "auto":
        return default_compressors() if compressed else ()
    if compression.name == "keep":
        if dataset.compression == "gzip":
            return (zarr.codecs.GzipCodec(level=int(dataset.compression_opts or HDF5_GZIP_LEVEL)),)
        return default_compressors() if compressed else ()
    return _named_codec(compression)


def codecs_for_zarr(array: Any, compression: Compression) -> tuple[Any, ...]:
    """The Zarr codecs for a Zarr source array: kept as they are (auto, keep) or as asked."""
    if compression.name in ("auto", "keep"):
        return tuple(array.compressors)
    return _named_codec(compression)


def zarr_chunks(
    shape: tuple[int, ...], source_chunks: Any, itemsize: int, chunks: str | int
) -> tuple[int, ...]:
    """The chunk shape of a converted dataset: the source's (keep), the default (auto), or by size."""
    if chunks == "keep" and source_chunks:
        return tuple(int(c) for c in source_chunks)
    if isinstance(chunks, int):
        return default_chunks(shape, itemsize, target=chunks)
    return default_chunks(shape, itemsize)


def hdf5_options(array: Any, layout: Layout, *, where: str = "") -> dict[str, Any]:
    """``H5DataIO`` options for a Zarr source array: its chunk shape and gzip where it was compressed."""
    shape = tuple(int(s) for s in array.shape)
    chunks = zarr_chunks(shape, getattr(array, "chunks", None), array.dtype.itemsize, layout.chunks)
    chunks = tuple(max(1, min(c, s)) for c, s in zip(chunks, shape, strict=True))
    options: dict[str, Any] = {"chunks": chunks}
    name, level = layout.compression.name, layout.compression.level
    compressed = bool(tuple(getattr(array, "compressors", ())))
    if name == "gzip" or (name in ("auto", "keep") and compressed):
        source_gzip = [c for c in getattr(array, "compressors", ()) if isinstance(c, zarr.codecs.GzipCodec)]
        default = int(source_gzip[0].level) if source_gzip and name == "keep" else HDF5_GZIP_LEVEL
        options.update(compression="gzip", compression_opts=default if level is None else level)
    elif name not in ("auto", "keep", "none"):
        raise UnsupportedValueError(
            f"Cannot write dataset {where or array!r} to HDF5 with {name!r} compression: it has no portable "
            "HDF5 filter. Use --compression gzip[:level], none or auto."
        )
    return options


def iter_datasets(root: GroupBuilder) -> Iterator[DatasetBuilder]:
    """Every dataset builder of the tree (links are not followed)."""
    yield from root.datasets.values()
    for sub in root.groups.values():
        yield from iter_datasets(sub)


def is_numeric_array(data: Any) -> bool:
    """Whether *data* is a stored (array-like, not in-memory) numeric array of rank >= 1."""
    if isinstance(data, np.ndarray) or not hasattr(data, "shape") or not hasattr(data, "dtype"):
        return False
    dtype = data.dtype
    return isinstance(dtype, np.dtype) and dtype.kind in "biufc" and len(data.shape) >= 1


def apply_zarr_layout(root: GroupBuilder, layout: Layout, *, zarr_format: int = 3) -> None:
    """Wrap the stored numeric arrays of *root* (h5py or zarr) in ZarrDataIO with the chosen layout.

    A sharded Zarr source keeps its shards too (chunks ``keep``, a v3 destination).
    """
    for builder in iter_datasets(root):
        data = builder.data
        if not is_numeric_array(data) or 0 in data.shape:
            continue
        shape = tuple(int(s) for s in data.shape)
        chunks = zarr_chunks(shape, data.chunks, data.dtype.itemsize, layout.chunks)
        if isinstance(data, zarr.Array):
            codecs = codecs_for_zarr(data, layout.compression)
            shards = data.shards if layout.chunks == "keep" and zarr_format == 3 else None
            builder["data"] = ZarrDataIO(
                data, chunks=chunks, shards=shards, compressors=list(codecs), link_data=False
            )
        elif type(data).__module__.startswith("h5py"):
            codecs = codecs_for_hdf5(data, layout.compression)
            builder["data"] = ZarrDataIO.from_h5py_dataset(
                data, chunks=chunks, compressors=list(codecs), link_data=False
            )


def describe_codec(codec: Any) -> str:
    """A short name for a codec: ``gzip(5)``, ``zstd(0)``, ``blosc(lz4,5,shuffle)``, else its class."""
    match codec:
        case zarr.codecs.GzipCodec():
            return f"gzip({codec.level})"
        case zarr.codecs.ZstdCodec():
            return f"zstd({codec.level})"
        case zarr.codecs.BloscCodec():
            cname = getattr(codec.cname, "value", codec.cname)
            shuffle = getattr(codec.shuffle, "value", codec.shuffle)
            return f"blosc({cname},{codec.clevel},{shuffle})"
    config = getattr(codec, "get_config", None)
    if callable(config):  # a numcodecs codec (v2 arrays)
        cfg = dict(config())
        name = cfg.pop("id", type(codec).__name__)
        return f"{name}({','.join(str(v) for v in cfg.values())})"
    return type(codec).__name__


def describe_codecs(array: Any) -> str:
    """The filters and compressors of a zarr array, short (``none`` when it stores raw bytes)."""
    codecs = [*getattr(array, "filters", ()), *getattr(array, "compressors", ())]
    return "+".join(describe_codec(c) for c in codecs) or "none"
