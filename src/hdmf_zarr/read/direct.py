"""Read whole chunks of a local array without zarr's event loop: the store's synchronous get, then the
array's own codecs run synchronously in the calling thread.

Layer: read. A zarr read from synchronous code hops to zarr's event-loop thread, builds an indexer and
runs the codec pipeline's batching machinery: about half a millisecond per call, which dominates reading
a small series, a scalar-like array or a table column (h5py pays a few tens of microseconds). For arrays
in a local folder or in memory whose codecs all decode synchronously (zarr's ``SupportsSyncCodec``: bytes,
blosc, zstd, gzip, crc32c, transpose, vlen text; not sharding), ``DirectReader`` fetches the chunks a
region touches and decodes them with exactly those codec objects, so the values are the ones zarr would
return (tests/properties/test_direct_read.py checks that against zarr for shapes, chunkings, codecs and
regions). Anything else returns ``None`` from ``DirectReader.of`` and is read by zarr.

The codec chain of a chunk layout is resolved once per process and shared by every array with the same
layout (thousands of series in a file share one), so an array's first read does no set-up of its own.
"""

from __future__ import annotations

import functools
import gzip
import io
import itertools
import math
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numcodecs
import numpy as np
import zarr
from zarr.abc.codec import ArrayArrayCodec, ArrayBytesCodec, BytesBytesCodec, SupportsSyncCodec
from zarr.codecs import BloscCodec, BytesCodec, GzipCodec, ShardingCodec, ZstdCodec
from zarr.core.array_spec import ArrayConfig, ArraySpec
from zarr.core.buffer import Buffer, default_buffer_prototype
from zarr.core.metadata import ArrayV3Metadata
from zarr.core.metadata.v3 import RegularChunkGridMetadata
from zarr.storage import LocalStore, MemoryStore

from hdmf_zarr.codecsize import declared_size
from hdmf_zarr.errors import DecodeLimitError
from hdmf_zarr.pipeline import check_frame
from hdmf_zarr.read import bloscblocks, pages
from hdmf_zarr.read.chunkfiles import decode_target, read_file

ChunkKey = tuple[int, ...]
#: A stored chunk as read: bytes, a view of a reused buffer (read/chunkfiles.py), or a zarr Buffer.
Raw = bytes | memoryview | Buffer

#: Decoded bytes above which the chunks of one read are decoded on a small thread pool (the codecs
#: release the GIL). Below it they are decoded in the calling thread, where blosc already splits a chunk
#: over its own threads (from the main thread), and no hand-off to other threads is paid: on a busy
#: machine each hand-off can cost milliseconds, more than decoding a one-second slice.
PARALLEL_BYTES = 16 << 20
_WORKERS = max(2, min(4, os.cpu_count() or 2))


