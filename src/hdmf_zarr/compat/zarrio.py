"""hdmf-zarr 0.14's public ``ZarrIO`` methods, and the private names clients read, over our write layer.

Layer: between io and write. ``ZarrIO`` inherits :class:`PeerZarrIOMethods`; every method plans
with ``write.plan`` and executes with ``write.write_plan`` (no second writer) and leaves the file
consolidated, as ``ZarrIO.write`` does. Remove an item once no supported client calls it (see
docs/peer-suite.md, which names the client or test needing each).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

import zarr
from hdmf.build import Builder, DatasetBuilder, GroupBuilder, LinkBuilder, ReferenceBuilder
from zarr.core.group import AsyncGroup
from zarr.core.sync import sync

from hdmf_zarr import _format as fmt
from hdmf_zarr import paths, values
from hdmf_zarr.compat.names import ROOT_NAME
from hdmf_zarr.errors import ModeError
from hdmf_zarr.references import Here, encode_link, encode_target, reference_target
from hdmf_zarr.store import OpenedStore, describe_source
from hdmf_zarr.write import WriteResult, write_plan
from hdmf_zarr.write.execute import consolidate
from hdmf_zarr.write.plan import PlanContext, WritePlan, plan_subtree


class _IO(Protocol):
    """What the mixin needs from ZarrIO (io.py)."""

    _mode: str
    _written: set[int]
    _members: dict[str, Any] | None
    _root: zarr.Group | None
    _reader: Any
    _root_pending: bool
    _write_failed: bool
    _source_text: str

    @property
    def source(self) -> str | None: ...
    @property
    def file(self) -> zarr.Group: ...
    def _require_writable(self, what: str) -> OpenedStore: ...
    def _known_members(self) -> dict[str, Any]: ...
    def _plan_context(
        self, tree_source: str | None, known: Mapping[str, Any], link_data: bool, export_source: str | None
    ) -> PlanContext: ...


def peer_mode(mode: str, consolidated: bool | None) -> tuple[str, bool | None]:
    """Map the peer's pseudo-mode ``"r-"`` (read without consolidated metadata) to ours."""
    if mode == "r-":
        if consolidated:
            raise ModeError(
                "mode 'r-' reads without consolidated metadata; it contradicts consolidated=True."
            )
        return "r", False
    return mode, consolidated


def peer_reference(ref: Mapping[str, Any]) -> Mapping[str, Any]:
    """A reference record whose ``path`` is None (the peer's spelling of the root) with path "/"."""
    if "path" in ref and ref["path"] is None:
        return {**ref, "path": paths.ROOT}
    return ref


def peer_builder_path(builder: Builder) -> str:
    """The in-store path of *builder*; a detached builder (no root group above it) sits below the root."""
    if builder.location is not None:
        return paths.normalise(paths.join(builder.location, builder.name))
    names: list[str] = []
    node: Builder | None = builder
    while node is not None and not (node.parent is None and isinstance(node, GroupBuilder)):
        names.append(node.name)
        node = node.parent
    if node is not None and node.name != ROOT_NAME:
        names.append(node.name)  # a detached group other than the root is written below the root
    return paths.normalise("/".join(reversed(names)))


def _node_path(obj: zarr.Group | zarr.Array) -> str:
    return paths.normalise(obj.path) if obj.path else paths.ROOT


