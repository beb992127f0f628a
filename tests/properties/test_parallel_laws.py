"""Laws of the parallel-write planner: groups of buffer selections never share a stored write unit."""

from __future__ import annotations

import itertools
import multiprocessing

from hypothesis import given
from hypothesis import strategies as st

from hdmf_zarr.parallel import Selection, group_selections
from hdmf_zarr.taskpool import _Claims


@st.composite
def grids(draw: st.DrawFn) -> tuple[tuple[int, ...], tuple[int, ...], list[Selection]]:
    """A shape, a write-unit shape and a partition of the shape into boxes (a buffer grid)."""
    ndim = draw(st.integers(1, 3))
    shape = tuple(draw(st.integers(1, 40)) for _ in range(ndim))
    unit = tuple(draw(st.integers(1, n)) for n in shape)
    axes = []
    for n in shape:
        cuts = sorted(draw(st.sets(st.integers(1, n - 1), max_size=4)) if n > 1 else set())
        bounds = [0, *cuts, n]
        axes.append([slice(a, b) for a, b in itertools.pairwise(bounds)])
    return shape, unit, [tuple(box) for box in itertools.product(*axes)]


def _units(sel: Selection, unit: tuple[int, ...]) -> set[tuple[int, ...]]:
    ranges = [range(s.start // u, -(-s.stop // u)) for s, u in zip(sel, unit, strict=True)]
    return set(itertools.product(*ranges))


@given(grids())
def test_groups_partition_the_selections_and_share_no_unit(
    grid: tuple[tuple[int, ...], tuple[int, ...], list[Selection]],
) -> None:
    shape, unit, selections = grid
    groups = group_selections(selections, unit, shape)
    assert sorted(map(repr, itertools.chain(*groups))) == sorted(map(repr, selections))
    owners: dict[tuple[int, ...], int] = {}
    for g, group in enumerate(groups):
        for sel in group:
            for u in _units(sel, unit):
                assert owners.setdefault(u, g) == g


@given(grids())
def test_aligned_selections_are_each_their_own_group(
    grid: tuple[tuple[int, ...], tuple[int, ...], list[Selection]],
) -> None:
    shape, _, selections = grid
    groups = group_selections(selections, (1,) * len(shape), shape)
    assert len(groups) == len(selections)


@given(st.integers(0, 40), st.integers(1, 6), st.lists(st.integers(0, 5), max_size=200))
def test_every_task_is_claimed_once_and_each_process_starts_with_its_own(
    total: int, processes: int, turns: list[int]
) -> None:
    # Processes take turns in any order (as they would, at different speeds); each starts with task k.
    processes = max(1, min(processes, total))
    ctx = multiprocessing.get_context("spawn")
    claims = _Claims(ctx.Value("q", processes), ctx.Event(), total=total)
    tasks = list(range(total))
    streams = [claims.claimed(tasks, k, lambda _: None) for k in range(min(processes, total))]
    taken: list[list[int]] = [[] for _ in streams]
    order = [t % len(streams) for t in turns] if streams else []
    for k in [*order, *itertools.chain.from_iterable(itertools.repeat(range(len(streams)), total + 1))]:
        item = next(streams[k], None)
        if item is not None:
            taken[k].append(item)
    assert sorted(itertools.chain(*taken)) == tasks
    assert all(run[0] == k for k, run in enumerate(taken))


def test_a_stopped_run_claims_nothing_more() -> None:
    ctx = multiprocessing.get_context("spawn")
    claims = _Claims(ctx.Value("q", 2), ctx.Event(), total=10)
    first = claims.claimed(list(range(10)), 0, lambda _: None)
    assert next(first) == 0
    claims.stop.set()
    assert list(first) == []
    assert list(claims.claimed(list(range(10)), 1, lambda _: None)) == []
