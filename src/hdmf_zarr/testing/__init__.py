"""Public test helpers: store fixtures over every store kind, a request-logging store, builder trees
that cover the HDMF data model, their comparison, and the RoundTripSuite base class.

Layer: testing (top). Needs pytest (the ``test`` extra).
"""

from hdmf_zarr.testing.builders import SAMPLE_TREES, assert_builders_equal, assert_values_equal, normalise
from hdmf_zarr.testing.stores import (
    DISK_KINDS,
    STORE_KINDS,
    CountingStore,
    RequestLog,
    available_store_kinds,
    counting,
    is_chunk_key,
    make_store_like,
    store_fixture,
)
from hdmf_zarr.testing.suite import RoundTripSuite

__all__ = [
    "DISK_KINDS",
    "SAMPLE_TREES",
    "STORE_KINDS",
    "CountingStore",
    "RequestLog",
    "RoundTripSuite",
    "assert_builders_equal",
    "assert_values_equal",
    "available_store_kinds",
    "counting",
    "is_chunk_key",
    "make_store_like",
    "normalise",
    "store_fixture",
]
