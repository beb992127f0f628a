"""zarr.codec_registry for neuroconv under zarr 3 (hdmf_zarr/_neuroconv_compat.py).

neuroconv <= 0.10.2 reads ``zarr.codec_registry`` when its Zarr configuration module is imported; the
real neuroconv runs against it in tests/clients. Here: the name appears only when neuroconv is installed
and zarr lacks it, and is never replaced.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numcodecs.registry
import pytest
import zarr

from hdmf_zarr import _neuroconv_compat as compat


@pytest.fixture
def zarr_without_registry() -> Iterator[None]:
    saved = zarr.__dict__.pop(compat.REGISTRY_NAME, None)
    yield
    zarr.__dict__.pop(compat.REGISTRY_NAME, None)
    if saved is not None:
        setattr(zarr, compat.REGISTRY_NAME, saved)


@pytest.fixture
def neuroconv_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A package named neuroconv on sys.path (install() only looks for it, never imports it)."""
    (tmp_path / "neuroconv").mkdir()
    (tmp_path / "neuroconv" / "__init__.py").write_text("raise ImportError('install() must not import me')\n")
    monkeypatch.syspath_prepend(str(tmp_path))


@pytest.mark.usefixtures("zarr_without_registry")
def test_nothing_is_added_without_neuroconv() -> None:
    if compat.importlib.util.find_spec("neuroconv") is not None:
        pytest.skip("neuroconv is installed in this environment")
    assert compat.install() is False
    assert not hasattr(zarr, compat.REGISTRY_NAME)


@pytest.mark.usefixtures("zarr_without_registry", "neuroconv_installed")
def test_numcodecs_registry_is_given_to_zarr_when_neuroconv_is_installed() -> None:
    assert compat.install() is True
    registry = zarr.codec_registry  # type: ignore[attr-defined]
    assert registry is numcodecs.registry.codec_registry
    assert registry["gzip"] is numcodecs.GZip  # what neuroconv instantiates by name


@pytest.mark.usefixtures("zarr_without_registry", "neuroconv_installed")
def test_an_existing_name_is_never_replaced() -> None:
    mine: dict[str, type] = {}
    setattr(zarr, compat.REGISTRY_NAME, mine)
    assert compat.install() is False
    assert zarr.codec_registry is mine  # type: ignore[attr-defined]
