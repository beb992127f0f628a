"""hdmf-zarr 0.14's module path ``hdmf_zarr.zarr_utils``: the lazy dataset classes a read returns.

Layer: top (peer module paths). Compatibility only (isinstance checks in user code and hdmf's tests);
remove when no supported client imports from here.
"""

from __future__ import annotations

from hdmf_zarr.compat.names import refuse_names
from hdmf_zarr.read.lazy import ArrayView as ZarrDataset
from hdmf_zarr.read.lazy import BuilderCompoundArray as BuilderZarrTableDataset
from hdmf_zarr.read.lazy import BuilderReferenceArray as BuilderZarrReferenceDataset
from hdmf_zarr.read.lazy import ContainerCompoundArray as ContainerZarrTableDataset
from hdmf_zarr.read.lazy import ContainerReferenceArray as ContainerZarrReferenceDataset

__all__ = [
    "BuilderZarrReferenceDataset",
    "BuilderZarrTableDataset",
    "ContainerZarrReferenceDataset",
    "ContainerZarrTableDataset",
    "ZarrDataset",
]

_BASES = (
    "the abstract bases are not part of this package; test against ContainerZarrReferenceDataset, "
    "ContainerZarrTableDataset (or their Builder twins) or hdmf.query.HDMFDataset."
)
__getattr__ = refuse_names(
    __name__,
    {
        "DatasetOfReferences": _BASES,
        "AbstractZarrReferenceDataset": _BASES,
        "AbstractZarrTableDataset": _BASES,
        "BuilderResolverMixin": _BASES,
        "ContainerResolverMixin": _BASES,
        "is_reference_dtype": (
            "a dataset holds references when its builder's dtype is a RefSpec or its stored _DTYPE is "
            "'object_reference' (docs/format.md#dtype-tokens)."
        ),
    },
)
