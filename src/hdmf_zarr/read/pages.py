"""Memory for large read results and reused read buffers, with its pages faulted in by one system call.

Layer: read. Used by read/direct.py and read/chunkfiles.py. Memory a process touches for the first time
costs a page fault per 4 KiB page, a microsecond or two each on a virtual machine: for a one-second slice
of a 64-channel recording (3.8 MB) that is 940 faults, about as long as decoding it. Linux (5.14 and
later) can fault in a whole range at once (``madvise(MADV_POPULATE_WRITE)``): the zeroing of each page
stays, the trap per page goes. Measured on a 2-core VM: 3.8 MB faulted in by one call then filled, 1.45
ms, against 2.05 ms filled page by page; within a whole cold slice read the gain is smaller (0.1-0.2 ms
of 4.7, at the edge of what a shared machine resolves).

``empty`` does so for a result of POPULATE_MIN_BYTES or more whose memory is new to the process (its last
page is not yet mapped, ``mincore``): memory malloc recycles (reads in a loop) is already mapped, and
asking again would cost a walk over its pages for nothing. ``buffer`` always does (a reused buffer is
allocated once and filled right away). Elsewhere (other systems, older kernels) both are ``np.empty``.

Transparent huge pages were tried instead (one fault per 2 MiB): on a virtual machine whose host takes
back free guest memory (free page reporting), a huge page is often memory the host must supply again,
4 KiB at a time, and then costs more than the small pages it replaces (4.5 ms against 1.1 ms per 2 MiB,
measured); small pages are usually recycled memory the host still backs.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import mmap
import sys
from typing import Any

import numpy as np

#: Results at least this large are faulted in by one call when their memory is new.
POPULATE_MIN_BYTES = 256 << 10
_MADV_POPULATE_WRITE = 23  # <linux/mman.h>; Python's mmap module does not name it before 3.13
_PAGE = mmap.PAGESIZE


class _Libc:
    """The two libc calls used here, and whether the kernel takes MADV_POPULATE_WRITE."""

    def __init__(self, lib: ctypes.CDLL) -> None:
        self.madvise = lib.madvise
        self.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        self.madvise.restype = ctypes.c_int
        self.mincore = lib.mincore
        self.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]
        self.mincore.restype = ctypes.c_int
        self.works = True  # until the kernel refuses (before Linux 5.14)


@functools.cache
def _libc() -> _Libc | None:
    """libc's madvise and mincore on Linux, else None (looked up once, when a local store opens)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return _Libc(ctypes.CDLL(None, use_errno=True))
    except (OSError, AttributeError):
        return None


def prepare() -> None:
    """Look up libc's calls now (an IO calls this when it opens), rather than on the first large read."""
    _libc()


def empty(shape: tuple[int, ...], dtype: np.dtype[Any]) -> np.ndarray:
    """``np.empty(shape, dtype)``, its pages faulted in by one call when it is large and new memory."""
    out = np.empty(shape, dtype=dtype)
    if out.nbytes >= POPULATE_MIN_BYTES:
        _populate(out, only_new=True)
    return out


def buffer(nbytes: int) -> np.ndarray:
    """An uninitialised byte array of *nbytes* to be reused, its pages faulted in by one call."""
    out = np.empty(nbytes, dtype=np.uint8)
    if nbytes >= _PAGE:
        _populate(out, only_new=False)
    return out


def _populate(array: np.ndarray, *, only_new: bool) -> None:
    """Fault in the whole pages of *array* (only if its last page is unmapped, for *only_new*)."""
    libc = _libc()
    if libc is None or not libc.works:
        return
    first = -(-array.ctypes.data // _PAGE) * _PAGE
    end = (array.ctypes.data + array.nbytes) // _PAGE * _PAGE
    if end <= first:
        return
    if only_new:
        resident = ctypes.create_string_buffer(1)  # per call: reads may run on several threads
        if libc.mincore(end - _PAGE, _PAGE, resident) == 0 and resident.raw[0] & 1:
            return  # recycled memory: already mapped
    if libc.madvise(first, end - first, _MADV_POPULATE_WRITE) != 0 and ctypes.get_errno() == errno.EINVAL:
        libc.works = False  # a kernel before 5.14: stop asking
