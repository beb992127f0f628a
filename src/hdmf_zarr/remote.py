"""Stores reached by URL: S3 and GCS through obstore when installed (fsspec otherwise), HTTP read-only.

Layer: store back-ends (below ``store``). ``storage_options`` take the spellings users know from
s3fs (``endpoint_url``, ``key``, ``secret``, ``anon``, ``client_kwargs``); the extra key ``backend``
(``"obstore"`` or ``"fsspec"``) forces a client. obstore needs about half the requests of s3fs.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from typing import Any, Final

from zarr.abc.store import Store

from hdmf_zarr.errors import StoreError

BACKEND_OPTION: Final = "backend"
READ_ONLY_SCHEMES: Final = frozenset({"http", "https"})


def _missing(extra: str, what: str) -> StoreError:
    return StoreError(f"Opening {what} needs an optional dependency: pip install 'hdmf_zarr[{extra}]'.")


def _split(url: str) -> tuple[str, str, str]:
    scheme, _, rest = url.partition("://")
    bucket, _, prefix = rest.partition("/")
    return scheme.lower(), bucket, prefix.strip("/")


def _s3_config(options: Mapping[str, Any]) -> tuple[Any, Any]:
    """Translate s3fs-style options into obstore's S3 config and client options."""
    client_kwargs = dict(options.get("client_kwargs") or {})
    config: dict[str, Any] = {}
    endpoint = options.get("endpoint_url") or client_kwargs.get("endpoint_url")
    if endpoint:
        config["endpoint"] = endpoint
        config["virtual_hosted_style_request"] = False
    for ours, theirs in (("key", "access_key_id"), ("secret", "secret_access_key"), ("token", "token")):
        if options.get(ours):
            config[theirs] = options[ours]
    region = options.get("region") or client_kwargs.get("region_name")
    if region:
        config["region"] = region
    if options.get("anon"):
        config["skip_signature"] = True
    client = {"allow_http": True} if str(endpoint or "").startswith("http://") else {}
    return config, client


def _obstore(url: str, options: Mapping[str, Any], *, read_only: bool) -> Store:
    from obstore.store import GCSStore, HTTPStore, S3Store
    from zarr.storage import ObjectStore

    scheme, bucket, prefix = _split(url)
    inner: Any
    if scheme == "s3":
        config, client = _s3_config(options)
        inner = S3Store(bucket, prefix=prefix or None, config=config, client_options=client or None)
    elif scheme in ("gs", "gcs"):
        inner = GCSStore(bucket, prefix=prefix or None)
    else:
        inner = HTTPStore.from_url(url, client_options={"allow_http": True} if scheme == "http" else None)
    return ObjectStore(inner, read_only=read_only)


def _fsspec(url: str, options: Mapping[str, Any], *, read_only: bool) -> Store:
    if importlib.util.find_spec("fsspec") is None:
        raise _missing("fsspec", url)
    from zarr.storage import FsspecStore

    options = dict(options)
    if "region" in options:  # s3fs takes the region through botocore's client arguments
        options["client_kwargs"] = {
            **(options.get("client_kwargs") or {}),
            "region_name": options.pop("region"),
        }
    return FsspecStore.from_url(url, storage_options=options, read_only=read_only)


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
