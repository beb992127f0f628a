"""Produce the next item of a blocking iterator in a thread while the caller stores the current one.

Layer: write. Iterator writes are the sum of producing buffers and encoding + storing them; overlapping
the two makes them close to the larger of the two. At most two items are alive at once (the one the
caller holds and the one being produced), so memory stays bounded by two buffers.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Iterator
from typing import Any, Final

_END: Final = object()


def _next(it: Iterator[Any]) -> Any:
    return next(it, _END)


async def prefetched(it: Iterator[Any]) -> AsyncGenerator[Any, None]:
    """Yield the items of *it*; while the caller handles one, the next is produced in a thread.

    Use it with ``contextlib.aclosing`` so that a failure in the caller waits for the item being
    produced (the iterator is never advanced by two threads, nor left running after the write).
    """
    loop = asyncio.get_running_loop()
    pending: asyncio.Future[Any] = loop.run_in_executor(None, _next, it)
    try:
        while True:
            item = await pending
            if item is _END:
                return
            pending = loop.run_in_executor(None, _next, it)
            yield item
    finally:
        if not pending.done():
            with contextlib.suppress(Exception):  # the caller's error is the one to report
                await asyncio.shield(pending)
