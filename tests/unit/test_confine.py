"""The confinement rule: only plain keys reach a store; only zarr's separators reach a chunk key."""

from __future__ import annotations

import posixpath
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from zarr.core.buffer import default_buffer_prototype
from zarr.core.sync import sync

from hdmf_zarr.confine import ConfinedLocalStore, check_key, check_separator, is_plain_key
from hdmf_zarr.errors import FormatError, OutsideStoreError

SEGMENTS = st.sampled_from(["a", "b", "0", "..", ".", "", "c.d", "\\", "x\\..", "zarr.json"])


@given(st.lists(SEGMENTS, max_size=6), st.booleans())
def test_a_plain_key_stays_inside_and_is_already_normal(parts: list[str], absolute: bool) -> None:
    key = ("/" if absolute else "") + "/".join(parts)
    if is_plain_key(key) and key:
        normal = posixpath.normpath(key)
        assert normal == key
        assert not normal.startswith(("..", "/"))
    else:
        escapes = key.startswith("/") or any(p in ("", ".", "..") or "\\" in p for p in key.split("/"))
        assert escapes or key == ""


@pytest.mark.parametrize("key", ["../x", "a/../../x", "/etc/passwd", "a//b", "a/./b", "a\\..\\b", "a/\x00"])
def test_check_key_refuses_and_names_store_node_and_key(key: str) -> None:
    with pytest.raises(OutsideStoreError, match=r"store\.zarr") as info:
        check_key(key, store="/data/store.zarr", node="/t/col")
    assert "/t/col" in str(info.value)
    assert repr(key) in str(info.value)
    assert isinstance(info.value, FormatError)


@pytest.mark.parametrize("sep", ["/../", "..", "", "\\", "/", "_", 0])
def test_only_dot_and_slash_separators(sep: object) -> None:
    if sep in (".", "/"):
        assert check_separator(sep, store="s", node="/a") == sep
        return
    with pytest.raises(OutsideStoreError, match="dimension_separator"):
        check_separator(sep, store="s", node="/a")


def test_separator_defaults_to_dot() -> None:
    assert check_separator(None, store="s", node="/a") == "."


def test_confined_local_store_never_reads_outside(tmp_path: Path) -> None:
    (tmp_path / "secret").write_bytes(b"outside")
    (tmp_path / "store" / "a").mkdir(parents=True)
    store = ConfinedLocalStore(tmp_path / "store", read_only=True)
    proto = default_buffer_prototype()
    for key in ("../secret", "a/../../secret"):
        with pytest.raises(OutsideStoreError, match="secret"):
            sync(store.get(key, prototype=proto))
        with pytest.raises(OutsideStoreError):
            sync(store.exists(key))
    assert sync(store.get("a/missing", prototype=proto)) is None
    assert isinstance(store.with_read_only(False), ConfinedLocalStore)


def test_listing_prefixes_may_end_with_one_slash(tmp_path: Path) -> None:
    (tmp_path / "store" / "a" / "b").mkdir(parents=True)
    (tmp_path / "store" / "a" / "b" / "k").write_bytes(b"1")
    store = ConfinedLocalStore(tmp_path / "store", read_only=True)

    async def listed(prefix: str) -> list[str]:
        return [k async for k in store.list_dir(prefix)]

    assert sync(listed("a/")) == ["b"]
    for bad in ("../", "a//", "/", "//"):
        with pytest.raises(OutsideStoreError):
            sync(listed(bad))
