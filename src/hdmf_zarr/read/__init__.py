"""Read side: a Zarr hierarchy to HDMF builders, lazily.

Layer: read. Public entry points: :func:`build_index` and :class:`Reader`.
"""

from hdmf_zarr.read.builders import NodeIndex, ReadContext, Reader, build_index

__all__ = ["NodeIndex", "ReadContext", "Reader", "build_index"]
