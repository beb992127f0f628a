"""hdmf-zarr 0.14's module path ``hdmf_zarr.nwb_zarrv2``: ``NWBZarrV2IO``, re-exported.

Layer: top (peer module paths). Compatibility only; remove when no supported client imports from here.
"""

from __future__ import annotations

from hdmf_zarr.nwb import NWBZarrV2IO

__all__ = ["NWBZarrV2IO"]
