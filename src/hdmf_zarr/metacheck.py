"""Say what in a damaged v3 root document zarr could not read: the file, the node and the reason.

Layer: store back-ends (below ``store``). zarr reports a damaged node inside consolidated metadata as
"no group found", or as a parse error that names neither the file nor the node. When opening fails,
``store`` asks this module to read the root document again and name the culprit.
"""

from __future__ import annotations

import json
from typing import Any

from zarr.abc.store import Store
from zarr.core.buffer import default_buffer_prototype
from zarr.core.group import GroupMetadata
from zarr.core.metadata import ArrayV3Metadata
from zarr.core.sync import sync

from hdmf_zarr import _format as fmt
from hdmf_zarr.confine import check_key
from hdmf_zarr.errors import CorruptDataError


def _parse(entry: Any) -> None:
    if not isinstance(entry, dict):
        raise TypeError(f"a node document is a JSON object, not {type(entry).__name__}")
    if entry.get("node_type") == "array":
        ArrayV3Metadata.from_dict(dict(entry))
    else:
        GroupMetadata.from_dict({**entry, "consolidated_metadata": None})


def damaged_root(store: Store, where: str) -> CorruptDataError | None:
    """The error that names what zarr could not read in the root document of *store* (None if nothing)."""
    raw = sync(store.get(fmt.V3_METADATA_KEY, prototype=default_buffer_prototype()))
    if raw is None:
        return None
    try:
        doc = json.loads(raw.to_bytes())
    except (ValueError, UnicodeDecodeError) as exc:
        return CorruptDataError(
            f"The root document {fmt.V3_METADATA_KEY!r} of {where!r} is not valid JSON ({exc}); the file is "
            "damaged (an interrupted copy or write) or was crafted."
        )
    block = doc.get("consolidated_metadata") if isinstance(doc, dict) else None
    entries = block.get("metadata") if isinstance(block, dict) else {}
    if not isinstance(entries, dict):
        return CorruptDataError(
            f"The consolidated metadata in {fmt.V3_METADATA_KEY!r} of {where!r} is not a mapping."
        )
    for key, entry in entries.items():
        check_key(str(key), store=where, node=f"/{key}")
        try:
            _parse(entry)
        except (ValueError, TypeError, KeyError) as exc:
            return CorruptDataError(
                f"The metadata of the node '/{key}' in {where!r} (as consolidated in the root "
                f"{fmt.V3_METADATA_KEY}) cannot be read: {exc}. The file is damaged or was crafted."
            )
    return None
