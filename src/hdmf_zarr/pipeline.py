"""Choose the codec pipeline for the arrays hdmf_zarr opens: zarrs (Rust, parallel) when installed.

Layer: primitives. The choice is scoped to the arrays we construct (zarr picks a pipeline when an
array object is created), so zarr's global configuration is never changed. A pipeline the user set
in zarr's config is respected; ``HDMF_ZARR_CODEC_PIPELINE=zarr`` turns the accelerated one off.

Otherwise arrays get :class:`BoundedCodecPipeline`: zarr's own pipeline, which first compares the
decoded size a zstd or blosc frame declares with what the chunk's shape and dtype hold, so a 30-byte
chunk cannot make it allocate gigabytes. zarrs allocates what a zstd frame declares before checking
it (a frame claiming 1 TiB aborts the interpreter), so zstd arrays never go to zarrs. Its gzip and zstd
codecs stop decoding a frame that declares no size at what the chunk may hold (BoundedGzipCodec,
BoundedZstdCodec), and a shard's inner chunks go through it too (BoundedShardingCodec).
"""

from __future__ import annotations

import contextlib
import importlib.util
import math
import os
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import fields
from typing import Any, Final, Self

import numcodecs
import numpy as np
import zarr
from zarr.abc.codec import BytesBytesCodec, CodecPipeline
from zarr.abc.store import Store
from zarr.codecs import BloscCodec, BytesCodec, GzipCodec, ShardingCodec, ZstdCodec
from zarr.core.array_spec import ArraySpec
from zarr.core.buffer import Buffer
from zarr.core.codec_pipeline import BatchedCodecPipeline
from zarr.registry import register_pipeline
from zarr.storage import LocalStore

from hdmf_zarr.codecsize import blosc_frame_problem, declared_size, inflate_gzip, variable_size_limit
from hdmf_zarr.errors import DecodeLimitError

ZARRS_PIPELINE: Final = "zarrs.ZarrsCodecPipeline"
_DEFAULT_PIPELINE: Final = "zarr.core.codec_pipeline.BatchedCodecPipeline"
#: Environment variable that turns the accelerated pipeline off ("zarr", "default", "off" or "0").
DISABLE_ACCELERATION_ENV: Final = "HDMF_ZARR_CODEC_PIPELINE"
BOUNDED_PIPELINE: Final = "hdmf_zarr.pipeline.BoundedCodecPipeline"


class BoundedCodecPipeline(BatchedCodecPipeline):
    """zarr's pipeline, refusing a compressed chunk whose frame declares more bytes than its chunk holds
    (or, blosc, more stored bytes than the chunk has); the inner chunks of shards too."""

    @classmethod
    def from_codecs(cls, codecs: Iterable[Any], *, batch_size: int | None = None) -> Self:
        return super().from_codecs(_bounded_codecs(list(codecs)), batch_size=batch_size)

    async def decode_batch(self, chunk_bytes_and_specs: Iterable[tuple[Any, Any]]) -> Iterable[Any]:
        pairs = list(chunk_bytes_and_specs)
        outer = self.bytes_bytes_codecs[-1] if self.bytes_bytes_codecs else None
        fixed = isinstance(self.array_bytes_codec, BytesCodec)  # else text/bytes of variable size
        if frame_codec_id(outer):
            inner = self.bytes_bytes_codecs[:-1]
            for raw, spec in pairs:
                if raw is not None:
                    head = raw.as_numpy_array()[:32].tobytes()
                    check_frame(outer, head, spec, fixed=fixed, stored=len(raw), inner=inner)
        return await super().decode_batch(pairs)


class BoundedShardingCodec(ShardingCodec):
    """zarr's sharding codec, whose inner chunks are decoded by :class:`BoundedCodecPipeline` (zarr's
    decodes them with the globally configured pipeline, which checks no frame: a crafted blosc inner
    chunk made c-blosc read past its buffer)."""

    @property
    def codec_pipeline(self) -> CodecPipeline:
        return BoundedCodecPipeline.from_codecs(self.codecs)


class BoundedGzipCodec(GzipCodec):
    """zarr's gzip codec, inflating at most what its chunk can hold (zarr's inflates a frame whole)."""

    _inner: tuple[Any, ...] = ()  # the bytes-to-bytes codecs inside this one, in encode order

    def _decode_sync(self, chunk_bytes: Buffer, chunk_spec: ArraySpec) -> Buffer:
        limit = _input_bound(chunk_spec, self._inner)
        data = inflate_gzip(chunk_bytes.as_numpy_array(), limit)
        if data is None:
            raise DecodeLimitError(
                f"A gzip chunk inflates to more than the {limit} bytes a chunk of shape "
                f"{tuple(chunk_spec.shape)} and dtype {chunk_spec.dtype.to_native_dtype()} may hold. The "
                "chunk is damaged or was crafted; inflating stopped there."
            )
        return chunk_spec.prototype.buffer.from_bytes(data)


