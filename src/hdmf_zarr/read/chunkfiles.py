"""Read the chunk files of a local store, and decode into memory the process already holds.

Layer: read. Used by read/direct.py. Memory a process touches for the first time costs a page fault
per 4 KiB page; on virtual machines that is a microsecond or more each, which for a compressed chunk of
one MiB costs about as much as decoding it. A chunk file read as a new ``bytes`` object is such memory
every time (the allocator hands large blocks back to the system when they are freed), and so is a
temporary array to decode a chunk into when only part of it is wanted. So chunks larger than
``REUSE_MIN_BYTES`` are read into one buffer per thread, and partly wanted chunks are decoded into one
array per thread, both kept for the next read (each at most ``REUSE_MAX_BYTES``; larger ones are
allocated per read) until an IO closes (``release``). What such a buffer holds is valid until the same
thread's next read: callers decode a chunk before they read the next one. A new buffer's pages are
faulted in by one system call (read/pages.py), cheaper than one fault per page as it is first filled.
"""

from __future__ import annotations

import math
import os
import threading
import weakref
from typing import Any

import numpy as np

from hdmf_zarr.confine import check_not_special
from hdmf_zarr.read import pages

#: Chunk files up to this size are read as new ``bytes`` (cheaper than reusing a buffer when small).
REUSE_MIN_BYTES = 64 << 10
#: The largest buffer kept per thread (compressed chunk file, or decoded chunk).
REUSE_MAX_BYTES = 8 << 20
#: O_NONBLOCK: opening a FIFO crafted where a chunk would be returns at once (it is then refused).
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)


_EMPTY = np.empty(0, dtype=np.uint8)


class _Buffers:
    """One thread's buffers (registered, so that ``release`` can empty every thread's)."""

    def __init__(self) -> None:
        self.raw = _EMPTY
        self.decoded = _EMPTY
        with _LOCK:
            _ALL.add(self)

    def empty(self) -> None:
        self.raw = _EMPTY  # a read in progress keeps the old buffer until it is done with it
        self.decoded = _EMPTY


class _PerThread(threading.local):
    def __init__(self) -> None:
        self.buffers = _Buffers()


_LOCK = threading.Lock()
_ALL: weakref.WeakSet[_Buffers] = weakref.WeakSet()  # a thread's buffers go when the thread ends
_THREAD = _PerThread()


def release() -> None:
    """Let every thread's buffers go (an IO calls this when it closes; the next read makes new ones)."""
    with _LOCK:
        every = list(_ALL)
    for buffers in every:
        buffers.empty()


def read_file(path: str, *, reuse: bool = False) -> bytes | memoryview | None:
    """The bytes of the file at *path*, or None if there is none (a missing chunk): LocalStore.get_sync
    without its pathlib.Path and buffered file object per chunk (a quarter of a small series' read).

    *reuse*: a file of more than REUSE_MIN_BYTES comes back as a view of this thread's buffer, valid
    until the thread's next read (only for callers that decode it into other memory before that).
    """
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    try:
        info = os.fstat(fd)
        check_not_special(path, mode=info.st_mode)
        size = info.st_size
        if reuse and REUSE_MIN_BYTES < size <= REUSE_MAX_BYTES:
            return _read_into_buffer(fd, size)
        data = os.read(fd, size)
        if len(data) < size:  # a short read (a signal, a network file system): read the rest
            parts = [data]
            while (got := sum(map(len, parts))) < size and (more := os.read(fd, size - got)):
                parts.append(more)
            data = b"".join(parts)
        return data
    except IsADirectoryError:  # a folder where a chunk would be (opening one for reading succeeds)
        return None
    finally:
        os.close(fd)


def _read_into_buffer(fd: int, size: int) -> memoryview:
    buffers = _THREAD.buffers
    buffer = buffers.raw
    if len(buffer) < size:  # grown with headroom: the compressed sizes of one array's chunks vary a little
        buffer = buffers.raw = pages.buffer(min(REUSE_MAX_BYTES, size + size // 8))
    view = memoryview(buffer)[:size]
    got = 0
    while got < size:
        n = os.readv(fd, [view[got:]])
        if n == 0:  # the file shrank since fstat
            return view[:got]
        got += n
    return view


def decode_target(shape: tuple[int, ...], dtype: np.dtype[Any]) -> np.ndarray:
    """An uninitialised C-contiguous array of *shape* and *dtype*: this thread's reused one (its contents
    valid until the thread's next call) when it is at most REUSE_MAX_BYTES, else a new one."""
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > REUSE_MAX_BYTES or dtype.kind not in "biuf":  # numbers only (no references inside)
        return np.empty(shape, dtype=dtype)
    buffers = _THREAD.buffers
    decoded = buffers.decoded
    if decoded.nbytes < nbytes:
        decoded = buffers.decoded = pages.buffer(nbytes)
    return decoded[:nbytes].view(dtype).reshape(shape)
