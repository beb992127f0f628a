"""Run a snippet of Python in a child process with this checkout's src first on its path: for reads
that could crash or hang the interpreter, so that a crash or a hang fails the test instead of ending or
stalling the session."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"


def run_child(code: str, *args: str, env: dict[str, str] | None = None, timeout: float = 120) -> str:
    """The standard output of ``python -c code args...``; fails the test unless the child exits with 0.
    *env*: variables set (or, with an empty value, removed) on top of this process's environment."""
    child_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "HDMF_ZARR_CODEC_PIPELINE")}
    child_env["PYTHONPATH"] = str(SRC)
    for key, value in (env or {}).items():
        if value:
            child_env[key] = value
        else:
            child_env.pop(key, None)
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        env=child_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"the child exited with {result.returncode}:\n{result.stderr[-2000:]}"
    return result.stdout
