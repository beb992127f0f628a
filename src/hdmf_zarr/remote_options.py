"""``storage_options`` for stores reached by URL: the s3fs spellings users know, checked and mapped.

Layer: store back-ends (below ``remote``). Every option is honoured by the client that opens the URL,
or refused with :class:`InvalidOptionError` naming it and the options that client takes; none is
dropped. Time limits have one spelling for every client: ``timeout`` (seconds one request may take;
with obstore also its retries together), ``connect_timeout``, ``read_timeout`` and ``retries``.
"""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from hdmf_zarr.errors import InvalidOptionError

#: Time limits, accepted by every client.
TIME_OPTIONS: Final = ("timeout", "connect_timeout", "read_timeout", "retries")
#: s3fs's botocore ``config_kwargs`` keys that are time limits (the others are s3fs-only).
_BOTOCORE_TIME_KEYS: Final = frozenset({"connect_timeout", "read_timeout", "retries"})
#: The s3fs options obstore honours for S3, besides the time limits.
OBSTORE_S3_OPTIONS: Final = frozenset(
    {"endpoint_url", "key", "secret", "token", "region", "anon", "client_kwargs", "config_kwargs"}
)
#: botocore ``client_kwargs`` obstore honours.
_OBSTORE_CLIENT_KWARGS: Final = frozenset({"endpoint_url", "region_name"})
#: When the user sets no time limit, obstore stops retrying a request after this many seconds
#: (its own default, 180 s, stalls a file open for three minutes when the server is gone).
DEFAULT_RETRY_SECONDS: Final = 30.0
#: When the user sets no ``retries``, s3fs requests are retried this many times (each up to s3fs's
#: read timeout, 15 s): a silent server fails in about a minute.
DEFAULT_S3FS_RETRIES: Final = 2
#: Options fsspec itself takes for every filesystem.
_FSSPEC_GENERIC: Final = frozenset(
    {"use_listings_cache", "listings_expiry_time", "max_paths", "skip_instance_cache"}
)


@dataclass(slots=True)
class Limits:
    """The time limits asked for, in seconds (None: the client's default)."""

    timeout: float | None = None
    connect_timeout: float | None = None
    read_timeout: float | None = None
    retries: int | None = None


@dataclass(slots=True)
class ObstoreOptions:
    """Keyword arguments of an obstore store: ``config``, ``client_options``, ``retry_config``."""

    config: dict[str, Any] = field(default_factory=dict)
    client_options: dict[str, Any] = field(default_factory=dict)
    retry_config: dict[str, Any] = field(default_factory=dict)


def _refuse(unknown: list[str], *, url: str, client: str, accepted: frozenset[str]) -> InvalidOptionError:
    hint = " or storage_options['backend'] = 'fsspec' for s3fs's own options" if client == "obstore" else ""
    return InvalidOptionError(
        f"storage_options {sorted(unknown)!r} for {url!r} are not understood by {client}, which opens it; "
        f"nothing would honour them. Accepted: {sorted(accepted | set(TIME_OPTIONS))}{hint}."
    )


