"""A cached virtual environment holding the real client tools: neuroconv, nwbinspector, spikeinterface,
xarray, installed after this checkout the way a user would (ours first, then the clients).

Like the peers' venvs (tests/peers/venvs.py) it lives under ``$HDMF_ZARR_PEER_CACHE`` (default
``~/.cache/hdmf_zarr_peers``), is built once under a lock against parallel test workers, gets its marker
only after a working install, and is never the project's own environment. Its name carries a hash of
the pins and of our dependencies, so changing either builds a new one.

The scripts run with this checkout's ``src`` first on ``PYTHONPATH`` (the code under test); the copy
installed at build time is what pip resolved the clients against (tests/interop/test_clients.py checks
it is ours and that zarr stayed 3.x).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tomllib
from pathlib import Path

from peers.venvs import TESTS, _clean_env, cache_dir, find_python

CHECKOUT = TESTS.parent
PYTHON_MINOR = "3.12"

#: The client versions these tests were verified with (README "Works with").
CLIENTS = {
    "neuroconv": "0.10.2",
    "nwbinspector": "0.7.2",
    "spikeinterface": "0.105.3",
    "xarray": "2026.9.0",
}
#: spikeinterface 0.105.3 requires zarr<3 on Python < 3.14 (for its own zarr format, not for reading
#: NWB). Installed normally it makes pip replace ours with PyPI's hdmf-zarr 0.13 and zarr 2, so it is
#: installed as a user keeping zarr 3 must: its other requirements first, then itself with --no-deps.
SPIKEINTERFACE_DEPS = (
    "neo>=0.14.5",
    "probeinterface>=0.4.0",
    "threadpoolctl>=3.0.0",
    "tqdm",
    "pydantic",
    "packaging",
)
#: What the scripts need besides the clients: the test cases' CSRMatrix (tests/content) needs scipy.
SCRIPT_DEPS = ("scipy",)
MARKER = ".hdmf-zarr-clients-ok"
_PROBE = """
import importlib.metadata as m, json
import hdmf_zarr, neuroconv, nwbinspector, spikeinterface, xarray, zarr
print(json.dumps({d: m.version(d) for d in ("hdmf_zarr", "zarr", "neuroconv", "nwbinspector",
                                             "spikeinterface", "xarray")}))
"""


def _our_dependencies() -> list[str]:
    project = tomllib.loads((CHECKOUT / "pyproject.toml").read_text())["project"]
    return list(project["dependencies"])


def venv_name() -> str:
    pins = [PYTHON_MINOR, CLIENTS, SPIKEINTERFACE_DEPS, SCRIPT_DEPS, _our_dependencies()]
    key = json.dumps(pins, sort_keys=True)
    return f"clients-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def installed_versions(python: Path) -> dict[str, str] | None:
    """The versions of ours, zarr and the clients installed in the venv (None if one does not import).

    Run without PYTHONPATH: this is what the clients' install left, not the checkout under test.
    """
    result = subprocess.run(
        [str(python), "-c", _PROBE], capture_output=True, text=True, env=_clean_env(None), check=False
    )
    if result.returncode != 0:
        return None
    versions: dict[str, str] = json.loads(result.stdout.strip().splitlines()[-1])
    return versions


def _works(python: Path) -> bool:
    versions = installed_versions(python)
    return (
        versions is not None
        and versions["zarr"].startswith("3.")
        and all(versions[name] == pin for name, pin in CLIENTS.items())
    )


def ensure_clients() -> Path:
    """Return the python executable of the cached clients venv, building it if needed (~2 minutes)."""
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    name = venv_name()
    target = root / name
    python = target / "bin" / "python"
    with open(root / f".lock-{name}", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / MARKER).exists() and python.exists():
            return python
        shutil.rmtree(target, ignore_errors=True)
        subprocess.run([find_python(PYTHON_MINOR), "-m", "venv", str(target)], check=True)
        pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        env = _clean_env(None)
        subprocess.run([*pip, str(CHECKOUT)], check=True, env=env)  # ours first, from this checkout
        others = [f"{n}=={v}" for n, v in CLIENTS.items() if n != "spikeinterface"]
        subprocess.run([*pip, *others], check=True, env=env)
        subprocess.run([*pip, *SPIKEINTERFACE_DEPS, *SCRIPT_DEPS], check=True, env=env)
        spikeinterface = f"spikeinterface=={CLIENTS['spikeinterface']}"
        subprocess.run([*pip, "--no-deps", spikeinterface], check=True, env=env)
        if not _works(python):
            raise RuntimeError(
                f"The clients venv {target} does not hold the pinned clients with zarr 3: "
                f"{installed_versions(python)}"
            )
        (target / MARKER).write_text(json.dumps(installed_versions(python)))
    return python


def run_client(script: str, *args: str, timeout: float = 900) -> str:
    """Run ``tests/clients/scripts/<script>`` in the clients venv with this checkout's src first."""
    python = ensure_clients()
    env = _clean_env({"PYTHONPATH": os.pathsep.join([str(TESTS), str(CHECKOUT / "src")])})
    cmd = [str(python), str(TESTS / "clients" / "scripts" / script), *args]
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout, check=False)
    if result.returncode != 0:
        raise AssertionError(
            f"{script} {' '.join(args)} failed in the clients venv (exit {result.returncode}):\n"
            f"--- stdout\n{result.stdout[-6000:]}\n--- stderr\n{result.stderr[-10000:]}"
        )
    return result.stdout


if __name__ == "__main__":  # python tests/clients/venv.py: build the cache ahead of time
    print(ensure_clients())
