"""Shared fixtures: ``store`` (every store kind) and ``disk_store`` (kinds that live on disk)."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

from hdmf_zarr.testing import DISK_KINDS, available_store_kinds, store_fixture

# Hypothesis: no per-example deadline (a slow CI machine must not fail a law), modest example counts.
settings.register_profile(
    "hdmf_zarr", deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("hdmf_zarr")

store = store_fixture()
disk_store = store_fixture([k for k in available_store_kinds() if k in DISK_KINDS], name="disk_store")

pytest_plugins = ["support.fixtures", "peers.fixtures"]
