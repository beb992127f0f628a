"""Choose the codec pipeline for the arrays hdmf_zarr opens: zarrs (Rust, parallel) when installed.

Layer: primitives. The choice is scoped to the arrays we construct (zarr picks a pipeline when an
array object is created), so zarr's global configuration is never changed. A pipeline the user set
in zarr's config is respected; ``HDMF_ZARR_CODEC_PIPELINE=zarr`` turns the accelerated one off.

Otherwise arrays get :class:`BoundedCodecPipeline`: zarr's own pipeline, which first compares the
decoded size a zstd or blosc frame declares with what the chunk's shape and dtype hold, so a 30-byte
chunk cannot make it allocate gigabytes. zarrs allocates what a zstd frame declares before checking
it (a frame claiming 1 TiB aborts the interpreter), so zstd arrays never go to zarrs.
"""

from __future__ import annotations

import contextlib
import importlib.util
import math
import os
import warnings
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Final, Self

import zarr
from zarr.abc.codec import CodecPipeline
from zarr.abc.store import Store
from zarr.codecs import BloscCodec, BytesCodec, ShardingCodec, ZstdCodec
from zarr.core.codec_pipeline import BatchedCodecPipeline
from zarr.registry import register_pipeline
from zarr.storage import LocalStore

from hdmf_zarr.codecsize import blosc_frame_problem, declared_size, variable_size_limit
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
        return super().from_codecs([_bounded_shards(codec) for codec in codecs], batch_size=batch_size)

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


def _bounded_shards(codec: Any) -> Any:
    """*codec*, or the same sharding as a :class:`BoundedShardingCodec`."""
    if type(codec) is not ShardingCodec:
        return codec
    return BoundedShardingCodec(
        chunk_shape=codec.chunk_shape,
        codecs=codec.codecs,
        index_codecs=codec.index_codecs,
        index_location=codec.index_location,
    )


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
    items = math.prod(spec.shape)
    native = spec.dtype.to_native_dtype()
    limit = items * native.itemsize if fixed else variable_size_limit(items)
    for other in inner:
        limit = _encoded_bound(other, limit, spec)
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
