"""Execute a write plan: node documents in one concurrent batch, then array data, then consolidation.

Layer: write. The only module of ``write`` that touches the store. Each node's metadata (attributes
included) is one store write; consolidated metadata is written once, from what the writer holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import json
import warnings
from collections.abc import Awaitable, Iterator, Mapping
from typing import Any

import numpy as np
import zarr
from hdmf.data_utils import AbstractDataChunkIterator
from zarr.abc.store import Store
from zarr.core.array import AsyncArray, init_array
from zarr.core.buffer import Buffer, default_buffer_prototype
from zarr.core.common import ZARR_JSON
from zarr.core.group import ConsolidatedMetadata, GroupMetadata, parse_attributes
from zarr.core.metadata import ArrayV2Metadata, ArrayV3Metadata
from zarr.core.sync import sync
from zarr.storage import MemoryStore, StorePath

from hdmf_zarr import _format as fmt
from hdmf_zarr import bulk, paths, progress
from hdmf_zarr.dataio import as_v2_options
from hdmf_zarr.errors import StoreExistsError, UnsupportedValueError, write_failure
from hdmf_zarr.legacy.v2 import LegacyArrayMeta
from hdmf_zarr.legacy.v2write import encode_chunks
from hdmf_zarr.parallel import ParallelOptions
from hdmf_zarr.pipeline import SMALL_ARRAY_BYTES, array_construction
from hdmf_zarr.store import store_url
from hdmf_zarr.workerpaths import WitnessedTarget, active_client, local_roots, workers_see
from hdmf_zarr.write import dimensions
from hdmf_zarr.write.distribute import write_distributed
from hdmf_zarr.write.fastpath import encode_single_chunk
from hdmf_zarr.write.plan import ArrayPlan, DataKind, WritePlan
from hdmf_zarr.write.prefetch import prefetched
from hdmf_zarr.write.rootdoc import root_document
from hdmf_zarr.write.rowchunks import RowChunkWriter, row_chunk_rows
from hdmf_zarr.write.slabs import write_slabs

NodeMetadata = GroupMetadata | ArrayV2Metadata | ArrayV3Metadata

#: How many array writes run concurrently (bounded so memory and open files stay bounded).
MAX_CONCURRENT_WRITES = 64
#: The same into a local folder. There zarr's writes are CPU work and file syscalls, run on its event
#: loop's executor: concurrent ones only add executor threads (each with its stack and allocator arena,
#: about 0.3-1 MiB resident) while the row-chunk writers already keep the cores busy.
LOCAL_CONCURRENT_WRITES = 1
#: Upper bound on bytes held in memory while copying a large array-like, per array.
COPY_BLOCK_BYTES = 64 << 20

_TEMPLATES: dict[tuple[Any, ...], dict[str, Any]] = {}
#: Validated array metadata without attributes, by document (see _with_attributes); at most MAX_VALIDATED.
_VALIDATED: dict[str, ArrayV2Metadata | ArrayV3Metadata] = {}
MAX_VALIDATED = 4096


def _codec_key(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_codec_key(v) for v in value)
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return json.dumps(to_dict(), sort_keys=True, default=str)
    return repr(value)


def _for_format(options: dict[str, Any], zarr_format: fmt.ZarrFormat) -> dict[str, Any]:
    """Return zarr.create_array options for *zarr_format*: v2 arrays store numcodecs codecs, v3 arrays
    our chunk key encoding (docs/format.md#store-keys)."""
    if zarr_format != 2:
        return {"chunk_key_encoding": dict(fmt.V3_CHUNK_KEY_ENCODING), **options}
    return as_v2_options(options)


async def _template(plan: ArrayPlan, zarr_format: fmt.ZarrFormat) -> dict[str, Any]:
    """Return metadata JSON for arrays like *plan*; cached per dtype, rank and codec choice."""
    opts = _for_format(
        {k: v for k, v in plan.options.items() if k not in ("chunks", "fill_value")}, zarr_format
    )
    key = (
        zarr_format,
        repr(plan.dtype),
        len(plan.shape),
        tuple(sorted((k, _codec_key(v)) for k, v in opts.items())),
    )
    cached = _TEMPLATES.get(key)
    if cached is None:
        ndim = len(plan.shape)
        arr = await init_array(
            store_path=StorePath(MemoryStore(), "t"),
            shape=(1,) * ndim,
            dtype=plan.dtype,
            chunks=(1,) * ndim,
            zarr_format=zarr_format,
            **opts,
        )
        cached = arr.metadata.to_dict()
        _TEMPLATES[key] = cached
    return cached


async def array_metadata(plan: ArrayPlan, zarr_format: fmt.ZarrFormat) -> ArrayV2Metadata | ArrayV3Metadata:
    """Return the zarr metadata of the array described by *plan* (no store I/O)."""
    if plan.kind is DataKind.LEGACY_OBJECT:
        legacy_meta: Any = plan.options["legacy"]  # a v2 object array, described by hdmf_zarr.legacy
        return legacy_meta
    chunks = tuple(int(c) for c in plan.options.get("chunks") or plan.shape)
    if "shards" in plan.options:
        arr = await init_array(
            store_path=StorePath(MemoryStore(), "t"),
            shape=plan.shape,
            dtype=plan.dtype,
            zarr_format=zarr_format,
            attributes=plan.attributes,
            dimension_names=plan.dimension_names if zarr_format == 3 else None,
            **_for_format(plan.options, zarr_format),
        )
        return arr.metadata
    doc = dict(await _template(plan, zarr_format))
    if "fill_value" in plan.options:
        doc["fill_value"] = _fill_json(plan.options["fill_value"])
    doc["shape"] = list(plan.shape)
    doc.pop("attributes", None)
    if zarr_format == 2:
        doc["chunks"] = list(chunks)
        return _with_attributes(doc, plan.attributes, ArrayV2Metadata)
    doc["chunk_grid"] = {"name": "regular", "configuration": {"chunk_shape": list(chunks)}}
    doc.pop("dimension_names", None)
    if plan.dimension_names and len(plan.dimension_names) == len(plan.shape):
        doc["dimension_names"] = list(plan.dimension_names)
    return _with_attributes(doc, plan.attributes, ArrayV3Metadata)


def _with_attributes[M: (ArrayV2Metadata, ArrayV3Metadata)](
    doc: dict[str, Any], attributes: Any, kind: type[M]
) -> M:
    """The metadata of *doc* (a document without attributes) with *attributes*.

    Files hold thousands of arrays alike but for their attributes (every series' ``data``): the
    document is read and validated once (``from_dict`` is most of a node's planning cost), and each
    array gets a copy of that record with its own attributes dict.
    """
    key = json.dumps(doc, sort_keys=True)
    base = _VALIDATED.get(key)
    if base is None:
        if len(_VALIDATED) >= MAX_VALIDATED:
            _VALIDATED.clear()
        base = kind.from_dict({**doc, "attributes": {}})
        _VALIDATED[key] = base
    assert isinstance(base, kind)
    record = copy.copy(base)
    object.__setattr__(record, "attributes", parse_attributes(attributes))  # a frozen record: set once, here
    return record


def _fill_json(value: Any) -> Any:
    """Return a fill value as zarr metadata JSON (NaN and infinities as their JSON strings)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return "NaN" if np.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return value


def _key(path: str) -> str:
    return paths.to_zarr_key(path)


def _documents(path: str, meta: NodeMetadata) -> list[tuple[str, Buffer]]:
    """The store objects (key, bytes) that hold *meta*: ``zarr.json``, or ``.zarray``/``.zattrs``."""
    prefix = _key(path)
    proto = default_buffer_prototype()
    if isinstance(meta, LegacyArrayMeta):
        docs = {name: proto.buffer.from_bytes(_json_bytes(doc)) for name, doc in meta.to_documents().items()}
    else:
        docs = meta.to_buffer_dict(proto)
    return [(f"{prefix}/{name}" if prefix else name, buf) for name, buf in docs.items()]


def _json_bytes(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode("utf-8")


def _check_new(plan: WritePlan, known: Mapping[str, NodeMetadata]) -> None:
    for node in plan.arrays:
        if paths.normalise(node.path) in known:  # known is keyed by absolute in-store path
            raise StoreExistsError(
                f"Cannot write dataset {node.path!r}: the file already holds a node there (existing) and the "
                "new builder was not read from it (new). Remove or rename one of them."
            )


async def _write_nodes(
    store: Store, plan: WritePlan, zarr_format: fmt.ZarrFormat, puts: bulk.NewObjects
) -> dict[str, NodeMetadata]:
    """Make every node's metadata; the documents of new nodes go to *puts* as they are made."""
    nodes: dict[str, NodeMetadata] = {}
    changed_docs: list[tuple[str, Buffer]] = []
    # The root document is written last, once, with the consolidated block (see consolidate()).
    for group in plan.groups:
        meta = GroupMetadata(attributes=group.attributes, zarr_format=zarr_format)
        nodes[group.path] = meta
        if group.path != paths.ROOT:
            docs = _documents(group.path, meta)
            if group.exists:
                changed_docs.extend(docs)
            else:
                await puts.add(docs)
    for a in plan.arrays:  # sequential: CPU-bound, and the template cache fills on the first of a kind
        array_meta = await array_metadata(a, zarr_format)
        nodes[a.path] = array_meta
        await puts.add(_documents(a.path, array_meta))
    await bulk.put_existing(store, changed_docs)
    return nodes


async def _write_values(array: AsyncArray[Any], data: np.ndarray, sem: asyncio.Semaphore) -> None:
    if data.size == 0:
        return
    async with sem:
        await write_slabs(array, data)  # bounded memory: a few slabs of whole chunks at a time


async def _read_block(source: Any, key: Any) -> np.ndarray:
    """Read from a source array-like off the event loop (zarr sources call sync(), h5py blocks)."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, lambda: np.asarray(source[key]))


def _is_dask_array(source: Any) -> bool:
    return type(source).__module__.startswith("dask.array") and hasattr(source, "rechunk")


async def _store_dask(array: AsyncArray[Any], source: Any) -> None:
    """Let dask write a dask array, chunk-aligned, with whatever scheduler is active (a cluster too)."""
    import dask.array as da  # an optional dependency: only dask users reach this

    target: Any = zarr.Array(array)
    aligned = source.rechunk(array.chunks)  # one writer per zarr chunk: no two tasks share a chunk
    loop = asyncio.get_running_loop()
    client = active_client()
    with contextlib.ExitStack() as probes:
        if client is not None:  # a cluster's workers must see a local destination folder, each write too
            check = workers_see(client, local_roots([array.store_path.store]))
            witnesses = await loop.run_in_executor(None, probes.enter_context, check)
            if witnesses:
                target = WitnessedTarget(target, next(iter(witnesses.values())))
        await loop.run_in_executor(None, lambda: da.store(aligned, target, lock=False, compute=True))


async def _copy_array_like(array: AsyncArray[Any], source: Any) -> None:
    """Copy a large array-like block by block (bounded memory), reading the next block while writing."""
    if _is_dask_array(source):
        await _store_dask(array, source)
        return
    shape = tuple(source.shape)
    if not shape:
        await array.setitem((), await _read_block(source, ()))
        return
    row_bytes = max(1, int(np.prod(shape[1:], dtype=np.int64)) * array.dtype.itemsize)
    chunk_rows = array.chunks[0] if array.chunks else 1
    rows = max(chunk_rows, (COPY_BLOCK_BYTES // row_bytes) // chunk_rows * chunk_rows)
    starts = list(range(0, shape[0], rows))
    pending = asyncio.ensure_future(_read_block(source, slice(0, min(shape[0], rows))))
    for i, start in enumerate(starts):
        block = await pending
        if i + 1 < len(starts):
            nxt = starts[i + 1]
            pending = asyncio.ensure_future(_read_block(source, slice(nxt, min(shape[0], nxt + rows))))
        await array.setitem(slice(start, start + block.shape[0]), block)
        progress.advance(nbytes=block.nbytes)


async def _write_iterator(
    array: AsyncArray[Any], it: AbstractDataChunkIterator, where: str
) -> AsyncArray[Any]:
    """Write every DataChunk; grow the array when the iterator goes past the planned shape."""
    extent = [0] * len(array.shape)
    async with contextlib.aclosing(prefetched(iter(it))) as chunks:  # produce the next while storing
        async for chunk in chunks:
            if chunk is None or chunk.data is None:
                continue
            selection = chunk.selection if isinstance(chunk.selection, tuple) else (chunk.selection,)
            bounds = _selection_bounds(selection, array.shape)
            extent = [max(e, b) for e, b in zip(extent, bounds, strict=False)] + extent[len(bounds) :]
            needed = tuple(max(s, e) for s, e in zip(array.shape, extent, strict=True))
            if needed != array.shape:
                max_shape = it.maxshape
                _check_maxshape(needed, max_shape, where)
                await array.resize(needed)  # updates array.metadata in place
            data = np.asarray(chunk.data)
            await array.setitem(selection, data)
            progress.advance(nbytes=data.nbytes)
    final = tuple(extent) if any(extent) else _empty_shape(array.shape, it.maxshape)
    if final != array.shape and it.maxshape is not None and any(m is None for m in it.maxshape):
        await array.resize(tuple(int(s) for s in final))
    return array


def _empty_shape(shape: tuple[int, ...], maxshape: Any) -> tuple[int, ...]:
    """The shape of an iterator's array when no chunk arrived: unbounded axes are empty."""
    if maxshape is None:
        return shape
    return tuple(0 if m is None else s for s, m in zip(shape, maxshape, strict=False))


def _selection_bounds(selection: tuple[Any, ...], shape: tuple[int, ...]) -> list[int]:
    out = []
    for i, sel in enumerate(selection):
        if isinstance(sel, slice):
            stop = sel.stop if sel.stop is not None else (shape[i] if i < len(shape) else 0)
            out.append(int(stop))
        else:
            out.append(int(np.max(sel)) + 1 if np.size(sel) else 0)
    return out


def _check_maxshape(needed: tuple[int, ...], maxshape: Any, where: str) -> None:
    if maxshape is None:
        return
    for n, m in zip(needed, maxshape, strict=False):
        if m is not None and n > m:
            raise UnsupportedValueError(
                f"Dataset {where!r}: the data iterator wrote past its maxshape {tuple(maxshape)!r} (needs "
                f"{needed!r}). Fix the iterator's maxshape."
            )


def _nbytes(plan: ArrayPlan) -> int:
    itemsize = plan.dtype.itemsize if isinstance(plan.dtype, np.dtype) else 16
    return int(np.prod(plan.shape, dtype=np.int64)) * itemsize


def _array(
    store: Store, path: str, meta: ArrayV2Metadata | ArrayV3Metadata, *, large: bool
) -> AsyncArray[Any]:
    if not large:
        return AsyncArray(metadata=meta, store_path=StorePath(store, _key(path)))
    with array_construction(store):
        return AsyncArray(metadata=meta, store_path=StorePath(store, _key(path)))


async def _naming(store: Store, path: str, work: Awaitable[Any]) -> Any:
    """Await *work*, the data of the dataset at *path*; an OS failure names the dataset and its file."""
    with _failures_named(store, f"the dataset {path!r}", path):
        return await work


def _where(store: Store, path: str) -> str:
    return bulk.local_path(store, _key(path)) or f"{store_url(store) or store}/{_key(path)}"


async def _write_data(
    store: Store,
    plan: WritePlan,
    nodes: dict[str, NodeMetadata],
    parallel: ParallelOptions | None,
    puts: bulk.NewObjects,
) -> None:
    local = bulk.local_path(store, "") is not None
    sem = asyncio.Semaphore(LOCAL_CONCURRENT_WRITES if local else MAX_CONCURRENT_WRITES)
    row_chunks = RowChunkWriter(store)  # large local arrays: a few chunks in memory at a time
    values, serial = [], []
    for a in plan.arrays:
        if a.inline:
            continue
        meta = nodes[a.path]
        assert not isinstance(meta, GroupMetadata)
        if a.kind is DataKind.LEGACY_OBJECT:
            await puts.add(encode_chunks(a.path, a.options["legacy"], a.data))
            continue
        chunk = encode_single_chunk(a.path, a.data, meta) if a.kind is DataKind.VALUES else None
        if chunk is not None:
            await puts.add([chunk])
            continue
        rows = row_chunk_rows(store, meta, a.data) if a.kind is DataKind.VALUES else None
        if rows is not None:
            assert isinstance(meta, ArrayV3Metadata)
            values.append(_naming(store, a.path, row_chunks.write(a.path, meta, a.data, rows)))
            continue
        array = _array(store, a.path, meta, large=_nbytes(a) >= SMALL_ARRAY_BYTES)
        if a.kind is DataKind.VALUES:
            values.append(_naming(store, a.path, _write_values(array, a.data, sem)))
        else:
            serial.append((a, array))
    async with row_chunks:
        await asyncio.gather(*values)
    progress.advance(datasets=_user_datasets(plan) - len(serial))
    if serial:  # worker processes open these arrays, and a growing iterator rewrites its document
        await puts.drain()
    rest = await write_distributed(serial, parallel)
    progress.advance(datasets=len(serial) - len(rest))  # written by worker processes
    for a, array in rest:
        progress.at(a.path)
        if a.kind is DataKind.ITERATOR:
            final = await _naming(store, a.path, _write_iterator(array, a.data, a.path))
            nodes[a.path] = final.metadata
        else:
            await _naming(store, a.path, _copy_array_like(array, a.data))
        progress.advance(datasets=1)


def _user_datasets(plan: WritePlan) -> int:
    """How many of the plan's arrays are datasets of the file (not cached spec documents)."""
    spec_prefix = paths.join(paths.ROOT, fmt.SPEC_GROUP) + "/"
    return sum(1 for a in plan.arrays if not a.path.startswith(spec_prefix))


def run_plan(
    store: Store,
    plan: WritePlan,
    *,
    zarr_format: fmt.ZarrFormat,
    known: Mapping[str, NodeMetadata],
    parallel: ParallelOptions | None = None,
) -> dict[str, NodeMetadata]:
    """Write every node and its data; return the metadata of the nodes written (by absolute path).

    With *parallel*, iterators and re-openable array-likes are written by workers (write/distribute.py).
    """
    _check_new(plan, known)
    dimensions.assign(plan.arrays, stored=known)  # spec labels -> names consistent in each group (xarray)

    async def _run() -> dict[str, NodeMetadata]:
        # Small objects (documents, single chunks) are written by threads while the next are made.
        async with bulk.NewObjects(store) as puts:
            nodes = await _write_nodes(store, plan, zarr_format, puts)
            await _write_data(store, plan, nodes, parallel, puts)
        return nodes

    with zarr.config.set({"json_indent": None}), _failures_named(store, "the file's node documents"):
        return sync(_run())


@contextlib.contextmanager
def _failures_named(store: Store, what: str, path: str = paths.ROOT) -> Iterator[None]:
    """Turn an OS failure (a RuntimeError from a codec pipeline too) into a StoreWriteError naming *what*."""
    try:
        yield
    except (OSError, RuntimeError) as exc:
        failure = write_failure(exc, what=what, filename=_where(store, path))
        if failure is exc:
            raise
        raise failure from exc


def consolidate(
    store: Store,
    root: GroupMetadata,
    members: Mapping[str, NodeMetadata],
    *,
    zarr_format: fmt.ZarrFormat,
    consolidated: bool = True,
) -> GroupMetadata:
    """Write the root document once, with every member's metadata inline; return the root metadata.

    ``consolidated=False`` (the peer's ``consolidate_metadata=False``) writes the root document alone:
    readers then list the store.
    """
    with _failures_named(store, "the root document (consolidated metadata)"):
        return _consolidate(store, root, members, zarr_format=zarr_format, consolidated=consolidated)


def _consolidate(
    store: Store,
    root: GroupMetadata,
    members: Mapping[str, NodeMetadata],
    *,
    zarr_format: fmt.ZarrFormat,
    consolidated: bool,
) -> GroupMetadata:
    if zarr_format == 2:
        return _consolidate_v2(store, root, members, consolidated=consolidated)
    flat: dict[str, Any] = {}
    for path, meta in members.items():
        key = _key(path)
        if not key:
            continue
        if isinstance(meta, GroupMetadata):
            meta = dataclasses.replace(meta, consolidated_metadata=ConsolidatedMetadata(metadata={}))
        flat[key] = meta
    ConsolidatedMetadata._flat_to_nested(flat)
    block = ConsolidatedMetadata(metadata=flat) if consolidated else None
    root_meta = dataclasses.replace(root, consolidated_metadata=block, zarr_format=zarr_format)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Consolidated metadata is currently not part")
        document = root_document(root_meta)  # zarr's bytes, without one dict of every node (rootdoc.py)
    sync(store.set(ZARR_JSON, default_buffer_prototype().buffer.from_bytes(document)))
    return root_meta


def _v2_documents(path: str, meta: NodeMetadata | LegacyArrayMeta) -> dict[str, Any]:
    """The v2 documents of one node as JSON values, keyed as in ``.zmetadata``."""
    prefix = _key(path)
    if isinstance(meta, LegacyArrayMeta):
        docs = meta.to_documents()
    else:
        docs = {
            name: json.loads(buf.to_bytes())
            for name, buf in meta.to_buffer_dict(default_buffer_prototype()).items()
        }
    return {f"{prefix}/{name}" if prefix else name: doc for name, doc in docs.items()}


def _consolidate_v2(
    store: Store, root: GroupMetadata, members: Mapping[str, NodeMetadata], *, consolidated: bool
) -> GroupMetadata:
    """Write the root ``.zgroup``/``.zattrs`` and ``.zmetadata`` (every node's documents), once."""
    root_meta = dataclasses.replace(root, consolidated_metadata=None, zarr_format=2)
    metadata: dict[str, Any] = {}
    for path, meta in {**members, paths.ROOT: root_meta}.items():
        metadata.update(_v2_documents(path, meta))
    block = {"metadata": metadata, "zarr_consolidated_format": 1}
    root_docs = _v2_documents(paths.ROOT, root_meta)
    items = [(name, _json_bytes(doc)) for name, doc in root_docs.items()]
    if consolidated:
        items.append((fmt.V2_CONSOLIDATED_KEY, _json_bytes(block)))
    sync(bulk.put_existing(store, items))
    return root_meta
