"""Run hdmf-zarr 0.14.0's own unit tests (from its sdist) against this checkout, and count the outcomes.

    python scripts/peer_suite.py              # ours: this checkout's src first on PYTHONPATH
    python scripts/peer_suite.py --peer       # the peer itself (its sdist's src), same selection
    python scripts/peer_suite.py -k write_dataset --failures

The sdist is downloaded once (``pip download``, no install) into ``$HDMF_ZARR_PEER_CACHE`` (default
``~/.cache/hdmf_zarr_peers``) and unpacked there. Tests run with this interpreter (the project's venv)
in a scratch working directory (the peer's tests write relative paths). Left out, because they need
what this machine does not have: the network (test_fsspec_streaming), zindi (test_zindi_interop) and
the peer's generated Zarr v2 fixture file, which its sdist ships incomplete (the four classes that
read all of it, which the peer fails too: its electrodes table lacks the ``group`` column). The
outcome of every test is written as JSON (``--report``) so docs/peer-suite.md can classify each
failure.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

VERSION = "0.14.0"
REPO = Path(__file__).resolve().parents[1]
#: Files and classes that need the network, zindi or the peer's incomplete v2 fixture.
EXCLUDED = (
    "tests/unit/test_fsspec_streaming.py",
    "tests/unit/test_zindi_interop.py",
)
DESELECTED = tuple(
    f"tests/unit/test_zarrv2_backward_compat.py::{cls}"
    for cls in (
        "TestV2BackwardCompat",
        "TestV2ExportToV3",
        "TestV2CachedNamespaces",
        "TestV2ConversionRefusesToDropEntries",
    )
)


#: Every known failure of ours, by class (docs/peer-suite.md explains each): (class, test-id regexes).
KNOWN: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("private internals of the peer", (
        r"__list_fill__|test_list_fill_empty", r"TestResolveCompoundDtype", r"TestCopyArray",
        r"test_force_open_without_consolidated_fails", r"TestV2ObjectChunkDecoding",
        r"test_protocol_urls_use_zarr_open_without_storage_options", r"test_parallel_write",
        r"TestHDMFZarrArray", r"test_1d_is_lazily_decoded_to_object_str",
    )),
    ("mode 'w' writes aside until close()", (
        r"ZarrWriteUnit.*::test_link_(zarr_dataset|dataset_zarrdataio)_input",
    )),
    ("intentional difference", (
        r"TestV2ReadWithV3Backend", r"TestCompoundStringWidthCheck",
        r"test_write_attributes_write_set_of_strings", r"TestZarrDataIODeprecatedCompressor",
        r"TestScalarDataset::test_compound_with_reference_field", r"test_non_Zarr_src_link_data_true",
        r"TestPickleGateOnOpenedArrays", r"test_resolve_self_reference_bad_path",
        r"TestOverwriteExistingFile", r"test_local_paths_made_absolute", r"test_append_external_link_data",
        r"test_write_dataset_compound_dtype",
    )),
    ("wording or representation only", (
        r"test_hdf5_to_zarr_filters_(lzf|scaleoffset)", r"TestNonUTF8BytesDataset",
        r"TestGenerateDatasetHtml",
        r"test_allow_pickle_does_not_permit_a_pickled_spec", r"test_shards_without_chunks_warns",
        r"test_from_h5py_dataset_explicit_codecs_override_inferred_codecs",
    )),
    ("needs the network", (r"test_open_remote_url_without_fsspec",)),
    ("real difference, not fixed", (r"test_write_nested_structured_array_table",)),
)  # fmt: skip


def classify(name: str) -> str:
    """The class of a failing test (KNOWN), or "unclassified"."""
    for label, patterns in KNOWN:
        if any(re.search(p, name) for p in patterns):
            return label
    return "unclassified"


def cache_dir() -> Path:
    return Path(os.environ.get("HDMF_ZARR_PEER_CACHE", Path.home() / ".cache" / "hdmf_zarr_peers"))


def ensure_sdist() -> Path:
    """Return the unpacked sdist of the peer, downloading and unpacking it once (under a lock)."""
    root = cache_dir() / "sdist"
    root.mkdir(parents=True, exist_ok=True)
    unpacked = root / f"hdmf_zarr-{VERSION}"
    marker = root / f".unpacked-{VERSION}"
    with (root / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists():
            return unpacked
        archive = root / f"hdmf_zarr-{VERSION}.tar.gz"
        if not archive.exists():
            subprocess.run(
                [sys.executable, "-m", "pip", "download", f"hdmf-zarr=={VERSION}", "--no-deps",
                 "--no-binary", ":all:", "-d", str(root)],
                check=True,
            )  # fmt: skip
        with tarfile.open(archive) as tar:
            tar.extractall(root, filter="data")
        marker.touch()
    return unpacked


def run(sdist: Path, *, peer: bool, extra: list[str], report: Path) -> dict[str, str]:
    """Run the selection; return {test id: outcome} with outcomes passed/failed/error/skipped."""
    src = sdist / "src" if peer else REPO / "src"
    env = {**os.environ, "PYTHONPATH": str(src), "PYTHONDONTWRITEBYTECODE": "1"}
    with tempfile.TemporaryDirectory(prefix="peer-suite-") as scratch:
        junit = Path(scratch) / "junit.xml"
        cmd = [sys.executable, "-m", "pytest", str(sdist / "tests" / "unit"), "-q", "-p", "no:randomly",
               "-p", "no:cacheprovider", "--continue-on-collection-errors", f"--rootdir={sdist}",
               f"--junitxml={junit}", "-W", "ignore"]  # fmt: skip
        cmd += [f"--ignore={sdist / path}" for path in EXCLUDED]
        cmd += [f"--deselect={node}" for node in DESELECTED]  # node ids are relative to the rootdir
        subprocess.run(cmd + extra, cwd=scratch, env=env, check=False, stdout=subprocess.DEVNULL)
        outcomes = _outcomes(junit)
    report.write_text(json.dumps(outcomes, indent=1, sort_keys=True))
    return outcomes


def _outcomes(junit: Path) -> dict[str, str]:
    """{test id: outcome}; a test that did not pass carries the first line of its message after a tab."""
    out: dict[str, str] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        outcome = "passed"
        for child in case:
            if child.tag in ("error", "failure", "skipped"):
                outcome = {"failure": "failed"}.get(child.tag, child.tag)
                message = (child.get("message") or "").strip().splitlines()
                if outcome != "skipped" and message:
                    outcome += "\t" + message[0][:300]
                break
        out[name] = outcome
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peer", action="store_true", help="run against the peer's own src instead of ours")
    parser.add_argument("--report", type=Path, help="where to write {test: outcome} JSON")
    parser.add_argument("--failures", action="store_true", help="list the tests that did not pass")
    parser.add_argument("-k", help="pytest -k expression (a subset)")
    parser.add_argument(
        "--classify", type=Path, help="classify the failures of an earlier --report, run nothing"
    )
    args = parser.parse_args(argv)
    if args.classify:
        return _print_classes(json.loads(args.classify.read_text()))
    sdist = ensure_sdist()
    report = args.report or cache_dir() / f"peer-suite-{'peer' if args.peer else 'ours'}.json"
    extra = ["-k", args.k] if args.k else []
    outcomes = run(sdist, peer=args.peer, extra=extra, report=report)
    kinds = {name: outcome.split("\t")[0] for name, outcome in outcomes.items()}
    counts = {k: sum(1 for v in kinds.values() if v == k) for k in ("passed", "failed", "error", "skipped")}
    failing = sorted(name for name, kind in kinds.items() if kind in ("failed", "error"))
    if args.failures:
        for name in failing:
            print(f"{classify(name)}\t{name}\t{outcomes[name]}")
    by_class: dict[str, int] = {}
    for name in failing:
        by_class[classify(name)] = by_class.get(classify(name), 0) + 1
    for label, count in sorted(by_class.items(), key=lambda kv: -kv[1]):
        print(f"  {count:4d}  {label}")
    who = f"hdmf-zarr {VERSION} itself" if args.peer else f"ours ({REPO / 'src'})"
    print(f"peer suite {VERSION} against {who}: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    print(f"outcomes: {report}")
    return 0


def _print_classes(outcomes: dict[str, str]) -> int:
    for name, outcome in sorted(outcomes.items()):
        if outcome.split("\t")[0] in ("failed", "error"):
            print(f"{classify(name)}\t{name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