class BoundedZstdCodec(ZstdCodec):
    """zarr's zstd codec; a frame that declares no decoded size (numcodecs always writes it) is decoded
    into exactly its chunk's bytes when those are known, so it cannot inflate past them."""

    _inner: tuple[Any, ...] = ()

    def _decode_sync(self, chunk_bytes: Buffer, chunk_spec: ArraySpec) -> Buffer:
        head = chunk_bytes.as_numpy_array()[:32].tobytes()
        if self._inner or declared_size("zstd", head) is not None or not _fixed(chunk_spec):
            return super()._decode_sync(chunk_bytes, chunk_spec)  # a declared size is checked first
        out = np.empty(_input_bound(chunk_spec, ()), dtype=np.uint8)
        try:
            numcodecs.zstd.decompress(chunk_bytes.as_numpy_array(), out)  # refuses any other size
        except RuntimeError as exc:
            raise DecodeLimitError(
                f"A zstd chunk that declares no decoded size does not decode to the {out.nbytes} bytes of "
                f"a chunk of shape {tuple(chunk_spec.shape)} and dtype {chunk_spec.dtype.to_native_dtype()} "
                f"({exc}). The chunk is damaged or was crafted; decoding stopped there."
            ) from exc
        return chunk_spec.prototype.buffer.from_array_like(out)


_BOUNDED: Final[dict[type, type]] = {GzipCodec: BoundedGzipCodec, ZstdCodec: BoundedZstdCodec}


def _bounded_codecs(codecs: list[Any]) -> list[Any]:
    """*codecs* with sharding, gzip and zstd replaced by their bounded forms (same settings)."""
    out: list[Any] = []
    inner: list[Any] = []  # the bytes-to-bytes codecs met so far
    for codec in codecs:
        if isinstance(codec, ShardingCodec) and not isinstance(codec, BoundedShardingCodec):
            codec = BoundedShardingCodec(
                chunk_shape=codec.chunk_shape,
                codecs=codec.codecs,
                index_codecs=codec.index_codecs,
                index_location=codec.index_location,
            )
        elif kind := next((k for k in _BOUNDED if isinstance(codec, k)), None):  # evolved ones too
            bounded = _BOUNDED[kind](**{f.name: getattr(codec, f.name) for f in fields(codec)})
            object.__setattr__(bounded, "_inner", tuple(inner))  # a frozen dataclass
            codec = bounded
        if isinstance(codec, BytesBytesCodec):
            inner.append(codec)
        out.append(codec)
    return out


def _fixed(spec: Any) -> bool:
    """Whether the elements of *spec* have a fixed size (not text, bytes or objects of any length)."""
    native = spec.dtype.to_native_dtype()
    return native.kind not in "OT" and native.itemsize > 0


def _input_bound(spec: Any, inner: Sequence[Any], *, fixed: bool | None = None) -> int:
    """The most bytes the frame of a bytes-to-bytes codec may hold: a chunk of *spec* encoded by the
    codecs *inner* to it; *fixed*: whether its elements have a fixed size (default: by their dtype)."""
    items = math.prod(spec.shape)
    fixed = _fixed(spec) if fixed is None else fixed
    limit = items * spec.dtype.to_native_dtype().itemsize if fixed else variable_size_limit(items)
    for codec in inner:
        limit = _encoded_bound(codec, limit, spec)
    return limit


def frame_codec_id(codec: Any) -> str:
    """The id of *codec* when its frames declare their decoded size (zstd, blosc), else ''."""
    return "zstd" if isinstance(codec, ZstdCodec) else "blosc" if isinstance(codec, BloscCodec) else ""


