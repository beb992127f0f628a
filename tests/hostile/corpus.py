"""Hostile and damaged stores, each built by tampering with an honest file written by hdmf_zarr.

Every case is a function that turns a fresh copy of a base file (v3 or the v2 dialect) into the
attack and says which node the reader should name. Nothing here is committed as a file: the corpus
is generated into a temporary folder by the tests (tests/hostile/test_hostile.py) and by the table
script (tests/hostile/table.py), so the attacks stay readable as code.

Layout of one corpus folder::

    <root>/base3.zarr, base2.zarr   honest files (a SimpleMultiContainer with two DynamicTables)
    <root>/outside/                 files no read may touch (a sentinel chunk, a whole valid store)
    <root>/cases/<case>.zarr        the hostile stores
"""

from __future__ import annotations

import bz2
import json
import pickle
import shutil
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numcodecs
import numpy as np

#: Text the sentinel chunk outside every store decodes to; seeing it in read data means a read escaped.
OUTSIDE_TEXT = "OUTSIDE-THE-STORE"


@dataclass(frozen=True)
class Env:
    root: Path  # the corpus folder
    http_url: str  # a counting HTTP server on 127.0.0.1 serving <root>/served (a valid store: served.zarr)

    @property
    def outside(self) -> Path:
        return self.root / "outside"


@dataclass(frozen=True)
class Case:
    name: str
    attack: str  # one line for the table
    base: int  # 2 or 3: the dialect of the base file
    tamper: Callable[[Path, Env], None]
    node: str  # the node (or link) a clear error names
    expect_ok: bool = False  # a control: an honest variant that must read without error
    allow: tuple[str, ...] = ()  # allowed_sources given to ZarrIO (ours only)


# -- honest base files --------------------------------------------------------------------------------


def write_base(path: Path, zarr_format: int) -> None:
    """A SimpleMultiContainer: table t (int, text, 2-D text columns) and table t2 (a region of t)."""
    from hdmf.common import DynamicTable, DynamicTableRegion, SimpleMultiContainer, VectorData

    from hdmf_zarr import ZarrIO

    t = DynamicTable(
        name="t",
        description="d",
        columns=[
            VectorData(name="num", description="n", data=np.arange(4, dtype="int64")),
            VectorData(name="txt", description="t", data=[f"s{i}" for i in range(4)]),
            VectorData(
                name="txt2",
                description="t",
                data=np.array([[f"s{i}", f"t{i}"] for i in range(4)], dtype=object),
            ),
        ],
    )
    t2 = DynamicTable(
        name="t2",
        description="d",
        columns=[DynamicTableRegion(name="reg", description="r", data=[0, 1, 2], table=t)],
    )
    with ZarrIO(str(path), mode="w", zarr_format=zarr_format) as io:  # type: ignore[arg-type]
        io.write(SimpleMultiContainer(name="root", containers=[t, t2]))


def prepare(root: Path, http_url: str) -> Env:
    """Write the base files, the outside sentinels and the served store; return the environment."""
    env = Env(root, http_url)
    for fmt in (2, 3):
        write_base(root / f"base{fmt}.zarr", fmt)
    env.outside.mkdir(parents=True, exist_ok=True)
    # A valid uncompressed vlen-utf8 chunk of 8 elements, where a '/../' separator would lead.
    (env.outside / "0").write_bytes(numcodecs.VLenUTF8().encode(np.array([OUTSIDE_TEXT] * 8, dtype=object)))
    shutil.copytree(root / "base3.zarr", env.outside / "other.zarr")
    (root / "served").mkdir(exist_ok=True)
    shutil.copytree(root / "base3.zarr", root / "served" / "served.zarr")
    shutil.copytree(root / "base3.zarr", root / "cases" / "sibling.zarr")
    return env


def build(case: Case, env: Env) -> Path:
    """A fresh copy of the case's base file, tampered; returns the store path."""
    store = env.root / "cases" / f"{case.name}.zarr"
    shutil.rmtree(store, ignore_errors=True)
    shutil.copytree(env.root / f"base{case.base}.zarr", store)
    case.tamper(store, env)
    return store


# -- editing helpers ----------------------------------------------------------------------------------


