"""The storage convention: every reserved name, dtype token and JSON record shape, defined once.

Layer: format (bottom). Imports only the standard library and ``errors``. Each constant names the
heading of ``docs/format.md`` that describes it; no other module may spell these literals.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, Self

from hdmf_zarr.errors import FormatError

# -- Dialects (docs/format.md#dialects) --------------------------------------------------------------
ZarrFormat = Literal[2, 3]
DEFAULT_ZARR_FORMAT: Final[ZarrFormat] = 3

# -- Reserved attributes of the v3 dialect (docs/format.md#reserved-attributes) ------------------------
DTYPE_ATTR: Final = "_DTYPE"
LINKS_ATTR: Final = "_LINKS"
REFERENCE_FIELDS_ATTR: Final = "_REFERENCE_FIELDS"
SPECLOC_ATTR: Final = ".specloc"
DIMENSIONS_ATTR: Final = "_ARRAY_DIMENSIONS"
REFERENCE_KEY: Final = "_REFERENCE"
#: On a 0-d array whose value is its fill value and which has no chunk: readers need no request for it.
VALUE_IN_FILL_ATTR: Final = "_VALUE_IN_FILL"

# -- Reserved attributes of the v2 dialect (docs/format.md#zarr-v2-dialect) ---------------------------
V2_LINKS_ATTR: Final = "zarr_link"
V2_DTYPE_ATTR: Final = "zarr_dtype"
V2_REFERENCE_VALUE_KEY: Final = "value"

# -- Node names (docs/format.md#names) ----------------------------------------------------------------
#: First character of an escaped node key or attribute name; inside a key, ``!21`` is "!" and ``!5C`` "\\".
NAME_ESCAPE: Final = "!"
#: On a node whose key is a shortened escape (its name is too long for a file name): the original name.
NAME_ATTR: Final = "_NAME"
#: Longest node key, in UTF-8 bytes: a file name on every common filesystem (ext4, APFS, NTFS).
MAX_KEY_BYTES: Final = 255
#: Marks a shortened key: ``!`` + escaped prefix + ``!H`` + digest of the full name.
SHORTENED_KEY_MARK: Final = "!H"
#: Hex digits of the SHA-256 of the name kept in a shortened key.
SHORTENED_KEY_DIGEST_CHARS: Final = 32

#: Attributes that belong to the convention and never reach a builder.
RESERVED_ATTRS: Final = frozenset(
    {
        DTYPE_ATTR,
        LINKS_ATTR,
        REFERENCE_FIELDS_ATTR,
        SPECLOC_ATTR,
        DIMENSIONS_ATTR,
        VALUE_IN_FILL_ATTR,
        V2_LINKS_ATTR,
        V2_DTYPE_ATTR,
        NAME_ATTR,
    }
)
#: Attribute names a user attribute may not take as is: they are stored escaped (docs/format.md#names).
RESERVED_ATTR_NAMES: Final = RESERVED_ATTRS | {REFERENCE_KEY}

# -- Dtype tokens stored in _DTYPE / zarr_dtype (docs/format.md#dtype-tokens) --------------------------
DTYPE_OBJECT_REFERENCE: Final = "object_reference"
DTYPE_OBJECT: Final = "object"  # v2 token for references; accepted in v3 as a synonym
DTYPE_SCALAR_V2: Final = "scalar"  # v2: a scalar stored with shape [1]
DTYPE_STR: Final = "str"
DTYPE_BYTES: Final = "bytes"
REFERENCE_DTYPE_TOKENS: Final = frozenset({DTYPE_OBJECT_REFERENCE, DTYPE_OBJECT})

# -- Specification cache (docs/format.md#specification-cache) -----------------------------------------
SPEC_GROUP: Final = "specifications"
NAMESPACE_SPEC_NAME: Final = "namespace"

# -- Conversion outputs being written (docs/format.md#conversion-outputs) ------------------------------
#: ``.<stem>.partial-<id><suffix>``: a conversion's output until it is complete and renamed into place.
PARTIAL_MARK: Final = ".partial-"
#: ``.<name>.replaced-<id>``: the file a forced conversion (or a mode "w" swap without an atomic exchange)
#: replaces, removed once the new one is in place (docs/format.md#writes-in-progress).
REPLACED_MARK: Final = ".replaced-"
#: ``.<name>.staging-<id>``: a new file written with mode "w"/"w-"/"x" beside its target until close.
STAGING_MARK: Final = ".staging-"

# -- Compound datasets (docs/format.md#compound-datasets) ---------------------------------------------
#: Minimum width, in characters, of a string or reference field of a compound (v3 ``fixed_length_utf32``).
COMPOUND_STRING_MIN_CHARS: Final = 512

# -- Store identity (docs/format.md#links) -------------------------------------------------------------
SAME_STORE_SOURCE: Final = "."

# -- Consolidated metadata (docs/format.md#consolidated-metadata) --------------------------------------
V2_CONSOLIDATED_KEY: Final = ".zmetadata"
V3_METADATA_KEY: Final = "zarr.json"
V2_GROUP_KEY: Final = ".zgroup"
V2_ARRAY_KEY: Final = ".zarray"
V2_ATTRS_KEY: Final = ".zattrs"
#: Object names zarr keeps for node documents: a node may not use them as its key (docs/format.md#names).
RESERVED_NODE_KEYS: Final = frozenset(
    {V3_METADATA_KEY, V2_GROUP_KEY, V2_ARRAY_KEY, V2_ATTRS_KEY, V2_CONSOLIDATED_KEY}
)

# -- Writes in progress (docs/format.md#writes-in-progress) ------------------------------------------
#: Object at the store root while a writer modifies the store in place; a successful close removes it.
WRITE_MARK_KEY: Final = ".hdmf_zarr_write.json"
#: ``.hdmf_zarr_probe-<id>``: a file put at the root of a local store while a Dask cluster writes into
#: it: every worker, and every task before it writes, checks that it sees that folder; removed after.
WORKER_PROBE_PREFIX: Final = ".hdmf_zarr_probe-"

# -- Store keys (docs/format.md#store-keys) ------------------------------------------------------------
#: The chunk key separators a v2 array may declare in ``dimension_separator`` (zarr's own two).
V2_SEPARATORS: Final = (".", "/")
#: The ``chunk_key_encoding`` of the v3 arrays we write: zarr's ``default`` encoding with ``.``
#: (``c.0.0``), so an array's chunks are files of its own folder, with no ``c/`` folder under it.
V3_CHUNK_KEY_ENCODING: Final = {"name": "default", "separator": "."}


def _require_str(obj: Mapping[str, Any], key: str, *, kind: str, where: str) -> str:
    try:
        value = obj[key]
    except KeyError as exc:
        raise FormatError(f"{kind} record in {where!r} lacks the key {key!r}: {obj!r}") from exc
    if not isinstance(value, str):
        raise FormatError(f"{kind} record in {where!r} has a non-string {key!r}: {value!r}")
    return value


def _optional_str(obj: Mapping[str, Any], key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class LinkRecord:
    """One entry of a group's ``_LINKS`` (v3) or ``zarr_link`` (v2) attribute (docs/format.md#links)."""

    name: str
    source: str  # "." when the target lives in the same store; else the target store relative to this one
    path: str  # absolute POSIX path of the target inside its store
    object_id: str | None = None
    source_object_id: str | None = None

    def to_json(self) -> dict[str, str]:
        out = {"source": self.source, "path": self.path, "name": self.name}
        if self.object_id is not None:
            out["object_id"] = self.object_id
        if self.source_object_id is not None:
            out["source_object_id"] = self.source_object_id
        return out

    @classmethod
    def from_json(cls, obj: object, *, where: str) -> Self:
        if not isinstance(obj, Mapping):
            raise FormatError(f"Link record in {where!r} is not a JSON object: {obj!r}")
        return cls(
            name=_require_str(obj, "name", kind="Link", where=where),
            source=_optional_str(obj, "source") or SAME_STORE_SOURCE,
            path=_require_str(obj, "path", kind="Link", where=where),
            object_id=_optional_str(obj, "object_id"),
            source_object_id=_optional_str(obj, "source_object_id"),
        )


