"""NWBZarrIO: ZarrIO with pynwb's type map, loading the namespaces cached in the file on read.

Layer: top (applications). Only pynwb defaults live here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hdmf.build import BuildManager, TypeMap

from hdmf_zarr import _format as fmt
from hdmf_zarr.io import ZarrIO
from hdmf_zarr.lifecycle import DEFAULT_LOCK_TIMEOUT
from hdmf_zarr.store import StoreLike

try:
    from pynwb import NWBFile, get_manager, get_type_map
except ImportError as exc:  # pragma: no cover - pynwb is a dependency; the hint helps broken installs
    raise ImportError("NWBZarrIO needs pynwb: pip install 'pynwb>=4.2'") from exc


class NWBZarrIO(ZarrIO):
    """Read and write NWB files stored in Zarr; the Zarr twin of pynwb's ``NWBHDF5IO``."""

    def __init__(  # noqa: PLR0913 - the public signature of hdmf-zarr's NWBZarrIO
        self,
        path: StoreLike,
        mode: str = "r",
        manager: BuildManager | None = None,
        load_namespaces: bool = True,
        extensions: Any = None,
        storage_options: Mapping[str, Any] | None = None,
        force_overwrite: bool = False,
        zarr_format: fmt.ZarrFormat | None = None,
        **kwargs: Any,
    ) -> None:
        if manager is not None and (extensions is not None or (load_namespaces and mode == "r")):
            pass  # an explicit manager wins, as in NWBHDF5IO
        elif load_namespaces and mode in ("r", "r+", "a"):
            # Open once: the spec cache is read from the same root group the IO then uses.
            parts = ZarrIO.open_parts(
                path,
                mode=mode,
                storage_options=storage_options,
                lock_timeout=kwargs.get("lock_timeout", DEFAULT_LOCK_TIMEOUT),
                repair=kwargs.get("repair", False),
            )
            type_map = get_type_map(extensions) if extensions is not None else get_type_map()
            if not parts.pending:  # an existing file ('a' may create a new one)
                try:
                    ZarrIO.load_namespaces(type_map, file=parts.root)
                except BaseException:
                    parts.opened.close()  # nothing was written: a writer's lock and mark are released
                    raise
            manager = BuildManager(type_map)
            kwargs["_preopened"] = parts
        elif manager is None:
            manager = get_manager(extensions=extensions) if extensions is not None else get_manager()
        super().__init__(
            path,
            mode=mode,
            manager=manager,
            storage_options=storage_options,
            force_overwrite=force_overwrite,
            zarr_format=zarr_format,
            **kwargs,
        )

    @staticmethod
    def read_nwb(path: StoreLike, storage_options: Mapping[str, Any] | None = None, **kwargs: Any) -> NWBFile:
        """Open *path* read-only and return its NWBFile; the IO stays open until the file is closed.

        An ``s3://`` path without *storage_options* is read anonymously (public DANDI assets), as
        hdmf-zarr's ``read_nwb`` does; give storage_options to use credentials.
        """
        options = read_nwb_storage_options(path, storage_options)
        io = NWBZarrIO(path, mode="r", load_namespaces=True, storage_options=options, **kwargs)
        nwbfile: NWBFile = io.read()
        return nwbfile

    def export(  # type: ignore[override]
        self,
        src_io: Any,
        nwbfile: Any = None,
        write_args: dict[str, Any] | None = None,
        container: Any = None,
        cache_spec: bool = True,
        clear_cache: bool = False,
        consolidate_metadata: bool = True,
    ) -> None:
        """Export *src_io*'s file (or *nwbfile* read from it) into this new store."""
        super().export(
            src_io=src_io,
            container=nwbfile if nwbfile is not None else container,
            write_args=write_args,
            cache_spec=cache_spec,
            clear_cache=clear_cache,
            consolidate_metadata=consolidate_metadata,
        )


def read_nwb_storage_options(
    path: StoreLike, storage_options: Mapping[str, Any] | None
) -> Mapping[str, Any] | None:
    """The storage options ``read_nwb`` opens *path* with: anonymous for an ``s3://`` URL given none."""
    if storage_options is None and isinstance(path, str) and path.startswith("s3://"):
        return {"anon": True}
    return storage_options


def type_map_with_cached(path: StoreLike) -> TypeMap:
    """Return pynwb's type map extended with the namespaces cached in *path*."""
    type_map = get_type_map()
    ZarrIO.load_namespaces(type_map, path=path)
    return type_map


class NWBZarrV2IO(NWBZarrIO):
    """Compatibility name from hdmf-zarr 0.14; ``NWBZarrIO`` reads v2 files itself."""
