"""Copy the specification cache of a source file verbatim (every namespace and every version).

Layer: applications. A converted file caches what its source cached, so validating it against its
cached namespaces gives what validating the source gives; the installed schema is cached only when
the user asks for an upgrade.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hdmf_zarr import _format as fmt
from hdmf_zarr import paths
from hdmf_zarr.spec_cache import document_text

#: ``{(namespace, version): {document name: JSON text}}``, the shape ``spec_cache.spec_documents`` returns.
SpecDocuments = dict[tuple[str, str], dict[str, str]]


def hdf5_documents(h5file: Any) -> SpecDocuments:
    """The specification documents cached in an open ``h5py.File`` (empty when it caches none)."""
    ref = h5file.attrs.get(fmt.SPECLOC_ATTR)
    if ref is None:
        return {}
    group = h5file[ref]
    out: SpecDocuments = {}
    for ns_name, ns_group in group.items():
        for version, version_group in ns_group.items():
            out[(ns_name, version)] = {name: document_text(ds[()]) for name, ds in version_group.items()}
    return out


def _document_nodes(root: Any) -> tuple[str, dict[str, Any]]:
    """(prefix, {path: metadata}) of the cached documents of an open root ``zarr.Group`` (no fetch)."""
    from hdmf_zarr.read import build_index

    specloc = root.attrs.get(fmt.SPECLOC_ATTR)
    record = fmt.decode_reference_attr(specloc, where=str(root.store))
    location = record.path if record is not None else specloc
    if not isinstance(location, str):
        return "", {}
    prefix = paths.normalise(location).rstrip("/") + "/"
    wanted: dict[str, Any] = {}
    for path, meta in build_index(root).nodes.items():
        parts = path[len(prefix) :].split("/") if path.startswith(prefix) else []
        if len(parts) == 3 and all(parts):
            wanted[path] = meta
    return prefix, wanted


def cached_versions(root: Any) -> list[tuple[str, str]]:
    """The (namespace, version) pairs cached in an open root ``zarr.Group``, sorted."""
    prefix, nodes = _document_nodes(root)
    pairs: set[tuple[str, str]] = set()
    for path in nodes:
        ns_name, version, _ = path[len(prefix) :].split("/")
        pairs.add((ns_name, version))
    return sorted(pairs)


def zarr_documents(root: Any) -> SpecDocuments:
    """The specification documents cached in an open root ``zarr.Group`` of either dialect."""
    from hdmf_zarr.read.scalars import fetch_values

    prefix, wanted = _document_nodes(root)
    out: SpecDocuments = {}
    for path, value in fetch_values(root.store, wanted, text_in_fill=True).items():
        ns_name, version, name = path[len(prefix) :].split("/")
        out.setdefault((ns_name, version), {})[name] = document_text(value)
    return out


def write_hdf5_documents(h5file: Any, documents: Mapping[tuple[str, str], Mapping[str, str]]) -> None:
    """Cache *documents* in an open, writable ``h5py.File`` the way HDF5IO does (``/specifications``)."""
    import h5py

    if not documents:
        return
    group = h5file.require_group(fmt.SPEC_GROUP)
    text = h5py.string_dtype("utf-8")
    for (ns_name, version), docs in documents.items():
        version_group = group.require_group(ns_name).require_group(version)
        for name, doc in docs.items():
            if name not in version_group:
                version_group.create_dataset(name, data=doc, dtype=text)
    h5file.attrs[fmt.SPECLOC_ATTR] = group.ref
