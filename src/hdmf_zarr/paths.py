"""In-store POSIX paths: join, split, normalise, and the path of a builder inside its store.

Layer: primitives. Pure functions over strings; never ``os.path``. An in-store path is absolute
("/acquisition/ts") in records and relative ("acquisition/ts") when handed to zarr.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from typing import TYPE_CHECKING

from hdmf_zarr import _format as fmt
from hdmf_zarr.errors import InvalidNameError

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
    """Return the absolute in-store path of *builder* from its parent chain (root excluded).

    Each name becomes its store key (:func:`encode_name`), so the path addresses the stored node.
    """
    names: list[str] = []
    node: Builder | None = builder
    while node is not None and node.parent is not None:
        names.append(encode_name(node.name))
        node = node.parent
    return normalise("/".join(reversed(names)))


def root_builder(builder: Builder) -> Builder:
    """Return the root of *builder*'s tree."""
    node = builder
    while node.parent is not None:
        node = node.parent
    return node


def is_valid_name(name: str) -> bool:
    """Return whether *name* can name a node: what HDF5 accepts (non-empty, not ".", no "/" or NUL)."""
    return bool(name) and name != "." and "/" not in name and "\x00" not in name


def check_name(name: str, *, parent: str, kind: str = "node", store: str = "") -> None:
    """Raise InvalidNameError unless *name* can name a child of *parent* (as in HDF5)."""
    if not isinstance(name, str) or not is_valid_name(name):
        where = f" of {store!r}" if store else ""
        raise InvalidNameError(
            f"Cannot write the {kind} {name!r} under {normalise(parent)!r}{where}: HDF5 and this package "
            "refuse names that are empty, '.', or hold '/' or a NUL character. Nothing was written; "
            "rename it."
        )


# -- node names as store keys (docs/format.md#names) --------------------------------------------------
# A name is stored as itself unless that is not a safe object name; then it is escaped: "!" + the name
# with "!" and "\\" written as "!21" and "!5C". A name too long for a file name keeps an escaped prefix and
# a digest, and its node carries the full name in the NAME_ATTR attribute.

_UNESCAPE = {"21": "!", "5C": "\\"}
_ESCAPE = {char: fmt.NAME_ESCAPE + code for code, char in _UNESCAPE.items()}
_ESCAPE_RE = re.compile(re.escape(fmt.NAME_ESCAPE) + "(..)", re.DOTALL)


def _unsafe(name: str) -> bool:
    """Whether *name* cannot be an object name as it is (all dots, backslash, reserved, too long)."""
    return (
        not name.strip(".")
        or "\\" in name
        or name.lower() in fmt.RESERVED_NODE_KEYS
        or len(name.encode("utf-8")) > fmt.MAX_KEY_BYTES
    )


def _escape(name: str) -> str:
    units = [_ESCAPE.get(char, char) for char in name]
    key = fmt.NAME_ESCAPE + "".join(units)
    if len(key.encode("utf-8")) <= fmt.MAX_KEY_BYTES:
        return key
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[: fmt.SHORTENED_KEY_DIGEST_CHARS].upper()
    budget = fmt.MAX_KEY_BYTES - len(fmt.NAME_ESCAPE) - len(fmt.SHORTENED_KEY_MARK) - len(digest)
    kept: list[str] = []
    for unit in units:  # never split an escape sequence or a character
        budget -= len(unit.encode("utf-8"))
        if budget < 0:
            break
        kept.append(unit)
    return fmt.NAME_ESCAPE + "".join(kept) + fmt.SHORTENED_KEY_MARK + digest


def _unescape(body: str) -> str | None:
    if _ESCAPE_RE.sub("", body).count(fmt.NAME_ESCAPE):
        return None  # a lone "!" at the end
    try:
        return _ESCAPE_RE.sub(lambda m: _UNESCAPE[m.group(1)], body)
    except KeyError:
        return None  # not an escape this package writes (a shortened key, or a foreign name)


def _needs_escape(name: str) -> bool:
    return _unsafe(name) or decode_name(name) != name


def encode_name(name: str) -> str:
    """Return the store key of a node named *name* (the name itself when it is a safe object name).

    Law: ``decode_name(encode_name(n)) == n`` unless the key is shortened (see :func:`is_shortened`).
    """
    return _escape(name) if _needs_escape(name) else name


def decode_name(key: str) -> str:
    """Return the name of the node stored under *key*: escapes written by :func:`encode_name` are undone.

    A key this package would not have written (a foreign name that starts with "!") is its own name.
    """
    if not key.startswith(fmt.NAME_ESCAPE):
        return key
    name = _unescape(key[len(fmt.NAME_ESCAPE) :])
    if name is None or not _needs_escape(name) or _escape(name) != key:
        return key
    return name


def is_shortened(name: str) -> bool:
    """Whether the key of *name* cannot give the name back (it is too long): the node stores it."""
    if 1 + 4 * len(name) <= fmt.MAX_KEY_BYTES:  # escaping never makes a character longer than 4 bytes
        return False
    return decode_name(encode_name(name)) != name


def child_key(parent: str, name: str, *, kind: str = "node", store: str = "") -> str:
    """Return the absolute in-store path of the child *name* of *parent*; refuse names HDF5 refuses."""
    check_name(name, parent=parent, kind=kind, store=store)
    return join(parent, encode_name(name))


def node_name(path: str, stored_name: object = None) -> str:
    """The name of the node at normalised *path*: its stored full name if it has one, else its key decoded."""
    key = path.rpartition("/")[2]
    if isinstance(stored_name, str) and stored_name and encode_name(stored_name) == key:
        return stored_name
    return decode_name(key)


# -- attribute names (docs/format.md#names) -----------------------------------------------------------


def _attr_needs_escape(name: str) -> bool:
    return name in fmt.RESERVED_ATTR_NAMES or decode_attr_name(name) != name


def encode_attr_name(name: str) -> str:
    """Return the stored name of the user attribute *name*: "!" + a reserved name, else the name.

    A name that reads as an escape ("!_LINKS") is escaped too, so that decoding is exact.
    """
    return fmt.NAME_ESCAPE + name if _attr_needs_escape(name) else name


def decode_attr_name(stored: str) -> str:
    """Return the user attribute name stored as *stored* (undoes :func:`encode_attr_name`)."""
    if stored.startswith(fmt.NAME_ESCAPE) and _attr_needs_escape(stored[len(fmt.NAME_ESCAPE) :]):
        return stored[len(fmt.NAME_ESCAPE) :]
    return stored
