"""The README "Frameworks" recipes whose packages clash with the dev extra (instructor pins
jiter below what openai 3 needs, llama-index-llms-openai needs openai<3): in
``faultkit[frameworks-extra]``, run in a venv of their own::

    python -m venv /tmp/fwvenv && /tmp/fwvenv/bin/pip install -e ".[frameworks-extra]"
    /tmp/fwvenv/bin/python -m pytest tests/frameworks

Without the package a test is skipped, saying which extra brings it. As in
``test_frameworks_dev.py``: the real framework on its recorded cassette, one fault, the ledger
holds the framework's calls, the oracle's verdict.
"""

from __future__ import annotations

from typing import Any

import pytest

from faultkit.ledger import LedgerEntry
from faultkit.oracle import Contract
from frameworks import apps

EXTRA = 'pip install -e ".[frameworks-extra]" (clashes with the dev extra: own venv)'
CONTRACT = Contract(output_model=apps.Triage, max_attempts=3, deadline_ms=20_000)


def _calls(ledger: list[LedgerEntry]) -> list[tuple[str, int, int, int | None]]:
    return [(e.route, e.logical_call, e.attempt, e.status) for e in ledger]


@pytest.mark.faultkit(cassette="cassettes/instructor.yaml")
def test_instructor_re_asks_a_drifted_answer_and_is_judged_retried(faultkit: Any) -> None:
    """instructor's re-ask (the bad tool call and the validation error appended) is in no
    cassette: faultkit answers it with the recording of the call it repeats."""
    pytest.importorskip("instructor", reason=EXTRA)
    drift = {"type": "schema_drift", "target": "structured", "op": "rename", "path": "priority"}
    faultkit.inject(drift, match={"route": "openai"}, when={"nth": 1})
    verdict = faultkit.check(
        apps.instructor_triage, apps.TICKET, http_client=faultkit.client(), contract=CONTRACT
    )
    assert verdict.kind == "retried", verdict
    assert _calls(faultkit.ledger) == [("openai", 1, 1, 200), ("openai", 1, 2, 200)]
    assert faultkit.ledger[1].recording.endswith("(re-ask of #1)")


@pytest.mark.faultkit(cassette="cassettes/llama_index.yaml")
def test_llama_index_retries_a_server_error_and_is_judged_retried(faultkit: Any) -> None:
    pytest.importorskip("llama_index.llms.openai", reason=EXTRA)
    faultkit.inject(
        {"type": "http_error", "status": 500}, match={"route": "openai"}, when={"nth": 1}
    )
    verdict = faultkit.check(
        apps.llama_index_triage,
        apps.TICKET,
        http_client=faultkit.client(),
        contract=Contract(max_attempts=3, deadline_ms=20_000),
    )
    assert verdict.kind == "retried", verdict
    assert _calls(faultkit.ledger) == [("openai", 1, 1, 500), ("openai", 1, 2, 200)]
    # nltk's stopwords (keyword extraction) and tiktoken's encoding (splitters): read from the
    # caches llama-index ships, never downloaded, under the network guard. With NLTK_DATA set
    # to a directory without them, llama-index fetches them from raw.githubusercontent.com.
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.core.utils import globals_helper

    assert "the" in globals_helper.stopwords
    assert SentenceSplitter(chunk_size=64, chunk_overlap=0).split_text(apps.TICKET)
