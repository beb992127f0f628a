"""In-store POSIX paths: join, split, normalise, and the path of a builder inside its store.

Layer: primitives. Pure functions over strings; never ``os.path``. An in-store path is absolute
("/acquisition/ts") in records and relative ("acquisition/ts") when handed to zarr.
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hdmf.build import Builder

ROOT = "/"


def normalise(path: str) -> str:
    """Return *path* as an absolute, normalised in-store path ("/" for the root)."""
    path = path.replace("\\", "/")
    norm = posixpath.normpath("/" + path.lstrip("/"))
    return "/" if norm in ("/", "//", ".") else norm


def to_zarr_key(path: str) -> str:
    """Return the zarr-relative form of an in-store path ("" for the root)."""
    return normalise(path).lstrip("/")


def join(parent: str, name: str) -> str:
    """Join an in-store parent path and a child name; the result is absolute."""
    return normalise(posixpath.join(normalise(parent), name))


def parent(path: str) -> str:
    """Return the parent of an in-store path ("/" for a top-level node)."""
    return posixpath.dirname(normalise(path)) or ROOT


def basename(path: str) -> str:
    """Return the last component of an in-store path ("" for the root)."""
    return posixpath.basename(normalise(path))


def builder_path(builder: Builder) -> str:
    """Return the absolute in-store path of *builder* from its parent chain (root excluded)."""
    names: list[str] = []
    node: Builder | None = builder
    while node is not None and node.parent is not None:
        names.append(node.name)
        node = node.parent
    return normalise("/".join(reversed(names)))


def root_builder(builder: Builder) -> Builder:
    """Return the root of *builder*'s tree."""
    node = builder
    while node.parent is not None:
        node = node.parent
    return node


def is_valid_name(name: str) -> bool:
    """Return whether *name* can name a node: non-empty, no "/" and not a relative marker."""
    return bool(name) and "/" not in name and name not in (".", "..")
