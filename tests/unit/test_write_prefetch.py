"""write/prefetch.py: the next item is produced while the caller handles the current one, two at most."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hdmf_zarr.write.prefetch import prefetched


async def _collect(it: Iterator[int]) -> list[int]:
    async with contextlib.aclosing(prefetched(it)) as items:
        return [x async for x in items]


@given(st.lists(st.integers(), max_size=30))
def test_yields_every_item_in_order(items: list[int]) -> None:
    assert asyncio.run(_collect(iter(items))) == items


class Counting:
    """Counts items produced and not yet released by the consumer; records the largest count."""

    def __init__(self, n: int) -> None:
        self.n, self.i, self.alive, self.peak = n, 0, 0, 0
        self.lock = threading.Lock()
        self.producer_threads: set[int] = set()

    def __iter__(self) -> Iterator[int]:
        return self

    def __next__(self) -> int:
        self.producer_threads.add(threading.get_ident())
        if self.i == self.n:
            raise StopIteration
        self.i += 1
        with self.lock:
            self.alive += 1
            self.peak = max(self.peak, self.alive)
        return self.i

    def release(self) -> None:
        with self.lock:
            self.alive -= 1


def test_the_next_item_is_made_in_another_thread_and_at_most_two_are_alive() -> None:
    source = Counting(20)

    async def consume() -> list[int]:
        seen = []
        async with contextlib.aclosing(prefetched(source)) as items:
            async for x in items:
                await asyncio.sleep(0.001)  # the caller stores x; meanwhile the next one is produced
                seen.append(x)
                source.release()
        return seen

    assert asyncio.run(consume()) == list(range(1, 21))
    assert source.peak <= 2
    assert threading.get_ident() not in source.producer_threads


def test_a_failing_consumer_leaves_no_producer_running() -> None:
    source = Counting(100)

    async def consume() -> None:
        async with contextlib.aclosing(prefetched(source)) as items:
            async for x in items:
                if x == 3:
                    raise ValueError("store failed")

    with pytest.raises(ValueError, match="store failed"):
        asyncio.run(consume())
    produced = source.i
    assert produced <= 4  # the one in hand plus the one being made; nothing ran on after the failure


def test_a_failing_iterator_raises_in_the_caller() -> None:
    def broken() -> Iterator[int]:
        yield 1
        raise OSError("source gone")

    with pytest.raises(OSError, match="source gone"):
        asyncio.run(_collect(broken()))
