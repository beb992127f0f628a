"""Read a Zarr hierarchy into HDMF builders, from consolidated metadata when the file has it.

Layer: read. Opening reads metadata only; scalar datasets are fetched concurrently; arrays stay
lazy (zarr arrays or the views of ``read.lazy``). Builders are memoised by node path.
"""

from __future__ import annotations

import dataclasses
import json
import posixpath
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import zarr
from hdmf.build import Builder, DatasetBuilder, GroupBuilder, LinkBuilder, ReferenceBuilder
from hdmf.spec import NamespaceCatalog
from zarr.abc.store import Store
from zarr.core.array import AsyncArray
from zarr.core.buffer import default_buffer_prototype
from zarr.core.group import AsyncGroup, GroupMetadata
from zarr.core.metadata import ArrayV2Metadata, ArrayV3Metadata
from zarr.core.sync import sync
from zarr.storage import StorePath

from hdmf_zarr import _format as fmt
from hdmf_zarr import dtypes, legacy, paths
from hdmf_zarr.dtypes import Kind
from hdmf_zarr.errors import METADATA_ERRORS, FormatError, HdmfZarrError, UnresolvedReferenceError, decoding
from hdmf_zarr.pipeline import array_construction
from hdmf_zarr.read.append import AppendSite, PendingAppends
from hdmf_zarr.read.cache import ChunkCache
from hdmf_zarr.read.lazy import BuilderCompoundArray, BuilderReferenceArray, NumericArray, TextArray
from hdmf_zarr.read.scalars import fetch_values
from hdmf_zarr.read.spec_types import restore_unsigned
from hdmf_zarr.store import describe_source

NodeMetadata = GroupMetadata | ArrayV2Metadata | ArrayV3Metadata


@dataclass(slots=True)
class NodeIndex:
    """Every node's metadata by absolute in-store path, and each group's children in stored order."""

    nodes: dict[str, NodeMetadata] = field(default_factory=dict)
    children: dict[str, list[str]] = field(default_factory=dict)

    def add(self, path: str, meta: NodeMetadata) -> None:
        self.nodes[path] = meta
        if path != paths.ROOT:
            self.children.setdefault(paths.parent(path), []).append(path)


def _flatten(prefix: str, consolidated: Mapping[str, NodeMetadata], index: NodeIndex) -> None:
    """Add the nested consolidated blocks in depth-first order, without recursion (any depth)."""
    stack = [(prefix, iter(consolidated.items()))]
    while stack:
        base, items = stack[-1]
        for key, meta in items:
            path = paths.join(base, key)
            index.add(path, meta)
            if isinstance(meta, GroupMetadata) and meta.consolidated_metadata is not None:
                stack.append((path, iter(meta.consolidated_metadata.metadata.items())))
                break
        else:
            stack.pop()


#: The deepest group nesting read (the builder tree and hdmf's construction recurse once per level).
MAX_NESTING = 640


def build_index(root: zarr.Group, *, use_consolidated: bool = True) -> NodeIndex:
    """Index every node below *root*: from consolidated metadata if present and wanted, else by listing.

    Trees nested deeper than :data:`MAX_NESTING` are refused, naming the file and the deepest node.
    """
    try:
        index = _build_index(root, use_consolidated=use_consolidated)
    except METADATA_ERRORS as exc:
        if isinstance(exc, HdmfZarrError):
            raise
        source = describe_source(root.store)
        bad = sync(_unparsable_document(root.store))  # the failure path only: find which one
        where = f"the node document {bad!r} of {source!r}" if bad else f"a node document of {source!r}"
        with decoding(where, METADATA_ERRORS):
            raise
    deepest = max(index.nodes, key=lambda p: p.count("/"))
    if deepest.count("/") > MAX_NESTING:
        raise FormatError(
            f"{describe_source(root.store)!r} nests nodes {deepest.count('/')} levels deep (down to "
            f"{deepest[:200]!r}...); this reader follows at most {MAX_NESTING} levels "
            "(hdmf_zarr.read.builders.MAX_NESTING). The file was crafted or is damaged."
        )
    return index


async def _unparsable_document(store: Store) -> str | None:
    """The key of the first node document in *store* that is not JSON, if any."""
    proto = default_buffer_prototype()
    async for key in store.list():
        if posixpath.basename(key) in fmt.RESERVED_NODE_KEYS:
            buf = await store.get(key, prototype=proto)
            try:
                json.loads(buf.to_bytes() if buf is not None else b"null")
            except ValueError:
                return key
    return None


