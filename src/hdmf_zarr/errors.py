"""The hdmf_zarr error hierarchy; each leaf also subclasses the fitting builtin.

Layer: format (bottom). Imports nothing from hdmf_zarr. Messages say what went wrong, where (store
and node path), the offending value and what to do.
"""

from __future__ import annotations


class HdmfZarrError(Exception):
    """Base class of every error raised by hdmf_zarr."""


class FormatError(HdmfZarrError, ValueError):
    """A stored node does not follow the storage convention (docs/format.md)."""


class StoreError(HdmfZarrError, OSError):
    """A store cannot be opened, or does not allow the requested operation."""


class StoreNotFoundError(StoreError, FileNotFoundError):
    """The path or URL holds no Zarr store."""


class StoreExistsError(StoreError, FileExistsError):
    """A store already exists where a new one was to be created."""


class InterruptedWriteError(StoreError):
    """A store carries the in-progress mark of a write that never finished (docs/format.md)."""


class StoreBusyError(StoreError, TimeoutError):
    """Another writer holds the store, and it did not let go within the wait allowed."""


class ReadOnlyStoreError(StoreError, PermissionError):
    """A write was attempted on a store opened read-only, or on a store that cannot be written."""


class ModeError(HdmfZarrError, ValueError):
    """An unknown or unsuitable access mode was given."""


class UnresolvedReferenceError(HdmfZarrError, LookupError):
    """A stored reference or link points at a node that cannot be opened."""


class UnsupportedValueError(HdmfZarrError, TypeError):
    """A value cannot be stored as a Zarr attribute or dataset."""


class UnsafePickleError(HdmfZarrError, ValueError):
    """A pickled chunk holds something other than the plain values legacy files contain."""


class IOClosedError(HdmfZarrError, ValueError):
    """An operation was attempted on a closed ZarrIO."""


class HdmfZarrWarning(UserWarning):
    """Base class of warnings issued by hdmf_zarr."""


class InterruptedWriteWarning(HdmfZarrWarning):
    """A store read carries the mark of an unfinished write: what is read is the last completed write."""


class NoConsolidatedMetadataWarning(HdmfZarrWarning):
    """A store without consolidated metadata is opened by listing it, which costs a request per node."""


class StaleConsolidatedMetadataWarning(HdmfZarrWarning):
    """The consolidated metadata block does not list every node in the store."""


class IncompleteConversionError(HdmfZarrError, RuntimeError):
    """A conversion between dialects could not carry every object over (name kept from hdmf-zarr 0.14)."""


class ParallelWriteError(HdmfZarrError, ValueError):
    """A parallel write was asked for with options or a store that cannot run it."""
