"""Rows appended to stored datasets: hdmf's ``add_row``/``append`` on data read in mode ``a`` or ``r+``.

Layer: read. An appended row is buffered in the dataset's view, which reads with the new rows at once,
and reaches the store only at the next ``write()``: hdmf appends a table column by column, so a row that
fails half-way (or a session closed without ``write()``) never leaves a half-appended table on disk.
At ``write()`` every pending row is encoded first (a reference to an object outside the file fails here,
before anything is stored), then appended, then the consolidated metadata is rewritten by the writer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import zarr
from zarr.core.metadata import ArrayV2Metadata, ArrayV3Metadata

from hdmf_zarr.errors import ModeError

ArrayMetadata = ArrayV2Metadata | ArrayV3Metadata

#: Maps an appended reference target (a Container or a Builder) to its absolute path in this store.
PathOf = Callable[[Any], str]


class Appendable(Protocol):
    """A view (or array) that buffers appended rows."""

    def encode_pending(self, path_of: PathOf) -> np.ndarray: ...

    def stored_array(self) -> zarr.Array: ...

    def pending_written(self) -> None: ...


@dataclass(slots=True)
class PendingAppends:
    """The IO's log of views with rows still to be written, in the order they were first appended to."""

    _views: dict[int, Appendable] = field(default_factory=dict)

    def note(self, view: Appendable) -> None:
        self._views.setdefault(id(view), view)

    def __len__(self) -> int:
        return len(self._views)

    def discard(self) -> None:
        self._views.clear()

    def encode(self, path_of: PathOf) -> list[tuple[Appendable, np.ndarray]]:
        """Every buffered row as its array stores it; raises (storing nothing) if one cannot be stored."""
        return [(view, view.encode_pending(path_of)) for view in self._views.values()]

    def store(self, encoded: list[tuple[Appendable, np.ndarray]]) -> dict[str, ArrayMetadata]:
        """Append the encoded rows to their stored arrays; return the new metadata by store key."""
        changed: dict[str, ArrayMetadata] = {}
        for view, rows in encoded:
            raw = view.stored_array()
            view.pending_written()  # first: a numeric array counts its pending rows in its shape
            zarr.Array.append(raw, rows, axis=0)
            changed[raw.path] = raw.metadata
        self._views.clear()
        return changed


@dataclass(frozen=True, slots=True)
class AppendSite:
    """Where a view's appended rows go: its dataset, for messages, and the IO's log (None: read-only)."""

    where: str  # "dataset '/units/id' of 'file.nwb.zarr'"
    log: PendingAppends | None

    def accept(self, view: Appendable, raw: Any) -> None:
        if self.log is None:
            raise ModeError(
                f"Cannot append to {self.where}: the file was opened read-only. "
                "Open it with mode 'a' (or 'r+'), append, then call write()."
            )
        if not isinstance(raw, zarr.Array):
            raise ModeError(
                f"Cannot append to {self.where}: rows of text, reference and compound datasets of a Zarr v2 "
                "(hdmf-zarr <= 0.13) file cannot be extended in place. Convert the file to Zarr v3 first "
                "(hdmf-zarr convert SRC DST), then append to the converted file."
            )
        if raw.ndim == 0:
            raise ModeError(f"Cannot append to {self.where}: it is a scalar dataset.")
        self.log.note(view)


def text_rows(values: list[Any], dtype: np.dtype[Any], where: str) -> np.ndarray:
    """Encode appended text values for a stored text array."""
    out = []
    for value in values:
        if isinstance(value, bytes):
            value = value.decode("utf-8")
        if not isinstance(value, str):
            raise TypeError(f"Cannot append {value!r} to {where}: it holds text; append a str.")
        out.append(value)
    return np.array(out, dtype=dtype)


def compound_rows(
    values: list[Any], dtype: np.dtype[Any], references: set[str], path_of: PathOf, where: str
) -> np.ndarray:
    """Encode appended rows (tuples in field order) for a stored struct array; references become paths."""
    assert dtype.names is not None
    rows = []
    for row in values:
        items = tuple(row)
        if len(items) != len(dtype.names):
            raise ValueError(f"Cannot append {row!r} to {where}: a row has the fields {list(dtype.names)}.")
        encoded = []
        for name, item in zip(dtype.names, items, strict=True):
            kind = dtype[name].kind
            if name in references:
                item = path_of(item)
            if kind == "U":
                item = item.decode("utf-8") if isinstance(item, bytes) else str(item)
                width = dtype[name].itemsize // 4
                if len(item) > width:
                    raise ValueError(
                        f"Cannot append to {where}: the value {item[:40]!r}... of field {name!r} has "
                        f"{len(item)} characters, and the stored field holds at most {width}. "
                        "Write the table anew (export) to widen the field."
                    )
            encoded.append(item)
        rows.append(tuple(encoded))
    return np.array(rows, dtype=dtype)