def _build_index(root: zarr.Group, *, use_consolidated: bool) -> NodeIndex:
    index = NodeIndex()
    index.add(paths.ROOT, root.metadata)
    if root.metadata.zarr_format == 2:
        # v2 files may hold object arrays zarr-python 3 cannot open: the legacy reader indexes them.
        for path, meta in legacy.load_index(root.store, use_consolidated=use_consolidated).items():
            if path != paths.ROOT:
                index.add(path, meta)
        return index
    consolidated = root.metadata.consolidated_metadata
    if consolidated is not None and use_consolidated:
        _flatten(paths.ROOT, consolidated.metadata, index)
        return index
    if consolidated is not None:
        # zarr lists members from the consolidated block when the group holds one: drop it to list.
        plain = dataclasses.replace(root.metadata, consolidated_metadata=None)
        root = zarr.Group(AsyncGroup(metadata=plain, store_path=root.store_path))
    with warnings.catch_warnings():
        # A writer's in-progress mark (docs/format.md#writes-in-progress) is an object, not a node.
        warnings.filterwarnings(
            "ignore", message=f"Object at {re.escape(fmt.WRITE_MARK_KEY)} is not recognized"
        )
        members = list(root.members(max_depth=None))
    for key, node in members:
        index.add(paths.normalise(key), node.metadata)
    return index


@dataclass(slots=True)
class ReadContext:
    """What the reader needs from the IO: the store, its source and how to reach other stores."""

    store: Store
    source: str
    index: NodeIndex
    open_foreign: Callable[[str], Reader]  # record source -> reader of that store
    resolve_container: Callable[[Builder], Any]
    spec_location: str | None = None
    appends: PendingAppends | None = None  # where appended rows wait for write(); None: read-only
    chunk_cache: ChunkCache | None = None  # decoded chunks shared by this IO's arrays; None: no cache
    namespace_catalog: NamespaceCatalog | None = None  # the specs unsigned attributes are retyped by