def _seconds(value: object, name: str) -> float:
    if isinstance(value, dt.timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise InvalidOptionError(
            f"storage_options[{name!r}] must be a positive number of seconds, not {value!r}."
        )
    return float(value)


def _count(value: object, name: str) -> int:
    if isinstance(value, Mapping):  # botocore: max_attempts counts retries, total_max_attempts attempts
        if "total_max_attempts" in value:
            total = value["total_max_attempts"]
            return _count(
                total - 1 if isinstance(total, int) and not isinstance(total, bool) else total, name
            )
        return _count(value.get("max_attempts"), name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidOptionError(
            f"storage_options[{name!r}] must be a count of retries (0 or more), not {value!r}."
        )
    return value


def time_limits(options: Mapping[str, Any]) -> Limits:
    """The time limits in *options*, from the top level or from s3fs's ``config_kwargs``."""
    merged = {
        **dict(options.get("config_kwargs") or {}),
        **{k: options[k] for k in TIME_OPTIONS if k in options},
    }
    limits = Limits()
    for name in ("timeout", "connect_timeout", "read_timeout"):
        if merged.get(name) is not None:
            setattr(limits, name, _seconds(merged[name], name))
    if merged.get("retries") is not None:
        limits.retries = _count(merged["retries"], "retries")
    return limits


def _obstore_limits(limits: Limits, out: ObstoreOptions) -> None:
    client, retry = out.client_options, out.retry_config
    if limits.timeout is not None:
        client["timeout"] = dt.timedelta(seconds=limits.timeout)
    if limits.connect_timeout is not None:
        client["connect_timeout"] = dt.timedelta(seconds=limits.connect_timeout)
    if limits.read_timeout is not None:
        client["read_timeout"] = dt.timedelta(seconds=limits.read_timeout)
    if limits.retries is not None:
        retry["max_retries"] = limits.retries
    retry["retry_timeout"] = dt.timedelta(seconds=limits.timeout or DEFAULT_RETRY_SECONDS)


def obstore_options(url: str, scheme: str, options: Mapping[str, Any]) -> ObstoreOptions:
    """Map s3fs-style *options* onto obstore's S3, GCS or HTTP store; refuse what obstore cannot honour."""
    accepted = OBSTORE_S3_OPTIONS if scheme == "s3" else frozenset()
    unknown = [k for k in options if k not in accepted and k not in TIME_OPTIONS]
    client_kwargs = dict(options.get("client_kwargs") or {})
    unknown += [f"client_kwargs.{k}" for k in client_kwargs if k not in _OBSTORE_CLIENT_KWARGS]
    config_kwargs = dict(options.get("config_kwargs") or {})
    unknown += [f"config_kwargs.{k}" for k in config_kwargs if k not in _BOTOCORE_TIME_KEYS]
    if unknown:
        raise _refuse(unknown, url=url, client="obstore", accepted=accepted)
    out = ObstoreOptions()
    _obstore_limits(time_limits(options), out)
    if scheme == "s3":
        _s3_config(options, client_kwargs, out)
    if url.startswith("http://") or str(out.config.get("endpoint", "")).startswith("http://"):
        out.client_options["allow_http"] = True
    return out


def _s3_config(options: Mapping[str, Any], client_kwargs: Mapping[str, Any], out: ObstoreOptions) -> None:
    config = out.config
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


def _named_parameters(cls: type) -> frozenset[str]:
    params = inspect.signature(cls.__init__).parameters.values()  # type: ignore[misc]
    return frozenset(
        p.name for p in params if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) and p.name != "self"
    )


def fsspec_options(url: str, scheme: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """Return *options* for the fsspec filesystem of *scheme*, time limits translated.

    s3fs hands options it does not name to botocore's session, which fails late or ignores them:
    they are refused here. Other filesystems take extra options as request arguments (as given).
    """
    out = {k: v for k, v in options.items() if k not in TIME_OPTIONS}
    limits = time_limits(options)
    if "region" in out:  # s3fs takes the region through botocore's client arguments
        out["client_kwargs"] = {**(out.get("client_kwargs") or {}), "region_name": out.pop("region")}
    if scheme != "s3":
        if limits.timeout or limits.connect_timeout or limits.read_timeout:
            import aiohttp  # fsspec's HTTP filesystem is built on aiohttp

            timeout = aiohttp.ClientTimeout(
                total=limits.timeout, sock_connect=limits.connect_timeout, sock_read=limits.read_timeout
            )
            out["client_kwargs"] = {**(out.get("client_kwargs") or {}), "timeout": timeout}
        if limits.retries is not None:
            raise _refuse(["retries"], url=url, client="fsspec", accepted=frozenset(out))
        return out
    from s3fs import S3FileSystem

    accepted = _named_parameters(S3FileSystem) | _FSSPEC_GENERIC
    unknown = [k for k in out if k not in accepted]
    if unknown:
        raise _refuse(unknown, url=url, client="s3fs", accepted=accepted)
    config = dict(out.get("config_kwargs") or {})
    seconds = {
        "connect_timeout": limits.connect_timeout or limits.timeout,
        "read_timeout": limits.read_timeout or limits.timeout,
    }
    config.update({k: v for k, v in seconds.items() if v is not None})
    # botocore's standard mode retries throttling and transient errors with backoff; the count is bounded
    # (s3fs's own defaults try a silent server 25 times, about 7 minutes).
    retries = limits.retries if limits.retries is not None else DEFAULT_S3FS_RETRIES
    config["retries"] = {"total_max_attempts": retries + 1, "mode": "standard"}
    if config:
        out["config_kwargs"] = config
    return out
