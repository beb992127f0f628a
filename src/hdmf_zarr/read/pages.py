"""Memory for large read results and reused read buffers, laid on whole transparent huge pages.

Layer: read. Used by read/direct.py and read/chunkfiles.py. Memory a process touches for the first time
costs a page fault per 4 KiB page, a microsecond or two each on a virtual machine: for a one-second slice
of a 64-channel recording (3.8 MB) that is 940 faults, about as long as decoding it. On Linux, numpy asks
for transparent huge pages (2 MiB) for arrays of 4 MiB or more, but malloc hands out memory that is not
aligned to them, so only the huge pages wholly inside an array are used, and an array under 4 MiB gets
none. ``empty`` over-allocates by one huge page (virtual memory only: the part outside the result is not
touched) and returns the aligned part, so that a result of whole huge pages faults once per 2 MiB. When
the memory is recycled by malloc (reads in a loop), it is as cheap as ``np.empty``. Without huge pages
(other systems, huge pages switched off), both functions are ``np.empty``.

The cost is the end of the last huge page: a result is given huge pages only when that slack is at most
an eighth of it (``MAX_SLACK``); a reused buffer is rounded up to whole huge pages when it needs at least
a quarter of one (``BUFFER_MIN_FRACTION``).
"""

from __future__ import annotations

import functools
import math
import sys
from typing import Any

import numpy as np

#: A result gets whole huge pages only if they exceed it by at most this fraction of its size.
MAX_SLACK = 1 / 8
#: A reused buffer is rounded up to whole huge pages if it needs at least this fraction of one.
BUFFER_MIN_FRACTION = 1 / 4
#: Huge pages larger than this are not used (a result would be rounded up too far).
_MAX_HUGE_PAGE = 4 << 20
_THP = "/sys/kernel/mm/transparent_hugepage/"


@functools.cache
def huge_page_bytes() -> int:
    """The size of a transparent huge page that numpy's arrays of 4 MiB or more get, or 0 if none."""
    if not sys.platform.startswith("linux"):
        return 0
    try:  # bytes: no text codec is looked up (an import, on a read that should not pay for one)
        with open(_THP + "enabled", "rb") as f:
            mode = f.read()
        with open(_THP + "hpage_pmd_size", "rb") as f:
            size = int(f.read())
    except (OSError, ValueError):
        return 0
    if b"[always]" in mode:
        pass  # every aligned range of anonymous memory may be a huge page
    elif b"[madvise]" not in mode or not _numpy_advises():
        return 0
    return size if 0 < size <= _MAX_HUGE_PAGE else 0


def _numpy_advises() -> bool:
    """Whether numpy asks for huge pages for its large arrays (on by default on Linux)."""
    core: Any = getattr(np, "_core", None)
    get = getattr(getattr(core, "multiarray", None), "_get_madvise_hugepage", None)
    return bool(get()) if callable(get) else False


def empty(shape: tuple[int, ...], dtype: np.dtype[Any]) -> np.ndarray:
    """An uninitialised C-contiguous array of *shape* and *dtype*, on whole huge pages when it is at
    least one huge page and the slack is small (see the module docstring); else ``np.empty``."""
    nbytes = math.prod(shape) * dtype.itemsize
    huge = huge_page_bytes()
    if not huge or nbytes < huge or dtype.hasobject or dtype.kind not in "biufc":
        return np.empty(shape, dtype=dtype)
    whole = -(-nbytes // huge) * huge
    if whole - nbytes > nbytes * MAX_SLACK:
        return np.empty(shape, dtype=dtype)
    return _aligned(nbytes, whole, huge).view(dtype).reshape(shape)


def buffer(nbytes: int) -> np.ndarray:
    """An uninitialised byte array of at least *nbytes*, for reuse: whole huge pages when it needs at
    least BUFFER_MIN_FRACTION of one (its length is then the huge pages' size), else exactly *nbytes*."""
    huge = huge_page_bytes()
    if not huge or nbytes < huge * BUFFER_MIN_FRACTION:
        return np.empty(nbytes, dtype=np.uint8)
    whole = -(-nbytes // huge) * huge
    return _aligned(whole, whole, huge)


def _aligned(nbytes: int, whole: int, huge: int) -> np.ndarray:
    """*nbytes* of a new block of *whole* + *huge* bytes, starting at a huge-page boundary. numpy asks
    for huge pages for the whole block (it is at least 4 MiB); only the aligned part is touched."""
    block = np.empty(whole + huge, dtype=np.uint8)
    start = -block.ctypes.data % huge
    return block[start : start + nbytes]
