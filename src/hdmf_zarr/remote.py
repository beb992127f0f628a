"""Stores reached by URL: S3 and GCS through obstore when installed (fsspec otherwise), HTTP read-only.

Layer: store back-ends (below ``store``). ``storage_options`` take the spellings users know from
s3fs (``endpoint_url``, ``key``, ``secret``, ``anon``, ``client_kwargs``) and the time limits of
``remote_options``; an option the chosen client cannot honour is refused. The extra key ``backend``
(``"obstore"`` or ``"fsspec"``) forces a client. obstore needs about half the requests of s3fs.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from typing import Any, Final

from zarr.abc.store import Store

from hdmf_zarr.errors import StoreError
from hdmf_zarr.remote_options import fsspec_options, obstore_options

BACKEND_OPTION: Final = "backend"
READ_ONLY_SCHEMES: Final = frozenset({"http", "https"})


def _missing(extra: str, what: str) -> StoreError:
    return StoreError(f"Opening {what} needs an optional dependency: pip install 'hdmf_zarr[{extra}]'.")


def _split(url: str) -> tuple[str, str, str]:
    scheme, _, rest = url.partition("://")
    bucket, _, prefix = rest.partition("/")
    return scheme.lower(), bucket, prefix.strip("/")


def _obstore(url: str, options: Mapping[str, Any], *, read_only: bool) -> Store:
    from obstore.store import GCSStore, HTTPStore, S3Store
    from zarr.storage import ObjectStore

    scheme, bucket, prefix = _split(url)
    mapped = obstore_options(url, scheme, options)
    kwargs: dict[str, Any] = {
        "client_options": mapped.client_options or None,
        "retry_config": mapped.retry_config,
    }
    inner: Any
    if scheme == "s3":
        config: Any = mapped.config  # an S3Config TypedDict
        inner = S3Store(bucket, prefix=prefix or None, config=config, **kwargs)
    elif scheme in ("gs", "gcs"):
        inner = GCSStore(bucket, prefix=prefix or None, **kwargs)
    else:
        inner = HTTPStore.from_url(url, **kwargs)
    return ObjectStore(inner, read_only=read_only)


def _fsspec(url: str, options: Mapping[str, Any], *, read_only: bool) -> Store:
    if importlib.util.find_spec("fsspec") is None:
        raise _missing("fsspec", url)
    from zarr.storage import FsspecStore

    scheme = _split(url)[0]
    store = FsspecStore.from_url(
        url, storage_options=fsspec_options(url, scheme, options), read_only=read_only
    )
    if scheme == "s3":
        # s3fs repeats each call up to ``retries`` times (5) around botocore's own retries, which
        # remote_options sets: one s3fs attempt, so that the count means what it says.
        store.fs.retries = 1
    return store


def open_url(url: str, storage_options: Mapping[str, Any] | None, *, read_only: bool) -> Store:
    """Return the zarr Store for *url*."""
    options = dict(storage_options or {})
    backend = options.pop(BACKEND_OPTION, None)
    scheme = _split(url)[0]
    if backend not in (None, "obstore", "fsspec"):
        raise StoreError(f"storage_options['backend'] must be 'obstore' or 'fsspec', not {backend!r}.")
    has_obstore = importlib.util.find_spec("obstore") is not None
    if scheme in ("s3", "gs", "gcs", "http", "https") and backend != "fsspec" and (has_obstore or backend):
        if not has_obstore:
            raise _missing("s3", url)
        return _obstore(url, options, read_only=read_only)
    return _fsspec(url, options, read_only=read_only)