class Reader:
    """Builds (and memoises) the builders of one store."""

    def __init__(self, ctx: ReadContext, *, written: set[int]) -> None:
        self.ctx = ctx
        self._built: dict[str, Builder] = {}
        self._arrays: dict[str, zarr.Array] = {}
        # Scalar reference datasets whose target is resolved once the whole tree is built.
        self._deferred: list[tuple[DatasetBuilder, Callable[[], Any]]] = []
        self.written = written  # shared with the IO: ids of builders known to be in the file

    # -- nodes ------------------------------------------------------------------------------------
    def array(self, path: str) -> Any:
        arr = self._arrays.get(path)
        if arr is None:
            meta = self.ctx.index.nodes[path]
            assert not isinstance(meta, GroupMetadata)
            if isinstance(meta, legacy.LegacyArrayMeta):
                arr = legacy.LegacyObjectArray(self.ctx.store, path, meta)
                self._arrays[path] = arr
                return arr
            with array_construction(self.ctx.store, meta):
                arr = NumericArray(
                    AsyncArray(metadata=meta, store_path=StorePath(self.ctx.store, paths.to_zarr_key(path)))
                )
            arr.attach(self.site(path), self.ctx.chunk_cache)
            self._arrays[path] = arr
        return arr

    def site(self, path: str) -> AppendSite:
        return AppendSite(f"the dataset {path!r} of {self.ctx.source!r}", self.ctx.appends)

    def path_of(self, builder: Builder) -> str:
        return paths.builder_path(builder)

    def builder_at(self, path: str) -> Builder:
        path = paths.normalise(path)
        if path not in self._built:
            if path not in self.ctx.index.nodes:
                raise UnresolvedReferenceError(
                    f"{self.ctx.source!r} has no node at {path!r}, which a link or reference points to. "
                    "The file may be incomplete; re-export it from its source."
                )
            self.read_root()
        return self._built[path]

    # -- tree -------------------------------------------------------------------------------------
    def read_root(self) -> GroupBuilder:
        if paths.ROOT in self._built:
            return self._built[paths.ROOT]
        scalars = self._fetch_scalars()
        pending: list[tuple[GroupBuilder, str, dict[str, Any]]] = []
        root = self._build_group(paths.ROOT, scalars, pending)
        self._resolve_pending(pending)
        for dset, value in self._deferred:
            dset.data = value()
        self._deferred.clear()
        if self.ctx.namespace_catalog is not None:  # JSON attributes lose their unsigned types
            restore_unsigned(root, self.ctx.namespace_catalog)
        return root

    def _skip(self, path: str) -> bool:
        return self.ctx.spec_location is not None and path == paths.normalise(self.ctx.spec_location)

    def _fetch_scalars(self) -> dict[str, Any]:
        # Only the spec cache the root points to is skipped; without a pointer it is ordinary data.
        location = self.ctx.spec_location
        spec_prefix = paths.normalise(location) + "/" if location is not None else None
        scalars = {
            p: m
            for p, m in self.ctx.index.nodes.items()
            if not isinstance(m, GroupMetadata)
            and _is_scalar(m)
            and not (spec_prefix is not None and p.startswith(spec_prefix))
        }
        return fetch_values(self.ctx.store, scalars)

    def _build_group(
        self, path: str, scalars: dict[str, Any], pending: list[tuple[GroupBuilder, str, dict[str, Any]]]
    ) -> GroupBuilder:
        meta = self.ctx.index.nodes[path]
        attrs = dict(meta.attributes)
        name = paths.node_name(path, attrs.get(fmt.NAME_ATTR)) if path != paths.ROOT else "root"
        builder = GroupBuilder(name=name, source=self.ctx.source)
        self._built[path] = builder
        self.written.add(id(builder))
        for child in self.ctx.index.children.get(path, []):
            if self._skip(child):
                continue
            child_meta = self.ctx.index.nodes[child]
            if isinstance(child_meta, GroupMetadata):
                builder.set_group(self._build_group(child, scalars, pending))
            else:
                builder.set_dataset(self._build_dataset(child, child_meta, scalars, pending))
        pending.append((builder, path, attrs))
        return builder

    def _build_dataset(
        self,
        path: str,
        meta: ArrayV2Metadata | ArrayV3Metadata,
        scalars: dict[str, Any],
        pending: list[tuple[GroupBuilder, str, dict[str, Any]]],
    ) -> DatasetBuilder:
        attrs = dict(meta.attributes)
        data, dtype = self._dataset_data(path, meta, attrs, scalars)
        builder = DatasetBuilder(
            name=paths.node_name(path, attrs.get(fmt.NAME_ATTR)),
            data=None if isinstance(data, _Deferred) else data,
            dtype=dtype,
            source=self.ctx.source,
            maxshape=tuple(meta.shape) if meta.shape else None,
        )
        if isinstance(data, _Deferred):
            self._deferred.append((builder, data.value))
        self._built[path] = builder
        self.written.add(id(builder))
        pending.append((builder, path, attrs))
        return builder

    def _dataset_data(
        self,
        path: str,
        meta: ArrayV2Metadata | ArrayV3Metadata,
        attrs: dict[str, Any],
        scalars: dict[str, Any],
    ) -> tuple[Any, Any]:
        token = attrs.get(fmt.DTYPE_ATTR, attrs.get(fmt.V2_DTYPE_ATTR))
        numpy_dtype = _numpy_dtype(meta)
        if numpy_dtype is not None and numpy_dtype.fields is not None:
            fields = _compound_fields(numpy_dtype, attrs)
            view = BuilderCompoundArray(self.array(path), fields, self._resolve_path, self._container_at)
            view.attach(self.site(path))
            if _is_scalar(meta):  # a 0-d structured array, as HDF5IO returns it; its references need the tree
                return _Deferred(lambda: np.asarray(view[()])), fields
            return view, fields
        storage = dtypes.storage_from_token(token, numpy_dtype)
        kind = storage.kind if storage is not None else Kind.TEXT
        scalar = _is_scalar(meta)
        if kind is Kind.REFERENCE:
            if scalar:  # resolved after the whole tree is built: the target may come later in it
                record = fmt.ReferenceRecord(fmt.SAME_STORE_SOURCE, _plain_text(scalars[path]))
                where = f"the dataset {path!r}"
                return _Deferred(lambda: ReferenceBuilder(self._resolve_from(record, where))), "object"
            refs = BuilderReferenceArray(self.array(path), self._resolve_path, self._container_at)
            refs.attach(self.site(path))
            return refs, "object"
        if kind is Kind.TEXT:
            if scalar:
                return _plain_text(scalars[path]), (
                    "ascii" if storage is not None and storage.ascii else "utf8"
                )
            text = TextArray(self.array(path))
            text.attach(self.site(path))
            return text, ("ascii" if storage is not None and storage.ascii else "utf8")
        if scalar:  # v2 stores a scalar with shape [1]: its one element is the value
            value = scalars[path]
            return (value.reshape(-1)[0] if isinstance(value, np.ndarray) else value), numpy_dtype
        return self.array(path), numpy_dtype

    def _container_at(self, path: str) -> Any:
        return self.ctx.resolve_container(self._resolve_path(path))

    # -- links and references ---------------------------------------------------------------------
    def _resolve_path(self, element: Any) -> Builder:
        """Resolve one stored reference: a target path (v3), or a legacy record dict or JSON text (v2)."""
        if isinstance(element, str) and not element.startswith("{"):
            return self.builder_at(element)
        record = legacy.reference_record(element, where=self.ctx.source)
        if record is None:
            raise UnresolvedReferenceError(f"An empty reference in {self.ctx.source!r} cannot be resolved.")
        return self.resolve_record(record)

    def resolve_record(self, record: fmt.ReferenceRecord) -> Builder:
        if record.source in (fmt.SAME_STORE_SOURCE, ""):
            return self.builder_at(record.path)
        return self.ctx.open_foreign(record.source).builder_at(record.path)

    def _resolve_pending(self, pending: list[tuple[GroupBuilder, str, dict[str, Any]]]) -> None:
        for builder, path, attrs in pending:
            for key, value in attrs.items():
                if key in fmt.RESERVED_ATTRS:
                    continue
                name = paths.decode_attr_name(key)
                record = fmt.decode_reference_attr(value, where=f"{path}@{name}")
                target = self._resolve_from(record, f"the attribute {name!r} of {path!r}") if record else None
                builder.set_attribute(name, target if record is not None else value)
            for raw in attrs.get(fmt.LINKS_ATTR, attrs.get(fmt.V2_LINKS_ATTR, [])) or []:
                link = fmt.LinkRecord.from_json(raw, where=path)
                where = f"the link {paths.join(path, link.name)!r}"
                target = self._resolve_from(fmt.ReferenceRecord(link.source, link.path), where)
                builder.set_link(LinkBuilder(builder=target, name=link.name, source=self.ctx.source))

    def _resolve_from(self, record: fmt.ReferenceRecord, where: str) -> Builder:
        try:
            return self.resolve_record(record)
        except UnresolvedReferenceError as exc:
            raise type(exc)(
                f"In {self.ctx.source!r}, {where} points to {record.path!r} in store {record.source!r}, "
                f"which cannot be resolved: {exc}"
            ) from exc


