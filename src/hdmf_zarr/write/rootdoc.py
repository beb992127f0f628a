"""The root ``zarr.json`` with the consolidated metadata, serialised member by member.

Layer: write. zarr serialises a group document by first making one nested dict of everything in it:
for the root of a file with 20,000 series that is every node's metadata as Python dicts (several times
the 30 MB of JSON they become), alive at once next to the JSON text and its bytes. This module
writes the same bytes (tests/unit/test_rootdoc.py compares them with zarr's ``to_buffer_dict``) from
zarr's own per-member dicts, a batch of members at a time, into one growing buffer: what is held is
about the JSON bytes.

``json.dumps`` without indentation separates items with ``", "`` and keys from values with ``": "``,
escapes every non-ASCII character, and so writes the same text for a dict as for its items dumped
one by one and joined this way.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Iterator
from typing import Any, Final

from zarr.core.group import ConsolidatedMetadata, GroupMetadata
from zarr.core.metadata import ArrayV3Metadata

try:  # zarr releases that refuse some array metadata (rectilinear grids) before storing a group document
    from zarr.core.metadata.v3 import check_storable
except ImportError:  # earlier zarr 3 releases store group documents unchecked: so does this module then
    check_storable = None  # type: ignore[assignment]

#: Members whose dicts are made at once (zarr's own ``ConsolidatedMetadata.to_dict`` on a batch).
BATCH: Final = 256


def _member_key(item: tuple[str, Any]) -> tuple[int, str]:
    import unicodedata

    key = item[0]
    return key.count("/"), unicodedata.normalize("NFKC", key).casefold()


def _member_texts(block: ConsolidatedMetadata) -> Iterator[bytes]:
    """``"key": {document}`` of the members of *block*, in the order zarr writes them, joined by
    ``", "`` a batch at a time."""
    flat = sorted(block.flattened_metadata.items(), key=_member_key)
    for member in (m for _, m in flat):
        stored = getattr(member, "_stored_document", None)
        if check_storable is not None and isinstance(member, ArrayV3Metadata) and stored is None:
            check_storable(member)  # as zarr does before storing a group document
    for start in range(0, len(flat), BATCH):
        batch = dict(flat[start : start + BATCH])
        # zarr's own member documents (a member read from a repaired document is kept as stored)
        docs = dataclasses.replace(block, metadata=batch).to_dict()["metadata"]
        assert isinstance(docs, dict)
        yield ", ".join(  # to_dict sorts with the same key: the batch order
            f"{json.dumps(key)}: {json.dumps(docs[key], allow_nan=True)}" for key in batch
        ).encode("ascii")


def root_document(root: GroupMetadata) -> bytes | bytearray:
    """The bytes zarr stores as the ``zarr.json`` of the v3 group *root* (JSON, no indentation)."""
    block = root.consolidated_metadata
    if root.zarr_format != 3 or block is None:
        return json.dumps(root.to_dict(), allow_nan=True).encode("ascii")
    empty = dataclasses.replace(block, metadata={})
    head = dataclasses.replace(root, consolidated_metadata=empty).to_dict()
    marker = f"\x00{uuid.uuid4().hex}\x00"  # no attribute holds it: NUL, then a fresh random id
    head["consolidated_metadata"] = marker  # the key keeps its place in the document
    outer = json.dumps(head, allow_nan=True).encode("ascii").split(json.dumps(marker).encode("ascii"))
    if len(outer) != 2:
        raise AssertionError("the consolidated metadata marker must occur once in the root document")
    block_head = json.dumps(empty.to_dict(), allow_nan=True).encode("ascii")
    if not block_head.endswith(b"{}}"):
        raise AssertionError("zarr's consolidated metadata no longer ends with its members")
    document = bytearray(outer[0])  # grown in place: no second copy of the whole document
    document += block_head[:-2]
    for i, text in enumerate(_member_texts(block)):
        if i:
            document += b", "
        document += text
    document += b"}}"
    document += outer[1]
    return document
