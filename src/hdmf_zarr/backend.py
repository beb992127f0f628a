"""hdmf-zarr 0.14's module path ``hdmf_zarr.backend``: ``ZarrIO`` and its constants, re-exported.

Layer: top (peer module paths). Compatibility only (hdmf's tests, tutorials and user scripts import
from here); remove when no supported client does.
"""

from __future__ import annotations

from hdmf_zarr.compat.names import (
    COMPOUND_DTYPE_MIN_STRING_LENGTH,
    DEFAULT_SPEC_LOC_DIR,
    REFERENCE_DTYPE_ATTR_VALUE,
    ROOT_NAME,
    SPEC_LOC_ATTR,
    SUPPORTED_ZARR_STORES,
)
from hdmf_zarr.io import ZarrIO

__all__ = [
    "COMPOUND_DTYPE_MIN_STRING_LENGTH",
    "DEFAULT_SPEC_LOC_DIR",
    "REFERENCE_DTYPE_ATTR_VALUE",
    "ROOT_NAME",
    "SPEC_LOC_ATTR",
    "SUPPORTED_ZARR_STORES",
    "ZarrIO",
]