@dataclass(frozen=True, slots=True)
class _Chain:
    """A codec chain split by kind, with the chunk spec each codec decodes under, and for the common
    chains of numbers (``bytes`` then blosc, zstd or gzip) the same decoding done by numcodecs on the
    stored bytes, without zarr's buffer wrappers."""

    array_array: tuple[tuple[Any, ArraySpec], ...]
    array_bytes: tuple[Any, ArraySpec]
    bytes_bytes: tuple[tuple[Any, ArraySpec], ...]
    plain: tuple[tuple[Any, ...], np.dtype[Any], np.dtype[Any], tuple[int, ...]] | None = None

    def check(self, raw: Raw) -> None:
        """Refuse a chunk whose outer frame declares more decoded bytes than the chunk holds, or more
        stored bytes than *raw* holds (pipeline.py)."""
        if self.bytes_bytes:
            codec, spec = self.bytes_bytes[-1]
            head = raw.as_numpy_array()[:32].tobytes() if isinstance(raw, Buffer) else bytes(raw[:32])
            fixed = isinstance(self.array_bytes[0], BytesCodec)
            inner = [c for c, _ in self.bytes_bytes[:-1]]
            check_frame(codec, head, spec, fixed=fixed, stored=len(raw), inner=inner)

    def decode(self, raw: Raw) -> np.ndarray:
        """The chunk's values (which may share memory with *raw*: a view of it when nothing decodes)."""
        self.check(raw)
        if self.plain is not None:
            decoders, stored, native, shape = self.plain
            if self.into:  # into a chunk-sized array: a frame inflating past it stops there
                out = np.empty(shape, dtype=native)
                if self.plain[0][0][1](raw.to_bytes() if isinstance(raw, Buffer) else raw, out):
                    return out
            data = raw.to_bytes() if isinstance(raw, Buffer) else raw
            for decode, _ in reversed(decoders):
                data = decode(data)
            out = np.frombuffer(data, dtype=stored).reshape(shape)
            return out if stored == native else out.astype(native)
        return self._decode_zarr(raw if isinstance(raw, Buffer) else _PROTOTYPE.buffer.from_bytes(bytes(raw)))

    @property
    def blosc(self) -> bool:
        """Whether blosc alone decodes the chain into given memory (its blocks apart: bloscblocks.py)."""
        return self.into and isinstance(self.bytes_bytes[0][0], BloscCodec)

    @property
    def into(self) -> bool:
        """Whether one numcodecs decoder does the whole chain, so that it can decode into given memory."""
        return self.plain is not None and len(self.plain[0]) == 1 and self.plain[1] == self.plain[2]

    def decode_into(self, raw: Raw, dest: np.ndarray) -> bool:
        """Decode straight into *dest* (a C-contiguous chunk-shaped part of the output, saving a copy)
        when one numcodecs decoder does the whole chain; False if it cannot, or if the chunk does not
        decode to exactly *dest*'s bytes (``decode`` then refuses it as zarr does)."""
        if self.plain is None or not self.into:
            return False
        self.check(raw)
        return self.plain[0][0][1](raw.to_bytes() if isinstance(raw, Buffer) else raw, dest)

    def _decode_zarr(self, raw: Buffer) -> np.ndarray:
        data: Any = raw
        for codec, spec in reversed(self.bytes_bytes):
            data = codec._decode_sync(data, spec)
        codec, spec = self.array_bytes
        data = codec._decode_sync(data, spec)
        for codec, spec in reversed(self.array_array):
            data = codec._decode_sync(data, spec)
        return np.asarray(data.as_numpy_array())


def _sync_capable(codec: Any) -> bool:
    return isinstance(codec, SupportsSyncCodec) and bool(getattr(codec, "_sync_capable", True))


@dataclass(frozen=True, slots=True)
class _Layout:
    """What the arrays of one layout (codecs, chunk shape, dtype, fill value, config) share."""

    chain: _Chain
    dtype: np.dtype[Any]  # the native dtype of the decoded values
    chunk_bytes: int  # decoded bytes of one chunk (64 per element for variable-size elements)


#: Resolved layouts (None: zarr must read) by layout key; a file has few distinct layouts.
_LAYOUTS: dict[Any, _Layout | None] = {}
_MAX_LAYOUTS = 256
_PROTOTYPE = default_buffer_prototype()


def _layout_of(meta: ArrayV3Metadata, chunks: tuple[int, ...], config: ArrayConfig) -> _Layout | None:
    """The codecs of *meta* resolved for its chunks, shared by the arrays of one layout."""
    fill = meta.fill_value
    key: Any = (
        tuple(_codec_key(c) for c in meta.codecs),
        chunks,
        meta.dtype,
        type(fill),
        fill.tobytes() if isinstance(fill, np.generic) else fill,  # tells 0.0 from -0.0, NaN equals NaN
        config,
    )
    try:
        return _LAYOUTS[key]
    except KeyError:
        pass
    except TypeError:  # an unhashable setting: its repr is the identity
        key = repr(key)
        if key in _LAYOUTS:
            return _LAYOUTS[key]
    spec = ArraySpec(shape=chunks, dtype=meta.dtype, fill_value=fill, config=config, prototype=_PROTOTYPE)
    chain = _resolve(tuple(meta.codecs), spec)
    dtype = meta.dtype.to_native_dtype()
    found = None if chain is None else _Layout(chain, dtype, math.prod(chunks) * (dtype.itemsize or 64))
    if len(_LAYOUTS) >= _MAX_LAYOUTS:
        _LAYOUTS.clear()
    _LAYOUTS[key] = found
    return found


def _codec_key(codec: Any) -> Any:
    """A codec's type and settings (cheaper than its repr; codecs compare by their fields)."""
    fields = getattr(codec, "__dict__", None)
    if fields is None:
        return repr(codec)
    return (type(codec), *[v for k, v in fields.items() if k != "_tunable_attrs"])