def _load(path: Path) -> Any:
    return json.loads(path.read_text())


def _dump(path: Path, doc: Any) -> None:
    path.write_text(json.dumps(doc))


def edit_v3(store: Path, node: str, change: Callable[[dict[str, Any]], None]) -> None:
    """Apply *change* to a v3 node document and to its copy in the consolidated metadata."""
    root = _load(store / "zarr.json")
    doc_path = store / node / "zarr.json" if node else store / "zarr.json"
    doc = _load(doc_path)
    change(doc)
    _dump(doc_path, doc)
    if node:
        change(root["consolidated_metadata"]["metadata"][node])
    else:
        change(root)
    _dump(store / "zarr.json", root)


def edit_v2(store: Path, key: str, change: Callable[[dict[str, Any]], None]) -> None:
    """Apply *change* to a v2 document (``t/txt2/.zarray``) and to its copy in ``.zmetadata``."""
    doc = _load(store / key)
    change(doc)
    _dump(store / key, doc)
    meta = _load(store / ".zmetadata")
    change(meta["metadata"][key])
    _dump(store / ".zmetadata", meta)


def _set(**items: Any) -> Callable[[dict[str, Any]], None]:
    return lambda doc: doc.update(items)


def add_link(store: Path, source: str, path: str = "/t", *, group: str = "t2") -> None:
    edit_v3(
        store,
        group,
        lambda d: d["attributes"].__setitem__("_LINKS", [{"name": "lnk", "source": source, "path": path}]),
    )


def set_reference_source(store: Path, source: str) -> None:
    edit_v3(store, "t2/reg", lambda d: d["attributes"]["table"]["_REFERENCE"].update(source=source))


def v2_object_chunk(store: Path, node: str, payload: bytes, **zarray: Any) -> None:
    """Replace the only chunk of a v2 object array, adjusting its .zarray (codec, compressor...)."""
    edit_v2(store, f"{node}/.zarray", _set(**zarray))
    chunk = next(p for p in (store / node).iterdir() if not p.name.startswith("."))
    chunk.write_bytes(payload)


def v3_chunk_file(store: Path, node: str) -> Path:
    """The file of the only chunk of the v3 array *node* (``c.0`` as we write it, ``c/0`` as zarr does)."""
    return next(p for p in sorted((store / node).rglob("c*")) if p.is_file())


def v3_chunk(store: Path, node: str, payload: bytes) -> None:
    v3_chunk_file(store, node).write_bytes(payload)


# -- the attacks ----------------------------------------------------------------------------------------


def _separator_escape(store: Path, env: Env) -> None:
    # t/txt2 is a 4x2 v2 text array with one chunk, key "0<sep>0": "0/../../../outside/0" leaves the store.
    edit_v2(store, "t/txt2/.zarray", _set(dimension_separator="/../../../outside/", compressor=None))
    (store / "t" / "txt2" / "0").mkdir()


def _separator_absolute(store: Path, env: Env) -> None:
    edit_v2(
        store,
        "t/txt2/.zarray",
        _set(dimension_separator="/../../../../../../../../../../proc/self/fd/", compressor=None),
    )
    (store / "t" / "txt2" / "0").mkdir()


def _separator_numeric(store: Path, env: Env) -> None:
    edit_v2(store, "t/num/.zarray", _set(dimension_separator="/../"))


def _v3_separator(store: Path, env: Env) -> None:
    edit_v3(store, "t/num", lambda d: d["chunk_key_encoding"]["configuration"].update(separator="/../../"))


def _consolidated_dotdot_node(store: Path, env: Env) -> None:
    # The consolidated metadata lists a node whose path climbs out of the store.
    root = _load(store / "zarr.json")
    meta = root["consolidated_metadata"]["metadata"]
    meta["t/../../../outside/other.zarr/t/num"] = meta["t/num"]
    _dump(store / "zarr.json", root)


def _link_path_dotdot(store: Path, env: Env) -> None:
    add_link(store, ".", "/../../outside/other.zarr/t")


def _link_http(store: Path, env: Env) -> None:
    add_link(store, f"{env.http_url}/served.zarr")


def _reference_http(store: Path, env: Env) -> None:
    set_reference_source(store, f"{env.http_url}/served.zarr")


