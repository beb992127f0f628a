"""The ``peer_file`` fixture: test cases written once per session by a peer (registered in conftest)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from peers.venvs import run_peer


@pytest.fixture(scope="session")
def peer_file(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, str], Path]:
    """Return a function (version, case) -> path of that case written by that peer version (cached)."""
    made: dict[tuple[str, str], Path] = {}

    def make(version: str, case: str) -> Path:
        if (version, case) not in made:
            out = tmp_path_factory.mktemp(f"peer-{version}") / f"{case}.zarr"
            run_peer(version, "write_case.py", case, str(out))
            made[version, case] = out
        return made[version, case]

    return make
