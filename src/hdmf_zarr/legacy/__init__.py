"""Readers and writers for the Zarr v2 dialect of hdmf-zarr <= 0.13.

Layer: conventions. ``read`` and ``write`` call these; nothing here imports them.
"""

from hdmf_zarr.legacy.unpickle import LegacyReference, RestrictedUnpickler, safe_loads
from hdmf_zarr.legacy.v2 import LegacyArrayMeta, LegacyObjectArray, load_index, reference_record

__all__ = [
    "LegacyArrayMeta",
    "LegacyObjectArray",
    "LegacyReference",
    "RestrictedUnpickler",
    "load_index",
    "reference_record",
    "safe_loads",
]