def _link_http_dead(store: Path, env: Env) -> None:
    add_link(store, "http://127.0.0.1:9/x.zarr")  # the discard port: nothing listens


def _link_s3(store: Path, env: Env) -> None:
    add_link(store, "s3://hdmf-zarr-hostile-corpus/x.zarr")


def _link_absolute(store: Path, env: Env) -> None:
    add_link(store, str(env.outside / "other.zarr"))


def _link_relative(store: Path, env: Env) -> None:
    add_link(store, "../sibling.zarr")


def _link_cycle_self(store: Path, env: Env) -> None:
    add_link(store, ".", "/t2")  # t2 links to itself


def _link_cycle_stores(store: Path, env: Env) -> None:
    other = store.parent / "cycle-partner.zarr"
    shutil.rmtree(other, ignore_errors=True)
    shutil.copytree(store, other)
    add_link(other, f"../{store.name}", "/t2")
    add_link(store, f"../{other.name}", "/t2")


def _json2_bomb(store: Path, env: Env) -> None:
    # 21 bytes that claim 300 million elements (2.4 GiB of object pointers once allocated).
    v2_object_chunk(store, "t/txt", b'["a","|O",[300000000]]', filters=[{"id": "json2"}], compressor=None)


class _ClaimedArray:
    """Pickles as numpy's arrays do (``_reconstruct`` then a state), claiming a shape it does not carry."""

    def __reduce__(self) -> Any:
        from numpy._core import multiarray

        return (
            multiarray._reconstruct,
            (np.ndarray, (0,), b"b"),
            (1, (64_000_000,), np.dtype(object), False, [None]),
        )


def _pickle_bomb(store: Path, env: Env) -> None:
    # 64 million objects claimed (0.5 GiB of pointers), one carried: numpy allocates, then crashes.
    payload = pickle.dumps(_ClaimedArray(), protocol=2)
    v2_object_chunk(store, "t/txt", payload, filters=[{"id": "pickle"}], compressor=None)


def _vlen_count_bomb(store: Path, env: Env) -> None:
    v2_object_chunk(store, "t/txt", struct.pack("<I", 2**31 - 1) + b"\0" * 16, compressor=None)


def _zlib_bomb(store: Path, env: Env) -> None:
    # ~1 KB of bz2 that inflates to 1 GiB (compressed piecewise: the bomb is never in memory here).
    compressor = bz2.BZ2Compressor(9)
    block = b"\0" * 2**24
    payload = b"".join(compressor.compress(block) for _ in range(64)) + compressor.flush()
    v2_object_chunk(store, "t/txt", payload, compressor={"id": "bz2", "level": 9})


def _v3_zstd_bomb(store: Path, env: Env) -> None:
    # A numeric chunk of 4 int64 (32 bytes) replaced by a zstd frame of 256 MiB.
    _set_codecs_zstd(store)
    v3_chunk(store, "t/num", numcodecs.Zstd(level=3).encode(b"\0" * 2**28))


def _set_codecs_zstd(store: Path) -> None:
    edit_v3(
        store,
        "t/num",
        lambda d: d.update(
            codecs=[
                {"name": "bytes", "configuration": {"endian": "little"}},
                {"name": "zstd", "configuration": {"level": 1, "checksum": False}},
            ]
        ),
    )


def _v3_zstd_claims(store: Path, env: Env) -> None:
    # A 30-byte zstd frame whose header claims 1 TiB of content (single segment, 8-byte size field).
    _set_codecs_zstd(store)
    honest = numcodecs.Zstd(level=1).encode(b"\0" * 32)
    body = honest[6:]  # after magic (4), descriptor (1) and a 1-byte content size
    header = struct.pack("<I", 0xFD2FB528) + bytes([0b1110_0000]) + struct.pack("<Q", 2**40)
    v3_chunk(store, "t/num", header + body)


def _v3_text_zstd_claims(store: Path, env: Env) -> None:
    # t/txt (vlen-utf8 then zstd): a frame claiming 1 TiB of text for a chunk of 4 strings.
    honest = numcodecs.Zstd(level=1).encode(b"\0" * 32)
    header = struct.pack("<I", 0xFD2FB528) + bytes([0b1110_0000]) + struct.pack("<Q", 2**40)
    v3_chunk(store, "t/txt", header + honest[6:])