class PeerZarrIOMethods:
    """The peer's public write/inspection methods and the private names clients read."""

    # -- private names read by clients (read-only) -------------------------------------------------
    @property
    def _ZarrIO__mode(self: _IO) -> str:
        """The mode the IO was opened with (neuroconv's backend configuration reads it)."""
        return self._mode

    @property
    def _ZarrIO__file(self: _IO) -> zarr.Group | None:
        """The open root group, or None once closed (nwbinspector's testing helper reads it)."""
        return self._root

    # -- inspection ------------------------------------------------------------------------------
    def get_written(self: _IO, builder: Builder, check_on_disk: bool = False) -> bool:
        """Whether *builder* was written to (or read from) this file by this IO; optionally also on disk."""
        written = id(builder) in self._written
        if written and check_on_disk:
            return PeerZarrIOMethods.get_builder_exists_on_disk(self, builder)
        return written

    def get_builder_exists_on_disk(self: _IO, builder: Builder) -> bool:
        """Whether the node of *builder* exists in the store (asked of the store, not of cached metadata)."""
        key = paths.to_zarr_key(peer_builder_path(builder))
        root = self.file
        names = (
            (fmt.V3_METADATA_KEY,) if root.metadata.zarr_format == 3 else (fmt.V2_ARRAY_KEY, fmt.V2_GROUP_KEY)
        )
        store = root.store
        return any(sync(store.exists(f"{key}/{name}" if key else name)) for name in names)

    def get_builder_disk_path(self: _IO, builder: Builder, filepath: str | None = None) -> str:
        """The filesystem path (or URL) of *builder*'s node in this file, or in the file at *filepath*.

        While mode "w" replaces a file, the node is in the replacement being written (until close()).
        """
        base = filepath if filepath is not None else describe_source(self.file.store)
        return os.path.join(base, peer_builder_path(builder).lstrip("/"))

    @property
    def abspath(self: _IO) -> str:
        """The file's absolute path (or its URL)."""
        url = self._source_text
        return url if "://" in url else os.path.abspath(url)

    @staticmethod
    def get_zarr_parent_path(zarr_object: zarr.Group | zarr.Array) -> str:
        """The absolute in-store path of *zarr_object*'s parent group."""
        return paths.parent(_node_path(zarr_object))

    def is_remote(self: _IO) -> bool:
        """Whether the file lives in an object store or on a web server (not on disk, not in memory)."""
        url = self._source_text
        return "://" in url and not url.startswith(("memory://", "file://"))

    # -- writing single nodes ----------------------------------------------------------------------
    def write_dataset(
        self: _IO,
        parent: zarr.Group,
        builder: DatasetBuilder,
        link_data: bool = True,
        exhaust_dci: bool = True,
        export_source: str | None = None,
    ) -> zarr.Array | None:
        """Write *builder* into *parent*; return the array (None when the dataset became a link).

        Iterators are always written as they are planned (``exhaust_dci`` is accepted for the
        peer's signature: there is no queue to defer them to). The file stays consolidated.
        """
        path = paths.join(_node_path(parent), builder.name)
        _write_planned(
            self, lambda ctx: plan_subtree(builder, path, ctx), [builder], link_data, export_source
        )
        node = self.file.get(paths.to_zarr_key(path))
        return node if isinstance(node, zarr.Array) else None

    def write_group(
        self: _IO,
        parent: zarr.Group,
        builder: GroupBuilder,
        link_data: bool = True,
        exhaust_dci: bool = True,
        export_source: str | None = None,
    ) -> zarr.Group:
        """Write *builder* (and what below it is unwritten) into *parent*; return the group."""
        path = paths.join(_node_path(parent), builder.name)
        _write_planned(
            self, lambda ctx: plan_subtree(builder, path, ctx), _subtree(builder), link_data, export_source
        )
        group = self.file[paths.to_zarr_key(path)]
        assert isinstance(group, zarr.Group)
        return group

    def write_link(
        self: _IO, parent: zarr.Group, builder: LinkBuilder, export_source: str | None = None
    ) -> None:
        """Store the link *builder* in the group *parent* (docs/format.md#links)."""
        parent_path = _node_path(parent)

        def plan(ctx: PlanContext) -> WritePlan:
            return WritePlan(links={parent_path: [encode_link(builder, here=ctx.here)]})

        _write_planned(self, plan, [builder], True, export_source)

    def write_attributes(self: _IO, obj: zarr.Group | zarr.Array, attributes: Mapping[str, Any]) -> None:
        """Set *attributes* on the group or array *obj* of this file (references stored as records)."""
        opened = self._require_writable("write attributes to")
        path = _node_path(obj)
        zarr_format = obj.metadata.zarr_format
        here = Here(tree_source=self.source, store_url=self._source_text)
        encoded = {
            key: _encode_attribute(value, here, zarr_format, where=f"{path}@{key}")
            for key, value in attributes.items()
        }
        known = self._known_members()
        try:
            obj.update_attributes(encoded)
            members = {**known, path: obj.metadata}
            root_meta = obj.metadata if path == paths.ROOT else self.file.metadata
            final = consolidate(opened.store, root_meta, members, zarr_format=zarr_format)  # type: ignore[arg-type]
        except BaseException:
            self._write_failed = True
            opened.recover()
            raise
        _adopt(self, WriteResult(members=members, root=final), ())


def _subtree(builder: GroupBuilder) -> list[Builder]:
    out: list[Builder] = [builder]
    for sub in builder.groups.values():
        out += _subtree(sub)
    out += builder.datasets.values()
    out += builder.links.values()
    return out


def _encode_attribute(value: Any, here: Here, zarr_format: fmt.ZarrFormat, *, where: str) -> Any:
    if isinstance(value, ReferenceBuilder | Builder):
        target = reference_target(value)
        record = encode_target(target, referrer=GroupBuilder(ROOT_NAME, source=here.tree_source), here=here)
        record = fmt.ReferenceRecord(
            source=record.source, path=peer_builder_path(target), object_id=record.object_id
        )
        return fmt.encode_reference_attr(record, zarr_format)
    encoded = values.encode_attribute(value, where=where)
    # The stored JSON is a list either way; the object written to keeps a tuple, as the peer's did.
    return tuple(encoded) if isinstance(encoded, list) else encoded


def _write_planned(
    io: _IO, make_plan: Any, builders: Iterable[Builder], link_data: bool, export_source: str | None
) -> None:
    """Plan with a context for this file, execute, consolidate, and adopt the result."""
    opened = io._require_writable("write")
    root = io.file
    known = io._known_members()
    ctx = io._plan_context(io.source, known, link_data, export_source)
    try:
        result = write_plan(
            opened.store, make_plan(ctx), ctx, known=known, root_meta=root.metadata, specs=None
        )
    except BaseException:
        io._write_failed = True
        opened.recover()  # an in-place write's leftovers go at once, as in ZarrIO.write_builder
        raise
    _adopt(io, result, [id(b) for b in builders])


def _adopt(io: _IO, result: WriteResult, ids: Iterable[int]) -> None:
    """Make the IO's view of the file the one just written (as ZarrIO.write_builder does)."""
    root = io.file
    io._root_pending = False
    io._members = result.members
    io._root = zarr.Group(AsyncGroup(metadata=result.root, store_path=root.store_path))
    io._reader = None
    io._written.update(ids)