@dataclass(frozen=True, slots=True)
class ReferenceRecord:
    """An object reference: where the target lives (docs/format.md#object-references)."""

    source: str
    path: str
    object_id: str | None = None
    source_object_id: str | None = None

    def to_json(self) -> dict[str, str]:
        """The v3 payload under ``_REFERENCE`` (source and path only, as the peer writes)."""
        return {"source": self.source, "path": self.path}

    def to_v2_json(self) -> dict[str, str | None]:
        """The v2 payload (``zarr_dtype: object`` attribute value and JSON reference datasets)."""
        return {
            "source": self.source,
            "path": self.path,
            "object_id": self.object_id,
            "source_object_id": self.source_object_id,
        }

    @classmethod
    def from_json(cls, obj: object, *, where: str) -> Self:
        if not isinstance(obj, Mapping):
            raise FormatError(f"Reference record in {where!r} is not a JSON object: {obj!r}")
        return cls(
            source=_optional_str(obj, "source") or SAME_STORE_SOURCE,
            path=_require_str(obj, "path", kind="Reference", where=where),
            object_id=_optional_str(obj, "object_id"),
            source_object_id=_optional_str(obj, "source_object_id"),
        )


@dataclass(frozen=True, slots=True)
class WriteMarkRecord:
    """The in-progress mark: who started a write, when, in which mode (docs/format.md#writes-in-progress)."""

    mode: str
    started: str  # ISO 8601, UTC
    host: str
    pid: int
    token: str  # unique per write: a writer that reads its own token back holds the mark
    writer: str  # package and version that wrote the mark
    conversion_of: str | None = None  # the source file, when the write is a conversion (optional key)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "mode": self.mode,
            "started": self.started,
            "host": self.host,
            "pid": self.pid,
            "token": self.token,
            "writer": self.writer,
        }
        if self.conversion_of is not None:
            out["conversion_of"] = self.conversion_of
        return out

    @classmethod
    def from_json(cls, obj: object, *, where: str) -> Self:
        if not isinstance(obj, Mapping):
            raise FormatError(f"In-progress mark {WRITE_MARK_KEY} in {where!r} is not a JSON object: {obj!r}")
        pid = obj.get("pid")
        return cls(
            mode=_require_str(obj, "mode", kind="In-progress mark", where=where),
            started=_require_str(obj, "started", kind="In-progress mark", where=where),
            host=_optional_str(obj, "host") or "?",
            pid=pid if isinstance(pid, int) else -1,
            token=_optional_str(obj, "token") or "",
            writer=_optional_str(obj, "writer") or "?",
            conversion_of=_optional_str(obj, "conversion_of"),
        )

    def describe(self) -> str:
        what = f"a write in mode {self.mode!r}"
        if self.conversion_of is not None:
            what = f"a conversion of {self.conversion_of!r} (mode {self.mode!r})"
        return f"{what} started at {self.started} by process {self.pid} on {self.host} ({self.writer})"


def encode_reference_attr(record: ReferenceRecord, zarr_format: ZarrFormat) -> dict[str, Any]:
    """Return the attribute value that stores *record* in the given dialect."""
    if zarr_format == 2:
        return {V2_REFERENCE_VALUE_KEY: record.to_v2_json(), V2_DTYPE_ATTR: DTYPE_OBJECT}
    return {REFERENCE_KEY: record.to_json()}


def decode_reference_attr(value: object, *, where: str) -> ReferenceRecord | None:
    """Return the reference stored in an attribute value of either dialect, or None for plain values."""
    if not isinstance(value, Mapping):
        return None
    if REFERENCE_KEY in value and len(value) == 1:
        return ReferenceRecord.from_json(value[REFERENCE_KEY], where=where)
    if value.get(V2_DTYPE_ATTR) == DTYPE_OBJECT and V2_REFERENCE_VALUE_KEY in value:
        return ReferenceRecord.from_json(value[V2_REFERENCE_VALUE_KEY], where=where)
    return None