def _v3_text_garbage(store: Path, env: Env) -> None:
    v3_chunk(store, "t/txt", b"\xde\xad\xbe\xef" * 8)


def _v3_truncated(store: Path, env: Env) -> None:
    chunk = v3_chunk_file(store, "t/num")
    chunk.write_bytes(chunk.read_bytes()[:10])


def _v3_garbage(store: Path, env: Env) -> None:
    v3_chunk(store, "t/num", b"\xde\xad\xbe\xef" * 8)


def _v3_empty(store: Path, env: Env) -> None:
    v3_chunk(store, "t/num", b"")


def _v2_truncated(store: Path, env: Env) -> None:
    chunk = store / "t" / "txt" / "0"
    chunk.write_bytes(chunk.read_bytes()[:12])


def _v2_garbage(store: Path, env: Env) -> None:
    (store / "t" / "txt" / "0").write_bytes(b"\xde\xad\xbe\xef" * 8)


def _v3_corrupt_root(store: Path, env: Env) -> None:
    (store / "zarr.json").write_text('{"zarr_format": 3, "node_type": "gro')


def _v3_corrupt_node(store: Path, env: Env) -> None:
    edit_v3(store, "t/num", _set(shape="four", data_type="not-a-type"))


def _v2_corrupt_zmetadata(store: Path, env: Env) -> None:
    (store / ".zmetadata").write_bytes(b"\x00\x01garbage")


def _v3_huge_shape(store: Path, env: Env) -> None:
    edit_v3(
        store,
        "t/num",
        lambda d: (d.update(shape=[2**60]), d["chunk_grid"]["configuration"].update(chunk_shape=[2**60])),
    )


def _v2_huge_chunks(store: Path, env: Env) -> None:
    edit_v2(store, "t/txt/.zarray", _set(chunks=[2**40]))


def _huge_attribute(store: Path, env: Env) -> None:
    edit_v3(store, "t", lambda d: d["attributes"].update(description="x" * 50_000_000))


def _deep_nesting(store: Path, env: Env) -> None:
    depth = 700  # above MAX_NESTING (640); shutil.rmtree itself recurses past ~990
    node = "t/g"
    entries = {}
    for _ in range(depth):
        (store / node).mkdir(parents=True)
        doc = {"zarr_format": 3, "node_type": "group", "attributes": {}}
        _dump(store / node / "zarr.json", doc)
        entries[node] = {
            **doc,
            "consolidated_metadata": {"kind": "inline", "must_understand": False, "metadata": {}},
        }
        node += "/g"
    root = _load(store / "zarr.json")
    root["consolidated_metadata"]["metadata"].update(entries)
    _dump(store / "zarr.json", root)


def _untouched(store: Path, env: Env) -> None:
    """The honest base file itself: shows that a reader reads the files the attacks start from."""


