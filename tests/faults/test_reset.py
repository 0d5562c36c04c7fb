"""reset: the connection drops before the head or partway through the body."""

from __future__ import annotations

import pytest
from _fault_samples import real_setup
from pydantic import ValidationError

from faultkit.faults.reset import ConnectionReset
from faultkit.plan import Plan, Reset, SendBytes, SendEvent, SendHead

OPENAI_STREAM = "pydantic-ai__test_run_stream_sync_streams_real_model.yaml"
ANTHROPIC_STREAM = "openllmetry__test_anthropic_tools_streaming_legacy.yaml"
OPENAI_JSON = "pydantic-ai__test_request_simple_usage.yaml"


def test_before_head_is_just_a_reset_and_needs_no_recording() -> None:
    fault = ConnectionReset(at="before_head")
    assert fault.needs_source is False
    plan, ctx = real_setup(OPENAI_STREAM)
    new, alterations = fault.apply(plan, ctx)
    assert len(new.actions) == 1 and isinstance(new.actions[0], Reset)
    assert alterations[0].path == "response" and alterations[0].original == 200
    empty, _ = fault.apply(Plan(actions=()), ctx)
    assert [a.kind for a in empty.actions] == ["reset"]


def test_mid_body_default_cuts_half_of_the_events() -> None:
    fault = ConnectionReset()
    assert fault.needs_source is True
    plan, ctx = real_setup(ANTHROPIC_STREAM)
    events = plan.events()
    new, alterations = fault.apply(plan, ctx)
    half = len(events) // 2
    assert isinstance(new.actions[0], SendHead)
    assert new.events() == events[:half]
    assert isinstance(new.actions[-1], Reset)
    (alteration,) = alterations
    assert alteration.path == f"response.events[{half}:]"
    assert alteration.action == "removed"
    dropped = b"".join(e.encode() for e in events[half:])
    assert alteration.original == {"events": len(events) - half, "bytes": len(dropped)}
    assert alteration.value == {"events": half, "bytes": len(plan.body_bytes()) - len(dropped)}


def test_after_events_zero_sends_only_the_head() -> None:
    plan, ctx = real_setup(OPENAI_STREAM)
    new, alterations = ConnectionReset(after_events=0).apply(plan, ctx)
    assert [a.kind for a in new.actions] == ["head", "reset"]
    assert alterations[0].original["events"] == len(plan.events())


def test_after_bytes_cuts_inside_an_event() -> None:
    plan, ctx = real_setup(OPENAI_STREAM)
    first = plan.events()[0].encode()
    cut_at = len(first) + 40
    new, alterations = ConnectionReset(after_bytes=cut_at).apply(plan, ctx)
    assert new.body_bytes() == plan.body_bytes()[:cut_at]
    assert isinstance(new.actions[1], SendEvent)
    assert isinstance(new.actions[2], SendBytes) and len(new.actions[2].data) == 40
    assert isinstance(new.actions[-1], Reset)
    assert alterations[0].path == f"response.body[{cut_at}:]"
    assert alterations[0].original["events"] == len(plan.events()) - 1  # the split one is lost


def test_json_body_default_cuts_half_of_the_bytes() -> None:
    plan, ctx = real_setup(OPENAI_JSON)
    body = plan.body_bytes()
    new, alterations = ConnectionReset().apply(plan, ctx)
    assert [a.kind for a in new.actions] == ["head", "bytes", "reset"]
    assert new.body_bytes() == body[: len(body) // 2]
    assert alterations[0].original == {"events": 0, "bytes": len(body) - len(body) // 2}


def test_past_the_end_sends_the_whole_body_then_resets() -> None:
    plan, ctx = real_setup(OPENAI_JSON)
    new, alterations = ConnectionReset(after_bytes=10**6).apply(plan, ctx)
    assert new.body_bytes() == plan.body_bytes()
    assert isinstance(new.actions[-1], Reset)
    assert alterations[0].original == {"events": 0, "bytes": 0}


def test_is_deterministic() -> None:
    plan, ctx = real_setup(ANTHROPIC_STREAM)
    _, ctx2 = real_setup(ANTHROPIC_STREAM, seed=99)
    assert ConnectionReset().apply(plan, ctx) == ConnectionReset().apply(plan, ctx2)


@pytest.mark.parametrize(
    "params",
    [{"at": "after_body"}, {"after_events": -1}, {"after_bytes": -3}, {"where": "mid_body"}],
)
def test_invalid_parameters_are_rejected(params: dict) -> None:
    with pytest.raises(ValidationError):
        ConnectionReset(**params)
