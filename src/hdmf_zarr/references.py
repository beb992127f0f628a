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
from hdmf_zarr.errors import SourceNotAllowedError, UnresolvedReferenceError

#: An ``allowed_sources`` entry that allows every URL and absolute path.
ANY_SOURCE = "*"


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


def is_relative_source(source: str) -> bool:
    """Whether a record's *source* names a store relative to the referring one (files that move together)."""
    return "://" not in source and not source.startswith(("/", "\\")) and not os.path.isabs(source)


def _normal_location(location: str) -> str:
    if "://" not in location:
        return os.path.normpath(os.path.abspath(os.path.expanduser(location)))
    scheme, _, rest = location.partition("://")
    return f"{scheme.lower()}://{rest.rstrip('/')}"


def source_is_allowed(location: str, allowed: tuple[str, ...]) -> bool:
    """Whether the store at *location* is inside one of the *allowed* locations (or ``"*"`` is allowed)."""
    target = _normal_location(location)
    for entry in allowed:
        if entry == ANY_SOURCE:
            return True
        prefix = _normal_location(entry)
        if target == prefix or target.startswith(prefix.rstrip("/") + "/"):
            return True
    return False


def allowed_store_source(base_url: str, source: str, allowed: tuple[str, ...]) -> str:
    """The location of the store a record's *source* names, if following it is allowed.

    Relative sources (stores that move with this one) are followed by default; URLs and absolute paths
    only when they lie inside an entry of *allowed* (``allowed_sources`` of ZarrIO). Otherwise raise
    :class:`SourceNotAllowedError` naming the source and the keyword that allows it.
    """
    location = resolve_store_source(base_url, source)
    if is_relative_source(source) or source in (fmt.SAME_STORE_SOURCE, ""):
        return location
    if source_is_allowed(location, allowed):
        return location
    kind = "a URL" if "://" in source else "an absolute path"
    raise SourceNotAllowedError(
        f"{base_url!r} links to the store {source!r}, which is {kind}; such links are not followed "
        "unless you allow them, because a file could otherwise make this reader fetch from any server "
        f"or read any local folder. If you trust this file, pass allowed_sources=[{location!r}] (or a "
        "prefix of it, or ['*'] for any source) to ZarrIO or NWBZarrIO."
    )


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