CASES: tuple[Case, ...] = (
    Case("v3-base (control)", "the honest v3 base file", 3, _untouched, "", expect_ok=True),
    Case(
        "v2-base (control)",
        "the honest v2 (hdmf-zarr <= 0.13 dialect) base file",
        2,
        _untouched,
        "",
        expect_ok=True,
    ),
    Case(
        "v2-separator-dotdot",
        "v2 `dimension_separator` `/../../../outside/` (chunk key leaves the store)",
        2,
        _separator_escape,
        "txt2",
    ),
    Case(
        "v2-separator-proc",
        "v2 `dimension_separator` climbing to `/proc/self/fd/` (reads stdin)",
        2,
        _separator_absolute,
        "txt2",
    ),
    Case(
        "v2-separator-numeric",
        "v2 numeric array with `dimension_separator` `/../`",
        2,
        _separator_numeric,
        "num",
    ),
    Case("v3-separator", "v3 `chunk_key_encoding` separator `/../../`", 3, _v3_separator, "num"),
    Case(
        "v3-consolidated-dotdot",
        "consolidated metadata lists a node `t/../../../outside/...`",
        3,
        _consolidated_dotdot_node,
        "outside",
    ),
    Case(
        "link-path-dotdot",
        "link path `/../../outside/other.zarr/t` in the same store",
        3,
        _link_path_dotdot,
        "lnk",
    ),
    Case("link-http", "link into `http://127.0.0.1/...` (counting server)", 3, _link_http, "lnk"),
    Case(
        "reference-http",
        "object reference into `http://127.0.0.1/...` (counting server)",
        3,
        _reference_http,
        "reg",
    ),
    Case("link-s3", "link into `s3://...` (no credentials given)", 3, _link_s3, "lnk"),
    Case("link-absolute", "link into an absolute local path", 3, _link_absolute, "lnk"),
    Case(
        "link-relative (control)",
        "link into a sibling store by relative path",
        3,
        _link_relative,
        "lnk",
        expect_ok=True,
    ),
    Case(
        "link-http-allowed (control)",
        "link into http, with `allowed_sources=[that URL]`",
        3,
        _link_http,
        "lnk",
        expect_ok=True,
        allow=("{http}",),
    ),
    Case(
        "link-http-dead-allowed",
        "allowed link to a closed port (the remote client's error)",
        3,
        _link_http_dead,
        "lnk",
        allow=("*",),
    ),
    Case("link-cycle-self", "a group links to itself", 3, _link_cycle_self, "lnk", expect_ok=True),
    Case("link-cycle-stores", "two stores link to each other", 3, _link_cycle_stores, "lnk", expect_ok=True),
    Case("v2-json2-bomb", "v2 json2 chunk of 21 bytes claiming 300M elements", 2, _json2_bomb, "txt"),
    Case("v2-pickle-bomb", "v2 pickled ndarray claiming 64M objects, carrying 1", 2, _pickle_bomb, "txt"),
    Case("v2-vlen-count-bomb", "v2 vlen-utf8 header claiming 2^31 elements", 2, _vlen_count_bomb, "txt"),
    Case("v2-bz2-bomb", "v2 text chunk: ~1 KB of bz2 inflating to 1 GiB", 2, _zlib_bomb, "txt"),
    Case(
        "v3-zstd-bomb",
        "v3 numeric chunk of 32 bytes: zstd frame inflating to 256 MiB",
        3,
        _v3_zstd_bomb,
        "num",
    ),
    Case(
        "v3-zstd-claims-1tib",
        "v3 numeric chunk: 30-byte zstd frame claiming 1 TiB",
        3,
        _v3_zstd_claims,
        "num",
    ),
    Case(
        "v3-text-zstd-claims-1tib", "v3 text chunk: zstd frame claiming 1 TiB", 3, _v3_text_zstd_claims, "txt"
    ),
    Case("v3-text-garbage-chunk", "v3 text chunk of random bytes", 3, _v3_text_garbage, "txt"),
    Case("v3-truncated-chunk", "v3 numeric chunk cut to 10 bytes", 3, _v3_truncated, "num"),
    Case("v3-garbage-chunk", "v3 numeric chunk of random bytes", 3, _v3_garbage, "num"),
    Case("v3-empty-chunk", "v3 numeric chunk of 0 bytes", 3, _v3_empty, "num"),
    Case("v2-truncated-chunk", "v2 text chunk cut to 12 bytes", 2, _v2_truncated, "txt"),
    Case("v2-garbage-chunk", "v2 text chunk of random bytes", 2, _v2_garbage, "txt"),
    Case("v3-corrupt-root", "root `zarr.json` cut mid-document", 3, _v3_corrupt_root, "zarr.json"),
    Case("v3-corrupt-node", 'array metadata with shape `"four"`', 3, _v3_corrupt_node, "num"),
    Case("v2-corrupt-zmetadata", "`.zmetadata` of binary garbage", 2, _v2_corrupt_zmetadata, ".zmetadata"),
    Case("v3-huge-shape", "array of shape 2^60 with one chunk", 3, _v3_huge_shape, "num"),
    Case("v2-huge-chunks", "v2 text array declaring chunks of 2^40", 2, _v2_huge_chunks, "txt"),
    Case("huge-attribute", "a 50 MB attribute", 3, _huge_attribute, "t", expect_ok=True),
    Case("deep-nesting", "700 nested groups", 3, _deep_nesting, "g"),
)
