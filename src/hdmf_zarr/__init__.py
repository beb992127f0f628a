"""hdmf_zarr: the Zarr storage backend for HDMF and NWB.

Public names only: ``ZarrIO``, ``NWBZarrIO``, ``ZarrDataIO`` and ``__version__``. ``NWBZarrIO`` is
imported lazily so that plain HDMF users do not pay for pynwb.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hdmf_zarr._version import __version__
from hdmf_zarr.dataio import ZarrDataIO
from hdmf_zarr.io import ZarrIO

if TYPE_CHECKING:
    from hdmf_zarr.nwb import NWBZarrIO

__all__ = ["NWBZarrIO", "ZarrDataIO", "ZarrIO", "__version__", "convert", "convert_to_v2", "convert_to_v3"]


def __getattr__(name: str) -> Any:
    if name == "NWBZarrIO":
        from hdmf_zarr.nwb import NWBZarrIO

        return NWBZarrIO
    if name in ("convert", "convert_to_v2", "convert_to_v3"):
        from hdmf_zarr import conversion as module

        return getattr(module, name)
    raise AttributeError(f"module 'hdmf_zarr' has no attribute {name!r}")
