"""Progress of long writes and conversions: datasets and bytes, reported through a small callback API.

Layer: primitives. Writers call :func:`advance` (bytes stored, datasets finished) wherever they are,
including worker threads; nothing is shown unless a reporter is active (:func:`activate`). The library
never shows progress unless asked (``progress=True``); the command line shows tqdm bars when stderr is
a terminal. A reporter is any object with ``advance(nbytes, datasets)`` and ``close()``, so parallel
writers and other front ends can plug in their own.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol


class Reporter(Protocol):
    """Receives progress: *nbytes* stored and *datasets* finished since the last call."""

    def advance(self, nbytes: int = 0, datasets: int = 0) -> None: ...

    def close(self) -> None: ...


class Tally:
    """A reporter that only counts (tests, logs, and callers that poll)."""

    def __init__(self) -> None:
        self.nbytes = 0
        self.datasets = 0
        self._lock = threading.Lock()

    def advance(self, nbytes: int = 0, datasets: int = 0) -> None:
        with self._lock:
            self.nbytes += nbytes
            self.datasets += datasets

    def close(self) -> None:
        return None


class TqdmReporter:
    """Two tqdm bars on stderr: datasets finished and bytes stored (needs the ``progress`` extra)."""

    def __init__(self, *, total_bytes: int | None, total_datasets: int | None, desc: str) -> None:
        try:
            from tqdm.auto import tqdm
        except ImportError as exc:  # the extra is optional
            raise ImportError("Progress bars need tqdm: pip install 'hdmf-zarr[progress]'.") from exc
        self._lock = threading.Lock()
        self._datasets: Any = tqdm(total=total_datasets, desc=f"{desc} datasets", unit="ds", position=0)
        self._bytes: Any = tqdm(
            total=total_bytes, desc=f"{desc} bytes", unit="B", unit_scale=True, unit_divisor=1024, position=1
        )

    def advance(self, nbytes: int = 0, datasets: int = 0) -> None:
        with self._lock:
            if nbytes:
                self._bytes.update(nbytes)
            if datasets:
                self._datasets.update(datasets)

    def close(self) -> None:
        self._bytes.close()
        self._datasets.close()


_active: list[Reporter] = []
_guard = threading.Lock()
_node: list[str] = []  # the node most recently started (error messages name it)


def at(node: str) -> None:
    """Note that *node* (an in-file path) is being written now."""
    _node[:] = [node]


def current_node() -> str | None:
    """The node most recently noted by :func:`at` (None before any)."""
    return _node[0] if _node else None


def advance(nbytes: int = 0, datasets: int = 0) -> None:
    """Report progress to the active reporter, if any (cheap when none is active)."""
    if _active:
        _active[-1].advance(nbytes=int(nbytes), datasets=int(datasets))


def active() -> Reporter | None:
    """The reporter progress goes to now, or None."""
    return _active[-1] if _active else None


@contextmanager
def activate(reporter: Reporter | None) -> Iterator[Reporter | None]:
    """Send progress to *reporter* inside the block (None: leave the current one); closes it after."""
    if reporter is None:
        yield None
        return
    with _guard:
        _active.append(reporter)
    try:
        yield reporter
    finally:
        with _guard:
            _active.remove(reporter)
        reporter.close()


def wants_bars(progress: bool | None) -> bool:
    """Whether to show bars: ``True``/``False`` as given; ``None`` (the CLI default) when stderr is a TTY."""
    if progress is not None:
        return progress
    if os.environ.get("CI"):  # never in CI logs, even on a pseudo-terminal
        return False
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


def bars(
    progress: bool | None, *, total_bytes: int | None, total_datasets: int | None, desc: str
) -> Reporter | None:
    """A tqdm reporter when :func:`wants_bars`, else None."""
    if not wants_bars(progress):
        return None
    return TqdmReporter(total_bytes=total_bytes, total_datasets=total_datasets, desc=desc)
