"""Publish a conversion's output only when it is complete: nothing is left at the destination otherwise.

Layer: applications. New local Zarr folders and zip files are already staged by the store layer
(``hdmf_zarr.staging``: ``.<name>.staging-<id>``, swapped in on a successful close). An HDF5 output is
written here under a hidden name (``.<stem>.partial-<id><suffix>``) inside a locked staging folder
beside the destination and renamed into place at the end, so a failed or killed (``kill -9``)
conversion never leaves a file at the destination (the next conversion to it removes a killed one's
staging folder), and ``force_overwrite`` replaces the old file only once the new one is complete.
An object-store prefix
cannot be renamed: the conversion puts the in-progress mark first (naming its source) and the root
document last, so readers of a killed conversion's prefix are told it holds no completed file, and a
failed run deletes the objects it wrote (objects already under the prefix stay). A retry replaces the
leftovers of a killed conversion whose process is known to be gone (it ran on this host); those of
a writer that may still run (another host) only with ``force_overwrite`` (docs/safety.md)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hdmf_zarr import _format as fmt
from hdmf_zarr.errors import StoreBusyError, StoreError, StoreExistsError
from hdmf_zarr.staging import StagingFolder
from hdmf_zarr.store import StoreLike, is_url

PARTIAL_MARK = fmt.PARTIAL_MARK
REPLACED_MARK = fmt.REPLACED_MARK


def _local_path(dst: StoreLike) -> Path | None:
    if not isinstance(dst, str | os.PathLike) or is_url(dst):
        return None
    text = os.fspath(dst)
    return Path(text[len("file://") :] if text.lower().startswith("file://") else text).expanduser()


def refuse_existing(dst: StoreLike, *, force_overwrite: bool) -> None:
    """Raise StoreExistsError before any work when a local *dst* exists and may not be replaced."""
    path = _local_path(dst)
    if path is not None and path.exists() and not force_overwrite:
        raise StoreExistsError(
            f"{str(path)!r} exists; pass force_overwrite=True (--force) to replace it, or choose another "
            "path. Nothing was deleted."
        )


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _publish(staging: Path, target: Path) -> None:
    """Move *staging* to *target*; an existing target is moved aside first and removed after."""
    if not staging.exists():
        raise StoreError(f"The conversion wrote nothing to {str(staging)!r}; {str(target)!r} is unchanged.")
    old = None
    if target.exists() or target.is_symlink():
        old = target.with_name(f".{target.name}{REPLACED_MARK}{uuid.uuid4().hex[:8]}")
        os.replace(target, old)
    try:
        os.replace(staging, target)
    except BaseException:
        if old is not None:
            os.replace(old, target)  # put the old file back: nothing is lost
        raise
    if old is not None:
        _remove(old)


@contextmanager
def staged_local(target: Path) -> Iterator[Path]:
    """Yield a hidden path to write; rename it to *target* on success, remove it on failure.

    The file is written inside a staging folder beside *target* (``hdmf_zarr.staging``), locked while
    this process lives: what a killed conversion left is removed by the next one to the same target.
    """
    folder = StagingFolder.begin(target)  # also removes the staging folders of killed writers
    # The suffix stays last (.nwb, .zarr): tools that look at it see what is written.
    staging = folder.path / f".{target.stem}{PARTIAL_MARK}{uuid.uuid4().hex[:8]}{target.suffix}"
    try:
        yield staging
        _publish(staging, target)
    finally:
        folder.discard()


async def _keys(store: Any) -> set[str]:
    return {key async for key in store.list()}


async def _delete(store: Any, keys: set[str]) -> None:
    for key in sorted(keys):
        await store.delete(key)


def _url_keys(url: str, storage_options: Mapping[str, Any] | None) -> tuple[Any, set[str]]:
    from zarr.core.sync import sync

    from hdmf_zarr.remote import open_url

    store = open_url(url, storage_options, read_only=False)
    return store, sync(_keys(store))


def reclaim_interrupted(
    dst: StoreLike, storage_options: Mapping[str, Any] | None, *, force_overwrite: bool
) -> bool:
    """Whether the conversion to *dst* replaces the leftovers of an interrupted write of a new file.

    True when the prefix holds an in-progress mark and no completed file, and the marking process is
    gone (it ran on this host) or *force_overwrite* is set. Raises StoreBusyError when that process
    runs on this host (even with *force_overwrite*), StoreExistsError when it may still run (another
    host) and *force_overwrite* is not set. False otherwise (nothing to replace, or a completed file,
    which the store layer handles).
    """
    if not is_url(dst):
        return False
    assert isinstance(dst, str)
    from hdmf_zarr.io import stored_dialect
    from hdmf_zarr.lifecycle import process_running, read_mark
    from hdmf_zarr.remote import open_url

    store = open_url(dst, storage_options, read_only=True)
    try:
        mark = read_mark(store, where=dst)
    finally:
        store.close()
    if mark is None or stored_dialect(dst, storage_options) is not None:
        return False
    running = process_running(mark)
    if running:  # certain (this host): --force would make two writers corrupt each other's output
        raise StoreBusyError(
            f"{dst!r} is being written by {mark.describe()}, which is still running; it holds no "
            "completed file yet. Nothing was deleted. Wait for it to finish (or stop it), then convert."
        )
    if running is False or force_overwrite:
        return True
    raise StoreExistsError(
        f"{dst!r} holds the leftovers of an unfinished write, {mark.describe()}, which is still running "
        "(on another host) or was killed; it holds no completed file. Nothing was deleted. If that "
        "process is no longer running, pass force_overwrite=True (--force) to replace its leftovers; "
        "otherwise wait for it to finish."
    )


def _refuse_existing_url(
    url: str, storage_options: Mapping[str, Any] | None, *, force_overwrite: bool
) -> None:
    from hdmf_zarr.io import stored_dialect

    if not force_overwrite and stored_dialect(url, storage_options) is not None:
        raise StoreExistsError(
            f"{url!r} already holds a Zarr file; pass force_overwrite=True (--force) to replace it. "
            "Nothing was deleted."
        )


@contextmanager
def staged(
    dst: StoreLike,
    *,
    force_overwrite: bool,
    storage_options: Mapping[str, Any] | None = None,
    hdf5: bool = False,
    reclaim: bool = False,
) -> Iterator[StoreLike]:
    """Yield where to write the output for *dst*; publish it only if the block completes.

    Local Zarr folders and zip files are staged by the store layer (``hdmf_zarr.staging``); an HDF5
    file is staged here; an object-store prefix is cleaned of what a failed run wrote (with *reclaim*,
    see :func:`reclaim_interrupted`, the objects found there are an interrupted write's and go too).
    """
    refuse_existing(dst, force_overwrite=force_overwrite)
    path = _local_path(dst)
    if path is not None and hdf5:
        with staged_local(path) as staging:
            yield staging
        return
    if not is_url(dst):
        yield dst
        return
    assert isinstance(dst, str)
    _refuse_existing_url(dst, storage_options, force_overwrite=force_overwrite)
    store, before = _url_keys(dst, storage_options)
    if reclaim:
        before = set()  # what is there belongs to no file: it goes whether this run succeeds or fails
    try:
        yield dst
    except BaseException:
        from zarr.core.sync import sync

        # Delete only what this run wrote: objects that were under the prefix before stay.
        sync(_delete(store, sync(_keys(store)) - before))
        raise
    finally:
        store.close()
