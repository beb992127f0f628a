"""hdmf_zarr: the Zarr storage backend for HDMF and NWB.

Public names only: ``ZarrIO``, ``NWBZarrIO``, ``ZarrDataIO`` and ``__version__``. ``NWBZarrIO`` is
imported lazily so that plain HDMF users do not pay for pynwb.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hdmf_zarr import _neuroconv_compat
from hdmf_zarr._version import __version__
from hdmf_zarr.dataio import ZarrDataIO
from hdmf_zarr.errors import IncompleteConversionError
from hdmf_zarr.io import ZarrIO, ZarrV2IO, is_zarr_v2_file

_neuroconv_compat.install()  # zarr.codec_registry for neuroconv under zarr 3 (see that module)

if TYPE_CHECKING:
    from hdmf_zarr.nwb import NWBZarrIO, NWBZarrV2IO

__all__ = [
    "IncompleteConversionError",
    "NWBZarrIO",
    "NWBZarrV2IO",
    "ZarrDataIO",
    "ZarrIO",
    "ZarrV2IO",
    "__version__",
    "convert",
    "convert_to_v2",
    "convert_to_v3",
    "is_zarr_v2_file",
]


def __getattr__(name: str) -> Any:
    if name in ("NWBZarrIO", "NWBZarrV2IO"):
        from hdmf_zarr import nwb

        return getattr(nwb, name)
    if name in ("convert", "convert_to_v2", "convert_to_v3"):
        from hdmf_zarr import conversion as module

        return getattr(module, name)
    raise AttributeError(f"module 'hdmf_zarr' has no attribute {name!r}")
