"""Names of hdmf-zarr 0.14's public modules that mean something here, and the refusal of those that don't.

Layer: conventions (with ``references``). May import _format, store and errors. Remove an item once
no supported client imports it from the peer's module path (see docs/peer-suite.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from zarr.abc.store import Store
from zarr.storage import FsspecStore, LocalStore

from hdmf_zarr import _format as fmt
from hdmf_zarr.store import describe_source

#: Name of the root builder of every file (hdmf's convention; read.builders names the root so).
ROOT_NAME: Final = "root"

#: Store classes ``ZarrIO`` accepts as *path* (any zarr Store; the peer lists these three).
SUPPORTED_ZARR_STORES: Final = (LocalStore, FsspecStore, Store)

#: The peer's constants for reserved names, under the peer's names (values from _format).
SPEC_LOC_ATTR: Final = fmt.SPECLOC_ATTR
DEFAULT_SPEC_LOC_DIR: Final = fmt.SPEC_GROUP
REFERENCE_DTYPE_ATTR_VALUE: Final = fmt.DTYPE_OBJECT_REFERENCE
COMPOUND_DTYPE_MIN_STRING_LENGTH: Final = fmt.COMPOUND_STRING_MIN_CHARS


def get_store_path(store: Store) -> str:
    """Return the path or URL identifying *store* (a LocalStore: its resolved folder), as the IO's source."""
    return describe_source(store)


class ZarrReference(dict[str, str]):
    """An object reference in its stored JSON form, ``{"source": ..., "path": ...}``.

    ``ZarrIO.resolve_ref`` accepts it. ``source`` is the target's store relative to the referring
    one ("." for the same store); ``path`` is the target's absolute path in that store.
    """

    def __init__(self, source: str = fmt.SAME_STORE_SOURCE, path: str = "/") -> None:
        super().__init__(source=source, path=path)

    @property
    def source(self) -> str:
        return self["source"]

    @source.setter
    def source(self, value: str) -> None:
        self["source"] = value

    @property
    def path(self) -> str:
        return self["path"]

    @path.setter
    def path(self, value: str) -> None:
        self["path"] = value

    def to_record(self) -> fmt.ReferenceRecord:
        """The reference as the convention's record."""
        return fmt.ReferenceRecord.from_json(self, where="ZarrReference")


class PeerNameError(AttributeError):
    """A name of hdmf-zarr 0.14 that has no meaning in this package (the message says what to use)."""


def refuse_names(module: str, gone: Mapping[str, str]) -> Callable[[str], Any]:
    """Return a module ``__getattr__`` that fails for the peer's names in *gone* with their hint."""

    def __getattr__(name: str) -> Any:
        hint = gone.get(name)
        if hint is not None:
            raise PeerNameError(f"{module}.{name} (hdmf-zarr 0.14) does not exist in this package: {hint}")
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__
