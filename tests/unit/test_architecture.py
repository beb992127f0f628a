"""The storage convention is defined once: reserved names appear as literals only in _format.py."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from hdmf_zarr import _format as fmt

SRC = Path(__file__).resolve().parents[2] / "src" / "hdmf_zarr"
RESERVED = sorted(
    {
        fmt.DTYPE_ATTR,
        fmt.LINKS_ATTR,
        fmt.REFERENCE_FIELDS_ATTR,
        fmt.SPECLOC_ATTR,
        fmt.DIMENSIONS_ATTR,
        fmt.REFERENCE_KEY,
        fmt.V2_LINKS_ATTR,
        fmt.V2_DTYPE_ATTR,
        fmt.DTYPE_OBJECT_REFERENCE,
        fmt.WRITE_MARK_KEY,
        fmt.NAME_ATTR,
        fmt.SHORTENED_KEY_MARK,
    }
)


def _string_literals(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    }


@pytest.mark.parametrize("module", sorted(p for p in SRC.rglob("*.py") if p.name != "_format.py"), ids=str)
def test_reserved_names_only_in_format(module: Path) -> None:
    found = _string_literals(module) & set(RESERVED)
    assert not found, (
        f"{module.relative_to(SRC)} spells reserved names {sorted(found)}; use hdmf_zarr._format"
    )


def test_the_scan_sees_format_literals() -> None:
    # Guard against a scan that can never fail: _format.py itself must show every reserved literal.
    assert set(RESERVED) <= _string_literals(SRC / "_format.py")
