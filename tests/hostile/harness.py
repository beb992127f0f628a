"""Run the hostile corpus against a reader in child processes, bounded in memory and time.

A counting HTTP server on 127.0.0.1 serves a valid store, so that a followed link shows up as
requests. Each case runs in its own process (``attack.py``) under an address-space limit and a
timeout; the outcome is classified from its exit status and its ``RESULT`` line.
"""

from __future__ import annotations

import collections
import functools
import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Collection, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.hostile.corpus import CASES, Case, Env, build

ATTACK = Path(__file__).with_name("attack.py")
#: Address space of one child: imports take about 1.5 GiB of it; a 2.4 GiB bomb does not fit.
LIMIT_BYTES = 4 * 2**30
TIMEOUT_S = 180.0


class CountingServer:
    """A threaded HTTP file server on 127.0.0.1 that counts the requests it answers."""

    def __init__(self, folder: Path) -> None:
        self.counts: collections.Counter[str] = collections.Counter()
        lock = threading.Lock()
        counts = self.counts

        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                with lock:
                    counts[self.path.split("/")[1] if "/" in self.path else self.path] += 1

        handler = functools.partial(Handler, directory=str(folder))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def total(self) -> int:
        return sum(self.counts.values())

    def __enter__(self) -> CountingServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)


@dataclass
class Outcome:
    case: str
    kind: str  # clear-error, unclear-error, ok, outside-read, network, memory, crash, hang
    detail: str
    result: dict[str, Any] = field(default_factory=dict)
    http_requests: int = 0

    def cell(self) -> str:
        return f"{self.kind}: {self.detail}" if self.detail else self.kind


@contextmanager
def corpus(root: Path) -> Iterator[tuple[Env, CountingServer]]:
    """Prepare the corpus folder (base files, sentinels) with its counting server running."""
    from tests.hostile.corpus import prepare

    (root / "served").mkdir(parents=True, exist_ok=True)
    with CountingServer(root / "served") as server:
        yield prepare(root, server.url), server


def _names_file_and_node(text: str, store: Path, node: str) -> bool:
    return store.name in text and node in text


def classify(
    case: Case, store: Path, proc: subprocess.CompletedProcess[str] | None, *, allowed: bool = False
) -> Outcome:
    """The outcome of one run: what the reader did with the hostile store."""
    if proc is None:
        return Outcome(case.name, "hang", f"killed after {TIMEOUT_S:.0f} s")
    line = next((ln for ln in reversed(proc.stdout.splitlines()) if ln.startswith("RESULT ")), None)
    if line is None:
        tail = (proc.stderr.strip().splitlines() or [""])[-1][:200]
        how = f"signal {-proc.returncode}" if proc.returncode < 0 else f"exit {proc.returncode}"
        return Outcome(case.name, "crash", f"{how} {tail}".strip())
    result = json.loads(line[len("RESULT ") :])
    escapes = result.get("escapes", [])
    opens = [e for e in escapes if e.startswith("open")]
    if opens or result.get("outside_data"):
        return Outcome(case.name, "outside-read", (opens or ["outside data returned"])[0][:120], result)
    if escapes and not allowed:  # a reader given allowed_sources may connect
        return Outcome(case.name, "network", escapes[0][:120], result)
    if result["outcome"] == "ok":
        return Outcome(case.name, "ok", "", result)
    kind = result["type"]
    if kind in ("MemoryError", "RecursionError"):
        return Outcome(case.name, "memory" if kind == "MemoryError" else "crash", kind, result)
    text = result["message"] + " " + result.get("cause", "")
    clear = _names_file_and_node(result["message"], store, case.node)
    return Outcome(case.name, "clear-error" if clear else "unclear-error", f"{kind}", result | {"text": text})


def run_case(case: Case, env: Env, python: str, child_env: Mapping[str, str], *, ours: bool) -> Outcome:
    store = build(case, env)
    allow = [a.replace("{http}", f"{env.http_url}/served.zarr") for a in case.allow] if ours else []
    cmd = [python, str(ATTACK), str(store), str(env.outside), *allow]
    full = {**child_env, "HOSTILE_LIMIT_BYTES": str(LIMIT_BYTES)}
    try:
        proc = subprocess.run(
            cmd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env=full,
            timeout=TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        proc = None
    return classify(case, store, proc, allowed=bool(allow))


def ours_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2] / "src")
    return env


def peer_env(version: str) -> tuple[str, dict[str, str]]:
    from tests.peers.venvs import PEERS, ensure_peer

    python = str(ensure_peer(version))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(dict(PEERS[version].env))
    return python, env


def run_all(
    env: Env,
    server: CountingServer,
    *,
    python: str,
    child_env: Mapping[str, str],
    ours: bool,
    workers: int = 2,
    names: Collection[str] | None = None,
) -> dict[str, Outcome]:
    """Every case, a few at a time; HTTP requests are counted per case by running those alone."""
    only = [w for w in os.environ.get("HOSTILE_ONLY", "").split(",") if w]
    cases = [
        c
        for c in CASES
        if (not only or any(w in c.name for w in only)) and (names is None or c.name in names)
    ]
    http_cases = [c for c in cases if "http" in c.name]
    others = [c for c in cases if c not in http_cases]
    out: dict[str, Outcome] = {}
    for case in http_cases:  # serially, so the request count belongs to this case
        before = server.total()
        outcome = run_case(case, env, python, child_env, ours=ours)
        outcome.http_requests = server.total() - before
        out[case.name] = outcome
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for outcome in pool.map(lambda c: run_case(c, env, python, child_env, ours=ours), others):
            out[outcome.case] = outcome
    return {c.name: out[c.name] for c in cases}


if __name__ == "__main__":  # python -m tests.hostile.harness <folder>: ours, printed
    import tempfile

    with (
        tempfile.TemporaryDirectory() as tmp,
        corpus(Path(sys.argv[1] if len(sys.argv) > 1 else tmp)) as (e, s),
    ):
        for name, o in run_all(e, s, python=sys.executable, child_env=ours_env(), ours=True).items():
            print(f"{name:32} {o.cell():60} http={o.http_requests} {json.dumps(o.result)[:300]}")