def _resolve(codecs: tuple[Any, ...], spec: ArraySpec) -> _Chain | None:
    aa: list[tuple[Any, ArraySpec]] = []
    ab: tuple[Any, ArraySpec] | None = None
    bb: list[tuple[Any, ArraySpec]] = []
    for codec in codecs:
        if not _sync_capable(codec) or isinstance(codec, ShardingCodec):
            return None
        if isinstance(codec, ArrayArrayCodec) and ab is None:
            aa.append((codec, spec))
        elif isinstance(codec, ArrayBytesCodec) and ab is None:
            ab = (codec, spec)
        elif isinstance(codec, BytesBytesCodec) and ab is not None:
            bb.append((codec, spec))
        else:
            return None  # not an order zarr accepts; let zarr say so
        spec = codec.resolve_metadata(spec)
    if ab is None:
        return None
    return _Chain(tuple(aa), ab, tuple(bb), _plain(aa, ab, bb))


#: Decode a frame into a given output; False (the output possibly changed) unless the frame decodes
#: to exactly the output's bytes. numcodecs refuses only a frame larger than its output: a smaller one
#: would leave the rest of the output as it was (uninitialised, or a chunk read before).
Into = Callable[[Any, np.ndarray], bool]


def _declared_into(codec_id: str, decompress: Callable[[Any, Any], Any]) -> Into:
    """*decompress* (numcodecs' blosc or zstd) into the output when the frame declares its size."""

    def into(raw: Any, out: np.ndarray) -> bool:
        declared = declared_size(codec_id, bytes(raw[:32]))
        if declared is not None and declared != out.nbytes:
            return False
        decompress(raw, out)  # a zstd frame that does not say: numcodecs checks the size it decodes
        return True

    return into


def _gzip_into(raw: Any, out: np.ndarray) -> bool:
    """A gzip frame into the output, read up to its size and one byte more (a frame inflating past
    the chunk is refused without being held)."""
    with gzip.GzipFile(fileobj=io.BytesIO(raw), mode="rb") as frame:
        if frame.readinto(out.reshape(-1).view(np.uint8)) != out.nbytes:
            return False
        if frame.read(1):
            raise DecodeLimitError(
                f"A gzip chunk decodes to more bytes than the {out.nbytes} its chunk holds. The chunk is "
                "damaged or was crafted; decoding stopped there."
            )
    return True


#: numcodecs' decoders for zarr's bytes-to-bytes codecs (decoding needs none of their settings), as
#: (decode, decode into a given output). blosc and zstd are called as numcodecs' module functions,
#: which skip the codec objects' argument normalisation (a tenth of a small series' read).
_NUMCODECS: dict[type, Callable[[], tuple[Callable[..., Any], Into]]] = {
    BloscCodec: lambda: (numcodecs.blosc.decompress, _declared_into("blosc", numcodecs.blosc.decompress)),
    ZstdCodec: lambda: (numcodecs.zstd.decompress, _declared_into("zstd", numcodecs.zstd.decompress)),
    GzipCodec: lambda: (numcodecs.GZip().decode, _gzip_into),
}


def _plain(
    aa: list[tuple[Any, ArraySpec]], ab: tuple[Any, ArraySpec], bb: list[tuple[Any, ArraySpec]]
) -> tuple[tuple[Any, ...], np.dtype[Any], np.dtype[Any], tuple[int, ...]] | None:
    codec, spec = ab
    if aa or not isinstance(codec, BytesCodec) or any(type(c) not in _NUMCODECS for c, _ in bb):
        return None
    native = spec.dtype.to_native_dtype()
    if native.kind not in "biuf" or native.fields is not None:
        return None
    stored = native.newbyteorder(codec.endian) if codec.endian is not None and native.itemsize > 1 else native
    return tuple(_NUMCODECS[type(c)]() for c, _ in bb), stored, native, tuple(spec.shape)


#: A single-chunk array up to this many decoded bytes is read directly on every access, bypassing the
#: IO's chunk cache: decoding it costs about as much as a cache hit.
SMALL_BYTES = 64 << 10