def check_frame(
    codec: Any, head: bytes, spec: Any, *, fixed: bool, stored: int, inner: Sequence[Any] = ()
) -> None:
    """Refuse a frame of *codec* (the outermost bytes-to-bytes codec) whose header (*head*, its first
    bytes) declares more decoded bytes than a chunk of *spec* can encode to, or (blosc) more stored bytes
    than the chunk's *stored*; *fixed*: fixed-size elements; *inner*: the chain's other bytes-to-bytes
    codecs, in the order they encode (a crc32c inside adds its 4 bytes to what the frame holds)."""
    codec_id = frame_codec_id(codec)
    if codec_id == "blosc" and (problem := blosc_frame_problem(head, stored)) is not None:
        raise DecodeLimitError(
            f"A blosc chunk {problem}. The chunk is truncated, damaged or was crafted; it was not decoded."
        )
    declared = declared_size(codec_id, head) if codec_id else None
    if declared is None:
        return
    native = spec.dtype.to_native_dtype()
    limit = _input_bound(spec, inner, fixed=fixed)
    if declared > limit:
        holds = f"holds {limit}" if fixed and not inner else f"may hold at most {limit}"
        within = f" (inside its {', '.join(type(c).__name__ for c in inner)})" if inner else ""
        raise DecodeLimitError(
            f"A {codec_id} chunk declares {declared} decoded bytes; a chunk of shape {tuple(spec.shape)} "
            f"and dtype {native}{within} {holds}. The chunk is damaged or was crafted; nothing was "
            "allocated."
        )


def _encoded_bound(codec: Any, nbytes: int, spec: Any) -> int:
    """The most bytes *codec* encodes *nbytes* to: its own count when fixed (crc32c), else a bound above
    what a compressor adds to data it cannot compress (headers and per-block overhead)."""
    try:
        return int(codec.compute_encoded_size(nbytes, spec))
    except NotImplementedError:
        return nbytes + nbytes // 16 + 4096


register_pipeline(BoundedCodecPipeline)


#: Whether the zarrs codec pipeline is installed. zarr imports every installed pipeline (an entry point) the
#: first time it makes any array object, so zarrs' Rust library (about 6 MiB resident) would otherwise be
#: loaded inside the first write or read of a session, which then pays its time and memory. It is loaded
#: here, with hdmf_zarr, instead (a few milliseconds).
def _load_zarrs() -> bool:
    if importlib.util.find_spec("zarrs") is None:
        return False
    try:
        importlib.import_module("zarrs")
    except ImportError:  # a build that does not load here: zarr's own pipeline, as without zarrs
        return False
    return True


HAS_ZARRS: Final = _load_zarrs()


def accelerated_pipeline() -> str | None:
    """The codec pipeline to use for our arrays, or None to keep zarr's configured one."""
    if os.environ.get(DISABLE_ACCELERATION_ENV, "").lower() in ("zarr", "default", "off", "0"):
        return None
    if zarr.config.get("codec_pipeline.path") != _DEFAULT_PIPELINE:
        return None  # the user chose a pipeline
    return ZARRS_PIPELINE if HAS_ZARRS else None


def _uses_zstd(metadata: Any) -> bool:
    codecs = getattr(metadata, "codecs", None) or ()
    return any(isinstance(c, ZstdCodec) for c in codecs)


#: Arrays smaller than this are read by hdmf_zarr's direct path (read/direct.py) or in one chunk; the
#: accelerated pipeline's per-array set-up costs more than it saves for them.
SMALL_ARRAY_BYTES = 1 << 20


@contextlib.contextmanager
def array_construction(
    store: Store, metadata: Any = None, *, accelerate: bool = True, nbytes: int | None = None
) -> Iterator[None]:
    """Construct zarr array objects of *store* inside this block to give them the accelerated pipeline.

    Only local folders are accelerated: zarrs rebuilds remote stores in Rust without the client
    options they were opened with (and without their connection pool), so remote arrays keep zarr's
    own pipeline. Arrays compressed with zstd (*metadata*) keep it too (see the module docstring);
    zarr's own pipeline is the bounded one, unless the user chose another. ``accelerate=False``: only
    the bounded pipeline (tiny arrays read once, where building a Rust pipeline costs more); so do
    arrays of fewer than SMALL_ARRAY_BYTES *nbytes*, when given.
    """
    small = nbytes is not None and nbytes < SMALL_ARRAY_BYTES
    local = accelerate and not small and isinstance(store, LocalStore)
    path = accelerated_pipeline() if local and not _uses_zstd(metadata) else None
    if path is None and zarr.config.get("codec_pipeline.path") == _DEFAULT_PIPELINE:
        path = BOUNDED_PIPELINE
    if path is None:
        yield
        return
    with zarr.config.set({"codec_pipeline.path": path}), warnings.catch_warnings():
        # zarrs falls back to zarr's own pipeline for dtypes it lacks (struct, strings) and says so.
        warnings.filterwarnings("ignore", message="Array is unsupported by ZarrsCodecPipeline")
        yield
