"""Give attributes back the unsigned integer type their spec declares.

Layer: read. Attributes are JSON, which keeps no integer width or sign: a ``uint8`` attribute written as
``2`` reads back as a Python int, which hdmf's validator takes for ``int64`` and reports as the wrong
type (pynwb.validate on such a file, e.g. ``OnePhotonSeries.binning``, fails; HDF5 keeps ``uint64``).
After a tree is read, each attribute the spec of its (typed) node declares unsigned, and that holds
non-negative integers, gets that numpy type. Nothing else is touched.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from hdmf.build import Builder, DatasetBuilder, GroupBuilder
from hdmf.spec import NamespaceCatalog

_TYPE_KEYS = ("neurodata_type", "data_type")
#: spec dtype -> (numpy type, largest value)
_UNSIGNED: dict[str, tuple[type[np.unsignedinteger[Any]], int]] = {
    "uint8": (np.uint8, 2**8 - 1),
    "uint16": (np.uint16, 2**16 - 1),
    "uint32": (np.uint32, 2**32 - 1),
    "uint64": (np.uint64, 2**64 - 1),
    "uint": (np.uint32, 2**32 - 1),
}


def restore_unsigned(root: GroupBuilder, catalog: NamespaceCatalog) -> None:
    """Retype, in place, the unsigned attributes of every typed node below *root* and of its datasets."""
    for builder, spec in _typed(root, catalog):
        _retype(builder, spec)
        if isinstance(builder, GroupBuilder):
            for name, child in builder.datasets.items():
                sub = spec.get_dataset(name)
                if sub is not None and not _type_of(child):
                    _retype(child, sub)


def _typed(root: GroupBuilder, catalog: NamespaceCatalog) -> Iterator[tuple[Builder, Any]]:
    stack: list[Builder] = [root]
    while stack:
        node = stack.pop()
        type_name, namespace = _type_of(node), node.attributes.get("namespace")
        if type_name and isinstance(namespace, str):
            try:
                yield node, catalog.get_spec(namespace, type_name)
            except (KeyError, ValueError):
                pass  # a type the catalog does not know (no cached spec): nothing to retype against
        if isinstance(node, GroupBuilder):
            stack.extend(node.groups.values())
            stack.extend(node.datasets.values())


def _type_of(builder: Builder) -> str | None:
    for key in _TYPE_KEYS:
        value = builder.attributes.get(key)
        if isinstance(value, str):
            return value
    return None


def _retype(builder: GroupBuilder | DatasetBuilder, spec: Any) -> None:
    for name, value in list(builder.attributes.items()):
        attribute = spec.get_attribute(name)
        dtype = getattr(attribute, "dtype", None)
        found = _UNSIGNED.get(dtype) if isinstance(dtype, str) else None
        if found is None:
            continue
        numpy_type, top = found
        if _fits(value, top):
            builder.attributes[name] = numpy_type(value)
        elif isinstance(value, list) and value and all(_fits(v, top) for v in value):
            builder.attributes[name] = np.asarray(value, dtype=numpy_type)


def _fits(value: Any, top: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= top
