"""Object references and links as records: decide where a target lives and encode/decode the record.

Layer: conventions. May import _format, errors, paths, store and hdmf.build; never io, write or read.

A target is *in this store* when its builder tree came from the same source as the referring tree
(hdmf does not update ``Builder.source`` on export, so sources are compared, never the IO's path).
Otherwise the record carries the target store's location relative to this store.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass
from pathlib import Path

from hdmf.build import Builder, LinkBuilder, ReferenceBuilder

from hdmf_zarr import _format as fmt
from hdmf_zarr import paths
from hdmf_zarr.errors import UnresolvedReferenceError


@dataclass(frozen=True, slots=True)
class Here:
    """Where records are being written: the source of the tree being written and its store location."""

    tree_source: str | None  # Builder.source of the root builder being written
    store_url: str  # location (path or URL) of the store being written


def _source_of(builder: Builder) -> str | None:
    return paths.root_builder(builder).source


def relative_store_source(from_url: str, to_url: str) -> str:
    """Return *to_url* relative to the store at *from_url* ("." when they are the same store).

    Local paths become a relative POSIX path; URLs that share scheme and authority become a relative
    path too; anything else is stored absolute.
    """
    if from_url == to_url:
        return fmt.SAME_STORE_SOURCE
    if "://" not in from_url and "://" not in to_url:
        return Path(os.path.relpath(to_url, from_url)).as_posix()
    f_scheme, _, f_rest = from_url.partition("://")
    t_scheme, _, t_rest = to_url.partition("://")
    f_auth, _, f_path = f_rest.partition("/")
    t_auth, _, t_path = t_rest.partition("/")
    if (f_scheme, f_auth) == (t_scheme, t_auth):
        return posixpath.relpath("/" + t_path, "/" + f_path)
    return to_url


def resolve_store_source(base_url: str, source: str) -> str:
    """Return the location of the store named by a record's *source*, relative to *base_url*."""
    if source in (fmt.SAME_STORE_SOURCE, ""):
        return base_url
    if "://" in source or os.path.isabs(source):
        return source
    if "://" not in base_url:
        return str(Path(os.path.normpath(os.path.join(base_url, source))))
    scheme, _, rest = base_url.partition("://")
    auth, _, path = rest.partition("/")
    return f"{scheme}://{auth}{posixpath.normpath(posixpath.join('/' + path, source))}"


def encode_target(target: Builder, *, referrer: Builder, here: Here) -> fmt.ReferenceRecord:
    """Return the record of a reference or link from *referrer* to *target*."""
    target_source = _source_of(target)
    referrer_source = _source_of(referrer)
    same_tree = target_source is None or target_source in (referrer_source, here.tree_source)
    if same_tree or target_source is None or target_source == here.store_url:
        source = fmt.SAME_STORE_SOURCE
    else:
        source = relative_store_source(here.store_url, target_source)
    obj_id = target.attributes.get("object_id") if hasattr(target, "attributes") else None
    return fmt.ReferenceRecord(
        source=source, path=paths.builder_path(target), object_id=obj_id if isinstance(obj_id, str) else None
    )


def reference_target(value: ReferenceBuilder | Builder) -> Builder:
    """Return the builder a reference value points at."""
    if isinstance(value, ReferenceBuilder):
        return value.builder
    if isinstance(value, LinkBuilder):
        return value.builder
    return value


def encode_link(link: LinkBuilder, *, here: Here) -> fmt.LinkRecord:
    """Return the record stored in the parent group for *link*."""
    parent = link.parent
    if parent is None:
        raise UnresolvedReferenceError(f"Link {link.name!r} has no parent group; it cannot be stored.")
    record = encode_target(link.builder, referrer=parent, here=here)
    return fmt.LinkRecord(name=link.name, source=record.source, path=record.path)
