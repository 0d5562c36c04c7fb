"""The verdict as a value: worst finding first, serializable, and a readable assertion."""

from __future__ import annotations

import pytest
from oracle_world import Answer, OrderLookupError, World, rules
from test_retry_verdicts import chat_503, retrying

from faultkit.oracle import SEVERITY, Contract, Verdict, assert_controlled, is_controlled
from faultkit.oracle.verdict import CONTROLLED_KINDS

CONTRACT = Contract(output_model=Answer, error_types=[OrderLookupError], max_attempts=3)


def _storm() -> Verdict:
    world = World(rules(chat_503()))
    return world.run(retrying(4, 10), CONTRACT.model_copy(update={"min_backoff_ms": 5}))


def test_severity_puts_every_uncontrolled_kind_before_every_controlled_one() -> None:
    ranks = [is_controlled(kind) for kind in SEVERITY]
    assert ranks == sorted(ranks)  # all False (uncontrolled) first
    assert set(SEVERITY[-len(CONTROLLED_KINDS) :]) == CONTROLLED_KINDS
    assert SEVERITY[-1] == "pass"


def test_the_worst_finding_heads_the_verdict_and_all_are_kept() -> None:
    verdict = _storm()
    kinds = [f.kind for f in verdict.findings]
    assert kinds[0] == "retry_storm" == verdict.kind
    assert "controlled_error" in kinds
    assert kinds == sorted(kinds, key=SEVERITY.index)


def test_a_verdict_round_trips_through_json() -> None:
    verdict = _storm().model_copy(update={"repro": "faultkit run app:answer --seed 1"})
    data = verdict.model_dump(mode="json")
    assert data["controlled"] is False and data["findings"][0]["controlled"] is False
    again = Verdict.model_validate_json(verdict.model_dump_json())
    assert again.model_dump() == verdict.model_dump()


def test_assert_controlled_fails_with_the_evidence_and_the_repro() -> None:
    verdict = _storm().model_copy(update={"repro": "faultkit run app:answer --seed 1"})
    with pytest.raises(AssertionError) as info:
        assert_controlled(verdict)
    message = str(info.value)
    assert message.startswith("verdict retry_storm (UNCONTROLLED)")
    assert "4 attempts; at most 3" in message
    assert "[ledger #1, #2, #3, #4]" in message
    assert "reproduce: faultkit run app:answer --seed 1" in message


def test_a_controlled_outcome_the_scenario_does_not_allow_fails() -> None:
    world = World(rules(chat_503("1")))
    verdict = world.run(retrying(3, 60), CONTRACT, outcomes=["controlled_error"])
    assert verdict.kind == "retried" and verdict.controlled
    assert not verdict.ok
    with pytest.raises(AssertionError, match="not an allowed outcome"):
        assert_controlled(verdict)
