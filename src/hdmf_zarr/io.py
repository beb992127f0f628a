"""ZarrIO: the HDMF backend façade. Decides *when* side effects happen; the work lives below.

Layer: io. One public call = one consolidated-metadata write (``write``, ``write_builder``,
``export``); reading opens metadata only.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import zarr
from hdmf.backends.io import HDMFIO
from hdmf.build import Builder, BuildManager, GroupBuilder, TypeMap
from hdmf.common import get_manager
from hdmf.container import Container
from hdmf.spec import NamespaceCatalog
from zarr.core.group import AsyncGroup, GroupMetadata
from zarr.storage import StorePath

from hdmf_zarr import _format as fmt
from hdmf_zarr import paths, progress
from hdmf_zarr.compat.names import ROOT_NAME
from hdmf_zarr.compat.zarrio import PeerZarrIOMethods, peer_mode, peer_reference
from hdmf_zarr.errors import (
    ExportError,
    FormatError,
    HdmfZarrWarning,
    IOClosedError,
    ModeError,
    StoreNotFoundError,
    StoreWriteError,
    UnresolvedReferenceError,
)
from hdmf_zarr.lifecycle import DEFAULT_LOCK_TIMEOUT
from hdmf_zarr.read import ReadContext, Reader, build_index
from hdmf_zarr.read.append import PendingAppends
from hdmf_zarr.read.cache import DEFAULT_CACHE_BYTES, ChunkCache
from hdmf_zarr.read.chunkfiles import release as release_read_buffers
from hdmf_zarr.read.scalars import fetch_values
from hdmf_zarr.references import Here, allowed_store_source, resolve_store_source
from hdmf_zarr.spec_cache import document_text, load_documents, newest_version, spec_documents
from hdmf_zarr.store import (
    OpenedStore,
    StoreLike,
    check_mode,
    describe_source,
    open_root_group,
    open_store,
    require_root_group,
)
from hdmf_zarr.write import ParallelOptions, PlanContext, plan_tree, write_plan
from hdmf_zarr.write.execute import consolidate

#: Keyword arguments that pynwb/hdmf pass for HDF5 (driver=, aws_region=...) and that mean nothing here.
_IGNORED_KWARGS = frozenset({"driver", "aws_region", "file", "comm", "synchronizer", "object_codec_class"})


@dataclass(slots=True)
class OpenedParts:
    """An opened store, its root group, and whether that root document is still to be written."""

    opened: OpenedStore
    root: zarr.Group
    pending: bool


class ZarrIO(PeerZarrIOMethods, HDMFIO):
    """Read and write HDMF files stored in Zarr (a folder, a zip, memory or an object store).

    Keyword arguments beyond the named ones: ``herd_path`` (HERD kept beside the file, as with
    NWBHDF5IO), ``chunk_cache_bytes`` (budget of the decoded-chunk cache shared by the arrays read
    through this IO, default 64 MiB, 0 turns it off; see read/cache.py) and ``allowed_sources``
    (URLs and absolute paths that links and references may lead into, by prefix; ``["*"]`` allows any.
    Stores named by a relative path are always followed; see README "Safety"). The HDF5-only arguments
    pynwb passes (``driver``, ``aws_region``, ...) are accepted and ignored.
    """

    def __init__(
        self,
        path: StoreLike,
        mode: str = "r",
        manager: BuildManager | None = None,
        storage_options: Mapping[str, Any] | None = None,
        force_overwrite: bool = False,
        zarr_format: fmt.ZarrFormat | None = None,
        consolidated: bool | None = None,
        **kwargs: Any,
    ) -> None:
        self._preopened: OpenedParts | None = kwargs.pop("_preopened", None)
        herd_path = kwargs.pop("herd_path", None)  # HERD kept beside the file, as hdmf's HDMFIO does it
        chunk_cache_bytes: int | None = kwargs.pop("chunk_cache_bytes", None)
        # Writers: how long to wait for another writer, and whether to repair an interrupted write.
        self._lock_timeout: float = kwargs.pop("lock_timeout", DEFAULT_LOCK_TIMEOUT)
        self._repair: bool = kwargs.pop("repair", False)
        # A conversion names its source in the in-progress mark of a new file written in place.
        self._conversion_of: str | None = kwargs.pop("conversion_of", None)
        self._allowed_sources = _source_list(kwargs.pop("allowed_sources", None))
        linked: dict[str, ZarrIO] = kwargs.pop("_linked", None) or {}
        unknown = set(kwargs) - _IGNORED_KWARGS
        if unknown:
            raise TypeError(f"ZarrIO() got unexpected keyword arguments {sorted(unknown)}")
        mode, consolidated = peer_mode(mode, consolidated)  # the peer's "r-": read without consolidated
        # HDMFIO.__init__ calls open(): everything open() needs is set first.
        self._path = path
        self._mode = check_mode(mode)
        self._storage_options = dict(storage_options or {})
        self._force_overwrite = force_overwrite
        self._requested_format = zarr_format
        self._consolidated = consolidated  # False: list the store instead of trusting consolidated metadata
        if zarr_format not in (None, 2, 3):
            raise ModeError(f"zarr_format must be 2 or 3, not {zarr_format!r}.")
        self._opened: OpenedStore | None = None
        self._root: zarr.Group | None = None
        self._reader: Reader | None = None
        self._foreign: dict[str, ZarrIO] = {}  # the stores this IO opened for links and references
        # Every IO of one chain of linked stores, by location: two stores linking to each other share
        # readers instead of opening each other again and again.
        self._linked = linked
        self._members: dict[str, Any] | None = None
        self._written: set[int] = set()  # ids of builders that are in the file (read or written)
        self._root_pending = False  # a new store whose root document is not written yet
        self._write_failed = False
        self._appends = PendingAppends()  # rows appended to stored datasets, written by the next write
        # Decoded chunks of the arrays read through this IO (read/cache.py); 0 turns the cache off.
        cache_bytes = DEFAULT_CACHE_BYTES if chunk_cache_bytes is None else chunk_cache_bytes
        self._chunk_cache = ChunkCache(cache_bytes) if cache_bytes > 0 else None
        self._source_text = describe_source(path)
        self._manager_given = manager is not None  # export caches this catalog only when it was chosen
        super().__init__(manager=manager or get_manager(), source=self._source_text, herd_path=herd_path)
        self._linked.setdefault(self._source_text, self)  # only once open() succeeded

    # -- lifecycle -------------------------------------------------------------------------------
    @property
    def mode(self) -> str:
        return self._mode

    @property
    def path(self) -> StoreLike:
        return self._path

    @property
    def file(self) -> zarr.Group:
        """The open root ``zarr.Group`` (opened on first use)."""
        if self._root is None:
            self.open()
        assert self._root is not None
        return self._root

    @property
    def _file(self) -> zarr.Group:
        return self.file

    @property
    def zarr_format(self) -> fmt.ZarrFormat:
        return self.file.metadata.zarr_format

    @staticmethod
    def open_parts(  # noqa: PLR0913 - the options of open_store, passed through
        path: StoreLike,
        *,
        mode: str,
        storage_options: Mapping[str, Any] | None = None,
        force_overwrite: bool = False,
        zarr_format: fmt.ZarrFormat | None = None,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
        repair: bool = False,
        conversion_of: str | None = None,
    ) -> OpenedParts:
        """Open the store and its root group once (NWBZarrIO reads the spec cache from the same root)."""
        opened = open_store(
            path,
            mode=mode,
            storage_options=storage_options,
            force_overwrite=force_overwrite,
            lock_timeout=lock_timeout,
            repair=repair,
            conversion_of=conversion_of,
        )
        if opened.zarr_format is None:
            # A new store: its root document is written last, by the first write (with the consolidated
            # block) or at close, so an interrupted write never leaves a store that looks complete.
            metadata = GroupMetadata(zarr_format=zarr_format or fmt.DEFAULT_ZARR_FORMAT)
            root = zarr.Group(AsyncGroup(metadata=metadata, store_path=StorePath(opened.store, "")))
            return OpenedParts(opened, root, pending=True)
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Consolidated metadata is currently not part")
                root = open_root_group(opened, zarr_format=opened.zarr_format)
        except Exception:
            opened.close()
            raise
        return OpenedParts(opened, root, pending=False)

    def open(self) -> None:
        if self._opened is not None:
            return
        parts = self._preopened or ZarrIO.open_parts(
            self._path,
            mode=self._mode,
            storage_options=self._storage_options,
            force_overwrite=self._force_overwrite,
            zarr_format=self._requested_format,
            lock_timeout=self._lock_timeout,
            repair=self._repair,
            conversion_of=self._conversion_of,
        )
        self._preopened = None
        self._opened, self._root, self._root_pending = parts.opened, parts.root, parts.pending

    def is_open(self) -> bool:
        return self._opened is not None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        if exc_type is not None and self._opened is not None and self._opened.writable:
            # The block failed: a file written aside (mode 'w', zip) is not published; the old one stays.
            self._write_failed = True
        self.close()

    def close(self) -> None:
        for url, other in self._foreign.items():
            self._linked.pop(url, None)
            other.close()
        self._foreign.clear()
        if len(self._appends):
            warnings.warn(
                f"Closing {self._source_text!r} with rows appended to {len(self._appends)} stored dataset(s) "
                "that were never written: they are dropped. Call write() before closing to keep them.",
                HdmfZarrWarning,
                stacklevel=2,
            )
            self._appends.discard()
        if self._opened is not None:
            if self._root_pending and not self._write_failed and self._root is not None:
                # Nothing was written: leave a valid, empty file (as HDF5IO leaves an empty file).
                consolidate(
                    self._opened.store, self._root.metadata, {}, zarr_format=self._root.metadata.zarr_format
                )
            self._root_pending = False
            # A zip written through a staging folder is published only if no write failed.
            self._opened.close(commit=not self._write_failed)
        self._opened = None
        self._root = None
        self._reader = None  # a closed IO reads nothing more (read_builder raises IOClosedError)
        if self._chunk_cache is not None:
            self._chunk_cache.clear()
        release_read_buffers()  # the reused buffers of local chunk reads (read/chunkfiles.py)
        self._members = None

    def _require_open(self) -> OpenedStore:
        if self._opened is None:
            raise IOClosedError(f"{self._source_text!r} is closed; open a new ZarrIO to use it.")
        return self._opened

    # -- capabilities ----------------------------------------------------------------------------
    @staticmethod
    def can_read(path: StoreLike, storage_options: Mapping[str, Any] | None = None) -> bool:
        """Return whether *path* holds a Zarr store this backend reads (either dialect)."""
        return stored_dialect(path, storage_options) is not None

    # -- namespaces ------------------------------------------------------------------------------
    @classmethod
    def load_namespaces(
        cls,
        namespace_catalog: NamespaceCatalog | TypeMap,
        path: StoreLike | None = None,
        namespaces: list[str] | None = None,
        file: zarr.Group | None = None,
        storage_options: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Load the namespaces cached in the file at *path* (or the open root group *file*)."""
        if file is not None:
            return _load_cached(namespace_catalog, file, namespaces, source=str(file.store))
        if path is None:
            raise StoreNotFoundError("load_namespaces needs path= (a store) or file= (an open zarr.Group).")
        opened = open_store(path, mode="r", storage_options=storage_options)
        try:
            root = open_root_group(opened, zarr_format=opened.zarr_format)
            return _load_cached(namespace_catalog, root, namespaces, source=opened.location.describe())
        finally:
            opened.close()

    def load_namespaces_io(
        self, namespace_catalog: NamespaceCatalog | TypeMap, namespaces: list[str] | None = None
    ) -> dict[str, Any]:
        self._require_open()
        return _load_cached(namespace_catalog, self.file, namespaces, source=self._source_text)

    # -- reading ---------------------------------------------------------------------------------
    def _get_reader(self) -> Reader:
        if self._reader is None:
            self._require_open()
            root = self.file
            specloc = root.attrs.get(fmt.SPECLOC_ATTR)
            ctx = ReadContext(
                store=root.store,
                source=self.source,
                index=build_index(root, use_consolidated=self._consolidated is not False),
                open_foreign=self._open_foreign,
                resolve_container=self._construct,
                spec_location=specloc if isinstance(specloc, str) else None,
                appends=self._appends if self._require_open().writable else None,
                chunk_cache=self._chunk_cache,
                namespace_catalog=self.manager.namespace_catalog,
            )
            self._reader = Reader(ctx, written=self._written)
        return self._reader

    def read_builder(self) -> GroupBuilder:
        return self._get_reader().read_root()

    def _construct(self, builder: Builder) -> Container:
        return self.manager.construct(builder)

    def _open_foreign(self, source: str) -> Reader:
        url = allowed_store_source(self._source_text, source, self._allowed_sources)
        other = self._linked.get(url)
        if other is None:
            try:
                other = ZarrIO(
                    url,
                    mode="r",
                    manager=self.manager,
                    storage_options=self._storage_options,
                    allowed_sources=self._allowed_sources,
                    _linked=self._linked,
                )
            except Exception as exc:  # the remote client's own errors too (aiohttp, botocore, obstore)
                raise UnresolvedReferenceError(
                    f"{self._source_text!r} links to the store {source!r} (resolved to {url!r}), "
                    f"which cannot be opened ({type(exc).__name__}: {exc}). Keep linked stores side by "
                    "side, or export with link_data=False."
                ) from exc
            self._foreign[url] = self._linked[url] = other
        return other._get_reader()

    def get_builder(self, zarr_obj: zarr.Array | zarr.Group | str) -> Builder:
        """Return the builder of a node of this file (a zarr array/group or an in-store path)."""
        reader = self._get_reader()
        reader.read_root()
        path = zarr_obj if isinstance(zarr_obj, str) else "/" + zarr_obj.path
        return reader.builder_at(path)

    def get_container(self, zarr_obj: zarr.Array | zarr.Group | str) -> Container:
        """Return the container of a node of this file."""
        return self._construct(self.get_builder(zarr_obj))

    def resolve_ref(self, zarr_ref: Mapping[str, Any]) -> tuple[str, zarr.Array | zarr.Group]:
        """Return (name, node) for a stored reference record (either dialect's JSON form)."""
        zarr_ref = peer_reference(zarr_ref)
        record = fmt.decode_reference_attr(
            zarr_ref, where=self._source_text
        ) or fmt.ReferenceRecord.from_json(zarr_ref, where=self._source_text)
        root = (
            self.file if record.source in (fmt.SAME_STORE_SOURCE, "") else self._foreign_root(record.source)
        )
        key = paths.to_zarr_key(record.path)
        try:
            node = root[key] if key else root
        except KeyError as exc:
            raise UnresolvedReferenceError(
                f"Reference to {record.path!r} in {record.source!r} does not resolve in "
                f"{self._source_text!r}."
            ) from exc
        return paths.node_name(record.path, node.attrs.get(fmt.NAME_ATTR)) or ROOT_NAME, node

    def _foreign_root(self, source: str) -> zarr.Group:
        self._open_foreign(source)
        return self._linked[resolve_store_source(self._source_text, source)].file

    # -- writing ---------------------------------------------------------------------------------
    def write(
        self,
        container: Container,
        cache_spec: bool = True,
        link_data: bool = True,
        exhaust_dci: bool = True,
        **kwargs: Any,
    ) -> None:
        """Write *container*; the spec cache and consolidated metadata are written once, at the end.

        ``progress=True`` shows tqdm bars (datasets and bytes stored; needs the ``progress`` extra).
        """
        self._require_writable("write")
        # progress=True: tqdm bars of datasets and bytes stored (progress.py); off unless asked.
        bars = progress.bars(
            bool(kwargs.pop("progress", False)), total_bytes=None, total_datasets=None, desc="write"
        )
        with progress.activate(bars):
            super().write(
                container=container,
                cache_spec=cache_spec,
                link_data=link_data,
                exhaust_dci=exhaust_dci,
                **kwargs,
            )

    def write_builder(
        self,
        builder: GroupBuilder,
        cache_spec: bool = True,
        link_data: bool = True,
        exhaust_dci: bool = True,
        export_source: str | None = None,
        consolidate_metadata: bool = True,
        spec_catalogs: Sequence[NamespaceCatalog] | None = None,
        **kwargs: Any,
    ) -> None:
        """Write *builder* and everything below it that is not yet in the file.

        ``consolidate_metadata=False`` writes no consolidated block (readers then list the store).
        ``spec_catalogs`` (export) are the catalogs whose namespaces are cached, first one winning;
        by default this IO's manager's. ``spec_documents={(namespace, version): {name: JSON text}}``
        caches exactly those documents instead (a conversion keeps its source's cache this way).
        ``number_of_jobs=N`` (with ``max_threads_per_process``, ``multiprocessing_context``) writes the
        buffers of each GenericDataChunkIterator in N processes (this one and N-1 workers); ``client=`` (a
        ``dask.distributed.Client``) sends them, and HDF5/Zarr sources of an export, to its workers.
        """
        opened = self._require_writable("write")
        parallel = ParallelOptions.from_kwargs(kwargs)
        root = self.file
        if len(self._appends):
            self._flush_appends()
        known = self._known_members()
        ctx = self._plan_context(
            paths.root_builder(builder).source or self.source, known, link_data, export_source
        )
        # A conversion passes its source's cache (spec_documents=...) to keep it verbatim (transfer/specs.py).
        cached = kwargs.pop("spec_documents", None)
        if kwargs:  # an option we do not know would otherwise be dropped without a word
            raise TypeError(
                f"Cannot write {self._source_text!r}: unknown write options {sorted(kwargs)}. Known: "
                "cache_spec, link_data, exhaust_dci, consolidate_metadata, progress, number_of_jobs, "
                "max_threads_per_process, multiprocessing_context, client."
            )
        if not cache_spec:
            specs = None
        elif cached is not None:
            specs = cached
        else:
            specs = _merged_specs(spec_catalogs or [self.manager.namespace_catalog])
        try:
            result = write_plan(
                opened.store,
                plan_tree(builder, ctx),
                ctx,
                known=known,
                root_meta=root.metadata,
                specs=specs,
                consolidated=consolidate_metadata,
                parallel=parallel,
            )
        except BaseException as exc:
            # Whatever reached the store is not listed in the consolidated metadata, and a new store
            # gets no root document: the failed write is never presented as a complete file. In place,
            # its leftovers are dropped at once, so that a later write in this session never lists them.
            self._write_failed = True
            opened.recover()
            if isinstance(exc, StoreWriteError) and opened.staged is not None:
                exc.add_note(
                    f"The file named there is in the staging folder of {self._source_text!r}: the new file "
                    "is written aside and published only once complete, so nothing was published and an "
                    "earlier file at that path is unchanged; the staging folder goes when this IO closes."
                )
            raise
        self._root_pending = False
        self._members = result.members
        self._root = zarr.Group(AsyncGroup(metadata=result.root, store_path=root.store_path))
        self._reader = None
        self._written.update(_tree_ids(builder))

    def _flush_appends(self) -> None:
        """Store the rows appended to datasets read from this file (read/append.py)."""
        encoded = self._appends.encode(self._stored_path_of)  # may raise: nothing stored, rows stay pending
        try:
            changed = self._appends.store(encoded)
        except BaseException:
            self._write_failed = True
            self._require_open().recover()  # grown arrays get their recorded shapes back at once
            raise
        if self._members is not None:
            for key, meta in changed.items():
                self._members[paths.normalise(key)] = meta

    def _stored_path_of(self, target: Any) -> str:
        """The path in this file of an appended reference's target (a Container or a Builder)."""
        builder = target if isinstance(target, Builder) else self.manager.get_builder(target)
        if builder is None or paths.root_builder(builder).source not in (None, self.source):
            name = getattr(target, "name", target)
            raise UnresolvedReferenceError(
                f"Cannot store a reference to {type(target).__name__} {name!r} in {self._source_text!r}: "
                "it is not part of this file. Add it to the file (or write it) before referring to it."
            )
        return paths.builder_path(builder)

    def _plan_context(
        self, tree_source: str | None, known: Mapping[str, Any], link_data: bool, export_source: str | None
    ) -> PlanContext:
        """How a write of this file plans: what is written, where it is stored, which links stay links."""
        written = self._written
        return PlanContext(
            here=Here(tree_source=tree_source, store_url=self._source_text),
            zarr_format=self.file.metadata.zarr_format,
            is_written=lambda b: id(b) in written,
            link_data=link_data,
            existing_attrs=lambda p: known[p].attributes if p in known else None,
            export_source=export_source,
            store_aliases=frozenset({describe_source(self._require_open().store)}),
        )

    def _known_members(self) -> dict[str, Any]:
        if self._members is not None:
            return self._members
        if self._root_pending:
            return {}  # a new store: nothing in it yet
        # Writers index by listing: a node that stale consolidated metadata misses is still never overwritten.
        return dict(build_index(self.file, use_consolidated=False).nodes)

    def _require_writable(self, what: str) -> OpenedStore:
        opened = self._require_open()
        if not opened.writable:
            raise ModeError(
                f"Cannot {what} {self._source_text!r}: it was opened with mode {self._mode!r}. "
                "Open it with mode 'w', 'a' or 'r+' to write."
            )
        return opened

    def export(
        self,
        src_io: HDMFIO,
        container: Container | None = None,
        write_args: dict[str, Any] | None = None,
        cache_spec: bool = True,
        clear_cache: bool = False,
        consolidate_metadata: bool = True,
    ) -> None:
        """Export the file of *src_io* (Zarr or HDF5) into this new store.

        ``write_args["link_data"]`` defaults to True for a Zarr source, as in HDF5IO and hdmf-zarr:
        data of the source is copied (a second use of it becomes a soft link) and data linked from
        other stores stays linked. For other sources it defaults to False (their data is copied).
        """
        if self._mode not in ("w", "w-", "x"):
            raise ExportError(
                f"Export writes a new file: open {self._source_text!r} with mode 'w', not {self._mode!r}."
            )
        args = dict(write_args or {})
        from_zarr = isinstance(src_io, ZarrIO)
        if args.get("link_data") and not from_zarr:
            raise ExportError(
                f"Cannot link from {self._source_text!r} into the {type(src_io).__name__} file "
                f"{src_io.source!r}: Zarr links only reach Zarr stores. Export with "
                "write_args={'link_data': False} to copy the data."
            )
        args.setdefault("cache_spec", cache_spec)
        args.setdefault("link_data", from_zarr)
        args.setdefault("consolidate_metadata", consolidate_metadata)
        args["export_source"] = src_io.source
        # The source's namespaces describe what is exported; a manager given to this IO adds its own.
        catalogs = [src_io.manager.namespace_catalog] if src_io.manager is not None else []
        if self._manager_given or not catalogs:
            catalogs.append(self.manager.namespace_catalog)
        args["spec_catalogs"] = catalogs
        super().export(src_io=src_io, container=container, write_args=args, clear_cache=clear_cache)

    @staticmethod
    def generate_dataset_html(dataset: Any) -> str:
        """An HTML summary of a dataset (shape, dtype, chunks, codecs, stored size) for notebooks."""
        arr = getattr(dataset, "dataset", dataset)
        if isinstance(arr, zarr.Array):
            info = {
                "Data type": str(arr.dtype),
                "Shape": str(arr.shape),
                "Chunk shape": str(arr.chunks),
                "Compressors": ", ".join(type(c).__name__ for c in arr.compressors) or "none",
                "Stored bytes": str(arr.nbytes_stored()),
                "Uncompressed bytes": str(arr.nbytes),
            }
            rows = "".join(
                f"<tr><th style='text-align: left'>{k}</th><td>{v}</td></tr>" for k, v in info.items()
            )
            return f'<table class="data-info">{rows}</table>'
        return HDMFIO.generate_dataset_html(dataset)