@dataclass(frozen=True, slots=True)
class _Deferred:
    """The value of a scalar dataset that holds references: computed once every node has a builder."""

    value: Callable[[], Any]


def _is_scalar(meta: Any) -> bool:
    if meta.shape == ():
        return True
    token = meta.attributes.get(fmt.V2_DTYPE_ATTR)
    return token == fmt.DTYPE_SCALAR_V2 and tuple(meta.shape) == (1,)


def _numpy_dtype(meta: ArrayV2Metadata | ArrayV3Metadata) -> np.dtype[Any] | None:
    if isinstance(meta, legacy.LegacyArrayMeta):
        return meta.dtype
    try:
        dt = meta.dtype.to_native_dtype()
    except (AttributeError, TypeError, ValueError):
        return None
    return dt if isinstance(dt, np.dtype) else None


def _compound_fields(numpy_dtype: np.dtype[Any], attrs: Mapping[str, Any]) -> list[dict[str, str]]:
    refs = set(attrs.get(fmt.REFERENCE_FIELDS_ATTR) or [])
    token = attrs.get(fmt.V2_DTYPE_ATTR)
    if isinstance(token, list):  # v2: [{"name", "dtype"}] with "object" for references
        refs |= {f["name"] for f in token if isinstance(f, Mapping) and f.get("dtype") == fmt.DTYPE_OBJECT}
    out = []
    for name in numpy_dtype.names or ():
        sub = numpy_dtype.fields[name][0]  # type: ignore[index]
        if name in refs:
            out.append({"name": name, "dtype": "object"})
        elif sub.kind in "USO":
            out.append({"name": name, "dtype": "ascii" if sub.kind == "S" else "utf8"})
        else:
            out.append({"name": name, "dtype": str(sub)})
    if not out:
        raise FormatError(f"Compound dtype {numpy_dtype!r} has no fields.")
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return _plain(value.item() if value.ndim == 0 else value.reshape(-1)[0])
    return value


def _plain_text(value: Any) -> str:
    value = _plain(value)
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)
