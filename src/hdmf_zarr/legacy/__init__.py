"""Readers and writers for the Zarr v2 dialect of hdmf-zarr <= 0.13.

Layer: conventions. ``read`` and ``write`` call these; nothing here imports them.
"""

from hdmf_zarr.legacy.nodes import V2Index, V2Kind, V2Node, classify, is_scalar, open_v2_index, open_v2_node
from hdmf_zarr.legacy.unpickle import LegacyReference, RestrictedUnpickler, safe_loads
from hdmf_zarr.legacy.v2 import LegacyArrayMeta, LegacyObjectArray, load_index, reference_record

__all__ = [
    "LegacyArrayMeta",
    "LegacyObjectArray",
    "LegacyReference",
    "RestrictedUnpickler",
    "V2Index",
    "V2Kind",
    "V2Node",
    "classify",
    "is_scalar",
    "load_index",
    "open_v2_index",
    "open_v2_node",
    "reference_record",
    "safe_loads",
]
