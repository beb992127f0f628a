"""Cache namespaces (specifications) in a store, and load them back (docs/format.md#specification-cache).

Layer: services. Produces and consumes plain ``{relative path: JSON text}`` documents; the writer and
reader move those documents to and from the store, so this module never touches zarr.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from hdmf.backends.utils import NamespaceToBuilderHelper
from hdmf.build import TypeMap
from hdmf.spec import NamespaceCatalog, SpecReader, SpecWriter
from packaging.version import InvalidVersion, Version

from hdmf_zarr import _format as fmt
from hdmf_zarr.errors import FormatError


class _CollectingWriter(SpecWriter):
    """A SpecWriter that collects JSON documents instead of writing files."""

    def __init__(self) -> None:
        self.documents: dict[str, str] = {}

    def write_spec(self, spec: Mapping[str, Any], path: str) -> None:
        self.documents[path] = json.dumps(spec, separators=(",", ":"))

    def write_namespace(self, namespace: Mapping[str, Any], path: str) -> None:
        self.documents[path] = json.dumps({"namespaces": [namespace]}, separators=(",", ":"))


def spec_documents(catalog: NamespaceCatalog) -> dict[tuple[str, str], dict[str, str]]:
    """Return ``{(namespace, version): {document name: JSON text}}`` for every namespace in *catalog*."""
    out: dict[tuple[str, str], dict[str, str]] = {}
    for ns_name in catalog.namespaces:
        namespace = catalog.get_namespace(ns_name)
        builder = NamespaceToBuilderHelper.convert_namespace(catalog, ns_name)
        writer = _CollectingWriter()
        builder.export(fmt.NAMESPACE_SPEC_NAME, writer=writer)
        out[(ns_name, str(namespace.version))] = writer.documents
    return out


def _version_key(name: str) -> tuple[int, Version | str]:
    try:
        return (1, Version(name))
    except InvalidVersion:
        return (0, name)  # "None", "unversioned" and other labels sort below any real version


def newest_version(names: Iterable[str]) -> str:
    """Return the newest of the cached version names by version order (2.11.0 beats 2.9.0)."""
    ordered = sorted(names, key=_version_key)
    if not ordered:
        raise FormatError("A cached namespace group holds no version.")
    return ordered[-1]


class DocumentReader(SpecReader):
    """A SpecReader over the documents of one cached namespace version."""

    def __init__(self, documents: Mapping[str, str], *, source: str) -> None:
        super().__init__(source=source)
        self._documents = documents

    def _load(self, name: str) -> Any:
        try:
            return json.loads(self._documents[name])
        except KeyError as exc:
            raise FormatError(
                f"The cached specification {self.source!r} lacks the document {name!r}; the file's "
                "spec cache is incomplete. Load the namespace from its package instead "
                "(load_namespaces=False)."
            ) from exc

    def read_spec(self, spec_path: str) -> Any:
        return self._load(spec_path)

    def read_namespace(self, ns_path: str) -> Any:
        return self._load(ns_path)["namespaces"]


def load_documents(
    catalog: NamespaceCatalog | TypeMap,
    cached: Mapping[str, Mapping[str, str]],
    *,
    source: str,
    namespaces: Iterable[str] | None = None,
) -> dict[str, Any]:
    """Load cached namespaces (``{namespace: {document: text}}``, newest version already chosen)."""
    wanted = list(cached) if namespaces is None else list(namespaces)
    readers = {ns: DocumentReader(cached[ns], source=f"{source}/{fmt.SPEC_GROUP}/{ns}") for ns in wanted}
    if not readers:
        return {}
    result: dict[str, Any] = catalog.load_namespaces(fmt.NAMESPACE_SPEC_NAME, reader=readers)
    return result


def document_text(value: Any) -> str:
    """A cached document's stored value (str, bytes, 0-d or shape-[1] array) as text."""
    if isinstance(value, np.ndarray):
        value = value.reshape(-1)[0] if value.size else ""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return str(value)
