"""Fetch many small values (scalar datasets, cached spec documents) concurrently.

Layer: read. A 0-d array written by this package keeps its value as the fill value, has no chunk and is
marked ``_VALUE_IN_FILL``: its value comes from the metadata, with no request. An unmarked 0-d array
(older files of ours) costs one GET, which may miss (then the fill value is the value). Other arrays
(peer-written chunks, v2 shape-[1] scalars) are read through zarr. Everything is gathered, so a remote
open pays about one round trip, not one each.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from zarr.abc.store import Store
from zarr.core.array import AsyncArray
from zarr.core.buffer import default_buffer_prototype
from zarr.core.metadata import ArrayV2Metadata, ArrayV3Metadata
from zarr.core.sync import sync
from zarr.storage import StorePath

from hdmf_zarr import _format as fmt
from hdmf_zarr import legacy, paths
from hdmf_zarr.errors import DecodeLimitError, FormatError, HdmfZarrError, decoding
from hdmf_zarr.pipeline import array_construction
from hdmf_zarr.store import describe_source

ArrayMetadata = ArrayV2Metadata | ArrayV3Metadata


async def _fetch(
    store: Store, path: str, meta: ArrayMetadata | legacy.LegacyArrayMeta, *, text_in_fill: bool
) -> Any:
    key = paths.to_zarr_key(path)
    if isinstance(meta, legacy.LegacyArrayMeta):
        return await legacy.LegacyObjectArray(store, path, meta).getitem(Ellipsis if meta.shape else ())
    if isinstance(meta, ArrayV3Metadata) and meta.shape == ():
        # No request when the value is known to be the fill value: a cached spec document's text
        # (docs/format.md#specification-cache) or a scalar we marked (docs/format.md#scalars).
        if (text_in_fill and meta.fill_value) or meta.attributes.get(fmt.VALUE_IN_FILL_ATTR):
            return meta.fill_value
        chunk_key = f"{key}/{meta.encode_chunk_key(())}"
        if await store.get(chunk_key, prototype=default_buffer_prototype()) is None:
            return meta.fill_value
    with array_construction(store, meta, accelerate=False):  # bounded decoding, zarr's own pipeline
        array: AsyncArray[Any] = AsyncArray(metadata=meta, store_path=StorePath(store, key))
    try:
        return await array.getitem(() if meta.shape == () else slice(None))
    except DecodeLimitError as exc:
        raise DecodeLimitError(f"{exc} (dataset {path!r} of {describe_source(store)!r})") from exc
    except HdmfZarrError:
        raise
    except (RuntimeError, ValueError) as exc:
        raise FormatError(
            f"The dataset {path!r} of {describe_source(store)!r} cannot be read ({type(exc).__name__}: "
            f"{exc}): a chunk is damaged or was crafted."
        ) from exc


def fetch_values(store: Store, arrays: Mapping[str, Any], *, text_in_fill: bool = False) -> dict[str, Any]:
    """Return the whole value of each small array in *arrays* (by in-store path), fetched concurrently.

    ``text_in_fill``: the arrays are cached spec documents, whose non-empty fill value is their text.
    """

    async def fetch_all() -> list[Any]:
        return await asyncio.gather(
            *(_fetch_named(store, p, m, text_in_fill=text_in_fill) for p, m in arrays.items())
        )

    return dict(zip(arrays, sync(fetch_all()), strict=True))


async def _fetch_named(
    store: Store, path: str, meta: ArrayMetadata | legacy.LegacyArrayMeta, *, text_in_fill: bool
) -> Any:
    with decoding(f"the dataset {path!r} of {describe_source(store)!r}"):
        return await _fetch(store, path, meta, text_in_fill=text_in_fill)
