"""Staging folders: a new file is written beside its target and swapped in only when it is complete.

Layer: store back-ends (below ``store`` and ``ziparchive``). A writer creates
``.<name>.staging-<id>`` in the target's folder and holds an OS lock on it while it lives. On a
successful close the staging folder takes the target's place in one atomic exchange (Linux
``renameat2(RENAME_EXCHANGE)``); the old file then sits under the staging name and is removed. A failed
write removes the staging folder; a killed write leaves it behind, unlocked, and the next writer beside
the same target recognises it by its name and the free lock and removes it. The old file is never
touched before the new one is complete.

Where the exchange is not available (another OS, or a filesystem without it), the swap is two renames:
the target is first moved aside to ``.<name>.replaced-<id>``, so a kill between the two renames leaves
the old file there and no file at the target (nothing is lost: rename it back). Debris sweeps never
touch ``.replaced-`` folders.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Protocol

from hdmf_zarr.errors import StoreExistsError

_STAGING_INFIX: Final = ".staging-"
_REPLACED_INFIX: Final = ".replaced-"
_ID_CHARS: Final = 12
_RENAME_NOREPLACE: Final = 1
_RENAME_EXCHANGE: Final = 2
_AT_FDCWD: Final = -100


class Staged(Protocol):
    """Something written aside and published by ``commit`` (folder swap, zip packing) or dropped."""

    def commit(self) -> None: ...

    def discard(self) -> None: ...


def staging_prefix(target: Path) -> str:
    """The name prefix of every staging folder of *target* (``.<name>.staging-``)."""
    return f".{target.name}{_STAGING_INFIX}"


def _is_staging_name(name: str, target: Path) -> bool:
    prefix = staging_prefix(target)
    tail = name[len(prefix) :]
    return name.startswith(prefix) and len(tail) == _ID_CHARS and all(c in "0123456789abcdef" for c in tail)


def _new_staging_path(target: Path) -> Path:
    return target.parent / f"{staging_prefix(target)}{uuid.uuid4().hex[:_ID_CHARS]}"


def try_lock(fd: int, *, wait: bool = False) -> bool | None:
    """Take an exclusive ``flock`` on *fd*: True taken, False held by another open file, None: no flock.

    None on Windows and on filesystems without flock (some network filesystems): callers then cannot
    tell a live writer from a dead one, and act safely (no sweep; the in-progress mark alone).
    """
    if sys.platform == "win32":
        return None
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:
        return None
    return True


def open_for_lock(path: Path) -> int:
    """A descriptor of the folder or file *path* to lock (read-only; folders need no write access)."""
    return os.open(path, os.O_RDONLY)


def remove_debris(target: Path) -> list[Path]:
    """Remove the staging folders of *target* whose writer is gone (their lock is free); return them."""
    removed: list[Path] = []
    parent = target.parent
    if not parent.is_dir():
        return removed
    for entry in parent.iterdir():
        if not _is_staging_name(entry.name, target) or not entry.is_dir():
            continue
        try:
            fd = open_for_lock(entry)
        except OSError:
            continue  # removed by someone else meanwhile
        try:
            if try_lock(fd):  # its writer is gone (None: cannot tell, so it stays)
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry)
        finally:
            os.close(fd)
    return removed


def _renameat2(src: Path, dst: Path, flags: int) -> bool:
    """Rename with *flags*; False when the OS or filesystem does not offer renameat2 (caller falls back)."""
    if sys.platform == "win32":
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    func = getattr(libc, "renameat2", None)
    if func is None:
        return False
    if func(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), flags) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(src), None, str(dst))


def _locked_folder(path: Path) -> int | None:
    """Lock the folder *path* (waiting if needed); None when it vanished or was replaced meanwhile."""
    try:
        fd = open_for_lock(path)
    except FileNotFoundError:
        return None
    try_lock(fd, wait=True)  # marks the folder as alive (where flock exists)
    try:
        same = os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        same = False
    if not same:
        os.close(fd)
        return None
    return fd


def _remove_if_empty_folder(path: Path) -> None:
    """An empty folder at the target holds no file: it is replaced even by 'w-'/'x'."""
    if path.is_dir() and not path.is_symlink():
        try:
            path.rmdir()  # fails unless empty: the check and the removal are one step
        except OSError:
            pass


@dataclass(slots=True)
class StagingFolder:
    """A folder beside *target*, locked by this process while it is being written."""

    target: Path
    path: Path
    _fd: int | None = field(default=None, repr=False)
    replace: bool = True  # commit replaces an existing target ('w'); False refuses to ('w-', 'x')

    @classmethod
    def begin(cls, target: Path) -> StagingFolder:
        """Create a fresh staging folder beside *target* (removing dead writers' staging folders first)."""
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_debris(target)
        while True:
            path = _new_staging_path(target)
            path.mkdir()
            if sys.platform == "win32":
                return cls(target, path, None)  # no folder locks there: nothing sweeps staging folders
            fd = _locked_folder(path)
            if fd is not None:
                return cls(target, path, fd)
            # Another writer's debris sweep took the fresh, not yet locked folder: try a new one.

    def _release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor frees the lock
            self._fd = None

    def discard(self) -> None:
        """Drop what was written (a failed write): the target stays as it was."""
        shutil.rmtree(self.path, ignore_errors=True)
        self._release()

    def commit(self) -> None:
        """Publish the staging folder at the target (see :meth:`swap_in`)."""
        self.swap_in(replace=self.replace)

    def swap_in(self, *, replace: bool) -> None:
        """Put the staging folder at the target; the replaced file (if any) is removed afterwards.

        With ``replace=False`` an existing target is kept and StoreExistsError raised (``w-``/``x``).
        """
        try:
            _remove_if_empty_folder(self.target)
            if self.target.exists() or self.target.is_symlink():
                if not replace:
                    raise StoreExistsError(
                        f"{str(self.target)!r} was created by someone else while this file was being "
                        "written; mode 'w-'/'x' never replaces a file, so what was written here is dropped."
                    )
                self._exchange()
            else:
                self._publish_new(replace=replace)
        except BaseException:
            self.discard()
            raise
        # The old file now sits under the staging name (still locked by us): remove it.
        self.discard()

    def _exchange(self) -> None:
        if _renameat2(self.path, self.target, _RENAME_EXCHANGE):
            return
        # No atomic exchange: move the old file aside first (see module docstring). Its name is not a
        # staging name, so no debris sweep removes it while the target is missing.
        aside = self.target.parent / f".{self.target.name}{_REPLACED_INFIX}{uuid.uuid4().hex[:_ID_CHARS]}"
        os.rename(self.target, aside)
        os.rename(self.path, self.target)
        os.rename(aside, self.path)  # so that discard() removes the old file

    def _publish_new(self, *, replace: bool) -> None:
        try:
            if _renameat2(self.path, self.target, _RENAME_NOREPLACE):
                return
        except FileExistsError:
            pass  # created by someone else meanwhile
        else:
            if not self.target.exists():
                os.rename(self.path, self.target)
                return
        if not replace:
            raise StoreExistsError(
                f"{str(self.target)!r} was created by someone else while this file was being written; "
                "mode 'w-'/'x' never replaces a file, so what was written here is dropped."
            )
        self._exchange()
