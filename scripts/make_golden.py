"""Regenerate the golden stores in tests/format/ with the real peers (hdmf-zarr 0.14.0 and 0.13.0).

Run: .venv/bin/python scripts/make_golden.py. Each store is written by the peer in its own cached
virtual environment, read back by the same peer, and what the peer read is saved beside the store
as <case>.expected.json. tests/format/test_golden.py reads every store with this package and compares.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from format.test_golden import GOLDEN_CASES  # noqa: E402
from peers.venvs import run_peer  # noqa: E402

DIALECTS = {"v3_peer014": "0.14.0", "v2_peer013": "0.13.0"}


def main() -> None:
    for folder, version in DIALECTS.items():
        target = ROOT / "tests" / "format" / folder
        target.mkdir(parents=True, exist_ok=True)
        for case in GOLDEN_CASES:
            store = target / f"{case}.zarr"
            shutil.rmtree(store, ignore_errors=True)
            expected = json.loads(run_peer(version, "golden.py", case, str(store)).strip().splitlines()[-1])
            (target / f"{case}.expected.json").write_text(
                json.dumps(expected, indent=1, sort_keys=True) + "\n"
            )
            print(f"{folder}/{case}: {sum(1 for _ in store.rglob('*'))} files")


if __name__ == "__main__":
    main()
