"""hdmf-zarr 0.14's module path ``hdmf_zarr.utils``: ``ZarrDataIO``, ``ZarrReference`` and helpers.

Layer: top (peer module paths). Compatibility only; remove when no supported client imports from here.
"""

from __future__ import annotations

from hdmf_zarr.compat.names import ZarrReference, get_store_path, refuse_names
from hdmf_zarr.dataio import ZarrDataIO
from hdmf_zarr.read.lazy import NumericArray as HDMFZarrArray

__all__ = ["HDMFZarrArray", "ZarrDataIO", "ZarrReference", "get_store_path"]

__getattr__ = refuse_names(
    __name__,
    {
        "ZarrIODataChunkIteratorQueue": (
            "datasets given as DataChunkIterators are written by ZarrIO.write()/export() themselves; "
            "there is no queue to build or exhaust."
        ),
        "ZarrSpecWriter": (
            "namespaces are cached by ZarrIO.write(container, cache_spec=True) "
            "and ZarrIO.export(cache_spec=True)."
        ),
        "ZarrSpecReader": (
            "load the namespaces cached in a file with ZarrIO.load_namespaces(type_map_or_catalog, path=...)."
        ),
    },
)