def _merged_specs(catalogs: Sequence[NamespaceCatalog]) -> dict[tuple[str, str], dict[str, str]]:
    """The spec documents of every namespace in *catalogs*; for a namespace in several, the first's."""
    merged: dict[tuple[str, str], dict[str, str]] = {}
    names: set[str] = set()
    for catalog in catalogs:
        merged.update({key: docs for key, docs in spec_documents(catalog).items() if key[0] not in names})
        names.update(key[0] for key in merged)
    return merged


def _source_list(value: Any) -> tuple[str, ...]:
    """``allowed_sources`` as a tuple of locations (a single string is one location)."""
    if value is None:
        return ()
    items = (value,) if isinstance(value, str | os.PathLike) else tuple(value)
    if not all(isinstance(item, str | os.PathLike) for item in items):
        raise TypeError(f"allowed_sources must be a list of URLs or paths (or ['*']), not {value!r}.")
    return tuple(os.fspath(item) for item in items)


def _tree_ids(builder: GroupBuilder) -> set[int]:
    ids = {id(builder)}
    for sub in builder.groups.values():
        ids |= _tree_ids(sub)
    ids.update(id(d) for d in builder.datasets.values())
    return ids


def _newest_spec_documents(
    nodes: Mapping[str, Any], base: str, namespaces: list[str] | None
) -> dict[str, Any]:
    """The spec documents (path -> metadata) of each cached namespace's newest version, by version order."""
    prefix = base.rstrip("/") + "/"
    docs: dict[tuple[str, str], dict[str, Any]] = {}
    for path, meta in nodes.items():
        parts = path[len(prefix) :].split("/") if path.startswith(prefix) else []
        if len(parts) == 3 and (namespaces is None or parts[0] in namespaces):
            docs.setdefault((parts[0], parts[1]), {})[path] = meta
    newest = {ns: newest_version(v for n, v in docs if n == ns) for ns, _ in docs}
    return {path: meta for (ns, v), group in docs.items() if newest[ns] == v for path, meta in group.items()}


