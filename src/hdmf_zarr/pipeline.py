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
#: Environment variable that turns the accelerated pipeline off ("zarr", "default", "off" or "0").
DISABLE_ACCELERATION_ENV: Final = "HDMF_ZARR_CODEC_PIPELINE"


def accelerated_pipeline() -> str | None:
    """The codec pipeline to use for our arrays, or None to keep zarr's configured one."""
    if os.environ.get(DISABLE_ACCELERATION_ENV, "").lower() in ("zarr", "default", "off", "0"):
        return None
    if zarr.config.get("codec_pipeline.path") != _DEFAULT_PIPELINE:
        return None  # the user chose a pipeline
    return ZARRS_PIPELINE if importlib.util.find_spec("zarrs") is not None else None


@contextlib.contextmanager
def array_construction(store: Store) -> Iterator[None]:
    """Construct zarr array objects of *store* inside this block to give them the accelerated pipeline.

    Only local folders are accelerated: zarrs rebuilds remote stores in Rust without the client
    options they were opened with (and without their connection pool), so remote arrays keep zarr's
    own pipeline.
    """
    path = accelerated_pipeline() if isinstance(store, LocalStore) else None
    if path is None:
        yield
        return
    with zarr.config.set({"codec_pipeline.path": path}), warnings.catch_warnings():
        # zarrs falls back to zarr's own pipeline for dtypes it lacks (struct, strings) and says so.
        warnings.filterwarnings("ignore", message="Array is unsupported by ZarrsCodecPipeline")
        yield
