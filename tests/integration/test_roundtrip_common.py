"""Round trips of hdmf-common types over every store kind, compared with hdmf's assertContainerEqual."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pytest
from hdmf.common import (
    AlignedDynamicTable,
    CSRMatrix,
    DynamicTable,
    DynamicTableRegion,
    SimpleMultiContainer,
    VectorData,
    VectorIndex,
    get_manager,
)
from hdmf.container import Container
from hdmf.testing import TestCase

from hdmf_zarr import ZarrIO
from hdmf_zarr.store import StoreLike

# The region target is a sibling of the table, not an ancestor: hdmf says so, and it is intended here.
# EnumData is experimental in hdmf, which warns whenever one is built, also on read.
pytestmark = [
    pytest.mark.filterwarnings("ignore:The linked table for DynamicTableRegion"),
    pytest.mark.filterwarnings("ignore:EnumData is experimental"),
]


def _table(name: str = "table") -> DynamicTable:
    table = DynamicTable(name=name, description="every column kind")
    table.add_column("ints", "int column")
    table.add_column("floats", "float column")
    table.add_column("bools", "bool column")
    table.add_column("strs", "text column")
    table.add_column("ragged", "ragged column", index=True)
    table.add_column("doubly_ragged", "doubly ragged column", index=2)
    for k in range(4):
        table.add_row(
            ints=k,
            floats=k * 0.5 - 1.0,
            bools=bool(k % 2),
            strs=f"row {k} ✓",
            ragged=list(range(k + 1)),
            doubly_ragged=[[k] * (j + 1) for j in range(k + 1)],
        )
    return table


def dynamic_table() -> Container:
    target = DynamicTable(
        name="target",
        description="region target",
        columns=[VectorData(name="x", description="x", data=[10, 20, 30])],
    )
    table = _table()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # EnumData is experimental; the region table is a sibling
        table.add_column("region", "region column", table=target, data=[0, 2, 1, 0])
        table.add_column("enum", "enum column", enum=["low", "high"], data=[0, 1, 1, 0])
        table.add_column(
            "region_ragged", "ragged region", table=target, index=[1, 3, 3, 4], data=[0, 1, 2, 2]
        )
    return SimpleMultiContainer(name="root", containers=[table, target])


def empty_table() -> Container:
    columns = [
        VectorData(name="x", description="no data", data=np.zeros(0)),
        VectorData(name="s", description="no text", data=np.array([], dtype=str)),
    ]
    table = DynamicTable(name="empty", description="no rows", columns=columns)
    return SimpleMultiContainer(name="root", containers=[table])


def aligned_table() -> Container:
    cat_a = DynamicTable(
        name="a", description="category a", columns=[VectorData(name="v", description="v", data=[1.0, 2.0])]
    )
    cat_b = DynamicTable(
        name="b",
        description="category b",
        columns=[
            VectorData(name="w", description="w", data=["x", "y"]),
            VectorData(name="n", description="n", data=[3, 4]),
        ],
    )
    aligned = AlignedDynamicTable(
        name="aligned",
        description="aligned",
        category_tables=[cat_a, cat_b],
        columns=[VectorData(name="main", description="main column", data=[True, False])],
    )
    return SimpleMultiContainer(name="root", containers=[aligned])


def csr_matrix() -> Container:
    data = np.array([1.0, 2.0, 3.0, 4.0])
    indices = np.array([0, 2, 2, 1])
    indptr = np.array([0, 2, 3, 4])
    return CSRMatrix(name="root", data=data, indices=indices, indptr=indptr, shape=(3, 3))


def nested_multi_container() -> Container:
    inner = SimpleMultiContainer(name="inner", containers=[csr_matrix_named("m1"), _table("t")])
    return SimpleMultiContainer(
        name="root", containers=[inner, VectorData(name="loose", description="a vector", data=[1, 2])]
    )


def csr_matrix_named(name: str) -> CSRMatrix:
    return CSRMatrix(
        name=name, data=np.array([5, 6], dtype=np.int32), indices=[0, 1], indptr=[0, 1, 2], shape=(2, 2)
    )


CASES: dict[str, Callable[[], Container]] = {
    "dynamic_table": dynamic_table,
    "empty_table": empty_table,
    "aligned_table": aligned_table,
    "csr_matrix": csr_matrix,
    "nested_multi_container": nested_multi_container,
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_common_types_round_trip(store: StoreLike, case: str) -> None:
    written = CASES[case]()
    with ZarrIO(store, mode="w", manager=get_manager()) as io:
        io.write(written)
    with ZarrIO(store, mode="r", manager=get_manager()) as io:
        read = io.read()
        TestCase().assertContainerEqual(written, read, ignore_hdmf_attrs=True)


def test_table_reads_lazily_and_indexes(store: StoreLike) -> None:
    with ZarrIO(store, mode="w", manager=get_manager()) as io:
        io.write(dynamic_table())
    with ZarrIO(store, mode="r", manager=get_manager()) as io:
        table = io.read()["table"]
        assert list(table["ragged"][2]) == [0, 1, 2]
        assert [list(x) for x in table["doubly_ragged"][1]] == [[1], [1, 1]]
        assert table["strs"][3] == "row 3 ✓"
        assert table["region"][1].iloc[0]["x"] == 30  # row 1 refers to row 2 of the target
        assert list(table["enum"][:]) == ["low", "high", "high", "low"]
        frame = table.to_dataframe()
        assert list(frame["ints"]) == [0, 1, 2, 3]
        assert list(frame["bools"]) == [False, True, False, True]
        assert isinstance(table["ragged"], VectorIndex)
        assert isinstance(table["region"], DynamicTableRegion)


def test_container_identity_is_kept(store: StoreLike) -> None:
    """Reading twice from one IO returns the same containers (builders are memoised)."""
    with ZarrIO(store, mode="w", manager=get_manager()) as io:
        io.write(dynamic_table())
    with ZarrIO(store, mode="r", manager=get_manager()) as io:
        first = io.read()
        assert io.read() is first
        assert first["table"]["region"].table is first["target"]