def _load_cached(
    catalog: NamespaceCatalog | TypeMap, root: zarr.Group, namespaces: list[str] | None, *, source: str
) -> dict[str, Any]:
    specloc = root.attrs.get(fmt.SPECLOC_ATTR)
    record = fmt.decode_reference_attr(specloc, where=source)
    location = record.path if record is not None else specloc
    if not isinstance(location, str):
        return {}
    wanted = _newest_spec_documents(build_index(root).nodes, paths.normalise(location), namespaces)
    texts = fetch_values(
        root.store, wanted, text_in_fill=True
    )  # all documents at once: one round trip on a remote store
    cached: dict[str, dict[str, str]] = {}
    for path, value in texts.items():
        ns_name = paths.basename(paths.parent(paths.parent(path)))
        cached.setdefault(ns_name, {})[paths.basename(path)] = document_text(value)
    return load_documents(catalog, cached, source=source)


class ZarrV2IO(ZarrIO):
    """Compatibility name from hdmf-zarr 0.14, where a separate class read v2 files.

    ``ZarrIO`` reads both dialects itself; this alias stays for code written against 0.14 and can be
    removed once no such code is expected.
    """


def stored_dialect(
    path: StoreLike, storage_options: Mapping[str, Any] | None = None
) -> fmt.ZarrFormat | None:
    """The dialect of the file at *path* (2 or 3), or None when nothing readable is there."""
    try:
        opened = open_store(path, mode="r", storage_options=storage_options)
    except (OSError, ValueError):
        return None
    try:
        require_root_group(opened)  # a plain array is no HDMF file
        return opened.zarr_format
    except FormatError:
        return None
    finally:
        opened.close()


def is_zarr_v2_file(path: StoreLike, storage_options: Mapping[str, Any] | None = None) -> bool:
    """Whether *path* holds a file in the Zarr v2 dialect (hdmf-zarr <= 0.13), as hdmf-zarr 0.14 offers."""
    return stored_dialect(path, storage_options) == 2