@dataclass(slots=True)
class DirectReader:
    """Synchronous whole-chunk reads of one array (see the module docstring)."""

    store: LocalStore | MemoryStore
    prefix: str  # the array's key in the store, with a trailing "/" (empty at the root)
    metadata: ArrayV3Metadata
    chunks: tuple[int, ...]
    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    fill_value: Any
    chain: _Chain
    folder: str | None  # a local store's root folder (chunks are read as files), else None
    small: bool  # one chunk holds the whole array, and it is small (see SMALL_BYTES)

    @classmethod
    def of(cls, array: zarr.Array) -> DirectReader | None:
        """The direct reader of *array*, or None if zarr must read it (store, codecs or layout)."""
        store = array.store_path.store
        meta = array.metadata
        if not isinstance(store, LocalStore | MemoryStore) or not isinstance(meta, ArrayV3Metadata):
            return None
        config = array.async_array.config
        if not isinstance(meta.chunk_grid, RegularChunkGridMetadata) or config.order != "C":
            return None
        if not config.read_missing_chunks:
            return None  # zarr raises for a missing chunk; keep its message
        chunks = tuple(map(int, meta.chunk_grid.chunk_shape))
        if not meta.shape or 0 in chunks:
            return None
        layout = _layout_of(meta, chunks, config)
        if layout is None:
            return None
        fill = meta.fill_value if meta.fill_value is not None else meta.dtype.default_scalar()
        path = array.store_path.path
        shape = tuple(map(int, meta.shape))
        one_chunk = all(n <= c for n, c in zip(shape, chunks, strict=True))
        return cls(
            store=store,
            prefix=f"{path}/" if path else "",
            metadata=meta,
            chunks=chunks,
            shape=shape,
            dtype=layout.dtype,
            fill_value=fill,
            chain=layout.chain,
            folder=_folder(store),
            small=one_chunk and layout.chunk_bytes <= SMALL_BYTES,
        )

    def chunk(self, key: ChunkKey) -> np.ndarray:
        """Chunk *key* decoded (full chunk shape, also at the array's edge); the fill value if absent."""
        raw = self._get(self.prefix + self.metadata.encode_chunk_key(key))
        if raw is None:
            return np.full(self.chunks, self.fill_value, dtype=self.dtype)
        return self.chain.decode(raw)

    def _get(self, key: str, *, reuse: bool = False) -> Raw | None:
        """The stored chunk *key*, None if absent. *reuse*: the caller copies what it decodes before its
        thread's next read, so a large chunk file may be read into the thread's buffer (chunkfiles.py)."""
        if self.folder is None:
            return self.store.get_sync(key, prototype=_PROTOTYPE)
        return read_file(self.folder + key, reuse=reuse)

    def read(self, region: tuple[slice, ...]) -> np.ndarray:
        """The values of *region* (one step-1 slice per axis, within the array's shape), a new array."""
        shape = tuple(r.stop - r.start for r in region)
        if 0 in shape:
            return np.empty(shape, dtype=self.dtype)
        spans = (range(r.start // c, (r.stop - 1) // c + 1) for r, c in zip(region, self.chunks, strict=True))
        keys = list(itertools.product(*spans))
        parallel = (
            len(keys) > 1 and len(keys) * math.prod(self.chunks) * self.dtype.itemsize >= PARALLEL_BYTES
        )
        # decoded on the decoding threads: they fault in the result's pages as they fill them, in parallel
        out = np.empty(shape, dtype=self.dtype) if parallel else pages.empty(shape, self.dtype)
        parts = {key: self._parts(key, region, out) for key in keys}
        if parallel:
            _share(lambda key: self._place(key, *parts[key]), keys)  # disjoint parts of out: no lock needed
            return out
        # Chunks wanted in part are decoded first, into the part of out that a whole chunk fills next
        # (memory touched either way), so that no other memory is touched for them.
        wholes = [key for key in keys if self._whole(parts[key][0])]
        staging = parts[wholes[0]][0] if wholes else None
        for key in sorted(keys, key=lambda k: self._whole(parts[k][0])):  # stable: parts, then wholes
            self._place(key, *parts[key], staging)
        return out

    def _parts(
        self, key: ChunkKey, region: tuple[slice, ...], out: np.ndarray
    ) -> tuple[np.ndarray, tuple[slice, ...]]:
        """The part of *out* (the values of *region*) chunk *key* fills, and the part of the chunk there."""
        src, dst = [], []
        for k, c, r in zip(key, self.chunks, region, strict=True):
            lo, hi = max(k * c, r.start), min((k + 1) * c, r.stop)
            src.append(slice(lo - k * c, hi - k * c))
            dst.append(slice(lo - r.start, hi - r.start))
        return out[tuple(dst)], tuple(src)

    def _whole(self, target: np.ndarray) -> bool:
        """Whether *target* takes a whole chunk, in one piece of memory (then decoded straight into it)."""
        return target.shape == self.chunks and target.flags.c_contiguous

    def _place(
        self, key: ChunkKey, target: np.ndarray, src: tuple[slice, ...], staging: np.ndarray | None = None
    ) -> None:
        """Decode chunk *key* and put its part *src* into *target*; a chunk wanted in part is decoded
        into *staging* (chunk-shaped) if given, else into memory reused by this thread."""
        raw = self._get(self.prefix + self.metadata.encode_chunk_key(key), reuse=True)
        if raw is None:
            target[...] = self.fill_value
            return
        if self._whole(target):
            if not self.chain.decode_into(raw, target):
                target[...] = self.chain.decode(raw)
            return
        if self._place_blocks(raw, target, src, staging):
            return
        block = None
        if self.chain.into:
            block = decode_target(self.chunks, self.dtype) if staging is None else staging
            if not self.chain.decode_into(raw, block):
                block = None
        if block is None:
            block = self.chain.decode(raw)
        target[...] = block[src]

    def _place_blocks(
        self, raw: Raw, target: np.ndarray, src: tuple[slice, ...], staging: np.ndarray | None
    ) -> bool:
        """Decode only the blosc blocks holding part *src* of the chunk in *raw* straight into *target*,
        when that part is one run of the chunk's bytes and *raw* is this thread's to change; False if
        not (bloscblocks.py)."""
        if not (self.chain.blosc and isinstance(raw, memoryview) and not raw.readonly):
            return False
        if not target.flags.c_contiguous or any(
            s != slice(0, c) for s, c in zip(src[1:], self.chunks[1:], strict=True)
        ):
            return False
        frame = bloscblocks.parse(raw)
        chunk_bytes = math.prod(self.chunks) * self.dtype.itemsize
        if frame is None or frame.nbytes != chunk_bytes:
            return False
        self.chain.check(raw)
        row = chunk_bytes // self.chunks[0]
        scratch = staging if staging is not None else decode_target(self.chunks, self.dtype)
        span = (src[0].start * row, src[0].stop * row)
        dest = memoryview(target.reshape(-1).view(np.uint8))
        scratch_bytes = memoryview(scratch.reshape(-1).view(np.uint8))
        return bloscblocks.decode_range(raw, frame, span, dest, scratch_bytes, numcodecs.blosc.decompress)


def _folder(store: LocalStore | MemoryStore) -> str | None:
    """A local store's root folder with a trailing separator (chunks are read as files), else None."""
    if not isinstance(store, LocalStore):
        return None
    root = os.fspath(store.root)
    return root if root.endswith(os.sep) else root + os.sep


def _share(work: Callable[[ChunkKey], None], keys: list[ChunkKey]) -> None:
    """Run *work* on every key on the decoding threads, each taking the next key when it is done with
    one (a task per thread, not per chunk: fewer hand-offs, and a thread the machine holds up leaves
    its share to the others). The first failure stops the rest and is raised."""
    todo = iter(keys)
    lock = threading.Lock()
    failed: list[BaseException] = []

    def drain() -> None:
        while not failed:
            with lock:
                key = next(todo, None)
            if key is None:
                return
            try:
                work(key)
            except BaseException as exc:
                failed.append(exc)
                raise

    tasks = [_pool().submit(drain) for _ in range(min(_WORKERS, len(keys)))]
    errors = [exc for task in tasks if (exc := task.exception()) is not None]  # waits for every task
    if errors:
        raise errors[0]


@functools.cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="hdmf_zarr-decode")


def prepare(store: object) -> None:
    """Start the decoding threads when a local store is opened for reading, and look up the calls that
    fault in a large result at once (read/pages.py), so that the first large read of the IO does not pay
    for either (done once per process)."""
    if isinstance(store, LocalStore | MemoryStore):
        pages.prepare()  # libc's calls looked up here rather than on the first large read
        pool = _pool()
        for _ in range(_WORKERS):
            pool.submit(int)
