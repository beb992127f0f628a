"""Laws of the parallel-write planner: groups of buffer selections never share a stored write unit."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from hdmf_zarr.parallel import Selection, group_selections, split_evenly


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


@given(st.lists(st.integers(), max_size=50), st.integers(1, 8))
def test_split_evenly_keeps_order_and_balances(items: list[int], parts: int) -> None:
    runs = split_evenly(items, parts)
    assert list(itertools.chain(*runs)) == items
    assert len(runs) <= parts
    if runs:
        assert max(map(len, runs)) - min(map(len, runs)) <= 1
