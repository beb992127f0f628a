"""paths: normalise is idempotent and absolute; join/parent/basename agree; keys drop the leading slash."""

from __future__ import annotations

from hypothesis import assume, given
from hypothesis import strategies as st

from hdmf_zarr import paths

names = (
    st.text(
        alphabet=st.characters(blacklist_characters="/\\\x00", blacklist_categories=("Cs",)),
        min_size=1,
        max_size=8,
    )
    .filter(paths.is_valid_name)
    .map(paths.encode_name)  # path components are store keys: ".." is stored escaped
)
in_store_paths = st.lists(names, max_size=5).map(lambda parts: "/" + "/".join(parts))
messy = st.lists(st.sampled_from(["", "/", "//", "./", "a", "b/", "../", "\\"]), max_size=8).map("".join)


@given(st.one_of(in_store_paths, messy))
def test_normalise_is_idempotent_and_absolute(path: str) -> None:
    once = paths.normalise(path)
    assert paths.normalise(once) == once
    assert once.startswith("/")
    assert "//" not in once
    assert once == "/" or not once.endswith("/")


@given(in_store_paths, names)
def test_join_then_split(parent: str, name: str) -> None:
    child = paths.join(parent, name)
    assert paths.parent(child) == paths.normalise(parent)
    assert paths.basename(child) == name


@given(in_store_paths)
def test_zarr_key_is_relative_and_round_trips(path: str) -> None:
    key = paths.to_zarr_key(path)
    assert not key.startswith("/")
    assert paths.normalise(key) == paths.normalise(path)


@given(in_store_paths, in_store_paths)
def test_join_is_associative_over_relative_parts(a: str, b: str) -> None:
    assume(b != "/")
    assert paths.join(a, b.lstrip("/")) == paths.normalise(a.rstrip("/") + "/" + b.lstrip("/"))


def test_windows_separators_and_root_forms() -> None:
    assert paths.normalise("a\\b") == "/a/b"
    assert paths.normalise("") == "/"
    assert paths.normalise(".") == "/"
    assert paths.to_zarr_key("/") == ""
    assert paths.parent("/top") == "/"
    assert paths.basename("/") == ""


def test_is_valid_name() -> None:
    assert paths.is_valid_name("data")
    assert not paths.is_valid_name("")
    assert not paths.is_valid_name("a/b")
    assert not paths.is_valid_name(".")
    assert not paths.is_valid_name("a\x00b")
    assert paths.is_valid_name(
        ".."
    )  # HDF5 accepts it; it is stored escaped (tests/properties/test_names_laws.py)
