"""The hdmf_zarr error hierarchy; each leaf also subclasses the fitting builtin.

Layer: format (bottom). Imports nothing from hdmf_zarr. Messages say what went wrong, where (store
and node path), the offending value and what to do.
"""

from __future__ import annotations

import contextlib
import os
import re
import zlib
from collections.abc import Iterator

from hdmf.backends.errors import UnsupportedOperation


class HdmfZarrError(Exception):
    """Base class of every error raised by hdmf_zarr."""


class FormatError(HdmfZarrError, ValueError):
    """A stored node does not follow the storage convention (docs/format.md)."""


class CorruptDataError(FormatError):
    """A chunk or node document cannot be decoded: the file is damaged or was not written by a Zarr writer."""


class StoreError(HdmfZarrError, OSError):
    """A store cannot be opened, or does not allow the requested operation."""


class StoreWriteError(StoreError):
    """Writing to the store failed (disk full, no permission, ...); ``errno`` and ``filename`` are set."""


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


class InvalidOptionError(HdmfZarrError, ValueError):
    """An option (chunk shape, storage option, ...) has a value that cannot do what it says."""


class InvalidNameError(HdmfZarrError, ValueError):
    """A node or link name that HDF5 refuses too: empty, ".", or holding "/" or a NUL character."""


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


class CaseCollisionWarning(HdmfZarrWarning):
    """Two sibling nodes whose keys differ only in letter case: one folder on macOS and Windows."""


class StaleConsolidatedMetadataWarning(HdmfZarrWarning):
    """The consolidated metadata block does not list every node in the store."""


class IncompleteConversionError(HdmfZarrError, RuntimeError):
    """A conversion between dialects could not carry every object over (name kept from hdmf-zarr 0.14)."""


#: How Rust codec pipelines (zarrs) report an operating-system error inside a RuntimeError.
_RUST_OS_ERROR = re.compile(r"\(os error (\d+)\)")


def os_error_number(exc: BaseException) -> int | None:
    """The OS error number behind *exc*: an OSError's, or one a codec pipeline put in its message."""
    if isinstance(exc, OSError):
        return exc.errno
    match = _RUST_OS_ERROR.search(str(exc)) if isinstance(exc, RuntimeError) else None
    return int(match.group(1)) if match else None


def write_failure(exc: BaseException, *, what: str, filename: str) -> BaseException:
    """Return *exc* as a StoreWriteError (errno kept) naming *what* was written and *filename*.

    An error that is already ours, or that carries no OS error number, is returned as it is.
    """
    number = os_error_number(exc)
    if number is None or isinstance(exc, HdmfZarrError):
        return exc
    target = getattr(exc, "filename", None) or filename
    return StoreWriteError(
        number,
        f"{os.strerror(number)}, while writing {what}; free space (or fix the cause) and write again",
        os.fspath(target),
    )


#: What codecs raise on bytes they cannot decode (blosc/zstd: RuntimeError; reshape, JSON, UTF-8: ValueError).
DECODE_ERRORS: tuple[type[Exception], ...] = (RuntimeError, ValueError, EOFError, zlib.error)


#: What parsing a node document raises on bad JSON or fields (zarr's from_dict: also TypeError, KeyError).
METADATA_ERRORS: tuple[type[Exception], ...] = (*DECODE_ERRORS, TypeError, KeyError)


@contextlib.contextmanager
def decoding(where: str, errors: tuple[type[Exception], ...] = DECODE_ERRORS) -> Iterator[None]:
    """Turn a codec's failure inside the block into a CorruptDataError naming *where* (node and file).

    Our own errors, and errors of other kinds (an IndexError for a selection out of bounds), pass.
    """
    try:
        yield
    except errors as exc:
        if isinstance(exc, HdmfZarrError):
            raise
        raise CorruptDataError(
            f"Cannot decode {where}: {type(exc).__name__}: {exc}. A chunk or node document there is "
            "damaged, truncated or was not written by a Zarr writer; restore the file from a copy, or "
            "re-export it from its source."
        ) from exc


class ExportError(ModeError, UnsupportedOperation):
    """An export that cannot be done as asked (wrong mode, or links into a non-Zarr source).

    Also hdmf's ``UnsupportedOperation``, which HDF5IO and hdmf-zarr raise for the same cases.
    """


class TextEncodingError(HdmfZarrError, ValueError):
    """Text to store is not valid UTF-8 (the only text encoding Zarr stores)."""


class OutsideStoreError(FormatError):
    """A stored value would make a key point outside its store (``..``, absolute paths, odd separators)."""


class DecodeLimitError(CorruptDataError):
    """A stored chunk claims more elements or bytes than its array's metadata allows (or than it holds)."""


class SourceNotAllowedError(UnresolvedReferenceError, PermissionError):
    """A link or reference points into a store (URL or absolute path) the user has not allowed."""


class ParallelWriteError(HdmfZarrError, ValueError):
    """A parallel write was asked for with options or a store that cannot run it, or a worker died."""


class SourceReadError(HdmfZarrError, RuntimeError):
    """Reading the data of a dataset being written failed: its data iterator raised, or its source array."""
