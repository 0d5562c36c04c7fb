"""slow_first_token: the head at once, the first body byte late."""

from __future__ import annotations

import random

import pytest
from _fault_samples import real, real_setup
from pydantic import ValidationError

from faultkit.faults.base import FaultContext
from faultkit.faults.latency import Latency
from faultkit.faults.slow_first_token import SlowFirstToken
from faultkit.formats.detect import detect_format
from faultkit.plan import Close, Plan, SendBytes, SendEvent, SendHead, Wait

OPENAI_STREAM = "pydantic-ai__test_run_stream_sync_streams_real_model.yaml"
OPENAI_JSON = "pydantic-ai__test_request_simple_usage.yaml"


def test_wait_goes_between_head_and_first_event_with_heartbeats() -> None:
    plan, ctx = real_setup(OPENAI_STREAM)
    new, alterations = SlowFirstToken(delay_ms=90000, heartbeat_ms=15000).apply(plan, ctx)
    assert isinstance(new.actions[0], SendHead)
    wait = new.actions[1]
    assert isinstance(wait, Wait)
    assert (wait.ms, wait.heartbeat_ms, wait.reason) == (90000, 15000, "slow_first_token")
    assert isinstance(new.actions[2], SendEvent)
    assert new.events() == plan.events()
    assert [(a.path, a.action, a.value) for a in alterations] == [
        ("response.events[0]", "delayed", 90000)
    ]


def test_after_a_recorded_gap_the_delay_adds_to_it() -> None:
    request, response = real(OPENAI_STREAM)
    timed = response.model_copy(update={"event_offsets_ms": tuple(float(50 + i) for i in range(9))})
    plan = Plan.from_response(timed)
    ctx = FaultContext(request, detect_format(request, timed.content_type), random.Random(0))
    new, _ = SlowFirstToken(delay_ms=1000).apply(plan, ctx)
    kinds = [a.kind for a in new.actions[:4]]
    assert kinds == ["head", "wait", "wait", "event"]
    assert new.total_wait_ms() == plan.total_wait_ms() + 1000


def test_json_body_is_delayed_without_heartbeats() -> None:
    plan, ctx = real_setup(OPENAI_JSON)
    new, alterations = SlowFirstToken(delay_ms=500, heartbeat_ms=100).apply(plan, ctx)
    assert [a.kind for a in new.actions] == ["head", "wait", "bytes", "close"]
    assert new.actions[1].heartbeat_ms is None  # type: ignore[union-attr]
    assert new.body_bytes() == plan.body_bytes()
    assert alterations[0].path == "response.body"


def test_empty_body_waits_before_the_end() -> None:
    plan = Plan(actions=(SendHead(head={"status": 204}), Close()))
    _, ctx = real_setup(OPENAI_JSON)
    new, _ = SlowFirstToken(delay_ms=10).apply(plan, ctx)
    assert [a.kind for a in new.actions] == ["head", "wait", "close"]


def test_head_is_not_delayed_even_after_latency() -> None:
    plan, ctx = real_setup(OPENAI_JSON)
    slowed, _ = Latency(latency_ms=200).apply(plan, ctx)
    new, _ = SlowFirstToken(delay_ms=700).apply(slowed, ctx)
    assert [a.kind for a in new.actions] == ["wait", "head", "wait", "bytes", "close"]
    assert new.actions[0].ms == 200 and new.actions[2].ms == 700  # type: ignore[union-attr]
    assert isinstance(new.actions[3], SendBytes)


@pytest.mark.parametrize(
    "params", [{"delay_ms": -1}, {"delay_ms": 10, "heartbeat_ms": 0}, {}, {"delay": 10}]
)
def test_invalid_parameters_are_rejected(params: dict) -> None:
    with pytest.raises(ValidationError):
        SlowFirstToken(**params)
