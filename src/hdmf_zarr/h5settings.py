"""Storage settings of an h5py dataset as Zarr options: chunk shape, fill value and codecs.

Layer: primitives. Reads only public h5py dataset properties (and the filter table for HDF5 plugin
filters); imports no h5py, so it costs nothing when HDF5 is not used. HDF5 -> Zarr export keeps a
dataset's chunking and compression with these, as hdmf-zarr does.
"""

from __future__ import annotations

import warnings
from typing import Any, Final

import numpy as np
import zarr.codecs.numcodecs as zarr_numcodecs
from zarr.abc.codec import Codec as ZarrCodec

from hdmf_zarr.errors import HdmfZarrWarning

#: HDF5 filter ids of the compressors registered by hdf5plugin that have a Zarr equivalent.
H5_BLOSC_ID: Final = 32001
H5_ZSTD_ID: Final = 32015
#: Blosc's compressor codes in the HDF5 filter's parameters (c-blosc's BLOSC_*_FORMAT order).
_BLOSC_NAMES: Final = ("blosclz", "lz4", "lz4hc", "snappy", "zlib", "zstd")
#: Filters HDF5 applies for its own bookkeeping (no data transform to carry over).
_BOOKKEEPING: Final = frozenset({"fletcher32"})


def is_h5py_dataset(obj: object) -> bool:
    """Whether *obj* is an h5py Dataset (checked by type, without importing h5py)."""
    cls = type(obj)
    return cls.__module__.startswith("h5py") and cls.__name__ == "Dataset"


def h5_codecs(dataset: Any) -> tuple[ZarrCodec, ...]:
    """The Zarr codecs that reproduce *dataset*'s HDF5 filter pipeline, in HDF5's order.

    Filters without a Zarr equivalent (lzf, szip, scale-offset, unknown plugins) are left out with an
    :class:`HdmfZarrWarning` naming the dataset: the data is copied exactly, only stored differently.
    """
    out: list[ZarrCodec] = []
    if dataset.shuffle:
        out.append(zarr_numcodecs.Shuffle(elementsize=dataset.dtype.itemsize))
    compression = dataset.compression
    if compression == "gzip":
        out.append(zarr_numcodecs.Zlib(level=int(dataset.compression_opts or 4)))  # HDF5 deflate is zlib
    elif compression in ("lzf", "szip"):
        _dropped(dataset, f"its {compression} compression")
    if dataset.scaleoffset is not None:
        _dropped(dataset, "its scale-offset filter")
    for filter_id, params in _plugin_filters(dataset):
        codec = _plugin_codec(filter_id, params)
        if codec is None:
            _dropped(dataset, f"the HDF5 plugin filter {filter_id} {params!r}")
        else:
            out.append(codec)
    return tuple(out)


def h5_fill_value(dataset: Any) -> Any:
    """*dataset*'s fill value as a Zarr fill value (bytes decoded as UTF-8), or None for none/compound."""
    fill = dataset.fillvalue
    if fill is None or np.ndim(fill) != 0 or dataset.dtype.names is not None:
        return None
    value = np.asarray(fill).item()
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value


def _plugin_filters(dataset: Any) -> list[tuple[int, tuple[int, ...]]]:
    """The filters of *dataset* that h5py reports by numeric id (HDF5 plugins)."""
    filters = getattr(dataset, "_filters", None) or {}
    out: list[tuple[int, tuple[int, ...]]] = []
    for key, params in filters.items():
        if str(key).isdigit():
            out.append((int(key), tuple(params or ())))
        elif key not in _BOOKKEEPING and key not in ("gzip", "lzf", "szip", "shuffle", "scaleoffset"):
            _dropped(dataset, f"the HDF5 filter {key!r}")
    return out


def _plugin_codec(filter_id: int, params: tuple[int, ...]) -> ZarrCodec | None:
    if filter_id == H5_BLOSC_ID and len(params) >= 7 and params[6] < len(_BLOSC_NAMES):
        return zarr_numcodecs.Blosc(cname=_BLOSC_NAMES[params[6]], clevel=params[4], shuffle=params[5])
    if filter_id == H5_ZSTD_ID:
        return zarr_numcodecs.Zstd(level=params[0] if params else 3)
    return None


def _dropped(dataset: Any, what: str) -> None:
    warnings.warn(
        f"HDF5 dataset {dataset.name!r}: {what} has no Zarr equivalent here and is not carried over; "
        "the data is copied exactly. Pass compressors= in a ZarrDataIO to choose the Zarr codecs.",
        HdmfZarrWarning,
        stacklevel=3,
    )
