"""Choose the codec pipeline for the arrays hdmf_zarr opens: zarrs (Rust, parallel) when installed.

Layer: primitives. The choice is scoped to the arrays we construct (zarr picks a pipeline when an
array object is created), so zarr's global configuration is never changed. A pipeline the user set
in zarr's config is respected; ``HDMF_ZARR_CODEC_PIPELINE=zarr`` turns the accelerated one off.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import warnings
from collections.abc import Iterator
from typing import Final

import zarr
from zarr.abc.store import Store
from zarr.storage import LocalStore

ZARRS_PIPELINE: Final = "zarrs.ZarrsCodecPipeline"
_DEFAULT_PIPELINE: Final = "zarr.core.codec_pipeline.BatchedCodecPipeline"


def accelerated_pipeline() -> str | None:
    """The codec pipeline to use for our arrays, or None to keep zarr's configured one."""
    if os.environ.get("HDMF_ZARR_CODEC_PIPELINE", "").lower() in ("zarr", "default", "off", "0"):
        return None
    if zarr.config.get("codec_pipeline.path") != _DEFAULT_PIPELINE:
        return None  # the user chose a pipeline
    return ZARRS_PIPELINE if importlib.util.find_spec("zarrs") is not None else None


#: Arrays smaller than this are read by hdmf_zarr's direct path (read/direct.py) or in one chunk; the
#: accelerated pipeline's per-array set-up costs more than it saves for them.
SMALL_ARRAY_BYTES = 1 << 20


@contextlib.contextmanager
def array_construction(store: Store, *, nbytes: int | None = None) -> Iterator[None]:
    """Construct zarr array objects of *store* inside this block to give them the accelerated pipeline
    (not for arrays of fewer than SMALL_ARRAY_BYTES *nbytes*, when given).

    Only local folders are accelerated: zarrs rebuilds remote stores in Rust without the client
    options they were opened with (and without their connection pool), so remote arrays keep zarr's
    own pipeline.
    """
    small = nbytes is not None and nbytes < SMALL_ARRAY_BYTES
    path = accelerated_pipeline() if isinstance(store, LocalStore) and not small else None
    if path is None:
        yield
        return
    with zarr.config.set({"codec_pipeline.path": path}), warnings.catch_warnings():
        # zarrs falls back to zarr's own pipeline for dtypes it lacks (struct, strings) and says so.
        warnings.filterwarnings("ignore", message="Array is unsupported by ZarrsCodecPipeline")
        yield
