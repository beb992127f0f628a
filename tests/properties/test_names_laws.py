"""Node and attribute names as store keys (docs/format.md#names): plain names stay, others escape.

Laws: ``decode_name(encode_name(n)) == n`` (unless the key is shortened, then the node stores ``n``);
``encode_name`` is injective; every key is a safe object name; plain names are their own key; a key
read from a foreign file is written back unchanged. The same for attribute names.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from zarr.storage._utils import normalize_path

from hdmf_zarr import _format as fmt
from hdmf_zarr import paths
from hdmf_zarr.errors import InvalidNameError

SPECIAL = [
    "..",
    "...",
    "a\\b",
    "\\",
    "zarr.json",
    "ZARR.JSON",
    ".zarray",
    ".zattrs",
    ".zgroup",
    ".zmetadata",
    "!",
    "!!",
    "!21",
    "!5C",
    "!..",
    "!!21..",
    "!zarr.json",
    "!x!H",
    "x" * 255,
    "x" * 256,
    "é" * 128,
    "!" * 300,
    "\\" * 100,
]
#: Characters that make names interesting for the escaping.
TRICKY = st.sampled_from([*list(".!\\25CH1zarjson"), "é", "ß", "😀", " "])
valid_names = st.one_of(
    st.sampled_from(SPECIAL),
    st.text(TRICKY, min_size=1, max_size=12),
    st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=20),
    st.text(TRICKY, min_size=240, max_size=300),
).filter(paths.is_valid_name)
attr_names = st.one_of(
    st.sampled_from(sorted(fmt.RESERVED_ATTR_NAMES)),
    st.sampled_from(sorted(fmt.RESERVED_ATTR_NAMES)).map(lambda n: fmt.NAME_ESCAPE * 2 + n),
    st.text(TRICKY, max_size=8),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=12),
)


def _is_safe_key(key: str) -> bool:
    return (
        bool(key.strip("."))
        and "/" not in key
        and "\\" not in key
        and "\x00" not in key
        and key.lower() not in fmt.RESERVED_NODE_KEYS
        and len(key.encode("utf-8")) <= fmt.MAX_KEY_BYTES
        and normalize_path(key) == key  # zarr takes the key as it is
    )


@given(valid_names)
def test_names_decode_back_or_are_shortened(name: str) -> None:
    key = paths.encode_name(name)
    assert _is_safe_key(key)
    if paths.is_shortened(name):
        assert 1 + 3 * len(name.encode("utf-8")) > fmt.MAX_KEY_BYTES  # escaping at most triples a name
        assert paths.node_name("/g/" + key, name) == name  # the node's stored full name wins
    else:
        assert paths.decode_name(key) == name
        assert paths.node_name("/g/" + key) == name


@given(valid_names, valid_names)
def test_encoding_is_injective(a: str, b: str) -> None:
    if a != b:
        assert paths.encode_name(a) != paths.encode_name(b)


@given(valid_names)
def test_safe_names_are_their_own_key(name: str) -> None:
    """A name that is a safe object name and not a key this package escapes is stored as itself."""
    looks_escaped = paths.decode_name(name) != name
    if _is_safe_key(name) and not looks_escaped:
        assert paths.encode_name(name) == name


@given(valid_names)
def test_a_foreign_key_is_written_back_unchanged(name: str) -> None:
    """A node read from any file gets the name decode_name gives; writing it again keeps its key."""
    key = paths.encode_name(name)  # any safe key, ours or foreign
    assert paths.encode_name(paths.decode_name(key)) == key
    if _is_safe_key(name):
        assert paths.encode_name(paths.decode_name(name)) == name


@given(valid_names)
def test_stored_full_name_must_match_the_key(name: str) -> None:
    """A NAME_ATTR that does not belong to the key (a copied or forged one) is ignored."""
    key = paths.encode_name(name)
    assert paths.node_name("/g/" + key, name + "x") == paths.decode_name(key)


def test_examples() -> None:
    assert paths.encode_name("..") == "!.."
    assert paths.encode_name("a\\b") == "!a!5Cb"
    assert paths.encode_name("zarr.json") == "!zarr.json"
    assert paths.encode_name("!..") == "!!21.."
    assert paths.encode_name("!x") == "!x"  # not an escape: plain
    assert paths.encode_name("data %2E") == "data %2E"
    long_key = paths.encode_name("x" * 300)
    assert long_key.startswith("!xxx")
    assert fmt.SHORTENED_KEY_MARK in long_key
    assert len(long_key) == fmt.MAX_KEY_BYTES


@pytest.mark.parametrize("name", ["", ".", "a/b", "/", "a\x00b"])
def test_names_hdf5_refuses_are_refused(name: str) -> None:
    with pytest.raises(InvalidNameError, match=r"the dataset .* under '/grp' of 'f.zarr'"):
        paths.child_key("/grp", name, kind="dataset", store="f.zarr")


@given(attr_names)
def test_attribute_names_round_trip_and_never_collide(name: str) -> None:
    stored = paths.encode_attr_name(name)
    assert paths.decode_attr_name(stored) == name
    assert stored not in fmt.RESERVED_ATTR_NAMES
    if name not in fmt.RESERVED_ATTR_NAMES and paths.decode_attr_name(name) == name:
        assert stored == name  # plain names (also "!x") are stored as they are


@given(attr_names, attr_names)
def test_attribute_name_encoding_is_injective(a: str, b: str) -> None:
    if a != b:
        assert paths.encode_attr_name(a) != paths.encode_attr_name(b)


def test_foreign_attribute_names_read_as_they_are() -> None:
    assert paths.decode_attr_name("!foo") == "!foo"
    assert paths.decode_attr_name("!_LINKS") == "_LINKS"
    assert paths.decode_attr_name("!!x") == "!!x"
    assert paths.decode_attr_name("!!_LINKS") == "!_LINKS"
    assert paths.encode_attr_name("!x") == "!x"
    assert paths.encode_attr_name("!_DTYPE") == "!!_DTYPE"
