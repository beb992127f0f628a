"""Blosc-compress a chunk into a buffer the caller keeps, instead of a new bytes object per chunk.

Layer: write. ``numcodecs.Blosc.encode`` allocates a fresh output the size of the chunk for every call.
A writer thread that encodes hundreds of 1 MiB chunks then makes its allocator arena churn: each thread
ends up holding about 3.5 MiB, and the fresh pages cost page faults (CPU). numcodecs ships c-blosc and
exports its ``blosc_compress_ctx``; calling it (through ctypes, which releases the GIL) with a buffer
reused by the thread gives the very bytes ``encode`` returns (tests/unit/test_bloscinto.py checks it)
with no allocation per chunk. When the symbol is not there (another numcodecs build), callers get None
from :func:`into_buffer` and keep ``encode``.
"""

from __future__ import annotations

import ctypes
import functools
import threading
from typing import Any, Final

import numcodecs
import numcodecs.blosc
import numpy as np

#: Bytes c-blosc may add to its input (its header): an output of input + this always fits.
MAX_OVERHEAD: Final = 16

_local = threading.local()


@functools.cache
def _compress_ctx() -> Any | None:
    try:
        lib = ctypes.CDLL(numcodecs.blosc.__file__)
        func = lib.blosc_compress_ctx
    except (OSError, AttributeError):
        return None
    func.restype = ctypes.c_int
    func.argtypes = [
        ctypes.c_int,  # clevel
        ctypes.c_int,  # doshuffle
        ctypes.c_size_t,  # typesize
        ctypes.c_size_t,  # nbytes
        ctypes.c_void_p,  # src
        ctypes.c_void_p,  # dest
        ctypes.c_size_t,  # destsize
        ctypes.c_char_p,  # compressor name
        ctypes.c_size_t,  # blocksize
        ctypes.c_int,  # internal threads
    ]
    return func


class BloscInto:
    """Encode like *codec* (a ``numcodecs.Blosc``) into a buffer reused by the calling thread."""

    def __init__(self, codec: numcodecs.Blosc, func: Any) -> None:
        self._func = func
        self._cname = str(codec.cname).encode("ascii")
        self._clevel = int(codec.clevel)
        self._shuffle = int(codec.shuffle)
        self._blocksize = int(codec.blocksize)
        if self._shuffle == numcodecs.Blosc.AUTOSHUFFLE:
            raise ValueError("AUTOSHUFFLE depends on the item size: resolve it before")

    def encode(self, chunk: np.ndarray) -> memoryview:
        """The Blosc frame of *chunk* (C-contiguous), valid until this thread's next call."""
        if not chunk.flags.c_contiguous:
            raise ValueError("BloscInto.encode takes a C-contiguous array")
        need = chunk.nbytes + MAX_OVERHEAD
        dest: np.ndarray | None = getattr(_local, "dest", None)
        if dest is None or dest.nbytes < need:
            dest = np.empty(need, dtype=np.uint8)
            _local.dest = dest
        size = self._func(
            self._clevel,
            self._shuffle,
            chunk.dtype.itemsize,
            chunk.nbytes,
            chunk.ctypes.data,
            dest.ctypes.data,
            dest.nbytes,
            self._cname,
            self._blocksize,
            1,  # c-blosc threads: the caller's threads encode chunks side by side
        )
        if size <= 0:
            raise RuntimeError(f"blosc could not compress a chunk of {chunk.nbytes} bytes (error {size})")
        return memoryview(dest)[:size]


def into_buffer(codec: numcodecs.Blosc) -> BloscInto | None:
    """An encoder into a reused buffer giving *codec*'s bytes, or None when c-blosc is not reachable."""
    func = _compress_ctx()
    if func is None or codec.shuffle == numcodecs.Blosc.AUTOSHUFFLE:
        return None
    return BloscInto(codec, func)


@functools.cache
def _malloc_trim() -> Any:
    try:
        func = ctypes.CDLL(None).malloc_trim  # glibc; other C libraries have no such call
    except (OSError, AttributeError):
        return None
    func.restype = ctypes.c_int
    func.argtypes = [ctypes.c_size_t]
    return func


def trim_freed() -> None:
    """Give the allocator's freed pages back to the system (glibc ``malloc_trim``; elsewhere nothing).

    c-blosc allocates and frees its block buffers (half a MiB for 1 MiB chunks) at every call; in a
    writer thread's allocator arena these frees fragment the heap, which grows to about 3 MiB resident
    and keeps it. Trimming every few chunks keeps a thread at about 2 MiB (the chunk buffer and one
    call's blocks) for about 0.1 ms per trim.
    """
    func = _malloc_trim()
    if func is not None:
        func(0)


def release() -> None:
    """Drop the calling thread's buffer (a thread that ends drops it anyway)."""
    _local.__dict__.pop("dest", None)
