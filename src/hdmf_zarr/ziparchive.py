"""Zip files as stores: read in place, written through a staging folder and published atomically.

Layer: store back-ends (below ``store``). zarr's ZipStore appends a new entry each time a key is
rewritten, and a write rewrites the root document; so writes go to a staging folder beside the target
and, on a successful close, are packed into a temporary zip that replaces the target in one rename.
A failed write leaves the target as it was (or absent) and removes the staging folder; a killed
write leaves the staging folder, which the next writer removes (staging.py).
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from zarr.abc.store import Store
from zarr.storage import ZipStore

from hdmf_zarr import _format as fmt
from hdmf_zarr.confine import ConfinedLocalStore
from hdmf_zarr.errors import StoreError
from hdmf_zarr.staging import StagingFolder

_STORE_FOLDER: Final = "store"  # inside the staging folder: the files of the zip being written
_PACKED_NAME: Final = "packed.zip"  # inside the staging folder: the zip before it replaces the target


def zip_dialect(path: Path) -> fmt.ZarrFormat | None:
    """The dialect of the group at the root of the zip file at *path* (None: no group there)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except zipfile.BadZipFile as exc:
        raise StoreError(
            f"{str(path)!r} is not a readable zip file ({exc}); a '.zip' path must be a zip of a Zarr store."
        ) from exc
    if fmt.V3_METADATA_KEY in names:
        return 3
    if fmt.V2_GROUP_KEY in names or fmt.V2_CONSOLIDATED_KEY in names:
        return 2
    return None


@dataclass(slots=True)
class StagedZip:
    """A zip being written: a staging folder (staging.py) whose ``store/`` becomes *target* on commit.

    The packed zip is first written inside the staging folder too, so that a killed write leaves only
    the staging folder, which the next writer beside *target* recognises and removes.
    """

    target: Path
    folder: StagingFolder

    @classmethod
    def begin(cls, target: Path, *, copy_existing: bool) -> StagedZip:
        folder = StagingFolder.begin(target)
        root = folder.path / _STORE_FOLDER
        root.mkdir()
        if copy_existing and target.is_file():
            with zipfile.ZipFile(target) as archive:
                archive.extractall(root)
        return cls(target, folder)

    @property
    def staging(self) -> Path:
        return self.folder.path / _STORE_FOLDER

    def store(self) -> Store:
        return ConfinedLocalStore(self.staging)

    def commit(self) -> None:
        """Pack the staging folder into a zip (entries stored: chunks are compressed already), atomically."""
        tmp = self.folder.path / _PACKED_NAME
        try:
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
                for folder, _dirs, files in sorted(os.walk(self.staging)):
                    for name in sorted(files):
                        full = Path(folder) / name
                        archive.write(full, full.relative_to(self.staging).as_posix())
            os.replace(tmp, self.target)
        finally:
            self.discard()

    def discard(self) -> None:
        self.folder.discard()


def read_store(path: Path) -> Store:
    return ZipStore(path, mode="r", read_only=True)
