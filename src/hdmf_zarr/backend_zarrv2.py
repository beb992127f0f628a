"""hdmf-zarr 0.14's module path ``hdmf_zarr.backend_zarrv2``: the Zarr v2 reader names, re-exported.

``ZarrIO`` reads both dialects itself; ``ZarrV2IO`` is its alias. Layer: top (peer module paths).
Compatibility only; remove when no supported client imports from here.
"""

from __future__ import annotations

from hdmf_zarr.compat.names import refuse_names
from hdmf_zarr.errors import IncompleteConversionError
from hdmf_zarr.errors import UnsafePickleError as UnsafePickleCodecError
from hdmf_zarr.io import ZarrV2IO, is_zarr_v2_file

__all__ = ["IncompleteConversionError", "UnsafePickleCodecError", "ZarrV2IO", "is_zarr_v2_file"]

__getattr__ = refuse_names(
    __name__,
    {
        "ZarrV2SpecReader": (
            "load the namespaces cached in a v2 file with "
            "ZarrIO.load_namespaces(type_map_or_catalog, path=...)."
        ),
    },
)
