"""Cached virtual environments holding the peer package (hdmf-zarr) for interoperability tests.

The peer shares our import name, so it never enters the project's environment: each version lives in
its own venv under ``$HDMF_ZARR_PEER_CACHE`` (default ``~/.cache/hdmf_zarr_peers``), built once
under a lock against parallel test workers, with a marker written only after a working install,
and reused by later runs and CI.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Peer:
    version: str
    python_minor: str  # the interpreter the peer needs
    env: tuple[tuple[str, str], ...] = ()


PEERS = {
    "0.14.0": Peer("0.14.0", "3.12"),
    # 0.13 writes legacy pickled reference datasets, which numcodecs refuses to decode by default.
    "0.13.0": Peer("0.13.0", "3.11", (("NUMCODECS_ALLOW_UNSAFE_PICKLE_DECODE", "1"),)),
}
MARKER = ".hdmf-zarr-peer-ok"


def cache_dir() -> Path:
    return Path(os.environ.get("HDMF_ZARR_PEER_CACHE", Path.home() / ".cache" / "hdmf_zarr_peers"))


def find_python(minor: str) -> str:
    """Return a python<minor> interpreter, or raise with what to install."""
    candidates = [shutil.which(f"python{minor}")]
    candidates += sorted(str(p) for p in Path.home().glob(f".pyenv/versions/{minor}.*/bin/python{minor}"))
    candidates += [f"/usr/local/bin/python{minor}", f"/usr/bin/python{minor}"]
    for c in candidates:
        # A pyenv shim exists on PATH even when that version is not selected, and then exits 127.
        if c and Path(c).exists() and _runs(c, minor):
            return c
    raise RuntimeError(
        f"The interoperability tests need Python {minor} to run the peer hdmf-zarr; none was found. "
        f"Install it (e.g. 'pyenv install {minor}') or put python{minor} on PATH."
    )


def _runs(python: str, minor: str) -> bool:
    probe = "import sys; print('%d.%d' % sys.version_info[:2])"
    try:
        result = subprocess.run(
            [python, "-c", probe], capture_output=True, text=True, timeout=60, check=False
        )
    except OSError:
        return False
    return result.returncode == 0 and result.stdout.strip() == minor


def _works(python: Path, version: str) -> bool:
    probe = "import hdmf_zarr, pynwb, scipy, importlib.metadata as m; print(m.version('hdmf-zarr'))"
    result = subprocess.run([python, "-c", probe], capture_output=True, text=True, check=False)
    return result.returncode == 0 and result.stdout.strip() == version


def ensure_peer(version: str) -> Path:
    """Return the python executable of the cached venv holding hdmf-zarr==*version*, building it if needed."""
    peer = PEERS[version]
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    target = root / f"peer-{version}"
    python = target / "bin" / "python"
    with open(root / f".lock-{version}", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / MARKER).exists() and python.exists():
            return python
        if python.exists() and _works(python, version):
            (target / MARKER).write_text(version)
            return python
        # Built in place under the lock; the marker is written last, so a half-built venv is rebuilt.
        shutil.rmtree(target, ignore_errors=True)
        subprocess.run([find_python(peer.python_minor), "-m", "venv", str(target)], check=True)
        pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, f"hdmf-zarr=={version}", "pynwb", "scipy", "s3fs"], check=True)
        if not _works(python, version):
            raise RuntimeError(f"hdmf-zarr {version} does not import in {target}")
        (target / MARKER).write_text(version)
    return python


def _run(
    python: str, label: str, script: str, args: tuple[str, ...], env: dict[str, str], timeout: float
) -> str:
    cmd = [python, str(TESTS / "peers" / "scripts" / script), *args]
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout, check=False)
    if result.returncode != 0:
        raise AssertionError(
            f"{label} failed running {script} {' '.join(args)} (exit {result.returncode}):\n"
            f"--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-8000:]}"
        )
    return result.stdout


def _clean_env(extra: Mapping[str, str] | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(extra or {})
    return env


def run_peer(
    version: str, script: str, *args: str, env: Mapping[str, str] | None = None, timeout: float = 600
) -> str:
    """Run ``tests/peers/scripts/<script>`` with the peer; return stdout, or raise with its output."""
    python = ensure_peer(version)
    full = _clean_env(env)
    full["PYTHONPATH"] = str(TESTS)  # content/, peers/ shared; never our src/
    full.update(dict(PEERS[version].env))
    return _run(str(python), f"hdmf-zarr {version}", script, args, full, timeout)


def run_ours(script: str, *args: str, env: Mapping[str, str] | None = None, timeout: float = 600) -> str:
    """Run the same script with this package in a fresh process (nothing loaded beforehand, e.g. an
    extension that must come from a file's cached spec); return stdout, or raise with its output."""
    full = _clean_env(env)
    full["PYTHONPATH"] = os.pathsep.join([str(TESTS), str(TESTS.parent / "src")])
    return _run(sys.executable, "hdmf_zarr (ours)", script, args, full, timeout)


if __name__ == "__main__":  # python tests/peers/venvs.py 0.14.0 0.13.0: build the caches ahead of time
    for v in sys.argv[1:] or list(PEERS):
        print(v, ensure_peer(v))
