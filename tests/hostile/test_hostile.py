"""Every hostile store ends in a clear error naming file and node, within memory and time bounds.

The corpus (tests/hostile/corpus.py) is generated into a temporary folder; each case is read
completely by ``attack.py`` in a child process with a 4 GiB address-space limit and a timeout, with
audit hooks that see any file opened outside the store and any network connection. A counting HTTP
server on 127.0.0.1 serves a valid store: links to it must not be followed unless allowed.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.hostile.corpus import CASES, Case
from tests.hostile.harness import Outcome, corpus, ours_env, run_all

#: One worker builds the corpus and runs every case once (scripts/test.sh runs --dist loadgroup).
pytestmark = pytest.mark.xdist_group("hostile")

#: Peak resident memory of a reading child, imports (~125 MiB) included; every bomb claims GiBs.
PEAK_RSS_MIB = 400
#: Peak memory traced by Python while reading (the 50 MB attribute needs ~150 MiB to parse).
PEAK_TRACED_MIB = {"huge-attribute": 256.0}
DEFAULT_TRACED_MIB = 64.0


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Outcome]]:
    root = tmp_path_factory.mktemp("hostile")
    with corpus(root) as (env, server):
        yield run_all(env, server, python=sys.executable, child_env=ours_env(), ours=True)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_hostile_store_is_refused_clearly_within_bounds(case: Case, outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes[case.name]
    result = outcome.result
    expected = "ok" if case.expect_ok else "clear-error"
    assert outcome.kind == expected, f"{case.name}: {outcome.cell()} {result}"
    opened = [e for e in result.get("escapes", []) if e.startswith("open")]
    assert opened == [], result
    if not case.allow:
        assert result.get("escapes") == [], result
    assert not result.get("outside_data"), result
    assert result["peak_rss_mib"] < PEAK_RSS_MIB, result
    assert result["peak_traced_mib"] < PEAK_TRACED_MIB.get(case.name, DEFAULT_TRACED_MIB), result
    if "http" in case.name and not case.allow:
        assert outcome.http_requests == 0, "a link to the HTTP server was followed without consent"
    if case.allow and case.expect_ok:
        assert outcome.http_requests > 0, "an allowed link was not followed"


def test_error_messages_say_what_to_do(outcomes: dict[str, Outcome]) -> None:
    refused = outcomes["link-http"].result["message"]
    assert "allowed_sources" in refused
    assert "/t2/lnk" in refused
    dead = outcomes["link-http-dead-allowed"].result["message"]
    assert "127.0.0.1:9" in dead
    assert "/t2/lnk" in dead


def test_corpus_cases_are_distinct() -> None:
    names = [c.name for c in CASES]
    assert len(names) == len(set(names))
    assert all(Path(c.name).name == c.name for c in CASES)
